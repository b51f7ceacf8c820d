"""Model access: the Generator protocol and its Hugging Face implementation."""

from ibert_lsp.model.protocol import GenerationRequest, Generator

__all__ = ["GenerationRequest", "Generator"]

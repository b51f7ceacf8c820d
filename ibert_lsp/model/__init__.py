"""Model access: the Generator protocol and its Hugging Face implementation.

`hf`, `worker`, `default`, `candidates` import torch/transformers lazily (inside functions), so
importing this package stays cheap.
"""

from ibert_lsp.model.protocol import GenerationRequest, Generator

__all__ = ["GenerationRequest", "Generator"]

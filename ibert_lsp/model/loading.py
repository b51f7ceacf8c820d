"""The Generator the server's settings name (HF directory or hub id, a served model, a
Python plug-in, or the default model)."""

from __future__ import annotations

import os

from ibert_lsp.errors import IbertError


def load_generator(model_path: str | None, adapter: str | None, device: str, *,
                   api_key_env: str | None = None):
    """The Generator the settings name.

    - None: the embedded default model (`ibert model build`), or None when it is not built;
    - `openai+http(s)://host:port/v1#model`: a model served elsewhere (`model/remote.py`);
      the API key comes from the environment variable `api_key_env` names (IBERT_*);
    - `python:package.module:factory`: any Generator a Python factory returns (a plug-in
      point, e.g. a remote model; the tests use it for scripted generators). Because a
      workspace's settings could otherwise make the server import code, plug-ins load only
      when the server's own environment sets IBERT_ALLOW_PLUGINS=1;
    - anything else: a Hugging Face model directory or hub id (+ optional PEFT adapter).
    """
    if model_path and model_path.startswith("python:"):
        import importlib

        if os.environ.get("IBERT_ALLOW_PLUGINS") != "1":
            raise IbertError(
                f"model plug-in {model_path!r} refused: start the server with "
                "IBERT_ALLOW_PLUGINS=1 to allow Python generator plug-ins"
            )
        mod, _, attr = model_path[len("python:"):].partition(":")
        factory = getattr(importlib.import_module(mod), attr or "make_generator")
        return factory()
    from ibert_lsp.model.remote import RemoteGenerator, is_remote

    if is_remote(model_path):
        if adapter:
            raise IbertError("a served model's adapter is chosen by the name after '#' in "
                             "modelPath (e.g. vLLM's --lora-modules name), not by 'adapter'")
        return RemoteGenerator.load(model_path, api_key_env=api_key_env)
    if model_path:
        from ibert_lsp.model.hf import HFGenerator

        return HFGenerator.load(model_path, adapter, device=device)
    from ibert_lsp.model.default import load_default

    if adapter:
        return load_default(device=device, adapter=adapter)
    return load_default(device=device)

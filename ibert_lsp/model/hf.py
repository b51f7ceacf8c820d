"""A Generator over any Hugging Face causal LM directory (or hub id) plus an optional PEFT adapter.

- `HFGenerator.load(path)` understands three layouts:
  1. an ibert model directory (`ibert.json` manifest, `base/` and optionally `adapter/`), what
     `ibert train` exports and `ibert model build` installs;
  2. a plain HF causal-LM directory (`config.json` + weights + tokenizer) or a hub id;
  3. a PEFT adapter directory (`adapter_config.json`), whose base is read from its config.
  An adapter is merged into the base weights by default (faster decoding).
- `generate()` decodes with the KV cache (greedy for one candidate, beam search for several,
  sampling when temperature > 0), stops at stop strings, at the deadline and when the cancel event
  is set (a transformers StoppingCriteria), strips special tokens, and caches recent results by
  (prompt, settings).
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections import OrderedDict
from pathlib import Path

from ibert_lsp.errors import IbertError
from ibert_lsp.prompting import prompts

MANIFEST = "ibert.json"


class ModelLoadError(IbertError):
    """A model directory that is missing, incomplete or unreadable."""


def _is_local(path: str) -> bool:
    return path.startswith((".", "/", "~")) or os.path.exists(path) or os.sep in path.strip("/")


def resolve_model_dir(path: str | os.PathLike, adapter: str | None = None, *,
                      merged: bool = True) -> dict:
    """Where the base, tokenizer and adapter of a model live; ModelLoadError if unusable.

    An ibert directory may hold a copy of base + adapter merged at export (`merged/`); it is
    used when `merged` is true and no other adapter is asked for."""
    raw = str(path)
    p = Path(raw).expanduser()
    if p.is_dir():
        man = p / MANIFEST
        if man.exists():
            try:
                manifest = json.loads(man.read_text())
            except (OSError, json.JSONDecodeError) as exc:
                raise ModelLoadError(f"model directory {p}: {MANIFEST} is unreadable ({exc})")
            if not isinstance(manifest, dict) or "base" not in manifest:
                raise ModelLoadError(f"model directory {p}: {MANIFEST} lacks 'base'")
            fmt = manifest.get("prompt_format", prompts.PROMPT_FORMAT_VERSION)
            if fmt != prompts.PROMPT_FORMAT_VERSION:
                raise ModelLoadError(
                    f"model directory {p} was trained with prompt format {fmt}; this ibert "
                    f"uses {prompts.PROMPT_FORMAT_VERSION}: rebuild it with `ibert model build`"
                )
            base = p / manifest["base"]
            if not base.exists() and manifest.get("base_external"):
                base = manifest["base"]  # a hub id or a path outside the directory (large bases)
            elif not (base / "config.json").exists():
                raise ModelLoadError(f"model directory {p}: base model {base} is missing")
            ad = adapter or (str(p / manifest["adapter"]) if manifest.get("adapter") else None)
            tok = str(p / manifest.get("tokenizer", manifest["base"]))
            if not Path(tok).exists():
                tok = str(base)
            if ad and not (Path(ad) / "adapter_config.json").exists():
                raise ModelLoadError(f"model directory {p}: adapter {ad} is missing")
            pre = manifest.get("merged") if merged else None
            if pre and not adapter and (p / pre / "config.json").exists():
                # base + adapter merged at export: loads without peft (faster start-up)
                return {"base": str(p / pre), "tokenizer": str(p / pre), "adapter": None,
                        "manifest": manifest, "premerged": True}
            return {"base": str(base), "tokenizer": tok, "adapter": ad, "manifest": manifest}
        if (p / "adapter_config.json").exists() and not (p / "config.json").exists():
            try:
                cfg = json.loads((p / "adapter_config.json").read_text())
            except (OSError, json.JSONDecodeError) as exc:
                raise ModelLoadError(f"adapter {p}: adapter_config.json is unreadable ({exc})")
            base = cfg.get("base_model_name_or_path")
            if not base:
                raise ModelLoadError(f"adapter {p}: adapter_config.json names no base model")
            if not Path(base).is_absolute() and (p / base).exists():
                base = str((p / base).resolve())  # relative to the adapter (ibert's export)
            return {"base": base, "tokenizer": base, "adapter": str(p), "manifest": {}}
        if (p / "config.json").exists():
            return {"base": str(p), "tokenizer": str(p), "adapter": adapter, "manifest": {}}
        raise ModelLoadError(
            f"{p} is not a model directory (no {MANIFEST}, config.json or adapter_config.json);"
            " build the default model with `ibert model build`"
        )
    if _is_local(raw) or raw.count("/") != 1:
        raise ModelLoadError(
            f"model {raw!r} not found; build the default model with `ibert model build`"
        )
    # a hub id: transformers fetches it when a network exists
    return {"base": raw, "tokenizer": raw, "adapter": adapter, "manifest": {}}


def _quiet_transformers() -> None:
    """No progress bars or deprecation chatter on a user's terminal or the server's stderr."""
    import warnings

    from transformers.utils import logging as tlog

    tlog.set_verbosity_error()
    tlog.disable_progress_bar()
    warnings.filterwarnings("ignore", category=FutureWarning, module="transformers")
    warnings.filterwarnings("ignore", category=UserWarning, module="peft")


class _StopCriteria:
    """Stops on cancel, on deadline, and (per row) once a stop string appeared in new text."""

    def __init__(self, tokenizer, prompt_len: int, stop, cancel, deadline_at):
        self.tokenizer = tokenizer
        self.prompt_len = prompt_len
        self.stop = [s for s in stop if s]
        self.cancel = cancel
        self.deadline_at = deadline_at
        self.interrupted = False

    def __call__(self, input_ids, scores, **kwargs):
        import torch

        rows = input_ids.shape[0]
        if (self.cancel is not None and self.cancel.is_set()) or (
            self.deadline_at is not None and time.monotonic() >= self.deadline_at
        ):
            self.interrupted = True
            return torch.ones(rows, dtype=torch.bool, device=input_ids.device)
        done = torch.zeros(rows, dtype=torch.bool, device=input_ids.device)
        if self.stop:
            new = input_ids[:, self.prompt_len:]
            for i in range(rows):
                text = self.tokenizer.decode(new[i, -24:], skip_special_tokens=False)
                if any(s in text for s in self.stop):
                    done[i] = True
        return done


class HFGenerator:
    """Generator backed by a transformers causal LM (adapter merged when possible)."""

    def __init__(self, model, tokenizer, *, info: dict | None = None, cache_size: int = 256):
        self.model = model
        self.tokenizer = tokenizer
        self.info = dict(info or {})
        self._cache: OrderedDict = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()
        self.cache_hits = 0
        eos = set()
        if tokenizer.eos_token_id is not None:
            eos.add(int(tokenizer.eos_token_id))
        eid = tokenizer.convert_tokens_to_ids(prompts.EOS)
        if isinstance(eid, int) and eid != tokenizer.unk_token_id and eid >= 0:
            eos.add(eid)
        self.eos_ids = sorted(eos)
        self.pad_id = (
            tokenizer.pad_token_id if tokenizer.pad_token_id is not None else (self.eos_ids or [0])[0]
        )
        # placeholder token -> id, for those the tokenizer holds as single tokens
        self._placeholder_ids: dict[str, int] = {}
        for tok in prompts.PLACEHOLDER_TOKENS:
            tid = tokenizer.convert_tokens_to_ids(tok)
            if isinstance(tid, int) and tid >= 0 and tid != tokenizer.unk_token_id:
                self._placeholder_ids[tok] = tid
        cfg = model.config
        self.max_positions = int(
            getattr(cfg, "max_position_embeddings", None) or getattr(cfg, "n_positions", 2048)
        )

    # ---------------------------------------------------------------- loading
    @classmethod
    def load(
        cls,
        path: str | os.PathLike,
        adapter: str | None = None,
        *,
        device: str = "cpu",
        merge: bool = True,
        dtype: str | None = None,
        cache_size: int = 256,
        threads: int | None = None,
    ) -> HFGenerator:
        """Load a model. `threads`: torch CPU threads for this process; by default a small
        model (< 50M parameters) decodes on one thread — measured on a busy 2-core machine,
        two threads made a 32-token completion 30x slower (thread contention), one thread
        is never slower for such a model."""
        where = resolve_model_dir(path, adapter, merged=merge)
        t0 = time.perf_counter()
        try:
            import torch
            from transformers import AutoModelForCausalLM, AutoTokenizer
        except ImportError as exc:  # pragma: no cover - the install has them
            raise ModelLoadError(f"the model needs transformers and torch: {exc}") from None
        _quiet_transformers()
        kwargs = {}
        if dtype:
            kwargs["dtype"] = getattr(torch, dtype)
        try:
            tokenizer = AutoTokenizer.from_pretrained(where["tokenizer"])
            model = AutoModelForCausalLM.from_pretrained(where["base"], **kwargs)
        except (OSError, ValueError, KeyError, json.JSONDecodeError) as exc:
            msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise ModelLoadError(f"cannot load model from {where['base']}: {msg}") from None
        except Exception as exc:  # safetensors / torch errors on corrupt files
            msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise ModelLoadError(
                f"cannot load model from {where['base']} (corrupt?): {type(exc).__name__}: {msg}"
            ) from None
        merged = bool(where.get("premerged"))
        if where["adapter"]:
            try:
                from peft import PeftModel

                model = PeftModel.from_pretrained(model, where["adapter"])
            except Exception as exc:
                msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                raise ModelLoadError(f"cannot load adapter {where['adapter']}: {msg}") from None
            if merge:
                model = model.merge_and_unload()
                merged = True
        model.to(device)
        model.eval()
        n_params = sum(p.numel() for p in model.parameters())
        if device == "cpu":
            if threads is None and n_params < 50_000_000:
                threads = 1
            if threads:
                torch.set_num_threads(int(threads))
        info = {
            "base": where["base"],
            "adapter": where["adapter"] or (where["manifest"].get("adapter")
                                            if where.get("premerged") else None),
            "merged": merged,
            "device": device,
            "params": n_params,
            "load_s": round(time.perf_counter() - t0, 3),
            "manifest": where["manifest"],
        }
        return cls(model, tokenizer, info=info, cache_size=cache_size)

    # ------------------------------------------------------------- generation
    def _key(self, prompt, n, max_new_tokens, stop, temperature):
        return (prompt, n, max_new_tokens, tuple(stop), float(temperature))

    def cache_clear(self) -> None:
        self._cache.clear()

    def encode_prompt(self, prompt: str, max_new_tokens: int) -> list[int]:
        ids = self.tokenizer(prompt, add_special_tokens=False)["input_ids"]
        room = max(8, self.max_positions - max_new_tokens)
        return ids[-room:]  # keep the end (the cursor / the question)

    def generate(
        self,
        prompt: str,
        n: int = 1,
        max_new_tokens: int = 64,
        stop: tuple[str, ...] | list[str] = (),
        *,
        temperature: float = 0.0,
        deadline_s: float | None = None,
        cancel: threading.Event | None = None,
        allowed_token_ids: list[int] | None = None,
    ) -> list[str]:
        """Up to `n` distinct candidate continuations, best first (special tokens stripped)."""
        n = max(1, int(n))
        stop = tuple(stop) + tuple(s for s in prompts.SPECIAL_TOKENS if s not in stop)
        key = self._key(prompt, n, max_new_tokens, stop, temperature)
        if allowed_token_ids is None and not temperature and key in self._cache:
            self._cache.move_to_end(key)
            self.cache_hits += 1
            return list(self._cache[key])
        if cancel is not None and cancel.is_set():
            return []
        deadline_at = time.monotonic() + deadline_s if deadline_s is not None else None
        import torch
        from transformers import LogitsProcessorList, StoppingCriteriaList

        ids = self.encode_prompt(prompt, max_new_tokens)
        max_new_tokens = max(1, min(max_new_tokens, self.max_positions - len(ids)))
        input_ids = torch.tensor([ids], device=self.model.device)
        crit = _StopCriteria(self.tokenizer, len(ids), stop, cancel, deadline_at)
        kwargs = dict(
            max_new_tokens=max_new_tokens,
            eos_token_id=self.eos_ids or None,
            pad_token_id=self.pad_id,
            stopping_criteria=StoppingCriteriaList([crit]),
            use_cache=True,
        )
        banned = [self._placeholder_ids[t] for t in prompts.absent_placeholders(prompt)
                  if t in self._placeholder_ids]
        if allowed_token_ids is not None or banned:
            kwargs["logits_processor"] = LogitsProcessorList(
                [_TokenMask(allowed=allowed_token_ids, banned=banned)])
        if temperature and temperature > 0:
            kwargs.update(do_sample=True, temperature=float(temperature), top_p=0.95,
                          num_return_sequences=n)
        elif n > 1:
            kwargs.update(do_sample=False, num_beams=n, num_return_sequences=n,
                          early_stopping=True)
        else:
            kwargs.update(do_sample=False)
        with self._lock, torch.inference_mode():
            out = self.model.generate(
                input_ids=input_ids, attention_mask=torch.ones_like(input_ids), **kwargs
            )
        results: list[str] = []
        for row in out[:, len(ids):]:
            text = self.tokenizer.decode(row, skip_special_tokens=False)
            text = prompts.strip_special(prompts.cut_at_stop(text, stop))
            if self.tokenizer.pad_token:
                text = text.replace(self.tokenizer.pad_token, "")
            if text not in results:
                results.append(text)
        results = results[:n]
        if not crit.interrupted and allowed_token_ids is None and not temperature:
            self._cache[key] = list(results)
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return results

    def close(self) -> None:
        self._cache.clear()


class _TokenMask:
    """A logits processor: only `allowed` ids (when given), never `banned` ones (the
    placeholders a prompt lacks: a candidate holding one could not be restored)."""

    def __init__(self, allowed: list[int] | None = None, banned: list[int] | None = None):
        self.allowed = None if allowed is None else sorted(set(int(i) for i in allowed))
        self.banned = sorted(set(int(i) for i in banned or ()))
        self._mask = None

    def __call__(self, input_ids, scores):
        import torch

        size = scores.shape[-1]
        if self._mask is None or self._mask.shape[-1] != size:
            if self.allowed is None:
                mask = torch.zeros((size,), device=scores.device)
            else:
                mask = torch.full((size,), float("-inf"), device=scores.device)
                mask[[i for i in self.allowed if i < size]] = 0.0
            mask[[i for i in self.banned if i < size]] = float("-inf")
            self._mask = mask
        return scores + self._mask

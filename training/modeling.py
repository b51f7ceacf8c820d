"""Base models (from scratch or a pretrained directory / hub id) and their LoRA adapters."""

from __future__ import annotations

from ibert_lsp.errors import IbertError

# attention projections per architecture (model_type) -> (target modules, fan_in_fan_out)
LORA_TARGETS = {
    "gpt2": (["c_attn", "attn.c_proj"], True),  # Conv1D layers: weights stored transposed
    "llama": (["q_proj", "k_proj", "v_proj", "o_proj"], False),
    "qwen2": (["q_proj", "k_proj", "v_proj", "o_proj"], False),
    "qwen3": (["q_proj", "k_proj", "v_proj", "o_proj"], False),
    "mistral": (["q_proj", "k_proj", "v_proj", "o_proj"], False),
    "mistral3": (["q_proj", "k_proj", "v_proj", "o_proj"], False),
    "gemma": (["q_proj", "k_proj", "v_proj", "o_proj"], False),
    "phi3": (["qkv_proj", "o_proj"], False),
    "starcoder2": (["q_proj", "k_proj", "v_proj", "o_proj"], False),
    "gpt_bigcode": (["c_attn", "c_proj"], False),
}


def base_config(cfg_base: dict, tokenizer):
    """A transformers config for a small from-scratch base (llama, qwen2 or gpt2 style)."""
    arch = cfg_base["arch"]
    vocab = len(tokenizer)
    common_ids = dict(
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    h, layers, heads = cfg_base["hidden_size"], cfg_base["layers"], cfg_base["heads"]
    if arch in ("llama", "qwen2"):
        from transformers import LlamaConfig, Qwen2Config

        cls = LlamaConfig if arch == "llama" else Qwen2Config
        return cls(
            vocab_size=vocab,
            hidden_size=h,
            intermediate_size=cfg_base["intermediate_size"],
            num_hidden_layers=layers,
            num_attention_heads=heads,
            num_key_value_heads=cfg_base.get("kv_heads") or heads,
            max_position_embeddings=cfg_base["max_positions"],
            tie_word_embeddings=True,
            attention_dropout=cfg_base.get("dropout", 0.0),
            **common_ids,
        )
    if arch == "gpt2":
        from transformers import GPT2Config

        drop = cfg_base.get("dropout", 0.0)
        return GPT2Config(
            vocab_size=vocab,
            n_embd=h,
            n_layer=layers,
            n_head=heads,
            n_inner=cfg_base["intermediate_size"],
            n_positions=cfg_base["max_positions"],
            resid_pdrop=drop,
            embd_pdrop=drop,
            attn_pdrop=drop,
            **common_ids,
        )
    raise IbertError(f"config: base.arch must be llama, qwen2 or gpt2, not {arch!r}")


def new_base(cfg_base: dict, tokenizer, seed: int = 0):
    import torch
    from transformers import AutoModelForCausalLM

    torch.manual_seed(seed)
    model = AutoModelForCausalLM.from_config(base_config(cfg_base, tokenizer))
    return model


def load_base(name_or_path: str, dtype: str | None = None):
    import torch
    from transformers import AutoModelForCausalLM

    kwargs = {"dtype": getattr(torch, dtype)} if dtype else {}
    try:
        return AutoModelForCausalLM.from_pretrained(name_or_path, **kwargs)
    except (OSError, ValueError) as exc:
        raise IbertError(f"cannot load base model {name_or_path!r}: {str(exc).splitlines()[0]}")


def lora_targets(model, requested="auto") -> tuple[list[str], bool]:
    mt = getattr(model.config, "model_type", "")
    if requested and requested != "auto":
        return list(requested), mt == "gpt2"
    if mt in LORA_TARGETS:
        mods, fifo = LORA_TARGETS[mt]
        return list(mods), fifo
    names = {n.rsplit(".", 1)[-1] for n, _ in model.named_modules()}
    guess = [m for m in ("q_proj", "k_proj", "v_proj", "o_proj") if m in names]
    if not guess:
        raise IbertError(
            f"don't know the attention projections of model type {mt!r}: "
            "set lora.target_modules in the config"
        )
    return guess, False


def add_lora(model, cfg_lora: dict):
    """Wrap `model` in a PEFT LoRA adapter over its attention projections."""
    from peft import LoraConfig, get_peft_model

    targets, fifo = lora_targets(model, cfg_lora.get("target_modules", "auto"))
    lcfg = LoraConfig(
        r=int(cfg_lora["r"]),
        lora_alpha=int(cfg_lora["alpha"]),
        lora_dropout=float(cfg_lora.get("dropout", 0.0)),
        target_modules=targets,
        fan_in_fan_out=fifo,
        bias="none",
        task_type="CAUSAL_LM",
    )
    return get_peft_model(model, lcfg)


def count_params(model) -> dict:
    total = sum(p.numel() for p in model.parameters())
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    return {
        "total": total,
        "trainable": trainable,
        "trainable_fraction": trainable / total if total else 0.0,
    }

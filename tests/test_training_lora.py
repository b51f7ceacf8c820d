"""The LoRA path on a pretrained-style base (the Qwen2.5-Coder code path, on a tiny random
Qwen2 built here), and GPT-2's Conv1D layers (fan_in_fan_out)."""

from __future__ import annotations

import json

import pytest

from tests.test_model_support import micro_run, write_corpus


@pytest.fixture(scope="module")
def tiny_qwen(tmp_path_factory):
    """A randomly initialised Qwen2-architecture model saved as a standard HF directory."""
    import torch
    from transformers import Qwen2Config, Qwen2ForCausalLM

    from training.tokenizer import load_tokenizer

    run_dir, _ = micro_run()
    tok = load_tokenizer(run_dir / "tokenizer")
    torch.manual_seed(0)
    cfg = Qwen2Config(vocab_size=len(tok), hidden_size=64, intermediate_size=128,
                      num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                      max_position_embeddings=512, tie_word_embeddings=False,
                      eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id)
    model = Qwen2ForCausalLM(cfg)
    path = tmp_path_factory.mktemp("qwen2-tiny")
    model.save_pretrained(str(path))
    tok.save_pretrained(str(path))
    return path


def test_lora_on_pretrained_base_trains_saves_reloads_merges(tmp_path, tiny_qwen):
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    from ibert_lsp.model.hf import HFGenerator
    from training.config import config_path, load_config
    from training.pipeline import run

    data = write_corpus(tmp_path / "data", n_train=8, n_test=2)
    cfg = load_config(config_path("micro"), {
        "data": {"dir": str(data)}, "base": {"from": str(tiny_qwen)},
        "lora": {"steps": 8, "r": 4, "alpha": 8},
    })
    state = run(cfg, tmp_path / "run", progress=False, skip_eval=True)
    lora = state["lora"]
    assert lora["target_modules"] == ["q_proj", "k_proj", "v_proj", "o_proj"]
    assert 0 < lora["trainable_fraction"] < 0.1
    assert lora["trainable"] == sum(
        4 * (64 + out) for out in (64, 32, 32, 64)) * 2  # r*(in+out) per projection, 2 layers
    model_dir = tmp_path / "run" / "model"
    man = json.loads((model_dir / "ibert.json").read_text())
    assert man["base_external"] and man["base"] == str(tiny_qwen)
    assert not (model_dir / "base").exists()  # a large base is referenced, not copied

    # the adapter learned something: LoRA B matrices start at zero
    base = AutoModelForCausalLM.from_pretrained(str(tiny_qwen))
    peft_model = PeftModel.from_pretrained(base, str(model_dir / "adapter"))
    b = [p for n, p in peft_model.named_parameters() if "lora_B" in n]
    assert b and any(float(p.abs().sum()) > 0 for p in b)
    x = torch.tensor([[1, 5, 9, 12, 40, 41]])
    with torch.inference_mode():
        unmerged = peft_model(x).logits
        plain = AutoModelForCausalLM.from_pretrained(str(tiny_qwen))(x).logits
        merged_model = peft_model.merge_and_unload()
        merged = merged_model(x).logits
    assert not torch.allclose(unmerged, plain, atol=1e-4)  # the adapter changes the model
    assert torch.allclose(unmerged, merged, atol=1e-4)  # and merging keeps its function

    gen = HFGenerator.load(model_dir)
    assert gen.info["merged"] and gen.model.config.model_type == "qwen2"
    assert isinstance(gen.generate("<|qa|>\nquestion: x\nanswer:\n", max_new_tokens=4), list)


def test_gpt2_conv1d_uses_fan_in_fan_out():
    from training.modeling import add_lora, count_params, new_base
    from training.tokenizer import load_tokenizer

    run_dir, _ = micro_run()
    tok = load_tokenizer(run_dir / "tokenizer")
    model = new_base({"arch": "gpt2", "hidden_size": 32, "layers": 1, "heads": 2,
                      "intermediate_size": 64, "max_positions": 64}, tok)
    pm = add_lora(model, {"r": 2, "alpha": 4, "dropout": 0.0, "target_modules": "auto"})
    cfg = pm.peft_config["default"]
    assert cfg.fan_in_fan_out is True and set(cfg.target_modules) == {"c_attn", "attn.c_proj"}
    assert count_params(pm)["trainable"] > 0

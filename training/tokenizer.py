"""A byte-level BPE tokenizer trained on the corpus, with FIM, task and placeholder tokens."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from ibert_lsp.prompting import prompts


def train_tokenizer(texts: Iterable[str], vocab_size: int, min_frequency: int = 2):
    """A transformers PreTrainedTokenizerFast (byte-level BPE; no token is ever unknown)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=min_frequency,
        special_tokens=list(prompts.ALL_ADDED_TOKENS),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(texts, trainer=trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        eos_token=prompts.EOS,
        bos_token=prompts.EOS,
        pad_token=prompts.PAD,
        additional_special_tokens=list(prompts.SPECIAL_TOKENS[2:]),
        clean_up_tokenization_spaces=False,
    )
    fast.model_max_length = 1_000_000
    return fast


def load_tokenizer(path: str | Path):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(path))
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    return tok

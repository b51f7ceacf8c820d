"""Batches: packed whole sequences for base pre-training; masked, task-weighted pairs for LoRA."""

from __future__ import annotations

import random

from training.data import Example


def encode_pair(tokenizer, ex: Example, max_len: int, eos_id: int | None) -> tuple[list, list]:
    """(input_ids, labels) with the loss on the completion only; the prompt is cut from the left
    (as the generator cuts it at inference) so the completion always fits."""
    p = tokenizer(ex.prompt, add_special_tokens=False)["input_ids"]
    c = tokenizer(ex.completion, add_special_tokens=False)["input_ids"]
    if eos_id is not None and (not c or c[-1] != eos_id) and _eos_is_text(tokenizer):
        c = c + [eos_id]
    c = c[: max(1, max_len - 8)]
    room = max_len - len(c)
    p = p[-room:] if room > 0 else []
    return p + c, [-100] * len(p) + c


def _eos_is_text(tokenizer) -> bool:
    """True when prompts.EOS is not a single token of this tokenizer (a foreign base)."""
    from ibert_lsp.prompting import prompts

    return len(tokenizer(prompts.EOS, add_special_tokens=False)["input_ids"]) != 1


class PackedLM:
    """Random block_size windows of the concatenated corpus (whole sequences, all tasks)."""

    def __init__(self, tokenizer, texts: list[str], block_size: int, batch_size: int):
        import torch

        eos = tokenizer.eos_token_id
        ids: list[int] = []
        for t in texts:
            ids.extend(tokenizer(t, add_special_tokens=False)["input_ids"])
            if eos is not None:
                ids.append(eos)
        if len(ids) < block_size + 2:
            ids = ids * ((block_size + 2) // max(1, len(ids)) + 1)
        self.data = torch.tensor(ids, dtype=torch.long)
        self.block, self.batch = block_size, batch_size

    @property
    def n_tokens(self) -> int:
        return int(self.data.numel())

    def __call__(self, rng: random.Random) -> dict:
        import torch

        hi = self.data.numel() - self.block - 1
        starts = [rng.randint(0, hi) for _ in range(self.batch)]
        x = torch.stack([self.data[s : s + self.block] for s in starts])
        return {"input_ids": x, "attention_mask": torch.ones_like(x), "labels": x.clone()}


class TaskBatches:
    """Pairs drawn by task weight (then uniformly within the task), padded on the right."""

    def __init__(self, tokenizer, examples: list[Example], weights: dict, batch_size: int,
                 max_len: int):
        self.pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
        eos = tokenizer.eos_token_id
        self.by_task: dict[str, list] = {}
        for ex in examples:
            self.by_task.setdefault(ex.task, []).append(encode_pair(tokenizer, ex, max_len, eos))
        self.tasks = [t for t in self.by_task if float(weights.get(t, 0)) > 0]
        if not self.tasks:
            raise ValueError("no training examples for any task with a positive weight")
        self.weights = [float(weights[t]) for t in self.tasks]
        self.batch = batch_size

    def sample(self, rng: random.Random) -> list[tuple[list, list]]:
        tasks = rng.choices(self.tasks, weights=self.weights, k=self.batch)
        return [rng.choice(self.by_task[t]) for t in tasks]

    def collate(self, pairs) -> dict:
        import torch

        n = max(len(ids) for ids, _ in pairs)
        ids = torch.full((len(pairs), n), self.pad, dtype=torch.long)
        labels = torch.full((len(pairs), n), -100, dtype=torch.long)
        mask = torch.zeros((len(pairs), n), dtype=torch.long)
        for i, (a, b) in enumerate(pairs):
            ids[i, : len(a)] = torch.tensor(a)
            labels[i, : len(b)] = torch.tensor(b)
            mask[i, : len(a)] = 1
        return {"input_ids": ids, "attention_mask": mask, "labels": labels}

    def __call__(self, rng: random.Random) -> dict:
        return self.collate(self.sample(rng))

    def all_batches(self, size: int):
        flat = [p for t in self.tasks for p in self.by_task[t]]
        for i in range(0, len(flat), size):
            yield self.collate(flat[i : i + size])


def mean_loss(model, batches) -> float | None:
    import torch

    total, count = 0.0, 0
    model.eval()
    with torch.inference_mode():
        for b in batches:
            b = {k: v.to(model.device) for k, v in b.items()}
            out = model(**b)
            n = int((b["labels"][:, 1:] != -100).sum())
            total += float(out.loss) * n
            count += n
    return total / count if count else None

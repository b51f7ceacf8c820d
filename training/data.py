"""Dataset records -> (prompt, completion) training pairs, through ibert_lsp.prompting.prompts."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from ibert_lsp.errors import IbertError
from ibert_lsp.prompting import prompts

SPLITS = ("train", "valid", "test", "test_family")


@dataclass
class Example:
    task: str
    prompt: str
    completion: str  # ends with prompts.EOS
    record: dict


def read_jsonl(path: str | Path) -> list[dict]:
    p = Path(path)
    if not p.exists():
        raise IbertError(f"data file {p} not found")
    out = []
    with p.open() as fh:
        for i, line in enumerate(fh, 1):
            line = line.strip()
            if not line:
                continue
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise IbertError(f"{p}:{i}: not a JSON record ({exc.msg})") from None
    return out


def split_path(cfg: dict, split: str) -> Path | None:
    explicit = cfg["data"].get(split)
    if explicit:
        return Path(explicit)
    p = Path(cfg["data"]["dir"]) / f"{split}.jsonl"
    return p if p.exists() else None


def load_split(cfg: dict, split: str) -> list[dict]:
    p = split_path(cfg, split)
    if p is None:
        return []
    return read_jsonl(p)


def to_example(record: dict) -> Example | None:
    task = record.get("task")
    if task not in prompts.TASKS:
        return None
    try:
        prompt, completion = prompts.training_text(
            task, record.get("input") or {}, record.get("target") or {}, record.get("context")
        )
    except prompts.PromptError:
        return None
    return Example(task, prompt, completion, record)


def to_examples(records: list[dict]) -> list[Example]:
    return [ex for ex in map(to_example, records) if ex is not None]


def stats(records: list[dict]) -> dict:
    tasks = Counter(r.get("task") for r in records)
    families = {(r.get("meta") or {}).get("family") or (r.get("meta") or {}).get("template")
                for r in records}
    sources = Counter((r.get("meta") or {}).get("source", "?") for r in records)
    return {
        "records": len(records),
        "by_task": dict(sorted(tasks.items())),
        "families": len(families - {None}),
        "sources": dict(sorted(sources.items())),
    }


def extra_texts(paths: list[str]) -> list[str]:
    out = []
    for item in paths or []:
        p = Path(item)
        files = sorted(p.rglob("*")) if p.is_dir() else [p]
        for f in files:
            if f.is_file() and f.suffix in (".md", ".qmd", ".py", ".txt", ".rst"):
                try:
                    out.append(f.read_text(errors="replace"))
                except OSError:
                    continue
    return out

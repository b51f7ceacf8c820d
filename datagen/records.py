"""Dataset records (DESIGN.md "Dataset record") and crash-safe JSONL files."""

from __future__ import annotations

import functools
import hashlib
import json
import os
import tempfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

# The task formats are the serving side's: one definition, in the prompt module.
from ibert_lsp.prompting.prompts import INPUT_KEYS, TARGET_KEY, TASKS

META_KEYS = ("template", "source", "features", "difficulty", "family")


def ibis_version() -> str:
    try:
        from importlib.metadata import version

        return version("ibis-framework")
    except Exception:  # noqa: BLE001
        return "unknown"


_IBIS_VERSION: str | None = None


def make_record(task: str, inp: dict, target: dict, *, tables: dict[str, dict[str, str]] | None,
                template: str, source: str, features: list[str], difficulty: str, family: str,
                dialect: str = "duckdb", extra_meta: dict | None = None) -> dict:
    """One record; `id` is a hash of task + input + target, so equal examples get equal ids."""
    global _IBIS_VERSION
    if _IBIS_VERSION is None:
        _IBIS_VERSION = ibis_version()
    if task not in TASKS:
        raise ValueError(f"unknown task {task!r}")
    rid = content_id(task, inp, target)
    meta = {"template": template, "source": source, "features": sorted(set(features)),
            "difficulty": difficulty, "family": family}
    if extra_meta:
        meta.update(extra_meta)
    return {
        "id": rid,
        "task": task,
        "dialect": dialect,
        "backend": "duckdb",
        "ibis_version": _IBIS_VERSION,
        "context": {"tables": {t: {"schema": dict(s)} for t, s in (tables or {}).items()}},
        "input": inp,
        "target": target,
        "meta": meta,
    }


def content_id(task: str, inp: dict, target: dict) -> str:
    """The record id: a hash of task + input + target (equal examples get equal ids)."""
    key = json.dumps([task, inp, target], sort_keys=True, ensure_ascii=False)
    return f"{task[:3]}-{hashlib.sha1(key.encode('utf-8')).hexdigest()[:16]}"


def schemas_of(record: dict) -> dict[str, dict[str, str]]:
    """The record's context tables as plain {table: {col: type}}."""
    out = {}
    for name, spec in (record.get("context", {}).get("tables") or {}).items():
        out[name] = dict(spec.get("schema", spec)) if isinstance(spec, dict) else {}
    return out


def record_problems(rec: Any) -> list[str]:
    """Structural problems of a record (empty when it is well formed)."""
    if not isinstance(rec, dict):
        return ["not a JSON object"]
    probs = []
    for k in ("id", "task", "dialect", "context", "input", "target", "meta"):
        if k not in rec:
            probs.append(f"missing {k}")
    if probs:
        return probs
    task = rec["task"]
    if task not in TASKS:
        return [f"unknown task {task!r}"]
    for k in INPUT_KEYS[task]:
        if not isinstance(rec["input"].get(k), str):
            probs.append(f"input.{k} must be a string")
    for k in (TARGET_KEY[task],):
        if not isinstance(rec["target"].get(k), str) or not rec["target"][k].strip():
            probs.append(f"target.{k} must be a non-empty string")
    for k in META_KEYS:
        if k not in rec["meta"]:
            probs.append(f"meta.{k} missing")
    if task == "documentation" and rec["input"].get("style") not in ("google", "numpy"):
        probs.append("input.style must be google or numpy")
    return probs


# ------------------------------------------------------------------------------------------
# files
# ------------------------------------------------------------------------------------------
@functools.lru_cache(maxsize=1)
def _umask() -> int:
    """The process umask (read once: reading it means setting it, which is not thread-safe)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _atomic_write(path: str | Path, write: Callable[[Any], Any], *, sync: bool = False) -> Any:
    """Write through a temp file in the same folder, renamed over `path` when complete (with
    the permissions a plain open() would give, not mkstemp's 0600)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, 0o666 & ~_umask())
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            result = write(fh)
            if sync:
                fh.flush()
                os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    return result


def write_jsonl(path: str | Path, records: Iterable[dict]) -> int:
    """Write atomically (fsync'd before the rename); returns the number of records."""
    def write(fh) -> int:
        n = 0
        for rec in records:
            fh.write(json.dumps(rec, ensure_ascii=False, sort_keys=False) + "\n")
            n += 1
        return n

    return _atomic_write(path, write, sync=True)


def write_json(path: str | Path, obj: Any) -> None:
    def write(fh) -> None:
        json.dump(obj, fh, indent=2, sort_keys=True)
        fh.write("\n")

    _atomic_write(path, write)


def iter_jsonl(path: str | Path, errors: list[str] | None = None) -> Iterator[dict]:
    """Records of a JSONL file; malformed lines are reported as 'path:line: why' and skipped."""
    path = Path(path)
    with open(path, encoding="utf-8") as fh:
        for i, line in enumerate(fh, 1):
            line = line.strip()
            if not line:
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                if errors is not None:
                    errors.append(f"{path}:{i}: malformed JSON ({exc.msg})")
                continue
            if not isinstance(obj, dict):
                if errors is not None:
                    errors.append(f"{path}:{i}: not a JSON object")
                continue
            yield obj


def read_jsonl(path: str | Path, errors: list[str] | None = None) -> list[dict]:
    return list(iter_jsonl(path, errors))


class AppendLog:
    """An append-only JSONL checkpoint (one line per finished item), for resuming a long step.

    A line cut short by a crash is ignored on reading; `done` maps key -> stored value.
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.done: dict[str, Any] = {}
        if self.path.exists():
            for obj in iter_jsonl(self.path):
                if "k" in obj:
                    self.done[obj["k"]] = obj.get("v")
        self._fh = open(self.path, "a", encoding="utf-8")

    def add(self, key: str, value: Any) -> None:
        self.done[key] = value
        self._fh.write(json.dumps({"k": key, "v": value}, ensure_ascii=False) + "\n")

    def flush(self) -> None:
        self._fh.flush()

    def close(self) -> None:
        self._fh.close()

    def __enter__(self) -> AppendLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def stable_hash(*parts: Any) -> str:
    return hashlib.sha1(json.dumps(parts, sort_keys=True, ensure_ascii=False).encode()).hexdigest()

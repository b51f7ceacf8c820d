"""The small committed sample (data/sample/): N records per task from each split."""

from __future__ import annotations

import random
from collections import defaultdict
from pathlib import Path

from datagen.records import iter_jsonl, write_json, write_jsonl

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_DIR = ROOT / "data" / "sample"


def write_sample(out_dir: Path, dest: Path | None = None, *, n: int = 200, seed: int = 0) -> dict:
    """Up to n records per task for train and n//4 per task for valid/test/test_family."""
    dest = dest or SAMPLE_DIR
    rng = random.Random(seed)
    counts = {}
    for split in ("train", "valid", "test", "test_family"):
        path = out_dir / f"{split}.jsonl"
        if not path.exists():
            continue
        per_task = n if split == "train" else max(1, n // 4)
        by_task: dict[str, list[dict]] = defaultdict(list)
        for rec in iter_jsonl(path):
            by_task[rec["task"]].append(rec)
        picked = []
        for task in sorted(by_task):
            recs = by_task[task]
            rng.shuffle(recs)
            picked.extend(recs[:per_task])
        counts[split] = write_jsonl(dest / f"{split}.jsonl", picked)
    stats_src = out_dir / "stats.json"
    info = {"dest": str(dest), "records": counts, "per_task": n}
    if stats_src.exists():
        import json

        full = json.loads(stats_src.read_text())
        info["full_dataset"] = {"total": full.get("total"), "task": full.get("task"),
                                "split": full.get("split")}
    write_json(dest / "sample_info.json", info)
    return info

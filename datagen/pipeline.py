"""The datagen pipeline: templates -> validated pairs -> augmentation -> six tasks -> mining ->
merge/dedupe/decontaminate/split -> validation. Each step reads and writes files under
`out_dir` (default data/generated), atomically; `run_all` chains them and can resume.

Files (all JSONL unless said otherwise):
  work/pairs.jsonl        validated (SQL, Ibis) pairs from the templates        generate-data
  work/augmented.jsonl    validated variations and compositions                  generate-augmented
  work/multitask.jsonl    records of the six tasks from the pairs, all checked   generate-multitask
  work/mined.jsonl        records mined from code/docs/the Ibis package, checked mine-multitask
  train|valid|test|test_family.jsonl, stats.json                                 concatenate-data
  work/cache/pairs.log    append-only gate verdicts (resume; skipped on re-runs)
  manifest.json           per-step config, counts, wall time
"""

from __future__ import annotations

import json
import random
import re
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

from datagen import gate
from datagen.records import (AppendLog, iter_jsonl, read_jsonl, stable_hash, write_json,
                             write_jsonl)

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "data" / "generated"
SPLITS = ("train", "valid", "test", "test_family")

# Whole template families never trained on (test_family) and domains whose columns/literals
# are never trained on (test).
HELD_OUT_FAMILIES = (
    "filter_not", "group_having_hidden", "window_moving_avg", "cte_two_levels", "except_keys",
    "case_three_way", "string_replace", "compose_join_case_group", "count_non_null",
    "left_join_unmatched",
)
TEST_DOMAINS = ("sports", "education")

FULL = dict(per_domain=5, seed=0, aug_dialect=1200, aug_spelling=400, aug_style=400,
            aug_compose=600, i2s_extra_duckdb=0.3, completion_n=2, errors_n=2,
            doc_share=0.7, qa_howto=1500, qa_examples=3, domains=None, templates=None,
            mine_max_files=None, mine_max_snippets=3000)
QUICK = dict(per_domain=1, seed=0, aug_dialect=25, aug_spelling=10, aug_style=10,
             aug_compose=10, i2s_extra_duckdb=0.3, completion_n=2, errors_n=2, doc_share=1.0,
             qa_howto=30, qa_examples=1, domains=["ecommerce", "iot", "sports"], templates=None,
             mine_max_files=40, mine_max_snippets=60)


def config(quick: bool = False, **overrides: Any) -> dict:
    cfg = dict(QUICK if quick else FULL)
    cfg.update({k: v for k, v in overrides.items() if v is not None})
    return cfg


def _log(msg: str, progress: bool) -> None:
    if progress:
        print(f"[datagen] {msg}", file=sys.stderr, flush=True)


def _paths(out_dir: Path) -> dict[str, Path]:
    w = out_dir / "work"
    return {"pairs": w / "pairs.jsonl", "augmented": w / "augmented.jsonl",
            "multitask": w / "multitask.jsonl", "mined": w / "mined.jsonl",
            "cache": w / "cache" / "pairs.log", "manifest": out_dir / "manifest.json",
            "stats": out_dir / "stats.json", "bad": out_dir / "rejected.jsonl"}


def _manifest(out_dir: Path) -> dict:
    p = _paths(out_dir)["manifest"]
    if p.exists():
        try:
            return json.loads(p.read_text())
        except json.JSONDecodeError:
            return {}
    return {}


def _record_step(out_dir: Path, step: str, info: dict) -> None:
    m = _manifest(out_dir)
    m[step] = info
    write_json(_paths(out_dir)["manifest"], m)


def _pair_key(sql: str, ibis_code: str, schemas: dict, dialect: str) -> str:
    return stable_hash(sql, ibis_code, schemas, dialect)


# ------------------------------------------------------------------------------------------
# worker jobs (module level: picklable)
# ------------------------------------------------------------------------------------------
def _job_pair(c: dict) -> tuple[bool, str]:
    return gate.check_pair(c["sql"], c["ibis"], c["schemas"], c.get("dialect", "duckdb"))


def _job_compose(args: tuple[dict, int]) -> tuple[dict | None, bool, str]:
    from datagen.augment import compose_variant

    pair, seed = args
    cand = compose_variant(pair, random.Random(seed))
    if cand is None:
        return None, False, "not applicable"
    ok, why = gate.check_pair(cand["sql"], cand["ibis"], cand["schemas"], cand.get("dialect", "duckdb"))
    return cand, ok, why


def _job_build(item: dict) -> dict:
    """Build one item's records and run the definitive record check on each, in the worker."""
    from datagen import docfuncs, multitask

    kind = item["kind"]
    if kind == "ibis_to_sql":
        recs = multitask.build_ibis_to_sql(item)
    elif kind == "completion":
        recs = multitask.build_completion(item)
    elif kind == "errors":
        recs = multitask.build_errors(item)
    elif kind == "documentation":
        recs = docfuncs.build_documentation(item)
    else:
        raise ValueError(kind)
    good, bad = [], []
    for rec in recs:
        ok, why = multitask.check_record(rec)
        if ok:
            good.append(rec)
        else:
            bad.append({"id": rec.get("id"), "task": rec.get("task"), "reason": why,
                        "record": rec})
    return {"good": good, "bad": bad}


def collect_built(results: list) -> tuple[list[dict], list[dict]]:
    good, bad = [], []
    for res in results:
        if isinstance(res, dict):
            good.extend(res["good"])
            bad.extend(res["bad"])
        elif isinstance(res, tuple) and not res[0]:  # the worker itself failed
            bad.append({"id": None, "task": "unknown", "reason": res[1], "record": None})
    return good, bad


def _job_check(rec: dict) -> tuple[bool, str]:
    from datagen.multitask import check_record_item

    return check_record_item(rec)


# ------------------------------------------------------------------------------------------
# validation of candidate pairs with a resumable verdict cache
# ------------------------------------------------------------------------------------------
def validate_candidates(cands: list[dict], out_dir: Path, *, progress: bool, workers: int | None,
                        desc: str) -> list[dict]:
    cache_path = _paths(out_dir)["cache"]
    kept = []
    with AppendLog(cache_path) as log:
        keys = [_pair_key(c["sql"], c["ibis"], c["schemas"], c.get("dialect", "duckdb"))
                for c in cands]
        todo = [i for i, k in enumerate(keys) if k not in log.done]
        _log(f"{desc}: {len(cands)} candidates, {len(cands) - len(todo)} already checked "
             f"(cache), {len(todo)} to run", progress)
        counter = [0]

        def on_result(j: int, res: Any) -> None:
            ok, why = res
            log.add(keys[todo[j]], [bool(ok), why])
            counter[0] += 1
            if counter[0] % 200 == 0:
                log.flush()

        gate.run_parallel(_job_pair, [cands[i] for i in todo], workers=workers,
                          progress=progress, desc=desc, on_result=on_result)
        log.flush()
        for c, k in zip(cands, keys):
            ok, why = log.done[k]
            if ok:
                kept.append({**c, "verdict": why})
    return kept


def load_verdicts(out_dir: Path) -> dict:
    p = _paths(out_dir)["cache"]
    if not p.exists():
        return {}
    return {o["k"]: o["v"] for o in iter_jsonl(p) if "k" in o}


# ------------------------------------------------------------------------------------------
# steps
# ------------------------------------------------------------------------------------------
def step_pairs(out_dir: Path, cfg: dict, *, progress: bool = True, workers: int | None = None,
               limit: int | None = None) -> dict:
    """generate-data: expand the templates over the domains and keep the pairs the gate accepts."""
    from datagen.templates import expand, load_domains, load_templates

    t0 = time.time()
    errors: list[str] = []
    templates = load_templates(errors=errors)
    for e in errors:
        print(f"[datagen] skipped template: {e}", file=sys.stderr)
    if cfg.get("templates"):
        templates = [t for t in templates if t.name in set(cfg["templates"])]
    domains = load_domains()
    if cfg.get("domains"):
        domains = {k: v for k, v in domains.items() if k in set(cfg["domains"])}
    cands = [dict(c.to_dict(), family=c.template, source="synthetic", dialect="duckdb",
                  variant="base")
             for c in expand(templates, domains, per_domain=cfg["per_domain"], seed=cfg["seed"])]
    if limit:
        random.Random(cfg["seed"]).shuffle(cands)
        cands = cands[:limit]
    kept = validate_candidates(cands, out_dir, progress=progress, workers=workers,
                               desc="pairs")
    n = write_jsonl(_paths(out_dir)["pairs"], kept)
    fails = Counter(c["template"] for c in cands) - Counter(k["template"] for k in kept)
    info = {"candidates": len(cands), "validated": n, "templates": len(templates),
            "domains": len(domains), "template_errors": errors, "wall_s": round(time.time() - t0, 1),
            "rejected_by_template": dict(fails.most_common(15))}
    _record_step(out_dir, "generate-data", info)
    _log(f"pairs: {n}/{len(cands)} validated in {info['wall_s']}s", progress)
    return info


def step_augment(out_dir: Path, cfg: dict, *, progress: bool = True,
                 workers: int | None = None) -> dict:
    """generate-augmented: variations + compositions of validated pairs, each re-validated."""
    from datagen.augment import VARIANTS

    t0 = time.time()
    pairs = read_jsonl(_paths(out_dir)["pairs"])
    rng = random.Random(cfg["seed"] + 1)
    cands: list[dict] = []
    for kind, n in (("dialect", cfg["aug_dialect"]), ("spelling", cfg["aug_spelling"]),
                    ("style", cfg["aug_style"])):
        pool = list(pairs)
        rng.shuffle(pool)
        made = 0
        for p in pool:
            if made >= n:
                break
            c = VARIANTS[kind](p, rng)
            if c is not None:
                cands.append(c)
                made += 1
    kept = validate_candidates(cands, out_dir, progress=progress, workers=workers,
                               desc="augment") if cands else []
    # compositions need the output schema: built and checked in the workers
    pool = list(pairs)
    rng.shuffle(pool)
    jobs = [(p, rng.randrange(1 << 30)) for p in pool[: cfg["aug_compose"]]]
    composed = 0
    for cand, ok, _ in gate.run_parallel(_job_compose, jobs, workers=workers, progress=progress,
                                         desc="compose"):
        if cand is not None and ok:
            kept.append(cand)
            composed += 1
    n = write_jsonl(_paths(out_dir)["augmented"], kept)
    info = {"candidates": len(cands) + len(jobs), "validated": n, "composed": composed,
            "by_variant": dict(Counter(k["variant"].split(":")[0] for k in kept)),
            "wall_s": round(time.time() - t0, 1)}
    _record_step(out_dir, "generate-augmented", info)
    _log(f"augmented: {n} validated variations in {info['wall_s']}s", progress)
    return info


def _check_all(records: list[dict], out_dir: Path, *, progress: bool, workers: int | None,
               desc: str, use_cache: bool = True) -> tuple[list[dict], list[dict]]:
    from datagen import multitask

    multitask.set_pair_cache(load_verdicts(out_dir) if use_cache else None)
    try:
        results = gate.run_parallel(_job_check, records, workers=workers, progress=progress,
                                    desc=desc)
    finally:
        multitask.set_pair_cache(None)
    good, bad = [], []
    for rec, (ok, why) in zip(records, results):
        (good if ok else bad).append(rec if ok else {"id": rec.get("id"), "task": rec.get("task"),
                                                     "reason": why, "record": rec})
    return good, bad


def step_multitask(out_dir: Path, cfg: dict, *, progress: bool = True,
                   workers: int | None = None) -> dict:
    """generate-multitask: the six tasks from the validated pairs; every record checked."""
    from datagen import multitask, qa

    t0 = time.time()
    P = _paths(out_dir)
    base = read_jsonl(P["pairs"])
    aug = read_jsonl(P["augmented"]) if P["augmented"].exists() else []
    rng = random.Random(cfg["seed"] + 2)
    records: list[dict] = [multitask.sql_to_ibis_record(p) for p in base + aug]
    # one job list, different builders; unique Ibis code per builder
    jobs: list[dict] = []
    seen_code: set[str] = set()
    code_pairs = []
    for is_base, p in [(True, b) for b in base] + [
            (False, a) for a in aug if a.get("variant", "").startswith(("style", "compose"))]:
        if p["ibis"] in seen_code:
            continue
        seen_code.add(p["ibis"])
        code_pairs.append((is_base, p))
    for is_base, p in code_pairs:
        dialects = [rng.choice(multitask.DIALECTS + ("duckdb",))]
        if rng.random() < cfg["i2s_extra_duckdb"] and "duckdb" not in dialects:
            dialects.append("duckdb")
        jobs.append({**p, "kind": "ibis_to_sql", "dialects": dialects})
        jobs.append({**p, "kind": "completion", "seed": rng.randrange(1 << 30),
                     "n": cfg["completion_n"]})
        jobs.append({**p, "kind": "errors", "seed": rng.randrange(1 << 30), "n": cfg["errors_n"]})
        if is_base and rng.random() < cfg["doc_share"]:
            jobs.append({**p, "kind": "documentation", "seed": rng.randrange(1 << 30), "n": 1})
    built, built_bad = collect_built(gate.run_parallel(
        _job_build, jobs, workers=workers, progress=progress, desc="build+check tasks",
        chunksize=4))
    entries = qa.api_entries()
    records.extend(qa.qa_from_api(entries, rng))
    records.extend(qa.qa_from_pairs(base, entries, rng, howto=cfg["qa_howto"],
                                    examples_per_method=cfg["qa_examples"]))
    good, bad = _check_all(records, out_dir, progress=progress, workers=workers,
                           desc="check sql_to_ibis+qa")
    good += built
    bad += built_bad
    n = write_jsonl(P["multitask"], good)
    if bad:
        write_jsonl(out_dir / "work" / "multitask_rejected.jsonl", bad)
    info = {"records": n, "rejected": len(bad), "by_task": dict(Counter(r["task"] for r in good)),
            "rejected_by_task": dict(Counter(b["task"] for b in bad)),
            "api_entries": len(entries), "wall_s": round(time.time() - t0, 1)}
    _record_step(out_dir, "generate-multitask", info)
    _log(f"multitask: {n} records ({len(bad)} rejected) in {info['wall_s']}s", progress)
    return info


def step_mine(out_dir: Path, cfg: dict, *, sources: list[str] | None = None,
              tasks: list[str] | None = None, include_ibis: bool = True,
              repo_list: str | None = None, progress: bool = True,
              workers: int | None = None, out_name: str | None = None) -> dict:
    """mine-multitask / mine-task: records from code and docs, every one checked by the gate."""
    from datagen import mining

    t0 = time.time()
    records, info = mining.mine(sources or [], include_ibis=include_ibis, repo_list=repo_list,
                                tasks=tasks, seed=cfg["seed"], max_files=cfg.get("mine_max_files"),
                                max_snippets=cfg.get("mine_max_snippets"), progress=progress,
                                workers=workers, work_dir=out_dir / "work")
    pre = info.pop("prechecked")
    good, bad = _check_all(records, out_dir, progress=progress, workers=workers,
                           desc="check mined")
    good += pre
    name = out_name or ("mined.jsonl" if not tasks else f"mined_{'_'.join(tasks)}.jsonl")
    n = write_jsonl(out_dir / "work" / name, good)
    info.update({"records": n, "rejected": len(bad),
                 "by_task": dict(Counter(r["task"] for r in good)),
                 "by_source": dict(Counter(r["meta"]["source"] for r in good)),
                 "wall_s": round(time.time() - t0, 1), "file": name})
    _record_step(out_dir, "mine-multitask" if not tasks else f"mine-task:{','.join(tasks)}", info)
    _log(f"mined: {n} records ({len(bad)} rejected) in {info['wall_s']}s", progress)
    return info


# ------------------------------------------------------------------------------------------
# merge, dedupe, decontaminate, split
# ------------------------------------------------------------------------------------------
_TEXT_FIELDS = ("sql", "ibis", "prefix", "suffix", "completion", "code", "fixed", "question",
                "answer", "docstring")


def _norm(text: str) -> str:
    return re.sub(r"\s+", "", text.lower().replace('"', "'"))


def near_key(rec: dict) -> str:
    inp = rec["input"]
    tgt = rec["target"]
    parts = [rec["task"]] + [_norm(str(inp.get(k, ""))) for k in sorted(inp)] + \
        [_norm(str(tgt.get(k, ""))) for k in sorted(tgt) if k != "expr_name"]
    return stable_hash(*parts)


def input_key(rec: dict) -> str:
    inp = rec["input"]
    return stable_hash(rec["task"], *[_norm(str(inp.get(k, ""))) for k in sorted(inp)])


def _shingles(text: str, n: int = 6) -> set[str]:
    toks = re.findall(r"[a-z_][a-z0-9_]*|\d+|[^\s\w]", text.lower())
    return {" ".join(toks[i:i + n]) for i in range(max(0, len(toks) - n + 1))}


def benchmark_shingles() -> list[set[str]]:
    """Token 6-gram sets of the TPC-H/TPC-DS queries shipped with ibis (SQL and Ibis)."""
    import ibis

    base = Path(ibis.__file__).parent / "backends" / "tests" / "tpc"
    out = []
    for p in sorted(base.rglob("*.sql")):
        out.append(_shingles(p.read_text(errors="ignore")))
    for p in (base / "h" / "test_queries.py", base / "ds" / "test_queries.py"):
        if p.exists():
            for chunk in re.split(r"\n(?=@|def )", p.read_text(errors="ignore")):
                if len(chunk) > 200:
                    out.append(_shingles(chunk))
    return [s for s in out if len(s) >= 10]


class BenchIndex:
    """Inverted index shingle -> benchmark queries, for fast overlap counts."""

    def __init__(self, bench: list[set[str]]):
        self.sizes = [len(b) for b in bench]
        self.index: dict[str, list[int]] = {}
        for i, b in enumerate(bench):
            for s in b:
                self.index.setdefault(s, []).append(i)

    def __len__(self) -> int:
        return len(self.sizes)


def contaminated(rec: dict, bench: list[set[str]] | BenchIndex, threshold: float = 0.5) -> bool:
    """True when the record shares >= threshold of its (or the query's) token 6-grams with a
    TPC-H/DS benchmark query."""
    idx = bench if isinstance(bench, BenchIndex) else BenchIndex(bench)
    text = " ".join(str(v) for d in (rec["input"], rec["target"]) for v in d.values())
    sh = _shingles(text)
    if len(sh) < 10:
        return False
    hits: Counter = Counter()
    for s in sh:
        for i in idx.index.get(s, ()):
            hits[i] += 1
    return any(n / min(len(sh), idx.sizes[i]) >= threshold for i, n in hits.items())


def _bucket(key: str) -> float:
    return int(stable_hash(key)[:8], 16) / 0xFFFFFFFF


def assign_split(rec: dict) -> str:
    meta = rec["meta"]
    fam = meta.get("family", "")
    if fam in HELD_OUT_FAMILIES:
        return "test_family"
    if meta.get("domain") in TEST_DOMAINS:
        return "test"
    b = _bucket(input_key(rec))
    templated = meta.get("source") == "synthetic" and meta.get("domain")
    if templated:
        return "valid" if b < 0.04 else "train"
    return "valid" if b < 0.05 else ("test" if b < 0.10 else "train")


def step_concat(out_dir: Path, *, progress: bool = True, extra: list[str] | None = None) -> dict:
    """concatenate-data: all sources -> dedupe -> decontaminate -> split (atomic writes)."""
    t0 = time.time()
    P = _paths(out_dir)
    files = [P["multitask"]] + sorted((out_dir / "work").glob("mined*.jsonl"))
    files += [Path(x) for x in (extra or [])]
    errors: list[str] = []
    records: list[dict] = []
    per_file = {}
    for f in files:
        if f.exists():
            recs = read_jsonl(f, errors)
            per_file[str(f.name)] = len(recs)
            records.extend(recs)
    for e in errors:
        print(f"[datagen] skipped: {e}", file=sys.stderr)
    total = len(records)
    seen_id, seen_near = set(), set()
    uniq = []
    dup_exact = dup_near = 0
    for r in records:
        if r.get("id") in seen_id:
            dup_exact += 1
            continue
        seen_id.add(r.get("id"))
        k = near_key(r)
        if k in seen_near:
            dup_near += 1
            continue
        seen_near.add(k)
        uniq.append(r)
    bench = BenchIndex(benchmark_shingles())
    clean = [r for r in uniq if not contaminated(r, bench)]
    n_contam = len(uniq) - len(clean)
    splits: dict[str, list[dict]] = {s: [] for s in SPLITS}
    for r in clean:
        splits[assign_split(r)].append(r)
    # no evaluation input may also appear in training
    held = {input_key(r) for s in ("test", "test_family") for r in splits[s]}
    leak = 0
    for s in ("train", "valid"):
        keep = [r for r in splits[s] if input_key(r) not in held]
        leak += len(splits[s]) - len(keep)
        splits[s] = keep
    rng = random.Random(0)
    counts = {}
    for s in SPLITS:
        rng.shuffle(splits[s])
        counts[s] = write_jsonl(out_dir / f"{s}.jsonl", splits[s])
    st = compute_stats(out_dir)
    info = {"inputs": per_file, "total_in": total, "duplicates_exact": dup_exact,
            "duplicates_near": dup_near, "contaminated": n_contam, "cross_split_removed": leak,
            "splits": counts, "malformed_lines": len(errors), "benchmark_queries": len(bench),
            "wall_s": round(time.time() - t0, 1)}
    write_json(P["stats"], {**st, "concat": info})
    _record_step(out_dir, "concatenate-data", info)
    _log(f"concatenated: {sum(counts.values())} records {counts} "
         f"(-{dup_exact} exact, -{dup_near} near dups, -{n_contam} contaminated, -{leak} leaks)",
         progress)
    return info


# ------------------------------------------------------------------------------------------
# validation and stats
# ------------------------------------------------------------------------------------------
def split_files(out_dir: Path) -> list[Path]:
    return [out_dir / f"{s}.jsonl" for s in SPLITS if (out_dir / f"{s}.jsonl").exists()]


def step_validate(files: list[Path], *, progress: bool = True, workers: int | None = None,
                  out_dir: Path | None = None, use_cache: bool = False) -> dict:
    """validate-multitask: re-check every record of the files with the gate."""
    t0 = time.time()
    errors: list[str] = []
    records = []
    for f in files:
        records.extend(read_jsonl(f, errors))
    good, bad = _check_all(records, out_dir or DEFAULT_OUT, progress=progress, workers=workers,
                           desc="validate", use_cache=use_cache)
    wall = time.time() - t0
    info = {"files": [str(f) for f in files], "records": len(records), "ok": len(good),
            "bad": len(bad), "malformed_lines": errors, "wall_s": round(wall, 1),
            "per_s": round(len(records) / wall, 1) if wall else None,
            "by_task": dict(Counter(r["task"] for r in records)),
            "bad_by_task": dict(Counter(b["task"] for b in bad)),
            "examples": [{"id": b["id"], "task": b["task"], "reason": b["reason"]} for b in bad[:20]],
            "cache": use_cache}
    return info


def verify_checked(out_dir: Path) -> dict:
    """Every split record is unchanged (id = content hash) and was written by a step that
    checked it with the gate in this run (work/multitask.jsonl, work/mined*.jsonl hold only
    records that passed `check_record`). `validate-multitask` re-runs the gate from scratch."""
    from datagen.records import content_id

    t0 = time.time()
    checked: set[str] = set()
    for f in [_paths(out_dir)["multitask"], *sorted((out_dir / "work").glob("mined*.jsonl"))]:
        if f.exists():
            checked.update(r.get("id") for r in iter_jsonl(f))
    n = 0
    bad = []
    for f in split_files(out_dir):
        for r in iter_jsonl(f):
            n += 1
            try:
                same = content_id(r["task"], r["input"], r["target"]) == r.get("id")
            except (KeyError, TypeError):
                same = False
            if not same or r.get("id") not in checked:
                bad.append({"id": r.get("id"), "task": r.get("task"),
                            "reason": "content changed" if not same else "never checked"})
    return {"records": n, "ok": n - len(bad), "bad": len(bad), "examples": bad[:20],
            "wall_s": round(time.time() - t0, 1), "mode": "checked-in-this-run"}


def compute_stats(out_dir: Path, files: list[Path] | None = None) -> dict:
    files = files or split_files(out_dir)
    by = {k: Counter() for k in ("task", "source", "feature", "difficulty", "split", "family",
                                 "dialect", "task_split")}
    n = 0
    for f in files:
        split = f.stem
        for r in iter_jsonl(f):
            n += 1
            m = r.get("meta", {})
            by["task"][r.get("task")] += 1
            by["source"][m.get("source")] += 1
            by["difficulty"][m.get("difficulty")] += 1
            by["split"][split] += 1
            by["family"][m.get("family")] += 1
            by["dialect"][r.get("dialect")] += 1
            by["task_split"][f"{r.get('task')}/{split}"] += 1
            for feat in m.get("features", []):
                by["feature"][feat] += 1
    return {"total": n, **{k: dict(v.most_common()) for k, v in by.items()},
            "families": len(by["family"])}


def format_stats(st: dict, top: int = 25) -> str:
    lines = [f"total records: {st['total']}   families: {st.get('families')}"]
    for key in ("split", "task", "task_split", "source", "difficulty", "dialect", "feature"):
        d = st.get(key, {})
        if not d:
            continue
        lines.append(f"\nby {key}:")
        items = list(d.items())
        for k, v in items[:top]:
            lines.append(f"  {str(k):<40} {v:>8}")
        if len(items) > top:
            lines.append(f"  ... {len(items) - top} more")
    return "\n".join(lines)


# ------------------------------------------------------------------------------------------
# everything
# ------------------------------------------------------------------------------------------
STEPS = ("generate-data", "generate-augmented", "generate-multitask", "mine-multitask",
         "concatenate-data")


def run_all(out_dir: str | Path = DEFAULT_OUT, *, quick: bool = False, progress: bool = True,
            resume: bool = True, workers: int | None = None, sources: list[str] | None = None,
            repo_list: str | None = None, validate: bool = True, include_ibis: bool = True,
            **overrides: Any) -> dict:
    """Run every step; returns the stats dict (also in out_dir/stats.json).

    With resume=True a step whose outputs exist and whose config matches the manifest is
    skipped (an interrupted run picks up where it stopped; the pair verdict cache also makes a
    half-finished validation resume). The previous split files stay in place until the new
    ones are renamed over them.
    """
    import logging

    # sqlglot's per-query dialect warnings ("'NULLS LAST' translation not supported ...") are
    # expected for generated queries; on the terminal they would drown the progress bars
    logging.getLogger("sqlglot").setLevel(logging.ERROR)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    cfg = config(quick, **overrides)
    chash = stable_hash(cfg, sorted(sources or []), repo_list, include_ibis)
    P = _paths(out_dir)
    t0 = time.time()
    outputs = {"generate-data": [P["pairs"]], "generate-augmented": [P["augmented"]],
               "generate-multitask": [P["multitask"]], "mine-multitask": [P["mined"]],
               "concatenate-data": [out_dir / f"{s}.jsonl" for s in SPLITS]}
    rerun = False
    timings = {}
    for step in STEPS:
        man = _manifest(out_dir).get(step, {})
        done = resume and not rerun and man.get("config") == chash and all(
            p.exists() for p in outputs[step])
        if done:
            _log(f"{step}: up to date (resume), skipped", progress)
            continue
        rerun = True
        s0 = time.time()
        if step == "generate-data":
            info = step_pairs(out_dir, cfg, progress=progress, workers=workers)
        elif step == "generate-augmented":
            info = step_augment(out_dir, cfg, progress=progress, workers=workers)
        elif step == "generate-multitask":
            info = step_multitask(out_dir, cfg, progress=progress, workers=workers)
        elif step == "mine-multitask":
            info = step_mine(out_dir, cfg, sources=sources, repo_list=repo_list,
                             include_ibis=include_ibis, progress=progress, workers=workers)
        else:
            info = step_concat(out_dir, progress=progress)
        timings[step] = round(time.time() - s0, 1)
        m = _manifest(out_dir)
        key = step if step in m else next((k for k in m if k.startswith(step)), step)
        m.setdefault(key, info)["config"] = chash
        write_json(P["manifest"], m)
    result = {"stats": compute_stats(out_dir), "timings": timings}
    if validate:
        v = verify_checked(out_dir)
        result["validation"] = v
        if v["bad"]:
            raise RuntimeError(f"{v['bad']} records were not checked by the gate in this run: "
                               f"{v['examples'][:3]}")
    result["wall_s"] = round(time.time() - t0, 1)
    st = json.loads(P["stats"].read_text()) if P["stats"].exists() else {}
    st.update({"run_all": {"wall_s": result["wall_s"], "timings": timings, "quick": quick,
                           "validation": result.get("validation")}})
    write_json(P["stats"], st)
    return {**result["stats"], "timings": timings, "wall_s": result["wall_s"],
            "validation": result.get("validation")}

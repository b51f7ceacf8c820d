"""Evaluation on held-out splits, per task, through the gate.

| task             | metrics                                                              |
|------------------|----------------------------------------------------------------------|
| sql_to_ibis      | exec accuracy (same rows as the SQL, gate), exact match               |
| ibis_to_sql      | exec accuracy (same rows as the input Ibis code), exact match         |
| code_completion  | exact match, compile rate (prefix + completion + suffix evaluates)    |
| error_resolution | fix rate (error gone, gate passes), exact match                       |
| qa               | chrF, ROUGE-L against the reference; rate at which its code passes   |
| documentation    | chrF, ROUGE-L; rate at which the docstring passes its check           |

Top-1 metrics use greedy decoding. With n_samples > 1 each example also gets n sampled
candidates and pass@k (unbiased estimator, Chen et al. 2021) of the task's gate check.
"""

from __future__ import annotations

import json
import math
import random
import time
from collections import Counter, defaultdict

from ibert_lsp.prompting import prompts
from ibert_lsp.tasks import candidates as cand

PRIMARY = {
    "sql_to_ibis": "exec_acc",
    "ibis_to_sql": "exec_acc",
    "code_completion": "compile_rate",
    "error_resolution": "fix_rate",
    "qa": "rouge_l",
    "documentation": "rouge_l",
}


# ---------------------------------------------------------------------------- text metrics
def chrf(hyp: str, ref: str, n: int = 6, beta: float = 2.0) -> float:
    """Character n-gram F-score (chrF, Popović 2015), whitespace removed, 0..100."""
    h, r = "".join(hyp.split()), "".join(ref.split())
    precs, recs = [], []
    for k in range(1, n + 1):
        hc = Counter(h[i : i + k] for i in range(len(h) - k + 1))
        rc = Counter(r[i : i + k] for i in range(len(r) - k + 1))
        if not hc or not rc:
            continue
        match = sum((hc & rc).values())
        precs.append(match / sum(hc.values()))
        recs.append(match / sum(rc.values()))
    if not precs:
        return 100.0 if h == r else 0.0
    p, rr = sum(precs) / len(precs), sum(recs) / len(recs)
    if p == 0 and rr == 0:
        return 0.0
    b2 = beta * beta
    return 100 * (1 + b2) * p * rr / (b2 * p + rr)


def rouge_l(hyp: str, ref: str) -> float:
    """ROUGE-L F1 over whitespace tokens, 0..100."""
    a, b = hyp.split(), ref.split()
    if not a or not b:
        return 100.0 if a == b else 0.0
    prev = [0] * (len(b) + 1)
    for x in a:
        cur = [0]
        for j, y in enumerate(b, 1):
            cur.append(prev[j - 1] + 1 if x == y else max(prev[j], cur[j - 1]))
        prev = cur
    lcs = prev[-1]
    if lcs == 0:
        return 0.0
    p, r = lcs / len(a), lcs / len(b)
    return 100 * 2 * p * r / (p + r)


def pass_at_k(n: int, c: int, k: int) -> float:
    if n - c < k:
        return 1.0
    return 1.0 - math.prod(1.0 - k / i for i in range(n - c + 1, n + 1))


def _norm(s: str) -> str:
    return " ".join(s.split())


# ------------------------------------------------------------------------------ one example
def score_example(task: str, record: dict, pred: str | None) -> dict:
    inp, target, ctx = record.get("input") or {}, record.get("target") or {}, record.get("context")
    ref = str(target.get(prompts.TARGET_KEY[task], ""))
    out: dict = {"pred": pred}
    if pred is None:
        pred = ""
    exact = _norm(pred) == _norm(ref)
    dialect = record.get("dialect")
    verdict = (cand.check(task, inp, ctx, pred, dialect=dialect) if pred.strip()
               else cand.Verdict(False, "empty"))
    out["gate"] = verdict.ok
    out["reason"] = verdict.reason
    if task in ("sql_to_ibis", "ibis_to_sql"):
        out.update(exec_acc=verdict.ok, exact=exact)
    elif task == "code_completion":
        out.update(compile_rate=verdict.ok, exact=exact)
    elif task == "error_resolution":
        out.update(fix_rate=verdict.ok, exact=exact)
    elif task == "qa":
        out.update(chrf=chrf(pred, ref), rouge_l=rouge_l(pred, ref), code_pass=verdict.ok,
                   has_code=bool((verdict.checks or {}).get("snippets")))
    else:
        out.update(chrf=chrf(pred, ref), rouge_l=rouge_l(pred, ref), doc_pass=verdict.ok)
    return out


# ------------------------------------------------------------------------------------ runner
def pick(records: list[dict], max_per_task: int | None, seed: int = 0) -> dict[str, list[dict]]:
    by_task: dict[str, list[dict]] = defaultdict(list)
    for r in records:
        if r.get("task") in prompts.TASKS:
            by_task[r["task"]].append(r)
    rng = random.Random(seed)
    out = {}
    for task in prompts.TASKS:
        rows = by_task.get(task, [])
        if max_per_task and len(rows) > max_per_task:
            rows = rng.sample(rows, max_per_task)
        if rows:
            out[task] = rows
    return out


GATED_TASKS = ("sql_to_ibis", "ibis_to_sql", "code_completion", "error_resolution")


def evaluate(generator, records: list[dict], *, max_per_task: int | None = 50,
             n_samples: int = 1, ks=(1,), temperature: float = 0.8, max_new_tokens: int = 128,
             seed: int = 0, progress: bool = False, gated_n: int = 0) -> dict:
    """Per-task metrics (means, in %) and per-example details.

    `gated_n` > 0 also measures what serving shows: `gated@n` = % of examples where at least
    one of n beam-search candidates passes the gate (the tasks return only those)."""
    chosen = pick(records, max_per_task, seed)
    total = sum(len(v) for v in chosen.values())
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=total, desc="eval", unit="ex", dynamic_ncols=True)
    tasks: dict[str, dict] = {}
    details: dict[str, list] = {}
    for task, rows in chosen.items():
        scores, t0 = [], time.perf_counter()
        limit = min(max_new_tokens, cand.MAX_NEW_TOKENS[task] * 2)
        for r in rows:
            inp, ctx = r.get("input") or {}, r.get("context")
            try:
                preds = cand.model_candidates(generator, task, inp, ctx, n=1,
                                              max_new_tokens=limit)
            except prompts.PromptError:
                preds = []
            s = score_example(task, r, preds[0] if preds else None)
            s["id"] = r.get("id")
            if gated_n > 0 and task in GATED_TASKS:
                cands = cand.model_candidates(generator, task, inp, ctx, n=gated_n,
                                              max_new_tokens=limit)
                s[f"gated@{gated_n}"] = any(
                    cand.check(task, inp, ctx, c, dialect=r.get("dialect")).ok for c in cands)
            if n_samples > 1:
                # n independent samples (one per call: candidates lists are deduplicated)
                ok = []
                for _ in range(n_samples):
                    got = cand.model_candidates(generator, task, inp, ctx, n=1,
                                                max_new_tokens=limit, temperature=temperature)
                    ok.append(bool(got) and cand.check(task, inp, ctx, got[0],
                                                       dialect=r.get("dialect")).ok)
                s["samples"] = n_samples
                s["correct"] = sum(ok)
            scores.append(s)
            if bar is not None:
                bar.update(1)
        agg: dict = {"n": len(scores), "seconds": round(time.perf_counter() - t0, 2)}
        keys = [k for k in scores[0] if isinstance(scores[0][k], (bool, float, int))
                and k not in ("samples", "correct", "has_code", "gate")]
        for k in keys:
            vals = [float(s[k]) for s in scores]
            agg[k] = round(100 * sum(vals) / len(vals) if isinstance(scores[0][k], bool)
                           else sum(vals) / len(vals), 1)
        if task == "qa":
            with_code = [s for s in scores if s.get("has_code")]
            agg["code_pass"] = (round(100 * sum(s["code_pass"] for s in with_code)
                                      / len(with_code), 1) if with_code else None)
            agg["with_code"] = len(with_code)
        if n_samples > 1:
            for k in ks:
                if k <= n_samples:
                    vals = [pass_at_k(n_samples, s["correct"], k) for s in scores]
                    agg[f"pass@{k}"] = round(100 * sum(vals) / len(vals), 1)
        tasks[task] = agg
        details[task] = scores
    if bar is not None:
        bar.close()
    return {"tasks": tasks, "details": details, "n_samples": n_samples}


def table(results: dict[str, dict]) -> str:
    """A markdown table: one row per (split, task)."""
    cols = ["n", "exec_acc", "compile_rate", "fix_rate", "exact", "chrf", "rouge_l",
            "code_pass", "doc_pass"]
    extra = sorted({k for res in results.values() for t in res["tasks"].values() for k in t
                    if k.startswith(("pass@", "gated@"))})
    cols += extra
    lines = ["| split | task | " + " | ".join(cols) + " |",
             "|---|---|" + "---|" * len(cols)]
    for split, res in results.items():
        for task, agg in res["tasks"].items():
            cells = []
            for c in cols:
                v = agg.get(c)
                cells.append("" if v is None else (str(v) if c == "n" else f"{v:.1f}"))
            lines.append(f"| {split} | {task} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def write_reports(results: dict[str, dict], out_dir, meta: dict | None = None) -> tuple:
    from pathlib import Path

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    summary = {split: res["tasks"] for split, res in results.items()}
    (out / "eval.json").write_text(json.dumps({"meta": meta or {}, "results": summary,
                                               "details": {s: r["details"] for s, r in
                                                           results.items()}}, indent=1))
    md = ["# ibert model evaluation", ""]
    if meta:
        md += [f"- {k}: {v}" for k, v in meta.items()] + [""]
    md += [table(results), "",
           "exec_acc / compile_rate / fix_rate / code_pass / doc_pass: % of top-1 (greedy) "
           "candidates accepted by the gate; exact: % equal to the reference (whitespace "
           "normalized); chrf, rouge_l: 0-100 against the reference; gated@n: % of examples "
           "where one of n beam candidates passes the gate (what serving shows); pass@k: "
           "unbiased estimate from n samples."]
    (out / "eval.md").write_text("\n".join(md) + "\n")
    return out / "eval.json", out / "eval.md"

"""Generation latency of the model path the server uses (HFGenerator), plus load time and RSS.

    .venv/bin/python bench/generate_latency.py [--model DIR] [--runs 40] [--tokens 32]

Measures, in one fresh process: import time of torch+transformers, model load (base + adapter
+ merge), resident memory, and the latency of `generate()` for a completion of exactly
`--tokens` new tokens (end token suppressed, so every run decodes the same length) on
code-completion prompts, with the cache cleared before each run; then the latency of natural
completions (stopping at the end token) with n=1, n=3 (editor requests) and n=8 (CLI) candidates. Prints a table and writes
JSON to bench/results/generate_latency.json.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def pct(values, q):
    values = sorted(values)
    if not values:
        return None
    i = min(len(values) - 1, max(0, round(q / 100 * (len(values) - 1))))
    return values[i]


def rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def prompts_from(data: Path | None, n: int) -> list[tuple[dict, dict]]:
    items = []
    if data and data.exists():
        with data.open() as fh:
            for line in fh:
                r = json.loads(line)
                if r.get("task") == "code_completion":
                    items.append((r["input"], r.get("context") or {}))
                if len(items) >= n:
                    break
    if not items:
        ctx = {"tables": {"events": {"schema": {"user_id": "int64", "amount": "float64",
                                                "country": "string"}}}}
        for i in range(n):
            items.append(({"prefix": f"expr = events.filter(events.amount > {i}).", "suffix": ""},
                          ctx))
    return items


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", help="model directory (default: the installed default)")
    ap.add_argument("--data", default=str(ROOT / "data/generated/test.jsonl"))
    ap.add_argument("--runs", type=int, default=40)
    ap.add_argument("--tokens", type=int, default=32)
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: the generator's default, 1 for small models)")
    ap.add_argument("--out", default=str(ROOT / "bench/results/generate_latency.json"))
    args = ap.parse_args()

    t0 = time.perf_counter()
    import torch
    import transformers  # noqa: F401

    import_s = time.perf_counter() - t0
    from ibert_lsp.model.default import default_model_dir
    from ibert_lsp.model.hf import HFGenerator
    from ibert_lsp.prompting import prompts

    path = Path(args.model) if args.model else default_model_dir()
    t0 = time.perf_counter()
    gen = HFGenerator.load(path, threads=args.threads or None)
    load_s = time.perf_counter() - t0
    rss_after_load = rss_mib()

    items = prompts_from(Path(args.data), args.runs)
    texts = [prompts.build_prompt("code_completion", inp, ctx) for inp, ctx in items]
    special = {gen.tokenizer.convert_tokens_to_ids(t) for t in prompts.ALL_ADDED_TOKENS}
    special |= set(gen.tokenizer.all_special_ids)
    ordinary = [i for i in range(len(gen.tokenizer)) if i not in special]

    # warm-up (first call pays for lazy initialisation)
    gen.generate(texts[0], max_new_tokens=4)

    fixed, per_token = [], []
    eos = gen.eos_ids
    gen.eos_ids = []  # decode exactly --tokens tokens
    try:
        for p in texts:
            gen.cache_clear()
            t = time.perf_counter()
            out = gen.generate(p, max_new_tokens=args.tokens, allowed_token_ids=ordinary)
            dt = time.perf_counter() - t
            fixed.append(dt * 1000)
            n_tok = len(gen.tokenizer(out[0], add_special_tokens=False)["input_ids"]) if out else 0
            per_token.append(dt * 1000 / max(1, args.tokens))
            assert n_tok > 0
    finally:
        gen.eos_ids = eos

    from ibert_lsp.tasks.candidates import CANDIDATES, INTERACTIVE_CANDIDATES

    def timed(n: int, prompts_: list[str]) -> list[float]:
        out = []
        for p in prompts_:
            gen.cache_clear()
            t = time.perf_counter()
            gen.generate(p, n=n, max_new_tokens=48, stop=prompts.STOP["code_completion"])
            out.append((time.perf_counter() - t) * 1000)
        return out

    natural1 = timed(1, texts)
    beams = texts[: max(10, len(texts) // 2)]
    natural_i = timed(INTERACTIVE_CANDIDATES, beams)
    natural_c = timed(CANDIDATES, beams)
    gen.generate(texts[-1], n=1, max_new_tokens=48, stop=prompts.STOP["code_completion"])
    t = time.perf_counter()
    gen.generate(texts[-1], n=1, max_new_tokens=48, stop=prompts.STOP["code_completion"])
    cached_ms = (time.perf_counter() - t) * 1000

    def row(name, vals):
        return {"case": name, "runs": len(vals), "p50_ms": round(pct(vals, 50), 1),
                "p95_ms": round(pct(vals, 95), 1), "mean_ms": round(statistics.mean(vals), 1)}

    rows = [row(f"{args.tokens}-token completion (n=1)", fixed),
            row("natural completion, n=1, <=48 tokens", natural1),
            row(f"natural completion, n={INTERACTIVE_CANDIDATES} (beam, editor), <=48 tokens",
                natural_i),
            row(f"natural completion, n={CANDIDATES} (beam, CLI), <=48 tokens", natural_c)]
    result = {
        "model": str(path),
        "params": gen.info["params"],
        "machine": {"cpus": __import__("os").cpu_count(), "platform": platform.platform(),
                    "torch_threads": torch.get_num_threads()},
        "import_s": round(import_s, 3),
        "load_s": round(load_s, 3),
        "rss_mib_after_load": round(rss_after_load, 1),
        "rss_mib_peak": round(rss_mib(), 1),
        "per_token_ms_p50": round(pct(per_token, 50), 2),
        "cached_ms": round(cached_ms, 3),
        "latency": rows,
        "targets": {"p50_ms": 150, "p95_ms": 300, "load_s": 2.0, "rss_mib": 500},
    }
    print(f"model {path} ({gen.info['params']:,} parameters), torch threads "
          f"{torch.get_num_threads()}")
    print(f"import torch+transformers {import_s:.2f} s; model load {load_s:.2f} s; "
          f"RSS {rss_mib():.0f} MiB; cached result {cached_ms:.2f} ms")
    print("| case | runs | p50 ms | p95 ms | mean ms |\n|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['case']} | {r['runs']} | {r['p50_ms']} | {r['p95_ms']} | {r['mean_ms']} |")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""`ibert model build | info` and `ibert eval`.

`ibert model build` is the front door to the offline packages: it generates the corpus when it is
missing (datagen), trains the default recipe (training) and installs the model in
$IBERT_HOME/models/default. Those packages are imported inside the handler only.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from ibert_lsp.errors import IbertError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("model", help="build or inspect the local model",
                       description="Build the embedded default model, or show what is installed.")
    msub = p.add_subparsers(dest="model_command", metavar="ACTION")
    b = msub.add_parser("build", help="generate the corpus if missing, train, install",
                        description="Generate the corpus if it is missing, train the default "
                        "recipe (resuming an interrupted run) and install the model in "
                        "$IBERT_HOME/models/default (default ~/.cache/ibert).")
    b.add_argument("--config", default="default", help="recipe name in configs/ or YAML path")
    b.add_argument("--data", help="corpus directory (default: data/generated if it exists "
                   "here, else $IBERT_HOME/corpus)")
    b.add_argument("--quick", action="store_true", help="a smaller, faster corpus")
    b.add_argument("--fresh", action="store_true", help="retrain from scratch")
    b.add_argument("--no-eval", action="store_true", help="skip evaluation")
    b.add_argument("--dest", help="install here instead of $IBERT_HOME/models/default")
    b.add_argument("--quiet", action="store_true")
    b.add_argument("--ship", action="store_true",
                   help="also export it (merged) as the model shipped with ibert "
                   "(ibert_lsp/model/shipped, package data; for maintainers)")
    b.add_argument("--ship-fp32", action="store_true",
                   help="with --ship: keep fp32 weights instead of fp16")
    b.set_defaults(func=run_build)
    i = msub.add_parser("info", help="show the model in use (installed, else shipped) or --model")
    i.add_argument("--model", help="model directory (default: the installed default)")
    i.add_argument("--load", action="store_true", help="also load it and time the load")
    i.add_argument("--json", action="store_true")
    i.set_defaults(func=run_info)
    p.set_defaults(func=lambda args: (p.print_help(sys.stderr), 2)[1])

    e = sub.add_parser("eval", help="evaluate a model on held-out data through the gate",
                       description="Per-task metrics (exec accuracy, compile/fix rate, chrF, "
                       "ROUGE-L, pass@k) on JSONL records; prints a table, writes JSON.")
    e.add_argument("--model", help="model directory (default: the installed default)")
    e.add_argument("--data", default="data/generated",
                   help="directory with test.jsonl / test_family.jsonl (default: data/generated)")
    e.add_argument("--split", action="append", dest="splits",
                   help="split name or a .jsonl path (repeatable; default: test, test_family)")
    e.add_argument("--task", action="append", dest="tasks",
                   help="evaluate only this task (repeatable; default: all six)")
    e.add_argument("--max-per-task", type=int, default=50)
    e.add_argument("--n-samples", type=int, default=1, help="samples per example for pass@k")
    e.add_argument("--k", type=int, action="append", help="k for pass@k (repeatable)")
    e.add_argument("--temperature", type=float, default=0.8)
    e.add_argument("--gated-n", type=int, default=0,
                   help="also measure gated@N: one of N beam candidates passes the gate")
    e.add_argument("--seed", type=int, default=0, help="which examples are drawn")
    e.add_argument("--out", help="write eval.json and eval.md in this directory")
    e.add_argument("--json", action="store_true", help="print the summary as JSON")
    e.set_defaults(func=run_eval)


def _ibert_home() -> Path:
    from ibert_lsp.model.default import ibert_home

    return ibert_home()


def run_build(args) -> int:
    from ibert_lsp.model.default import default_model_dir

    try:
        from training.config import config_path, load_config
        from training.export import check_dest, install
        from training.pipeline import run
    except ModuleNotFoundError as exc:
        raise IbertError(f"this install has no training package ({exc.name}); "
                         "install ibert from its source tree") from None
    # refuse a destination of user files now, not after the corpus and the training
    dest = check_dest(Path(args.dest) if args.dest else default_model_dir())
    t0 = time.perf_counter()
    home = _ibert_home()
    if args.data:
        data = Path(args.data)
    elif Path("data/generated/train.jsonl").exists():
        data = Path("data/generated")
    else:
        data = home / "corpus"
    if not (data / "train.jsonl").exists():
        try:
            from datagen.pipeline import run_all
        except ModuleNotFoundError as exc:
            raise IbertError(f"no corpus at {data} and no datagen package ({exc.name}) "
                             "to make one") from None
        print(f"[ibert model build] generating the corpus in {data}", flush=True)
        run_all(str(data), quick=args.quick, progress=not args.quiet)
        if not (data / "train.jsonl").exists():
            raise IbertError(f"corpus generation wrote no {data / 'train.jsonl'}")
    t_data = time.perf_counter() - t0
    cfg = load_config(config_path(args.config), {"data": {"dir": str(data)}})
    run_dir = home / "runs" / cfg["name"]
    state = run(cfg, run_dir, fresh=args.fresh, progress=not args.quiet,
                skip_eval=args.no_eval)
    install(run_dir / "model", dest)
    if getattr(args, "ship", False):
        from ibert_lsp.model.default import export_shipped

        shipped = export_shipped(dest, fp16=not args.ship_fp32)
        print(f"[ibert model build] shipped as {shipped}")
    total = time.perf_counter() - t0
    print(f"[ibert model build] installed {dest} (corpus {t_data:.0f} s, training "
          f"{state.get('total_s')} s, total {total:.0f} s)")
    return 0


def run_info(args) -> int:
    from ibert_lsp.model.default import active_model, default_model_dir, outdated_reason
    from ibert_lsp.model.hf import resolve_model_dir

    if args.model:
        path, in_use = Path(args.model), "given (--model)"
        if not path.exists():
            raise IbertError(f"no model at {path}: build it with `ibert model build`")
    else:
        found = active_model()
        installed = default_model_dir()
        if found is None:
            why = (f" ({outdated_reason(installed)})" if installed.exists() else "")
            raise IbertError(f"no usable model at {installed}{why} and none shipped with "
                             "this install: build it with `ibert model build`")
        which, path = found
        in_use = ("installed (`ibert model build`)" if which == "installed"
                  else "shipped with ibert (package data)")
        if which == "shipped" and installed.exists():
            in_use += f"; the one in {installed} is not used: {outdated_reason(installed)}"
    where = resolve_model_dir(path)
    info = {"in_use": in_use, "path": str(path), "base": where["base"],
            "adapter": where["adapter"],
            **{k: v for k, v in where["manifest"].items() if k not in ("base", "adapter")}}
    if args.load:
        import resource

        t0 = time.perf_counter()
        from ibert_lsp.model.default import load_model

        gen = load_model(path)
        info["load_s"] = round(time.perf_counter() - t0, 3)
        info["params_loaded"] = gen.info["params"]
        info["rss_mib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    ev = path / "eval.json"
    if ev.exists():
        try:
            info["eval"] = json.loads(ev.read_text()).get("results")
        except json.JSONDecodeError:
            info["eval"] = "unreadable"
    if args.json:
        print(json.dumps(info, indent=2, default=str))
        return 0
    for k, v in info.items():
        if k == "eval" and isinstance(v, dict):
            print("eval:")
            for split, tasks in v.items():
                for task, m in tasks.items():
                    keys = [x for x in ("exec_acc", "compile_rate", "fix_rate", "rouge_l",
                                        "doc_pass") if x in m]
                    print(f"  {split:12s} {task:17s} n={m.get('n')} " +
                          " ".join(f"{x}={m[x]}" for x in keys))
        else:
            print(f"{k}: {v}")
    return 0


def run_eval(args) -> int:
    from ibert_lsp.model.default import default_model_dir

    try:
        from training.data import read_jsonl
        from training.evaluate import evaluate, table, write_reports
    except ModuleNotFoundError as exc:
        raise IbertError(f"this install has no training package ({exc.name})") from None
    from ibert_lsp.model.default import active_model

    path = Path(args.model) if args.model else (active_model() or ("", default_model_dir()))[1]
    if not path.exists():
        raise IbertError(f"no model at {path}: build it with `ibert model build` or pass --model")
    from ibert_lsp.prompting.prompts import TASKS

    unknown = sorted(set(args.tasks or ()) - set(TASKS))
    if unknown:
        raise IbertError(f"unknown task {', '.join(unknown)}; tasks: {', '.join(TASKS)}")
    from ibert_lsp.model.default import load_model

    gen = load_model(path)
    splits = args.splits or ["test", "test_family"]
    results = {}
    for split in splits:
        p = Path(split) if split.endswith(".jsonl") else Path(args.data) / f"{split}.jsonl"
        if not p.exists():
            if args.splits:
                raise IbertError(f"no data file {p}")
            continue
        name = p.stem
        records = [r for r in read_jsonl(p) if not args.tasks or r.get("task") in args.tasks]
        results[name] = evaluate(gen, records, max_per_task=args.max_per_task,
                                 n_samples=args.n_samples, ks=args.k or [1],
                                 temperature=args.temperature, progress=not args.json,
                                 gated_n=args.gated_n, seed=args.seed)
    if not results:
        raise IbertError(f"no test data in {args.data} (test.jsonl, test_family.jsonl)")
    if args.out:
        write_reports(results, args.out, meta={"model": str(path)})
    if args.json:
        print(json.dumps({s: r["tasks"] for s, r in results.items()}, indent=2))
    else:
        print(table(results))
    return 0


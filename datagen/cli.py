"""`ibert datagen <step>`: the datagen pipeline from the command line (the justfile calls these).

Steps: generate-data, generate-augmented, generate-multitask, validate-multitask,
mine-multitask, mine-task TASK, concatenate-data, stats, all (alias generate-all), sample.
Heavy imports stay inside the handlers.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ibert_lsp.errors import IbertError

TASK_NAMES = ("code_completion", "ibis_to_sql", "sql_to_ibis", "error_resolution", "qa",
              "documentation")
IBIS_DOCS = "/work/shared/corpora/ibis-docs"


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", default=None, help="output folder (default data/generated)")
    p.add_argument("--quick", action="store_true", help="small sizes (tests, smoke runs)")
    p.add_argument("--workers", type=int, default=None, help="processes (default: all cores)")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.add_argument("--per-domain", type=int, default=None,
                   help="candidates per (template, domain)")
    p.add_argument("--seed", type=int, default=None)


def _mine_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--source", action="append", default=[],
                   help="folder, file, git URL or repo path to mine (repeatable)")
    p.add_argument("--repo-list", default=None, help="file of repo_url|name|dir1,dir2 lines")
    p.add_argument("--no-ibis", action="store_true", help="do not mine the installed Ibis")
    p.add_argument("--max-files", type=int, default=None)


def register(subparsers: argparse._SubParsersAction) -> None:
    dg = subparsers.add_parser("datagen", help="build the validated multi-task training data")
    sub = dg.add_subparsers(dest="datagen_step", metavar="STEP")
    dg.set_defaults(func=lambda a: (dg.print_help(sys.stderr), 2)[1])

    p = sub.add_parser("generate-data", help="templates -> validated SQL/Ibis pairs")
    _common(p)
    p.add_argument("--limit", type=int, default=None, help="at most this many candidates")
    p.set_defaults(func=_generate_data)

    p = sub.add_parser("generate-augmented", help="validated variations and compositions")
    _common(p)
    p.set_defaults(func=_generate_augmented)

    p = sub.add_parser("generate-multitask", help="records of the six tasks from the pairs")
    _common(p)
    p.set_defaults(func=_generate_multitask)

    p = sub.add_parser("validate-multitask",
                       help="re-check every record with the gate; exit 1 on any bad record")
    _common(p)
    p.add_argument("files", nargs="*", help="JSONL files (default: the split files)")
    p.add_argument("--use-cache", action="store_true",
                   help="reuse this run's SQL/Ibis execution verdicts for sql_to_ibis records")
    p.add_argument("--json", default=None, help="write the report here")
    p.set_defaults(func=_validate)

    for name, helptext in (("mine-multitask", "mine all tasks from sources and the Ibis package"),):
        p = sub.add_parser(name, help=helptext)
        _common(p)
        _mine_args(p)
        p.set_defaults(func=_mine)

    p = sub.add_parser("mine-task", help="mine records of one task")
    _common(p)
    _mine_args(p)
    p.add_argument("task", choices=TASK_NAMES)
    p.set_defaults(func=_mine)

    p = sub.add_parser("concatenate-data", help="merge, dedupe, decontaminate, split")
    _common(p)
    p.add_argument("--extra", action="append", default=[], help="more JSONL files to merge")
    p.set_defaults(func=_concat)

    for name in ("stats", "dataset-stats"):
        p = sub.add_parser(name, help="counts per task, source, feature, difficulty")
        _common(p)
        p.add_argument("files", nargs="*")
        p.add_argument("--json", action="store_true", help="print JSON")
        p.set_defaults(func=_stats)

    for name in ("all", "generate-all"):
        p = sub.add_parser(name, help="every step, then validation (resumable)")
        _common(p)
        _mine_args(p)
        p.add_argument("--no-resume", action="store_true", help="recompute every step")
        p.add_argument("--no-validate", action="store_true")
        p.set_defaults(func=_all)

    p = sub.add_parser("sample", help="write N records per task of the splits to data/sample/")
    _common(p)
    p.add_argument("-n", type=int, default=200)
    p.add_argument("--dest", default=None)
    p.set_defaults(func=_sample)

    p = sub.add_parser("method-frequency",
                       help="count Ibis method calls per receiver kind in real code "
                            "(-> ibert_lsp/data/method_frequency.json)")
    p.add_argument("--source", action="append", default=[],
                   help="folder or file to count (repeatable; default: the Ibis docs and "
                        "bench/real_code/{files,cache})")
    p.add_argument("--out", default=None, help="output JSON file")
    p.set_defaults(func=_method_frequency)


def _method_frequency(args: argparse.Namespace) -> int:
    from datagen import frequency

    out = Path(args.out) if args.out else frequency.DEFAULT_OUT
    if out.is_dir():
        raise IbertError(f"--out {out} is a folder: give a .json file")
    if out.exists() and not frequency.is_frequency_table(out):
        raise IbertError(f"--out {out} exists and is not a method-frequency table: not "
                         "overwritten")
    missing = [s for s in args.source if not Path(s).exists()]
    if missing:
        raise IbertError(f"--source {missing[0]} does not exist")
    table = frequency.write([Path(s) for s in args.source], out)
    print(f"{table['meta']['calls']} calls in {table['meta']['files']} files -> {out}")
    for kind, counts in table["counts"].items():
        print(f"  {kind:9s} " + ", ".join(f"{m} {n}" for m, n in list(counts.items())[:8]))
    return 0


def _folder(path: Path, flag: str) -> Path:
    """`path` as an output folder: a path that exists and is not a folder is a user error
    (one line, exit 2), found before any work rather than as a crash half-way."""
    if path.exists() and not path.is_dir():
        raise IbertError(f"{flag} {path} is a file, not a folder: give a folder for the output")
    for parent in path.parents:
        if parent.exists():
            if not parent.is_dir():
                raise IbertError(f"{flag} {path}: {parent} is a file, not a folder")
            break
    return path


def _out(args: argparse.Namespace) -> Path:
    from datagen.pipeline import DEFAULT_OUT

    return _folder(Path(args.out), "--out") if args.out else DEFAULT_OUT


def _cfg(args: argparse.Namespace) -> dict:
    from datagen.pipeline import config

    return config(args.quick, per_domain=args.per_domain, seed=args.seed,
                  mine_max_files=getattr(args, "max_files", None))


def _print(info: dict) -> None:
    print(json.dumps(info, indent=2, default=str))


def _need(path: Path, step: str) -> None:
    if not path.exists():
        raise IbertError(f"{path} does not exist: run `ibert datagen {step}` first")


def _generate_data(args: argparse.Namespace) -> int:
    from datagen.pipeline import step_pairs

    _print(step_pairs(_out(args), _cfg(args), progress=not args.no_progress,
                      workers=args.workers, limit=args.limit))
    return 0


def _generate_augmented(args: argparse.Namespace) -> int:
    from datagen.pipeline import _paths, step_augment

    _need(_paths(_out(args))["pairs"], "generate-data")
    _print(step_augment(_out(args), _cfg(args), progress=not args.no_progress,
                        workers=args.workers))
    return 0


def _generate_multitask(args: argparse.Namespace) -> int:
    from datagen.pipeline import _paths, step_multitask

    _need(_paths(_out(args))["pairs"], "generate-data")
    _print(step_multitask(_out(args), _cfg(args), progress=not args.no_progress,
                          workers=args.workers))
    return 0


def _sources(args: argparse.Namespace) -> list[str]:
    return list(args.source)


def _mine(args: argparse.Namespace) -> int:
    from datagen.pipeline import step_mine

    tasks = [args.task] if getattr(args, "task", None) else None
    _print(step_mine(_out(args), _cfg(args), sources=_sources(args), tasks=tasks,
                     include_ibis=not args.no_ibis, repo_list=args.repo_list,
                     progress=not args.no_progress, workers=args.workers))
    return 0


def _concat(args: argparse.Namespace) -> int:
    from datagen.pipeline import step_concat

    _print(step_concat(_out(args), progress=not args.no_progress, extra=args.extra))
    return 0


def _validate(args: argparse.Namespace) -> int:
    from datagen.pipeline import split_files, step_validate
    from datagen.records import write_json

    files = [Path(f) for f in args.files] or split_files(_out(args))
    if not files:
        raise IbertError(f"no dataset files in {_out(args)}: run `ibert datagen all` first")
    for f in files:
        if not f.exists():
            raise IbertError(f"{f} does not exist")
    if args.json and Path(args.json).is_dir():
        raise IbertError(f"--json {args.json} is a folder: give a file name")
    info = step_validate(files, progress=not args.no_progress, workers=args.workers,
                         out_dir=_out(args), use_cache=args.use_cache)
    if args.json:
        write_json(args.json, info)
    print(f"validated {info['records']} records in {info['wall_s']}s "
          f"({info['per_s']} records/s): {info['ok']} ok, {info['bad']} bad")
    for m in info["malformed_lines"]:
        print(f"malformed: {m}", file=sys.stderr)
    if info["bad"] or info["malformed_lines"]:
        for ex in info["examples"]:
            print(f"BAD {ex['id']} [{ex['task']}]: {ex['reason']}", file=sys.stderr)
        print(f"validate-multitask: FAILED ({info['bad']} bad records, "
              f"{len(info['malformed_lines'])} malformed lines)", file=sys.stderr)
        return 1
    return 0


def _stats(args: argparse.Namespace) -> int:
    from datagen.pipeline import compute_stats, format_stats, split_files

    files = [Path(f) for f in args.files] or split_files(_out(args))
    if not files:
        raise IbertError(f"no dataset files in {_out(args)}: run `ibert datagen all` first")
    st = compute_stats(_out(args), files)
    print(json.dumps(st, indent=2) if args.json else format_stats(st))
    return 0


def _all(args: argparse.Namespace) -> int:
    import time

    from datagen.pipeline import format_stats, run_all

    t0 = time.time()
    sources = _sources(args)
    try:
        st = run_all(_out(args), quick=args.quick, progress=not args.no_progress,
                     resume=not args.no_resume, workers=args.workers, sources=sources,
                     repo_list=args.repo_list, validate=not args.no_validate,
                     include_ibis=not args.no_ibis,
                     per_domain=args.per_domain, seed=args.seed, mine_max_files=args.max_files)
    except RuntimeError as exc:
        raise IbertError(str(exc)) from None
    print(format_stats(st))
    print(f"\nsteps: {st['timings']}\nwall time: {time.time() - t0:.1f}s")
    if st.get("validation"):
        v = st["validation"]
        print(f"validation: {v['ok']}/{v['records']} ok in {v['wall_s']}s")
    return 0


def _sample(args: argparse.Namespace) -> int:
    from datagen.sample import write_sample

    dest = _folder(Path(args.dest), "--dest") if args.dest else None
    out = _out(args)
    if not out.is_dir():
        raise IbertError(f"{out} does not exist: run `ibert datagen all` first")
    _print(write_sample(out, dest, n=args.n))
    return 0

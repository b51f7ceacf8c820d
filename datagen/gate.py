"""Everything datagen runs goes through the gate (ibert_lsp.validate), in parallel.

`run_parallel(fn, items)` maps a picklable, module-level function over items on a process pool
(all cores by default) with a tqdm progress bar; each worker imports ibis once and keeps its
DuckDB sandbox. Per-item failures become results, never crashes: a validator that raises is
reported as `(False, "internal: ...")`.

The checks themselves:
- `check_pair(sql, ibis, schemas, dialect)`: SQL and Ibis give the same rows (execution).
- `check_code(code, schemas)`: Ibis code evaluates through the safe evaluator.
- `compile_code(code, schemas, dialect)`: the SQL Ibis's compiler makes for that code.
- `expect_error(code, schemas)`: the message the gate gives for broken code (None if it passes).
"""

from __future__ import annotations

import json
import os
import signal
import sys
from collections.abc import Callable
from functools import lru_cache
from typing import Any

# Pin sqlglot's dialect state: if sqlglot's own MySQL dialect is used before Ibis's SQL dialects
# are imported, Ibis compiles `length()` for MySQL as LENGTH instead of CHAR_LENGTH (global state
# decided by import order). Importing Ibis's dialects first makes every process compile alike.
import ibis.backends.sql.dialects  # noqa: E402,F401

PAIR_SEEDS = (0, 1)
ITEM_TIMEOUT_S = 20


def default_workers() -> int:
    env = os.environ.get("IBERT_DATAGEN_WORKERS")
    if env:
        return max(1, int(env))
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover
        return max(1, os.cpu_count() or 1)


# ------------------------------------------------------------------------------------------
# single checks (run inside workers)
# ------------------------------------------------------------------------------------------
def check_pair(sql: str, ibis_code: str, schemas: dict, dialect: str = "duckdb",
               seeds: tuple[int, ...] = PAIR_SEEDS) -> tuple[bool, str]:
    from ibert_lsp.validate.equivalence import check_sql_vs_ibis

    v = check_sql_vs_ibis(sql, ibis_code, schemas, dialect=dialect, seeds=seeds)
    if v.ok and "weak" in v.reason:
        return False, "weak: every seed gave an empty result"
    return bool(v.ok), v.reason


# One evaluation per (code, schemas) per process: generating a record and checking it ask the
# gate the same question several times (the gate is deterministic for a given input).
@lru_cache(maxsize=4096)
def _evaluated(code: str, schemas_key: str) -> tuple[Any, Any]:
    from ibert_lsp.validate.errors import GateError
    from ibert_lsp.validate.safe_eval import evaluate as _evaluate

    try:
        return _evaluate(code, json.loads(schemas_key)), None
    except GateError as exc:
        return None, exc


def _key(schemas: dict) -> str:
    # column order matters (it is the table's column order, visible in compiled SQL): no sorting
    return json.dumps(schemas)


def evaluate(code: str, schemas: dict) -> Any:
    """The gate's safe evaluation (raises GateError)."""
    expr, err = _evaluated(code, _key(schemas))
    if err is not None:
        raise err
    return expr


def check_code(code: str, schemas: dict) -> tuple[bool, str]:
    expr, err = _evaluated(code, _key(schemas))
    if err is not None:
        return False, f"{err.kind}: {err.message}"
    import ibis.expr.types as ir

    if not isinstance(expr, ir.Expr):
        return False, f"not an Ibis expression ({type(expr).__name__})"
    return True, "evaluates"


@lru_cache(maxsize=4096)
def _compiled(code: str, schemas_key: str, dialect: str, pretty: bool) -> str:
    from ibert_lsp.validate.safe_eval import compile_sql

    return compile_sql(evaluate(code, json.loads(schemas_key)), dialect=dialect, pretty=pretty)


def compile_code(code: str, schemas: dict, dialect: str = "duckdb", pretty: bool = True) -> str:
    """The SQL Ibis's compiler makes for the code (through the gate's evaluation)."""
    return _compiled(code, _key(schemas), dialect, pretty)


def expect_error(code: str, schemas: dict) -> str | None:
    """The gate's message for code that fails, or None when the code evaluates."""
    expr, err = _evaluated(code, _key(schemas))
    if err is not None:
        return err.message
    import ibis.expr.types as ir

    if not isinstance(expr, ir.Expr):
        return f"the code does not build an Ibis expression (got {type(expr).__name__})"
    return None


def output_schema(code: str, schemas: dict) -> dict[str, str] | None:
    import ibis.expr.types as ir

    expr = evaluate(code, schemas)
    if isinstance(expr, ir.Table):
        return {k: str(v) for k, v in expr.schema().items()}
    return None


# ------------------------------------------------------------------------------------------
# the pool
# ------------------------------------------------------------------------------------------
class _ItemTimeout(Exception):
    pass


def _alarm(signum: int, frame: Any) -> None:  # pragma: no cover - timing dependent
    raise _ItemTimeout()


def _quiet() -> None:
    """Deprecation chatter from Ibis and sqlglot's dialect warnings would drown the progress bar."""
    import logging
    import warnings

    warnings.simplefilter("ignore", FutureWarning)
    warnings.simplefilter("ignore", DeprecationWarning)
    warnings.simplefilter("ignore", SyntaxWarning)
    logging.getLogger("sqlglot").setLevel(logging.ERROR)


def _init_worker() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C
    _quiet()
    if hasattr(signal, "SIGALRM"):
        signal.signal(signal.SIGALRM, _alarm)
    import ibis  # noqa: F401  (pay for the import once per worker)


def _call(args: tuple[Callable, Any, int]) -> tuple[int, Any]:
    fn, item, idx = args
    use_alarm = hasattr(signal, "SIGALRM")
    if use_alarm:
        signal.alarm(ITEM_TIMEOUT_S)
    try:
        return idx, fn(item)
    except _ItemTimeout:
        return idx, (False, f"internal: timed out after {ITEM_TIMEOUT_S}s")
    except Exception as exc:  # noqa: BLE001 - a failing item must not stop the run
        return idx, (False, f"internal: {type(exc).__name__}: {exc}")
    finally:
        if use_alarm:
            signal.alarm(0)


def run_parallel(fn: Callable[[Any], Any], items: list, *, workers: int | None = None,
                 progress: bool = True, desc: str = "validating", chunksize: int = 8,
                 on_result: Callable[[int, Any], None] | None = None) -> list:
    """[fn(item) for item in items], computed on a process pool, in input order."""
    n = len(items)
    results: list[Any] = [None] * n
    if n == 0:
        return results
    workers = workers or default_workers()
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=n, desc=desc, unit="ex", file=sys.stderr, dynamic_ncols=True,
                   mininterval=0.5)
    jobs = ((fn, item, i) for i, item in enumerate(items))
    try:
        if workers == 1 or n < 4:
            _init_worker_inline()
            for job in jobs:
                i, res = _call(job)
                results[i] = res
                if on_result:
                    on_result(i, res)
                if bar:
                    bar.update(1)
        else:
            import multiprocessing as mp

            ctx = mp.get_context("fork") if sys.platform.startswith("linux") else mp.get_context()
            with ctx.Pool(workers, initializer=_init_worker, maxtasksperchild=2000) as pool:
                for i, res in pool.imap_unordered(_call, jobs, chunksize=chunksize):
                    results[i] = res
                    if on_result:
                        on_result(i, res)
                    if bar:
                        bar.update(1)
    finally:
        if bar:
            bar.close()
    return results


def _init_worker_inline() -> None:
    _quiet()
    if hasattr(signal, "SIGALRM") and signal.getsignal(signal.SIGALRM) in (signal.SIG_DFL, None):
        try:
            signal.signal(signal.SIGALRM, _alarm)
        except ValueError:  # not the main thread
            pass

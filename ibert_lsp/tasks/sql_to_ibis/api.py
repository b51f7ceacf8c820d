"""The public entry point: translate, then let the gate decide whether the answer may be shown."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from ibert_lsp.validate.isolation import TRANSLATE_TIMEOUT_S, isolated

from .errors import Unsupported
from .translator import build

Fallback = Callable[[str, dict], list[str]]


@dataclass
class Result:
    """ibis: the program (None unless verified, or unchecked with verify=False)."""

    ibis: str | None
    verified: bool
    reason: str
    checks: dict[str, Any] = field(default_factory=dict)
    features: list[str] = field(default_factory=list)
    source: str = "translator"  # or "fallback"
    candidate: str | None = None  # the unverified program, for diagnostics only

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


STRONG_SEEDS = (3, 4)
STRONG_ROWS = 200
RESOURCE_KINDS = ("timeout", "limit")  # the larger run hit a limit: not a difference


def _gate(sql: str, code: str, schemas: dict, seeds: tuple[int, ...], timeout_s: float,
          strengthen: bool = True):
    """The gate; a proof made only of empty results is retried once on more rows, and a
    difference found there rejects the program."""
    from ibert_lsp.validate.equivalence import check_sql_vs_ibis

    verdict = check_sql_vs_ibis(sql, code, schemas, dialect="duckdb", seeds=seeds, timeout_s=timeout_s)
    if not (strengthen and verdict.ok and not verdict.checks.get("nonempty")):
        return verdict
    more = check_sql_vs_ibis(sql, code, schemas, dialect="duckdb", seeds=STRONG_SEEDS,
                             n_rows=STRONG_ROWS, timeout_s=timeout_s)
    if not more.ok and more.checks.get("kind") in RESOURCE_KINDS:
        # the larger run could not finish (time or memory): no difference was found, so the
        # proof stays what it was, marked weak, and says why it was not strengthened
        verdict.checks["larger"] = {"n_rows": STRONG_ROWS, "not_run": more.reason[:200]}
        return verdict
    if not more.ok:
        more.reason = f"on {STRONG_ROWS} rows: {more.reason}"
        return more
    verdict.checks["larger"] = {"n_rows": STRONG_ROWS, "seeds": more.checks.get("seeds"),
                                "nonempty": bool(more.checks.get("nonempty"))}
    if more.checks.get("nonempty"):
        verdict.checks["nonempty"] = True
        verdict.reason = f"{verdict.reason.split(' (weak')[0]} and on {STRONG_ROWS} rows"
    return verdict


def _generator_fallback(generator: Any, n: int | None = None) -> Fallback:
    """Wrap a model Generator as a fallback through the model package's own candidate maker,
    which builds the prompt with the shared format and restores masked names and literals."""
    from ibert_lsp.tasks.candidates import CANDIDATES, make_sql_fallback

    return make_sql_fallback(generator, n=n or CANDIDATES)


def translate(sql: str, schemas: dict, *, dialect: str = "duckdb", verify: bool = True,
              generator: Any = None, fallback: Fallback | None = None,
              seeds: tuple[int, ...] = (0, 1, 2), timeout_s: float = 5.0,
              strengthen: bool = True) -> Result:
    """SQL -> Ibis. With verify (the default) `ibis` is set only for a gate-proven translation.

    The translator and its proof run in one gate call (a worker process when isolation is on);
    model fallbacks, which need the model in this process, are proven one gate call each."""
    from ibert_lsp.schema.types import normalize_schemas

    schemas = normalize_schemas(schemas)
    res, cand = _translate_checked(sql, schemas, dialect, verify, seeds, timeout_s, strengthen,
                                   _timeout_s=TRANSLATE_TIMEOUT_S)
    fb = fallback or (_generator_fallback(generator) if generator is not None else None)
    if res.ibis is not None or not verify or fb is None:
        return res
    return _try_fallback(fb, sql, schemas, dialect, seeds, timeout_s, res.reason, cand,
                         strengthen)


@dataclass
class _Candidate:
    """What the fallback needs of the translator's own (unproven) attempt."""

    code: str
    duckdb_sql: str
    features: list[str]


@isolated
def _translate_checked(sql: str, schemas: dict, dialect: str, verify: bool,
                       seeds: tuple[int, ...], timeout_s: float,
                       strengthen: bool) -> tuple[Result, _Candidate | None]:
    """The deterministic translation and its proof; `Result.reason` says why it abstained."""
    from ibert_lsp.validate.limits import check_sql_size

    check = check_sql_size(sql)
    if check is not None:
        return Result(None, False, check, {}), None
    try:
        cand = build(sql, schemas, dialect)
    except Unsupported as exc:
        cand, why = None, exc.reason
    except RecursionError:
        cand, why = None, "query too deeply nested"
    except Exception as exc:  # noqa: BLE001 - a translator bug must abstain, not crash
        from .errors import readable

        cand, why = None, f"not translated: {readable(exc)}"
    portable = _Candidate(cand.code, cand.duckdb_sql, list(cand.features)) if cand else None
    if cand is not None and not verify:
        return Result(cand.code, False, "not verified (verify=False)", {}, cand.features,
                      candidate=cand.code), portable
    if cand is not None:
        verdict = _gate(cand.duckdb_sql, cand.code, schemas, seeds, timeout_s, strengthen)
        if verdict.ok:
            return Result(cand.code, True, verdict.reason, verdict.checks, cand.features,
                          candidate=cand.code), portable
        why = f"translation failed verification: {verdict.reason}"
    return Result(None, False, why, {}, cand.features if cand else [],
                  candidate=cand.code if cand else None), portable


def _try_fallback(fb: Fallback, sql: str, schemas: dict, dialect: str, seeds, timeout_s,
                  why: str, cand, strengthen: bool) -> Result:
    """Model candidates go through exactly the same gate; the first proven one wins."""
    from ibert_lsp.validate.equivalence import transpile
    from ibert_lsp.validate.errors import GateError

    try:
        duck_sql = cand.duckdb_sql if cand else transpile(sql, dialect)
    except GateError as exc:
        return Result(None, False, f"{why}; {exc.message}", {})
    try:
        candidates = fb(sql, schemas)
    except Exception as exc:  # noqa: BLE001 - a broken model must not break translation
        return Result(None, False, f"{why}; fallback failed: {exc}", {})
    for code in candidates:
        if not code or not code.strip():
            continue
        verdict = _gate(duck_sql, code, schemas, seeds, timeout_s, strengthen)
        if verdict.ok:
            return Result(code, True, verdict.reason, verdict.checks, [], source="fallback",
                          candidate=code)
    return Result(None, False, f"{why}; no fallback candidate verified ({len(candidates)} tried)", {})

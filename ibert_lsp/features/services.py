"""Services several features share: asking, translating, compiling, documenting, and the one
way a request tries the model within a budget before the deterministic engine.

Features call these instead of each other, so hover, code actions and commands stay
independent rooms.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from pygls.exceptions import JsonRpcInternalError

if TYPE_CHECKING:
    from ibert_lsp.server import IbertServer
    from ibert_lsp.tasks.analysis import Analysis

# How long a request waits for the model, in model deadlines (`maxLatencyMs`) plus slack.
# Each generation stops at the deadline by itself; the wait covers the work around it:
# answers, fixes and docstrings may generate more than once and gate-check every candidate
# (3 deadlines + 1 s); a completion list generates once and must stay interactive
# (2 deadlines + 0.5 s). Past the wait the engine's answer (or none) is used.
TASK_WAIT_DEADLINES, TASK_WAIT_SLACK_S = 3, 1.0
COMPLETION_WAIT_DEADLINES, COMPLETION_WAIT_SLACK_S = 2, 0.5


class ActionFailed(JsonRpcInternalError):
    """A resolve that cannot produce an edit: the client shows the message."""


def task_budget_s(ls: IbertServer) -> float:
    """The wait for a model-backed answer, fix or docstring."""
    return ls.model_deadline() * TASK_WAIT_DEADLINES + TASK_WAIT_SLACK_S


def completion_budget_s(ls: IbertServer) -> float:
    """The wait for the model's completion items."""
    return ls.model_deadline() * COMPLETION_WAIT_DEADLINES + COMPLETION_WAIT_SLACK_S


async def model_within(ls: IbertServer, fn: Callable, *args: Any, budget_s: float,
                       **kwargs: Any) -> Any:
    """`fn(*args, generator=, cancel=, deadline_s=, **kwargs)` in the model worker, or None
    when no model is loaded or it did not answer within `budget_s`."""
    if ls.generator is None:
        return None
    try:
        return await asyncio.wait_for(
            ls.run_model(fn, *args, deadline_s=ls.model_deadline(), **kwargs), budget_s)
    except TimeoutError:
        return None


async def model_else_engine(ls: IbertServer, fn: Callable, *args: Any, **kwargs: Any) -> Any:
    """The model's result within `task_budget_s`, else `fn` without a model in the gate thread."""
    res = await model_within(ls, fn, *args, budget_s=task_budget_s(ls), **kwargs)
    if res is not None:
        return res
    return await ls.in_gate(fn, *args, **kwargs)


async def ask(ls: IbertServer, question: str, schemas: dict) -> Any:
    """The first answer to a question (`qa.answer`): hover and `ibert.ask`."""
    from ibert_lsp.tasks.qa import answer

    return await model_else_engine(ls, answer, question, schemas)


async def docstring_result(ls: IbertServer, source: str, line: int, style: str,
                           schemas: dict) -> Any:
    """The docstring for the function at `line` (raises `DocError` when there is none)."""
    from ibert_lsp.tasks.documentation import generate_docstring

    return await model_else_engine(ls, generate_docstring, source, line, style=style,
                                   schemas=schemas)


async def translate_sql(ls: IbertServer, sql: str, schemas: dict) -> Any:
    """The translator's Result (the model helps when it is loaded and the engine cannot)."""
    try:
        from ibert_lsp.tasks.sql_to_ibis import translate
    except ImportError as exc:
        raise ActionFailed(f"ibert: the SQL translator is not available ({exc})") from None
    if ls.generator is not None:
        res = await ls.run_model(_translate_with, translate, sql, schemas, ls.settings.dialect)
        if res is not None:
            return res
    return await ls.in_gate(translate, sql, schemas, dialect=ls.settings.dialect)


def _translate_with(translate: Callable, sql: str, schemas: dict, dialect: str, *,
                    generator: Any = None, cancel: Any = None) -> Any:
    """`translate` with the model as its fallback (the model worker passes `cancel`)."""
    return translate(sql, schemas, dialect=dialect, generator=generator)


def compile_to_sql(an: Analysis, code: str, line: int, dialect: str) -> str:
    """`code` (a snippet at `line` of the analysed document) compiled to SQL (runs in a gate
    thread on the analysis the event loop took)."""
    from ibert_lsp.tasks.analysis import gate_eval
    from ibert_lsp.validate.safe_eval import compile_sql

    env = an.env_before(line)
    try:
        expr = gate_eval(code, an.schemas, env)
    except Exception:
        expr = gate_eval("(" + code + ")", an.schemas, env)
    return compile_sql(expr, dialect=dialect, pretty=True)

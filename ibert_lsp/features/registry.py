"""The handler wrapper and the list of features: what every feature module needs from the
server's side, kept out of `server.py` so features never import the server at run time.

A feature module exposes `register(server)`; `register_all` imports the modules named in
`FEATURES` by name (as esbonio loads its features), so the server module does not import the
features and the features import `IbertServer` only for type checking.
"""

from __future__ import annotations

import asyncio
import functools
import importlib
import time
import traceback
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from lsprotocol import types

if TYPE_CHECKING:
    from ibert_lsp.server import IbertServer

# The one place the server's features are listed (registration order is pygls' order).
FEATURES: tuple[str, ...] = (
    "lifecycle", "diagnostics", "completion", "inline", "actions", "hover", "commands",
)
HANDLER_TIMES_KEPT = 500  # per handler, shown by `ibert.status`
HANDLER_TIMES_DROPPED = 100  # dropped at once when the list is full (amortised trimming)


def register_all(server: IbertServer, names: tuple[str, ...] = FEATURES) -> None:
    """Import each feature module `ibert_lsp.features.<name>` and let it register itself."""
    for name in names:
        importlib.import_module(f"ibert_lsp.features.{name}").register(server)


def preload() -> None:
    """Import every feature (and through them the tasks they call) before serving.

    An import running in a worker thread holds the module's import lock, and a handler on the
    event loop importing the same module would block the loop (measured: requests read 1-2 s
    late). Model libraries (torch, transformers) are imported by the model worker only.
    """
    import ibis
    import ibis.expr.types
    import ibis.selectors  # noqa: F401

    import ibert_lsp.model.worker
    import ibert_lsp.prompting.prompts
    import ibert_lsp.schema.sources
    import ibert_lsp.tasks.analysis
    import ibert_lsp.tasks.completion
    import ibert_lsp.tasks.documentation
    import ibert_lsp.tasks.error_resolution
    import ibert_lsp.tasks.qa
    import ibert_lsp.tasks.retrieval
    import ibert_lsp.validate.safe_eval  # noqa: F401

    for name in FEATURES:
        importlib.import_module(f"ibert_lsp.features.{name}")
    try:
        import ibert_lsp.tasks.sql_to_ibis  # noqa: F401
    except ImportError:
        pass
    try:
        import jedi  # noqa: F401
    except ImportError:
        pass


def safe(default: Any = None, *, name: str | None = None) -> Callable:
    """Turn any exception in a handler into `default` plus a log message (never a dead server).

    Cancellation propagates (pygls answers "request cancelled").
    """

    def deco(fn: Callable) -> Callable:
        label = name or fn.__name__
        if asyncio.iscoroutinefunction(fn):
            @functools.wraps(fn)
            async def wrapper(ls, *args, **kwargs):
                t0 = time.perf_counter()
                try:
                    return await fn(ls, *args, **kwargs)
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    _report(ls, label, exc)
                    return default() if callable(default) else default
                finally:
                    _timing(ls, label, time.perf_counter() - t0)
        else:
            @functools.wraps(fn)
            def wrapper(ls, *args, **kwargs):
                try:
                    return fn(ls, *args, **kwargs)
                except Exception as exc:
                    _report(ls, label, exc)
                    return default() if callable(default) else default
        return wrapper

    return deco


def _timing(ls: IbertServer, label: str, seconds: float) -> None:
    """Server-side handler durations (the last HANDLER_TIMES_KEPT per handler)."""
    times = ls.stats.setdefault("handler_ms", {}).setdefault(label, [])
    times.append(round(seconds * 1000, 2))
    if len(times) > HANDLER_TIMES_KEPT:
        del times[:HANDLER_TIMES_DROPPED]


def _report(ls: IbertServer, label: str, exc: BaseException) -> None:
    """Log a handler's failure with a short traceback and count it for `ibert.status`."""
    tb = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__, limit=6))
    ls.stats["handler_errors"] = ls.stats.get("handler_errors", 0) + 1
    ls.log(f"ibert: {label} failed: {type(exc).__name__}: {exc}\n{tb}", types.MessageType.Error)


def command(server: IbertServer, name: str) -> Callable[[Callable], Callable]:
    """Register `fn(ls, *args)` as the workspace/executeCommand `name`.

    pygls resolves a command handler's type hints at run time to convert its arguments, and
    features annotate `ls` with a type they import only for checking; so pygls gets a shim
    without annotations that calls the handler.
    """

    def deco(fn: Callable) -> Callable:
        if asyncio.iscoroutinefunction(fn):
            async def shim(ls, *args):
                return await fn(ls, *args)
        else:
            def shim(ls, *args):
                return fn(ls, *args)
        shim.__name__, shim.__qualname__, shim.__doc__ = fn.__name__, fn.__qualname__, fn.__doc__
        server.command(name)(shim)
        return fn

    return deco

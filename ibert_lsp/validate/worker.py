"""The gate worker: a process that runs `@isolated` functions under hard limits.

Started by `ibert_lsp.validate.isolation.Worker` with a clean environment. It imports what the
gate needs, then limits itself (address space, file size 0, open files), says it is ready, and
answers one framed request at a time on stdin/stdout. Each call re-arms a CPU-time limit.
"""

from __future__ import annotations

import importlib
import io
import os
import pickle
import resource
import signal
import struct
import sys
import warnings
from typing import Any

_HEADER = struct.Struct("!Q")
MAX_REQUEST_BYTES = 256 << 20


def _limit(which: int, soft: int, hard: int | None = None) -> None:
    try:
        cur_soft, cur_hard = resource.getrlimit(which)
        hard = cur_hard if hard is None else hard
        if cur_hard != resource.RLIM_INFINITY:
            soft = min(soft, cur_hard)
            hard = min(hard, cur_hard)
        resource.setrlimit(which, (soft, hard))
    except (ValueError, OSError):
        pass


def harden() -> None:
    """Limits that hold for the life of this process (after imports, before any request)."""
    from ibert_lsp.validate import isolation

    # A write past 0 bytes raises OSError(EFBIG) instead of killing us with SIGXFSZ.
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    _limit(resource.RLIMIT_FSIZE, 0, 0)
    _limit(resource.RLIMIT_AS, isolation.ADDRESS_SPACE_BYTES, isolation.ADDRESS_SPACE_BYTES)
    _limit(resource.RLIMIT_NOFILE, isolation.MAX_OPEN_FILES, isolation.MAX_OPEN_FILES)
    _limit(resource.RLIMIT_CORE, 0, 0)


def _cpu_used() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _arm_cpu(seconds: float) -> None:
    """CPU time is counted for the whole process: allow `seconds` more from now."""
    _limit(resource.RLIMIT_CPU, int(_cpu_used() + seconds) + 1, resource.RLIM_INFINITY)


def _read_exact(fd: int, n: int) -> bytes:
    buf = bytearray()
    while len(buf) < n:
        chunk = os.read(fd, n - len(buf))
        if not chunk:
            raise EOFError
        buf += chunk
    return bytes(buf)


class _Pickler(pickle.Pickler):
    """Results travel as data the caller's SafeUnpickler accepts: an in-memory table (its rows
    live in pandas/pyarrow objects) crosses as an unbound table of the same name and schema,
    which is all the caller uses (columns, types, compiling)."""

    def reducer_override(self, obj: Any) -> Any:
        from ibis.expr.operations.relations import InMemoryTable, UnboundTable

        if type(obj) is InMemoryTable:
            return UnboundTable(name=obj.name, schema=obj.schema).__reduce__()
        return NotImplemented


def _dumps(message: Any) -> bytes:
    buf = io.BytesIO()
    _Pickler(buf, protocol=pickle.HIGHEST_PROTOCOL).dump(message)
    return buf.getvalue()


def _send(fd: int, message: Any) -> None:
    from ibert_lsp.validate.errors import GateError

    try:
        data = _dumps(message)
    except Exception as exc:  # noqa: BLE001 - a value that cannot cross: say so, stay alive
        what = type(message[1]).__name__ if isinstance(message, tuple) and len(message) > 1 \
            else "value"
        data = _dumps(("raise", GateError("type", f"a {what} cannot be sent back "
                                          f"({type(exc).__name__})")))
    os.write(fd, _HEADER.pack(len(data)))
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]


def _resolve(key: str) -> Any:
    from ibert_lsp.validate import isolation

    module, _, qualname = key.partition(":")
    if not module.startswith(("ibert_lsp.", "tests.")):
        raise LookupError(f"not a gate entry point: {key}")
    importlib.import_module(module)
    fn = isolation._REGISTRY.get(key)
    if fn is None:
        raise LookupError(f"not a gate entry point: {key}")
    return fn


def _portable(exc: BaseException) -> BaseException:
    """The exception itself when the caller can rebuild it, else a GateError that says it."""
    from ibert_lsp.validate.errors import GateError

    try:
        from ibert_lsp.validate.isolation import loads_result

        loads_result(pickle.dumps(exc))
        return exc
    except Exception:  # noqa: BLE001
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        return GateError("ibis", f"{type(exc).__name__}: {text}"[:500])


def serve() -> int:
    from ibert_lsp.validate import isolation

    isolation._IN_WORKER = True
    warnings.simplefilter("ignore")
    # Frames go to the real stdout; anything a library prints goes to stderr instead.
    out_fd = os.dup(1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    in_fd = sys.stdin.fileno()
    # Import the gate's entry points before limiting ourselves.
    import ibert_lsp.tasks.analysis  # noqa: F401
    import ibert_lsp.tasks.ibis_to_sql  # noqa: F401
    import ibert_lsp.tasks.sql_to_ibis  # noqa: F401
    import ibert_lsp.validate.equivalence  # noqa: F401
    import ibert_lsp.validate.safe_eval  # noqa: F401
    from ibert_lsp.validate.duck import sandbox

    try:
        sandbox()  # open the in-memory DuckDB once, while files may still be opened
    except Exception:  # noqa: BLE001 - the first check reports it
        pass
    harden()
    _send(out_fd, ("ready", os.getpid()))
    while True:
        try:
            (size,) = _HEADER.unpack(_read_exact(in_fd, _HEADER.size))
            if size > MAX_REQUEST_BYTES:
                return 2
            message = pickle.loads(_read_exact(in_fd, size))  # from our trusted parent
        except EOFError:
            return 0
        _op, key, args, kwargs, timeout = message
        _arm_cpu(float(timeout) + 2.0)
        try:
            result = ("ok", _resolve(key)(*args, **kwargs))
        except MemoryError:
            from ibert_lsp.validate.errors import GateError

            result = ("raise", GateError("limit", "the check needs too much memory"))
        except RecursionError:
            from ibert_lsp.validate.errors import GateError

            result = ("raise", GateError("limit", "the check recursed too deeply"))
        except Exception as exc:  # noqa: BLE001 - every failure travels back as a value
            result = ("raise", _portable(exc))
        _send(out_fd, result)


if __name__ == "__main__":
    sys.exit(serve())

"""Gate work in worker processes with hard limits, so hostile input costs one answer.

The gate's interpreter refuses what it can see; this module bounds what it cannot: a C call
that never returns, memory, CPU, files. Untrusted code is interpreted only in a worker process
(`python -m ibert_lsp.validate.worker`) started with a clean environment that, before it reads
its first request, sets its own limits: address space 1 GiB, no file creation (RLIMIT_FSIZE 0),
few file descriptors, and a CPU-time limit re-armed for every call. The caller waits on a pipe
(no GIL held), kills the worker when a call outlives its time, and starts a fresh one.

Functions marked `@isolated` run in a worker whenever isolation is enabled in this process
(the CLI and the language server enable it at start) and in-process otherwise (unit tests,
inside a worker). Arguments go to the worker as pickles (the caller is trusted); results come
back through `SafeUnpickler`, which only rebuilds allow-listed classes, so a worker that were
ever subverted could still not make the caller run anything.
"""

from __future__ import annotations

import functools
import io
import os
import pickle
import queue
import select
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from ibert_lsp.validate.errors import GateError

F = TypeVar("F", bound=Callable[..., Any])

ADDRESS_SPACE_BYTES = 1 << 30   # per worker
MAX_OPEN_FILES = 64
CALL_TIMEOUT_S = 6.0            # one isolated call, wall clock (DoS inputs answer within 10 s)
TRANSLATE_TIMEOUT_S = 8.0       # SQL→Ibis: translation and its proof on 3-5 seeds, one call
START_TIMEOUT_S = 60.0          # a cold worker imports ibis, duckdb and sqlglot
MAX_RESULT_BYTES = 64 << 20
_HEADER = struct.Struct("!Q")

_REGISTRY: dict[str, Callable[..., Any]] = {}
_ENABLED = False
_IN_WORKER = False
_POOLS: dict[str, Pool] = {}  # lane -> its own workers
_POOL_LOCK = threading.Lock()
_LANE = threading.local()
DEFAULT_LANE = "default"


# --- marking functions ---------------------------------------------------------------------------

def isolated(fn: F) -> F:
    """Run `fn` in a gate worker when isolation is on; its result must be plain or Ibis data."""
    key = f"{fn.__module__}:{fn.__qualname__}"
    _REGISTRY[key] = fn

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        timeout = kwargs.pop("_timeout_s", None)
        if _ENABLED and not _IN_WORKER:
            return pool().call(key, args, kwargs, timeout=timeout)
        return fn(*args, **kwargs)

    wrapper.__wrapped_local__ = fn  # type: ignore[attr-defined]
    return wrapper  # type: ignore[return-value]


def enable(workers: int = 1, lanes: tuple[str, ...] = (DEFAULT_LANE,)) -> None:
    """Route every `@isolated` call of this process through worker processes: `workers` per
    lane. A thread picks its lane with `set_lane` (the server gives the requests a user waits
    for their own lane, so they never queue behind a long analysis); others use the default."""
    global _ENABLED
    with _POOL_LOCK:
        _ENABLED = True
        for lane in {DEFAULT_LANE, *lanes}:
            if lane in _POOLS:
                _POOLS[lane].resize(workers)
            else:
                _POOLS[lane] = Pool(workers)


def set_lane(name: str) -> None:
    """The lane this thread's gate calls use (e.g. as a ThreadPoolExecutor initializer)."""
    _LANE.name = name


def disable() -> None:
    global _ENABLED
    with _POOL_LOCK:
        _ENABLED = False
        old = list(_POOLS.values())
        _POOLS.clear()
    for p in old:
        p.close()


def enabled() -> bool:
    return _ENABLED and not _IN_WORKER


def pool() -> Pool:
    lane = getattr(_LANE, "name", DEFAULT_LANE)
    with _POOL_LOCK:
        p = _POOLS.get(lane) or _POOLS.get(DEFAULT_LANE)
        if p is None:
            p = _POOLS[DEFAULT_LANE] = Pool(1)
        return p


def prewarm() -> None:
    """Start the workers now (in the background) so the first request does not wait."""
    if enabled():
        with _POOL_LOCK:
            pools = list(_POOLS.values())
        for p in pools:
            p.prewarm()


# --- results the caller accepts ------------------------------------------------------------------

_SAFE_BUILTINS = frozenset({
    "list", "dict", "set", "frozenset", "tuple", "slice", "bytearray", "complex", "range",
    "int", "float", "str", "bool", "bytes", "object",
    "Exception", "ValueError", "TypeError", "KeyError", "IndexError", "AttributeError",
    "RuntimeError", "NotImplementedError", "RecursionError", "MemoryError", "TimeoutError",
    "ZeroDivisionError", "OverflowError", "ArithmeticError", "LookupError", "SyntaxError",
    "UnicodeDecodeError", "UnicodeEncodeError",
})
_SAFE_OPERATORS = frozenset({
    "add", "sub", "mul", "truediv", "floordiv", "mod", "pow", "neg", "pos", "invert", "and_",
    "or_", "xor", "lshift", "rshift", "eq", "ne", "lt", "le", "gt", "ge", "not_", "getitem",
    "matmul", "abs",
})
_SAFE_MODULE_CLASSES = ("ibis.expr.", "ibis.common.", "ibert_lsp.", "datetime", "decimal",
                        "uuid", "collections", "ast", "_ast", "zoneinfo", "pathlib")
_UNSAFE_CLASS_MODULES = ("ibert_lsp.validate.isolation", "ibert_lsp.server", "ibert_lsp.model",
                         "ibert_lsp.features", "ibert_lsp.documents", "ibert_lsp.protocol",
                         "ibert_lsp.progress")


def _safe_getattr(obj: Any, name: str) -> Any:
    """Ibis pickles its nodes as `getattr(Class, "__recreate__")(...)`: allow exactly that."""
    if name != "__recreate__" or not isinstance(obj, type) or not obj.__module__.startswith(
            "ibis."):
        raise pickle.UnpicklingError(f"refused getattr({obj!r}, {name!r})")
    return getattr(obj, name)


class SafeUnpickler(pickle.Unpickler):
    """Rebuilds only data: allow-listed classes (Ibis expressions, ibert's result records,
    AST nodes, plain Python values), never a function that could act."""

    def find_class(self, module: str, name: str) -> Any:
        if module == "builtins":
            if name == "getattr":
                return _safe_getattr
            if name in _SAFE_BUILTINS:
                return getattr(__import__("builtins"), name)
        elif module in ("_operator", "operator") and name in _SAFE_OPERATORS:
            return getattr(__import__("operator"), name)
        elif module == "copyreg" and name == "_reconstructor":
            import copyreg

            return copyreg._reconstructor  # type: ignore[attr-defined]
        elif module.startswith(_SAFE_MODULE_CLASSES) and not module.startswith(
                _UNSAFE_CLASS_MODULES) and module.split(".")[0] in (
                "ibis", "ibert_lsp", "datetime", "decimal", "uuid", "collections", "ast",
                "_ast", "zoneinfo", "pathlib"):
            value = super().find_class(module, name)
            if isinstance(value, type):
                return value
        elif module.startswith("ibis.backends") and module.split(".")[0] == "ibis":
            # a connection's *type* (completion lists its methods); never an instance's state
            from ibis.backends import BaseBackend

            value = super().find_class(module, name)
            if isinstance(value, type) and issubclass(value, BaseBackend):
                return value
        raise pickle.UnpicklingError(f"the gate worker sent a {module}.{name}, which is refused")


def loads_result(data: bytes) -> Any:
    return SafeUnpickler(io.BytesIO(data)).load()


# --- the pool (caller side) ----------------------------------------------------------------------

def _clean_env() -> dict[str, str]:
    keep = {k: os.environ[k] for k in ("LANG", "LC_ALL", "TZ") if k in os.environ}
    return {**keep, "PYTHONDONTWRITEBYTECODE": "1", "PYTHONHASHSEED": "0",
            "MALLOC_ARENA_MAX": "1", "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
            "PYTHONPATH": os.pathsep.join(p for p in sys.path if p and os.path.isdir(p)),
            "PYTHONSAFEPATH": "1",  # nothing from the working directory
            "HOME": "/nonexistent", "IBERT_GATE_WORKER": "1", "PYTHONWARNINGS": "ignore"}


class Worker:
    """One worker process and its pipes; used by one call at a time."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "ibert_lsp.validate.worker"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
            env=_clean_env(), cwd="/", close_fds=True, start_new_session=True)
        self.ready = False
        self.calls = 0

    def wait_ready(self, timeout: float) -> None:
        if not self.ready:
            kind, payload = self._read(timeout)
            if kind != "ready":
                raise GateError("execution", f"the gate worker did not start: {payload}")
            self.ready = True

    def _read(self, timeout: float) -> tuple[str, Any]:
        out = self.proc.stdout
        assert out is not None
        head = self._read_exact(out, _HEADER.size, timeout)
        (size,) = _HEADER.unpack(head)
        if size > MAX_RESULT_BYTES:
            self.kill()  # its frame is not read: the stream is out of step
            raise GateError("limit", "the gate worker's answer is too large")
        data = self._read_exact(out, size, timeout)
        try:
            return loads_result(data)
        except pickle.UnpicklingError:
            raise
        except Exception as exc:  # noqa: BLE001 - a value that does not rebuild: refused
            raise pickle.UnpicklingError(f"the gate worker's answer does not rebuild: "
                                         f"{type(exc).__name__}") from None

    def _read_exact(self, out: Any, n: int, timeout: float) -> bytes:
        deadline = time.monotonic() + timeout
        buf = bytearray()
        fd = out.fileno()
        while len(buf) < n:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError
            ready, _, _ = select.select([fd], [], [], left)
            if not ready:
                raise TimeoutError
            chunk = os.read(fd, min(n - len(buf), 1 << 20))
            if not chunk:
                raise EOFError
            buf += chunk
        return bytes(buf)

    def send(self, message: Any) -> None:
        data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
        assert self.proc.stdin is not None
        self.proc.stdin.write(_HEADER.pack(len(data)) + data)
        self.proc.stdin.flush()

    def call(self, key: str, args: tuple, kwargs: dict, timeout: float) -> Any:
        self.wait_ready(START_TIMEOUT_S)
        self.calls += 1
        self.send(("call", key, args, kwargs, timeout))
        kind, payload = self._read(timeout + 1.0)
        if kind == "ok":
            return payload
        if kind == "raise":
            raise payload
        raise GateError("execution", f"the gate worker failed: {payload}")

    def alive(self) -> bool:
        return self.proc.poll() is None

    def kill(self) -> None:
        try:
            os.killpg(self.proc.pid, 9)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            self.proc.kill()
        except ProcessLookupError:
            pass
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        for f in (self.proc.stdin, self.proc.stdout):
            try:
                if f is not None:
                    f.close()
            except OSError:
                pass


class Pool:
    """A few warm workers; a call takes an idle one, a dead or late one is replaced."""

    def __init__(self, size: int = 1) -> None:
        self.size = max(1, size)
        self.idle: queue.SimpleQueue[Worker] = queue.SimpleQueue()
        self.lock = threading.Lock()
        self.started = 0
        self.closed = False
        self.stats = {"calls": 0, "timeouts": 0, "crashes": 0, "restarts": 0}

    def resize(self, size: int) -> None:
        with self.lock:
            self.size = max(self.size, size)

    def prewarm(self) -> None:
        with self.lock:
            missing = self.size - self.started
            self.started += max(0, missing)
        for _ in range(max(0, missing)):
            threading.Thread(target=self._spawn_idle, daemon=True,
                             name="ibert-gate-start").start()

    def _spawn_idle(self) -> None:
        try:
            w = Worker()
            w.wait_ready(START_TIMEOUT_S)
        except Exception:  # noqa: BLE001 - the next call starts one itself and reports
            with self.lock:
                self.started -= 1
            return
        self.idle.put(w)

    def _take(self) -> Worker:
        try:
            return self.idle.get_nowait()
        except queue.Empty:
            pass
        with self.lock:
            can_start = self.started < self.size
            if can_start:
                self.started += 1
        if can_start:
            try:
                return Worker()
            except OSError as exc:
                with self.lock:
                    self.started -= 1
                raise GateError("execution", f"cannot start a gate worker: {exc}") from None
        try:
            return self.idle.get(timeout=START_TIMEOUT_S)
        except queue.Empty:
            raise GateError("timeout", "no gate worker became free in time") from None

    def _replace(self, worker: Worker) -> None:
        worker.kill()
        self.stats["restarts"] += 1
        with self.lock:
            self.started -= 1
        if not self.closed:
            self.prewarm()

    def call(self, key: str, args: tuple, kwargs: dict, timeout: float | None = None) -> Any:
        if self.closed:
            raise GateError("execution", "the gate is shut down")
        timeout = CALL_TIMEOUT_S if timeout is None else timeout
        worker = self._take()
        self.stats["calls"] += 1
        try:
            result = worker.call(key, args, kwargs, timeout)
        except TimeoutError:
            self.stats["timeouts"] += 1
            self._replace(worker)
            raise GateError("timeout", f"the check took longer than {timeout:g} s and was "
                            "stopped") from None
        except pickle.UnpicklingError as exc:
            # the whole frame was read: the worker is in step and keeps serving; the value
            # it sent (a function, a module stand-in) is simply not one the caller accepts
            self.idle.put(worker) if worker.alive() else self._replace(worker)
            raise GateError("forbidden", str(exc)) from None
        except (EOFError, BrokenPipeError, ConnectionError, OSError, struct.error):
            self.stats["crashes"] += 1
            self._replace(worker)
            raise GateError("limit", "the check exceeded the gate's limits (memory, CPU time or "
                            "files) and was stopped") from None
        except BaseException:
            if worker.alive():
                self.idle.put(worker)
            else:
                self._replace(worker)
            raise
        if worker.alive():
            self.idle.put(worker)
        else:
            self._replace(worker)
        return result

    def close(self) -> None:
        self.closed = True
        while True:
            try:
                self.idle.get_nowait().kill()
            except queue.Empty:
                break

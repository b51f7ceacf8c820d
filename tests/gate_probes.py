"""Gate entry points that try, on purpose, what hostile code would do once inside a worker:
the isolation tests run them in real worker processes to prove the limits hold even if the
interpreter were ever escaped."""

from __future__ import annotations

import os
import time

from ibert_lsp.validate.isolation import isolated


@isolated
def write_file(path: str) -> str:
    """Try to create and fill a file; returns how it went."""
    try:
        with open(path, "w") as fh:
            fh.write("escaped")
            fh.flush()
        return "wrote"
    except OSError as exc:
        return f"refused: {exc.strerror}"


@isolated
def allocate(n_bytes: int) -> int:
    return len(bytearray(n_bytes))


@isolated
def spin(seconds: float) -> str:
    """Hold the CPU (and the GIL) the way a C call that never returns would."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        pass
    return "done"


@isolated
def environment() -> dict[str, str]:
    return dict(os.environ)


@isolated
def pid() -> int:
    return os.getpid()


@isolated
def open_many(n: int) -> str:
    handles = []
    try:
        for _ in range(n):
            handles.append(open("/dev/null"))
        return "opened"
    except OSError as exc:
        return f"refused: {exc.strerror}"
    finally:
        for h in handles:
            h.close()


@isolated
def hostile_result() -> object:
    """A value the caller must refuse to rebuild: unpickling it would run a command."""

    class Boom:
        def __reduce__(self):
            return (os.system, ("echo pwned",))

    return Boom()

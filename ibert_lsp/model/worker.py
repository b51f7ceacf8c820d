"""Run a Generator off the caller's thread, so the server's event loop never blocks on a model.

`GenerationWorker` owns one worker thread (models are not re-entrant; requests queue up).
`await worker.arun(fn, ...)` runs a model-bound function in that thread; if the awaiting task is cancelled
(an LSP `$/cancelRequest`, or a newer request for the same document), the cancel event the
model's StoppingCriteria watches is set, so the worker stops within one decoding step.
Model loading can also happen in the worker (`GenerationWorker.start_loading(loader)`), so the
server starts answering at once and the model becomes available when it is ready.
"""

from __future__ import annotations

import asyncio
import concurrent.futures as cf
import threading
from collections.abc import Callable

from ibert_lsp.model.protocol import Generator


class GenerationWorker:
    """One model thread: loads the Generator, then runs model-bound work in order."""

    def __init__(self, generator: Generator | None = None):
        self._pool = cf.ThreadPoolExecutor(max_workers=1, thread_name_prefix="ibert-model")
        self._generator = generator
        self._loading: cf.Future | None = None
        self.load_error: BaseException | None = None

    # ------------------------------------------------------------------ load
    def start_loading(self, loader: Callable[[], Generator | None]) -> cf.Future:
        """Load the model in the worker thread; requests submitted meanwhile wait for it."""

        def run():
            try:
                self._generator = loader()
            except BaseException as exc:  # reported through `load_error`, never raised here
                self.load_error = exc
                self._generator = None
            return self._generator

        self._loading = self._pool.submit(run)
        return self._loading

    @property
    def generator(self) -> Generator | None:
        """The loaded Generator; None while loading, after a failed load, or without one."""
        return self._generator

    # -------------------------------------------------------------- generate
    def run(self, fn: Callable, *args, **kwargs) -> cf.Future:
        """Run any model-bound function (e.g. a task over the generator) in the worker."""
        return self._pool.submit(fn, *args, **kwargs)

    async def arun(self, fn: Callable, *args, **kwargs):
        """Await `fn(*args, cancel=event, **kwargs)` in the worker; cancelling the awaiting task
        sets the event (the model's StoppingCriteria watches it) and drops a queued call."""
        cancel = threading.Event()
        fut = self.run(fn, *args, cancel=cancel, **kwargs)
        try:
            return await asyncio.wrap_future(fut)
        except asyncio.CancelledError:
            cancel.set()
            fut.cancel()
            raise

    def shutdown(self, wait: bool = False) -> None:
        self._pool.shutdown(wait=wait, cancel_futures=True)

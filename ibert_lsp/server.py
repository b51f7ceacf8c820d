"""The ibert language server: pygls wiring, shared state, no task logic.

Features live in `ibert_lsp.features.*` (one module per LSP feature, each with `register`);
tasks in `ibert_lsp.tasks.*`. This module owns the per-document caches (schemas, analysis), the
settings, the background loads (model, database schemas) and the two executors: one thread for
gate/analysis work (Ibis is not re-entrant across threads in every path, and serialising keeps
the results deterministic) and the model worker (`ibert_lsp.model.worker.GenerationWorker`).
Nothing slow runs on the event loop.
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures as cf
import functools
import logging
import os
import sys
import time
from collections.abc import Callable
from typing import Any

from lsprotocol import types
from pygls.lsp.server import LanguageServer

from ibert_lsp import __version__
from ibert_lsp import config as cfg
from ibert_lsp.documents import DocState, ModelState, is_python, is_sql
from ibert_lsp.model.loading import load_generator
from ibert_lsp.progress import Progress
from ibert_lsp.protocol import IbertProtocol, end_process
from ibert_lsp.schema.sources import read_config_schemas

log = logging.getLogger("ibert.server")

GATE_TIMEOUT_S = 20.0  # one piece of gate/analysis work; beyond it the thread is replaced
INTERACTIVE_LANE = "interactive"  # gate workers of their own for completion, hover, actions

NO_MODEL_MESSAGE = (
    "ibert: no model is loaded, so model suggestions (inline completion, model fixes and "
    "answers) are off; every checked deterministic feature works. Build the default model with "
    "`ibert model build`, or point the setting `ibert.modelPath` (and `ibert.adapter`) to a "
    "Hugging Face model directory."
)


class IbertServer(LanguageServer):
    def __init__(self) -> None:
        super().__init__("ibert-lsp", __version__, protocol_cls=IbertProtocol)
        self.settings = cfg.Settings()
        self.base_settings = cfg.Settings()
        self._sibling_schemas: dict[tuple[str, int], dict] = {}  # (schema.json, mtime) -> it  # the settings initialize gave (changes apply to it)
        self.docs: dict[str, DocState] = {}
        self.config_schemas: dict = {}
        self.config_schema_error: str | None = None
        self.analysis_pool = cf.ThreadPoolExecutor(max_workers=1, thread_name_prefix="ibert-gate")
        # requests the user waits for (completion, hover, actions) never queue behind a long
        # document analysis: their gate calls go to the other worker process
        from ibert_lsp.validate import isolation

        self.interactive_pool = cf.ThreadPoolExecutor(
            max_workers=2, thread_name_prefix="ibert-interactive",
            initializer=isolation.set_lane, initargs=(INTERACTIVE_LANE,))
        self._told_too_large: set[str] = set()
        self.io_pool = cf.ThreadPoolExecutor(max_workers=2, thread_name_prefix="ibert-io")
        self.worker = None  # GenerationWorker, created when the model feature is on
        self._model_state = ModelState.OFF
        self._model_error: str | None = None
        self._remote_told: str | None = None
        self._told_no_model = False
        self._model_key: tuple | None = None
        self._schema_key: tuple | None = None
        self.root_path: str | None = None
        self.stats: dict[str, Any] = {}  # counters and timings `ibert.status` reports
        self.init_problems: list[str] = []  # settings problems found at initialize, told later
        self._settings_listeners: list[Callable[[IbertServer], None]] = []
        self._close_listeners: list[Callable[[IbertServer, str], None]] = []

    # ------------------------------------------------------------------ logging helpers
    def log(self, message: str, level: types.MessageType = types.MessageType.Log) -> None:
        log.info(message)
        try:
            self.window_log_message(types.LogMessageParams(type=level, message=message))
        except Exception:  # before initialize / after exit: stderr only
            pass

    def tell(self, message: str, level: types.MessageType = types.MessageType.Info) -> None:
        try:
            self.window_show_message(types.ShowMessageParams(type=level, message=message))
        except Exception:
            log.info(message)

    # ------------------------------------------------------------------ documents
    def document(self, uri: str):
        return self.workspace.get_text_document(uri)

    def state(self, uri: str) -> DocState:
        st = self.docs.get(uri)
        if st is None:
            st = self.docs[uri] = DocState()
        return st

    is_sql = staticmethod(is_sql)
    is_python = staticmethod(is_python)

    def schemas_for(self, doc) -> dict:
        """Configured schemas (plus, for a .sql file with none, a schema.json beside it, read
        again only when that file changes). A Python document's own `ibis.table(...)`
        declarations are read by its analysis, in the gate worker."""
        if self.config_schemas or not self.is_sql(doc) or not doc.path:
            return dict(self.config_schemas)
        sibling = os.path.join(os.path.dirname(doc.path), "schema.json")
        try:
            stamp = os.stat(sibling).st_mtime_ns
        except OSError:
            return {}
        key = (sibling, stamp)
        if key not in self._sibling_schemas:
            try:
                from ibert_lsp.schema.sources import parse_json

                found = parse_json(sibling)
            except Exception as exc:
                self.log(f"ibert: cannot read {sibling}: {exc}")
                found = {}
            if len(self._sibling_schemas) > 32:
                self._sibling_schemas.clear()
            self._sibling_schemas[key] = found
        return dict(self._sibling_schemas[key])

    def too_large(self, doc) -> bool:
        """Documents past the size limit get the cheap features only; the user is told once."""
        from ibert_lsp.validate.limits import MAX_DOCUMENT_CHARS, document_too_large

        if not document_too_large(doc.source):
            return False
        if doc.uri not in self._told_too_large:
            self._told_too_large.add(doc.uri)
            self.tell(f"ibert: {os.path.basename(doc.path or doc.uri)} is too large to analyze "
                      f"({len(doc.source):,} characters; the limit is {MAX_DOCUMENT_CHARS:,}): "
                      "no diagnostics or checked suggestions for it", types.MessageType.Warning)
        return True

    def workspace_root(self, doc) -> str | None:
        """Where the document's code may read databases and data files from (read-only)."""
        if self.root_path:
            return self.root_path
        return os.path.dirname(doc.path) if doc.path else None

    async def interactive(self, fn: Callable, *args, **kwargs):
        """Run a request's own gate work (completion, hover, actions) beside the analyses."""
        loop = asyncio.get_running_loop()
        return await asyncio.wait_for(
            loop.run_in_executor(self.interactive_pool, functools.partial(fn, *args, **kwargs)),
            GATE_TIMEOUT_S)

    async def in_gate(self, fn: Callable, *args, **kwargs):
        """Run gate/analysis work off the event loop (serialised).

        If the gate thread is stuck (a pathological expression the gate's own limits missed)
        for GATE_TIMEOUT_S, the request fails and later work goes to a fresh thread, so one bad
        document cannot freeze every feature.
        """
        loop = asyncio.get_running_loop()
        pool = self.analysis_pool
        fut = loop.run_in_executor(pool, functools.partial(fn, *args, **kwargs))
        try:
            return await asyncio.wait_for(fut, GATE_TIMEOUT_S)
        except asyncio.TimeoutError:
            if self.analysis_pool is pool:
                self.analysis_pool = cf.ThreadPoolExecutor(max_workers=1,
                                                           thread_name_prefix="ibert-gate")
                pool.shutdown(wait=False, cancel_futures=True)
            self.log(f"ibert: gate work {getattr(fn, '__name__', fn)} took over "
                     f"{GATE_TIMEOUT_S} s; abandoned", types.MessageType.Warning)
            raise

    # ------------------------------------------------------------------ model
    @property
    def model_state(self) -> ModelState:
        """off | loading | ready | missing | failed, or a remote server's `unreachable` /
        `error` while it is one (the status bar shows it; it turns back by itself)."""
        remote = getattr(self.generator, "remote_state", None)
        if self._model_state == ModelState.READY and remote not in (None, "ready"):
            return ModelState(remote)
        return self._model_state

    @model_state.setter
    def model_state(self, value: ModelState) -> None:
        self._model_state = value

    @property
    def model_error(self) -> str | None:
        gen = self.generator
        remote = getattr(gen, "remote_state", "ready")
        if self._model_state == ModelState.READY and remote != "ready":
            return getattr(gen, "last_error", None)
        return self._model_error

    @model_error.setter
    def model_error(self, value: str | None) -> None:
        self._model_error = value

    def note_remote_state(self) -> None:
        """Say once per change when a remote model server goes away or comes back, and keep
        its counters in the stats `ibert.status` shows."""
        gen = self.generator
        status = getattr(gen, "status", None)
        if not callable(status):
            return
        info = status()
        self.stats["remote_model"] = info
        state = info.get("state")
        if state == self._remote_told or (self._remote_told is None and state == "ready"):
            return
        self._remote_told = state
        if state == "ready":
            self.tell(f"ibert: model server {info.get('endpoint')} is reachable again")
        else:
            self.tell(f"ibert: model server {info.get('endpoint')} is {state} "
                      f"({info.get('error')}); model suggestions are off until it answers, "
                      "everything else keeps working", types.MessageType.Warning)

    @property
    def generator(self):
        """The loaded Generator, or None (model off, missing, failed, or still loading)."""
        if not self.settings.enabled("model") or self.worker is None:
            return None
        return self.worker.generator

    def model_deadline(self) -> float:
        return max(self.settings.max_latency_ms, 50) / 1000.0

    async def run_model(self, fn: Callable, *args, **kwargs):
        """Run a model-bound task function in the model worker thread, cancellably.

        `fn` gets `cancel=threading.Event` and `generator=` keyword arguments; if the awaiting
        request is cancelled, the event is set so generation stops at the next step.
        """
        gen = self.generator
        if gen is None:
            return None
        try:
            return await self.worker.arun(fn, *args, generator=gen, **kwargs)
        finally:
            self.note_remote_state()

    def tell_no_model_once(self) -> None:
        if not self._told_no_model:
            self._told_no_model = True
            detail = f" ({self.model_error})" if self.model_error else ""
            self.tell(NO_MODEL_MESSAGE + detail, types.MessageType.Warning)

    async def load_model(self) -> None:
        s = self.settings
        key = (s.enabled("model"), s.model_path, s.adapter, s.device, s.api_key_env)
        if key == self._model_key:
            return
        self._model_key = key
        if not s.enabled("model"):
            self.model_state = ModelState.OFF
            if self.worker is not None:
                old, self.worker = self.worker, None
                old.shutdown(wait=False)
            return
        from ibert_lsp.model.worker import GenerationWorker

        def loader():
            return load_generator(s.model_path, s.adapter, s.device, api_key_env=s.api_key_env)

        old, self.worker = self.worker, GenerationWorker()
        if old is not None:
            old.shutdown(wait=False)
        self.model_state = ModelState.LOADING
        what = s.model_path or "the default model"
        async with self.progress("ibert: loading model", f"loading {what}") as report:
            t0 = time.perf_counter()
            fut = self.worker.start_loading(loader)
            try:
                gen = await asyncio.wrap_future(fut)
            except Exception as exc:  # start_loading reports through load_error
                gen = None
                self.worker.load_error = exc
            if self.worker is None:
                return
            err = self.worker.load_error
            if gen is not None:
                self.model_state = ModelState.READY
                self._remote_told = None
                if getattr(gen, "remote_state", None) is not None:
                    # a workspace may name the endpoint: say where prompts go
                    self.tell(f"ibert: using the model server {gen.endpoint}")
                    self.note_remote_state()
                self.stats["model_load_s"] = round(time.perf_counter() - t0, 2)
                report(f"model ready in {self.stats['model_load_s']} s")
                self.log(f"ibert: model loaded from {what} in {self.stats['model_load_s']} s")
            elif err is not None:
                self.model_state = ModelState.FAILED
                self.model_error = str(getattr(err, "message", err)).split("\n")[0]
                self.log(f"ibert: model failed to load: {self.model_error}",
                         types.MessageType.Warning)
                self.tell_no_model_once()
            else:
                self.model_state = ModelState.MISSING
                self.tell_no_model_once()

    # ------------------------------------------------------------------ schemas from settings
    async def load_config_schemas(self) -> None:
        s = self.settings
        key = (s.database, s.schema_file)
        if key == self._schema_key:
            return
        self._schema_key = key
        if not s.database and not s.schema_file:
            self.config_schemas = {}
            return
        done = asyncio.get_running_loop().create_future()
        self.schemas_loading = done  # analyses wait for it: none is made with missing tables
        try:
            await self._read_config_schemas(s)
        finally:
            if not done.done():
                done.set_result(None)

    async def schemas_ready(self, timeout_s: float = 10.0) -> None:
        """Wait (bounded) for the settings' schemas being read, if any."""
        pending = getattr(self, "schemas_loading", None)
        if pending is not None and not pending.done():
            try:
                await asyncio.wait_for(asyncio.shield(pending), timeout_s)
            except asyncio.TimeoutError:
                pass

    async def _read_config_schemas(self, s) -> None:
        async with self.progress("ibert: reading schemas", "reading table schemas") as report:
            loop = asyncio.get_running_loop()
            try:
                schemas = await loop.run_in_executor(self.io_pool, read_config_schemas,
                                                     s.database, s.schema_file, self.root_path)
                self.config_schemas = schemas
                self.config_schema_error = None
                report(f"{len(schemas)} tables")
                self.log(f"ibert: {len(schemas)} tables from settings: {', '.join(schemas)}")
            except Exception as exc:
                self.config_schemas = {}
                self.config_schema_error = str(getattr(exc, "message", exc)).split("\n")[0]
                self.tell(f"ibert: cannot read schemas: {self.config_schema_error}",
                          types.MessageType.Warning)
        for st in self.docs.values():  # caches depend on the schemas
            st.analysis_version = st.fixes_version = None
            st.analysis_future = None  # an analysis made with the old schemas is not reused

    # ------------------------------------------------------------------ progress
    def progress(self, title: str, message: str) -> Progress:
        """`async with ls.progress(title, message) as report:` — report(text) as work goes on."""
        return Progress(self, title, message)

    # ------------------------------------------------------------------ settings
    async def apply_settings(self, options: Any) -> None:
        new, problems = cfg.apply(self.base_settings, options, keep=self.settings)
        self.settings = new
        for p in problems:
            self.tell(f"ibert: {p}", types.MessageType.Warning)
        self.log(f"ibert: settings {new}")
        await self.reload()

    def on_settings_changed(self, listener: Callable[[IbertServer], None]) -> None:
        """Call `listener(server)` after each settings change has been applied (schemas read,
        model load started): features subscribe here instead of the server calling them."""
        self._settings_listeners.append(listener)

    def on_document_closed(self, listener: Callable[[IbertServer, str], None]) -> None:
        """Call `listener(server, uri)` when a document is closed (its caches are dropped)."""
        self._close_listeners.append(listener)

    def document_closed(self, uri: str) -> None:
        """Drop the document's state and tell the subscribers (didClose)."""
        st = self.docs.pop(uri, None)
        if st is not None:
            for task in (st.diag_task, st.inline_task):
                if task is not None and not task.done():
                    task.cancel()
        for listener in list(self._close_listeners):
            try:
                listener(self, uri)
            except Exception as exc:
                self.log(f"ibert: close listener {listener!r} failed: {exc}",
                         types.MessageType.Error)

    async def reload(self) -> None:
        await self.load_config_schemas()
        asyncio.get_running_loop().create_task(self.load_model())
        for listener in list(self._settings_listeners):
            try:
                listener(self)
            except Exception as exc:  # one feature's failure must not stop the others
                self.log(f"ibert: settings listener {listener!r} failed: {exc}",
                         types.MessageType.Error)


def create_server() -> IbertServer:
    """A server with every feature of `features.registry.FEATURES` registered."""
    from ibert_lsp.features import registry
    from ibert_lsp.validate import isolation

    # every document, setting and model output is interpreted in gate worker processes: one
    # for analyses, one for the requests a user waits for
    isolation.enable(workers=1, lanes=(isolation.DEFAULT_LANE, INTERACTIVE_LANE))
    isolation.prewarm()
    server = IbertServer()
    registry.register_all(server)
    return server


def _one_line_deserialize_errors(record: logging.LogRecord) -> bool:
    """pygls logs a traceback for every message whose params do not deserialize; the client
    already got an InvalidParams answer (IbertProtocol), so the log says one line."""
    if str(record.msg).startswith("Unable to deserialize message"):
        record.msg, record.args = "Unable to deserialize a message (answered: invalid params)", ()
    return True


def _drop_late_cancels(record: logging.LogRecord) -> bool:
    """A `$/cancelRequest` for a request already answered is normal (editors cancel whatever was
    in flight when the user typed on); pygls warns about each one, which editors show as errors."""
    return not str(record.msg).startswith("Cancel notification for unknown message id")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="ibert-lsp", description="The ibert language server.")
    parser.add_argument("--stdio", action="store_true", help="talk over stdin/stdout (default)")
    parser.add_argument("--tcp", metavar="HOST:PORT", help="listen on a TCP address instead")
    parser.add_argument("--log-file", help="write the server's log here (default: stderr)")
    parser.add_argument("--log-level", default=os.environ.get("IBERT_LOG_LEVEL", "WARNING"))
    parser.add_argument("--no-model", action="store_true", help="never load a model")
    parser.add_argument("--version", action="version", version=f"ibert-lsp {__version__}")
    args = parser.parse_args(argv)
    logging.basicConfig(
        filename=args.log_file, level=getattr(logging, str(args.log_level).upper(), logging.WARNING),
        format="%(asctime)s %(name)s %(levelname)s %(message)s",
    )
    logging.getLogger("pygls.protocol.json_rpc").addFilter(_one_line_deserialize_errors)
    logging.getLogger("pygls.protocol.json_rpc").addFilter(_drop_late_cancels)
    if args.no_model:
        os.environ["IBERT_NO_MODEL"] = "1"
    from ibert_lsp.features.registry import preload

    preload()
    server = create_server()
    # Everything imported so far lives as long as the process: keep it out of the collector's
    # scans (full collections over ibis' module graph showed up as 100+ ms completion tails).
    import gc

    gc.collect()
    gc.freeze()
    gc.set_threshold(10_000, 20, 50)
    protocol = server.protocol
    protocol.owns_process = True  # `exit` ends the process at once (see end_process)
    if args.tcp:
        host, _, port = args.tcp.rpartition(":")
        if not port.isdigit():
            parser.error("--tcp needs HOST:PORT, e.g. 127.0.0.1:2087")
        server.start_tcp(host or "127.0.0.1", int(port))
    else:
        server.start_io()
    # the input ended (EOF, broken pipe) or the loop stopped: like `exit` without shutdown,
    # unless shutdown came first
    end_process(0 if protocol._shutdown else 1)
    return 0  # not reached


if __name__ == "__main__":
    sys.exit(main())

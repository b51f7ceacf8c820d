"""`ibert demo`: the language server shown through real LSP requests, as an editor would.

Starts `ibert-lsp` as a subprocess over stdio, opens the shipped example file, and goes through
every feature — diagnostics + quick fixes, completion, inline completion, SQL→Ibis, Ibis→SQL,
hover Q&A, docstring — printing what an editor would display. The model is the installed default,
else the one shipped with ibert (so a fresh machine needs no training); only when neither exists
is it built first (`ibert model build`, with its progress bar) unless `--no-build`; if that is
not possible the demo runs without a model and says so.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import textwrap
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ibert_lsp.errors import IbertError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "demo", help="show every language-server feature on the example file",
        description="Start the language server, open examples/demo.py and show completion, "
        "inline completion, diagnostics + quick fix, SQL→Ibis, Ibis→SQL, hover Q&A and "
        "docstrings through real LSP requests.")
    p.add_argument("--file", help="Python file to open (default: the shipped examples/demo.py)")
    p.add_argument("--model", help="model directory (default: the installed default model)")
    p.add_argument("--no-model", action="store_true", help="deterministic features only")
    p.add_argument("--no-build", action="store_true",
                   help="do not build the default model when it is missing")
    p.add_argument("--quick-build", action="store_true",
                   help="when building the model, use the smaller, faster corpus")
    p.add_argument("--timeout", type=float, default=120.0, help="seconds to wait per step")
    p.set_defaults(func=run)


def example_path(arg: str | None) -> Path:
    if arg:
        path = Path(arg)
        if not path.is_file():
            raise IbertError(f"no such file: {arg}")
        return path
    for base in (Path(__file__).resolve().parents[2], Path.cwd()):
        path = base / "examples" / "demo.py"
        if path.is_file():
            return path
    raise IbertError("examples/demo.py not found; pass --file PATH")


def ensure_model(args) -> tuple[str | None, str]:
    """(model path setting or None, a line saying what the demo uses)."""
    if args.no_model:
        return None, "no model (--no-model): deterministic features only"
    if args.model:
        return args.model, f"model: {args.model}"
    try:
        from ibert_lsp.model.default import (
            active_model,
            default_model_dir,
            is_installed,
            outdated_reason,
        )
    except ImportError as exc:
        return None, f"no model support in this install ({exc}); deterministic features only"
    outdated = outdated_reason() if is_installed() else None
    if is_installed() and outdated is None:
        return None, f"model: the default model in {default_model_dir()}"
    found = active_model()
    if found is not None and found[0] == "shipped":  # no training on a fresh machine
        return None, "model: the default model shipped with ibert"
    if args.no_build:
        state = f"out of date: {outdated}" if outdated else "not built"
        return None, (f"the default model is {state} (--no-build); deterministic features "
                      "only — build it with `ibert model build`")
    why = f"out of date ({outdated})" if outdated else "missing"
    print(f"The default model is {why}; building it now (`ibert model build`) into "
          f"{default_model_dir()} ...", flush=True)
    try:
        from ibert_lsp.commands import model as model_cmd
    except ImportError as exc:
        return None, f"cannot build the model here ({exc}); deterministic features only"
    parser = argparse.ArgumentParser(prog="ibert")
    model_cmd.register(parser.add_subparsers(dest="command"))
    build_args = parser.parse_args(["model", "build"] + (["--quick"] if args.quick_build else []))
    try:
        rc = build_args.func(build_args)
    except IbertError as exc:
        return None, f"model build failed ({exc.message}); deterministic features only"
    except Exception as exc:  # a failed build must not stop the demo
        return None, f"model build failed ({type(exc).__name__}: {exc}); deterministic only"
    if rc or not is_installed():
        return None, "model build did not install a model; deterministic features only"
    return None, f"model: the default model, just built in {default_model_dir()}"


# ---------------------------------------------------------------------- printing helpers

def header(title: str) -> None:
    print(f"\n\033[1m── {title} " + "─" * max(0, 66 - len(title)) + "\033[0m", flush=True)


def indent(text: str, prefix: str = "    ") -> str:
    return textwrap.indent(text.rstrip("\n"), prefix)


def apply_edits(text: str, edits) -> str:
    lines = text.split("\n")

    def off(p) -> int:
        return sum(len(x) + 1 for x in lines[: p.line]) + p.character

    for e in sorted(edits, key=lambda e: (e.range.start.line, e.range.start.character),
                    reverse=True):
        text = text[: off(e.range.start)] + e.new_text + text[off(e.range.end):]
    return text


def diff_lines(old: str, new: str) -> str:
    import difflib

    out = []
    for line in difflib.unified_diff(old.split("\n"), new.split("\n"), lineterm="", n=0):
        if line.startswith(("---", "+++", "@@")):
            continue
        out.append(line)
    return "\n".join(out)


def find(text: str, needle: str, after: bool = True):
    from lsprotocol import types

    i = text.index(needle) + (len(needle) if after else 0)
    line = text.count("\n", 0, i)
    return types.Position(line=line, character=i - (text.rfind("\n", 0, i) + 1))


# ---------------------------------------------------------------------- the demo


@dataclass
class Demo:
    """The demo's LSP session: the client, the example document and how long to wait."""

    client: Any  # pygls LanguageClient
    path: Path
    text: str
    uri: str
    timeout: float
    diags: dict[str, list] = field(default_factory=dict)
    got_diags: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def doc_id(self) -> Any:
        from lsprotocol import types

        return types.TextDocumentIdentifier(uri=self.uri)

    async def status(self) -> dict:
        from lsprotocol import types

        return await self.client.workspace_execute_command_async(
            types.ExecuteCommandParams(command="ibert.status"))

    def change(self, version: int, text: str) -> None:
        """Replace the document's text (as an editor sends each edit)."""
        from lsprotocol import types

        self.client.text_document_did_change(types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=self.uri, version=version),
            content_changes=[types.TextDocumentContentChangeWholeDocument(text=text)]))


def make_client(d_diags: dict[str, list], got_diags: asyncio.Event) -> Any:
    """A pygls client that prints what the server says, shows progress and records
    published diagnostics."""
    from lsprotocol import types
    from pygls.lsp.client import LanguageClient

    client = LanguageClient("ibert-demo", "0.1")

    @client.feature(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    def _diags(params: types.PublishDiagnosticsParams):
        d_diags[params.uri] = list(params.diagnostics)
        got_diags.set()

    @client.feature(types.WINDOW_SHOW_MESSAGE)
    def _show(params: types.ShowMessageParams):
        print(f"  [server says] {params.message}", flush=True)

    @client.feature(types.WINDOW_LOG_MESSAGE)
    def _log(params: types.LogMessageParams):
        if params.type == types.MessageType.Error:
            print(f"  [server error] {params.message.splitlines()[0]}", flush=True)

    @client.feature(types.WINDOW_WORK_DONE_PROGRESS_CREATE)
    def _create(params):
        return None

    @client.feature(types.PROGRESS)
    def _progress(params: types.ProgressParams):
        v = params.value or {}
        kind = v.get("kind") if isinstance(v, dict) else getattr(v, "kind", None)
        msg = (v.get("title") or v.get("message")) if isinstance(v, dict) else None
        if msg:
            print(f"  [progress {kind}] {msg}", flush=True)

    return client


async def start(d: Demo, model_path: str | None, no_model: bool, t_start: float) -> None:
    """Start the server, initialize it, wait for the model (unless off), open the document."""
    from lsprotocol import types

    from ibert_lsp.client import client_capabilities

    options: dict = {"features": {"model": not no_model}}
    if model_path:
        options["modelPath"] = model_path
    await d.client.start_io(sys.executable, "-m", "ibert_lsp")
    await asyncio.wait_for(d.client.initialize_async(types.InitializeParams(
        capabilities=client_capabilities(configuration=False),
        root_uri=d.path.resolve().parent.as_uri(),
        initialization_options={"ibert": options})), d.timeout)
    d.client.initialized(types.InitializedParams())
    print(f"server started and initialized in {time.perf_counter() - t_start:.2f} s "
          f"({' '.join([sys.executable, '-m', 'ibert_lsp'])})")
    if not no_model:
        t0 = time.perf_counter()
        while time.perf_counter() - t0 < d.timeout:
            st = await d.status()
            if st["model"] != "loading":
                break
            await asyncio.sleep(0.2)
        st = await d.status()
        print(f"model: {st['model']}" + (f" ({st['model_error']})" if st.get("model_error")
                                          else ""))
    d.client.text_document_did_open(types.DidOpenTextDocumentParams(
        text_document=types.TextDocumentItem(uri=d.uri, language_id="python", version=1,
                                             text=d.text)))


async def show_diagnostics(d: Demo) -> None:
    """1. Diagnostics, then the first checked quick fix for each."""
    from lsprotocol import types

    text, path = d.text, d.path
    header(f"Diagnostics for {path.name} (checked through the gate)")
    t0 = time.perf_counter()
    await asyncio.wait_for(d.got_diags.wait(), d.timeout)
    found = d.diags.get(d.uri, [])
    print(f"({len(found)} problems, published {time.perf_counter() - t0:.2f} s after open)")
    for diag in found:
        line = text.split("\n")[diag.range.start.line]
        print(f"  {path.name}:{diag.range.start.line + 1}:{diag.range.start.character + 1} "
              f"[{diag.code}] {diag.message}")
        print(indent(line.strip(), "      | "))
    header("Quick fixes (each one passed the gate, and its diagnostic is gone)")
    for diag in found:
        t0 = time.perf_counter()
        actions = await d.client.text_document_code_action_async(types.CodeActionParams(
            text_document=d.doc_id, range=diag.range,
            context=types.CodeActionContext(diagnostics=[diag],
                                            only=[types.CodeActionKind.QuickFix])))
        ms = (time.perf_counter() - t0) * 1000
        if not actions:
            print(f"  line {diag.range.start.line + 1}: no checked fix ({ms:.0f} ms)")
            continue
        a = actions[0]
        new = apply_edits(text, a.edit.changes[d.uri])
        print(f"  💡 {a.title}  ({ms:.0f} ms)")
        print(indent(diff_lines(text, new), "      "))


async def show_completion(d: Demo) -> tuple[str, Any]:
    """2. Completion after `revenue.` and inside `group_by("`; returns the text and position
    the inline step reuses."""
    from lsprotocol import types

    text = d.text
    header("Completion after `revenue.` (columns first, then Ibis methods)")
    text2 = text + "\nnext_step = revenue."
    d.change(2, text2)
    pos = find(text2, "next_step = revenue.")
    t0 = time.perf_counter()
    res = await d.client.text_document_completion_async(types.CompletionParams(
        text_document=d.doc_id, position=pos, context=types.CompletionContext(
            trigger_kind=types.CompletionTriggerKind.TriggerCharacter,
            trigger_character=".")))
    ms = (time.perf_counter() - t0) * 1000
    items = sorted(res.items, key=lambda i: i.sort_text or "") if res else []
    print(f"({len(items)} items in {ms:.0f} ms)")
    for it in items[:8]:
        print(f"  {it.label:<14} {it.detail or ''}"[:100])
    print("  ...")
    text3 = text + '\nby_country = orders.group_by("'
    d.change(3, text3)
    res = await d.client.text_document_completion_async(types.CompletionParams(
        text_document=d.doc_id, position=find(text3, 'orders.group_by("')))
    print('  inside orders.group_by("…: ' + ", ".join(i.label for i in res.items))
    return text2, pos


async def show_inline(d: Demo, text2: str, pos: Any) -> None:
    """3. Inline completion (the model's ghost text, checked)."""
    from lsprotocol import types

    text = d.text
    header("Inline completion at `next_step = revenue.` (model, checked)")
    d.change(4, text2)
    t0 = time.perf_counter()
    inline = await d.client.text_document_inline_completion_async(
        types.InlineCompletionParams(text_document=d.doc_id, position=pos,
                                     context=types.InlineCompletionContext(
                                         trigger_kind=types.InlineCompletionTriggerKind.Invoked)))
    ms = (time.perf_counter() - t0) * 1000
    shown = [i.insert_text for i in (inline.items if inline else [])]
    if shown:
        for s in shown:
            print(f"  ghost text: next_step = revenue.\033[2m{s}\033[0m   ({ms:.0f} ms)")
    else:
        print(f"  (no suggestion: {'no model loaded' if (await d.status())['model'] != 'ready' else 'none passed the gate'}; {ms:.0f} ms)")
    d.change(5, text)


async def show_sql_to_ibis(d: Demo) -> None:
    """4. The Convert SQL to Ibis action on the example's SQL string."""
    from lsprotocol import types

    text = d.text
    header("Code action: Convert SQL to Ibis (on the `top_sql` string)")
    p = find(text, "SELECT customer_id", after=False)
    actions = await d.client.text_document_code_action_async(types.CodeActionParams(
        text_document=d.doc_id, range=types.Range(start=p, end=p),
        context=types.CodeActionContext(diagnostics=[])))
    conv = [a for a in actions if "Convert SQL to Ibis" in a.title]
    if conv:
        t0 = time.perf_counter()
        try:
            resolved = await d.client.code_action_resolve_async(conv[0])
            ms = (time.perf_counter() - t0) * 1000
            new = apply_edits(text, resolved.edit.changes[d.uri])
            print(f"  {conv[0].title} — resolved in {ms:.0f} ms (same rows as the SQL on "
                  "DuckDB)")
            print(indent(diff_lines(text, new), "      "))
        except Exception as exc:
            print(f"  {conv[0].title}: {exc}")
    else:
        print("  (no action offered)")


async def show_to_sql(d: Demo) -> None:
    """5. `ibert.convertSelectionToSql` on an Ibis expression (Postgres)."""
    from lsprotocol import types

    text = d.text
    header("Command ibert.convertSelectionToSql on `revenue = (...)` (dialect postgres)")
    start = find(text, "revenue = ", after=True)
    end_i = text.index("\n)\n", text.index("revenue = ")) + 2
    end = types.Position(line=text.count("\n", 0, end_i),
                         character=end_i - (text.rfind("\n", 0, end_i) + 1))
    t0 = time.perf_counter()
    res = await d.client.workspace_execute_command_async(types.ExecuteCommandParams(
        command="ibert.convertSelectionToSql",
        arguments=[{"uri": d.uri, "range": {"start": {"line": start.line,
                                                    "character": start.character},
                                          "end": {"line": end.line,
                                                  "character": end.character}},
                    "dialect": "postgres"}]))
    ms = (time.perf_counter() - t0) * 1000
    print(indent(res.get("sql") or res.get("error", "?")) + f"\n    ({ms:.0f} ms)")


async def show_hover(d: Demo) -> None:
    """6. Hover: a question in a comment, then an Ibis method."""
    from lsprotocol import types

    text = d.text
    header("Hover on `# how do I count rows per group?`")
    t0 = time.perf_counter()
    h = await d.client.text_document_hover_async(types.HoverParams(
        text_document=d.doc_id, position=find(text, "# how do I count")))
    ms = (time.perf_counter() - t0) * 1000
    print(indent(h.contents.value if h else "(nothing)") + f"\n    ({ms:.0f} ms)")
    header("Hover on `group_by` (Ibis docs)")
    h = await d.client.text_document_hover_async(types.HoverParams(
        text_document=d.doc_id, position=find(text, "    .group_by")))
    if h:
        print(indent("\n".join(h.contents.value.split("\n")[:8])) + "\n    ...")


async def show_docstring(d: Demo) -> None:
    """7. The Generate docstring action on a function."""
    from lsprotocol import types

    text = d.text
    header("Code action: Generate docstring on `def paid_revenue_by_country`")
    p = find(text, "def paid_revenue_by_country")
    actions = await d.client.text_document_code_action_async(types.CodeActionParams(
        text_document=d.doc_id, range=types.Range(start=p, end=p),
        context=types.CodeActionContext(diagnostics=[])))
    gen = [a for a in actions if "docstring" in a.title]
    if gen:
        t0 = time.perf_counter()
        resolved = await d.client.code_action_resolve_async(gen[0])
        ms = (time.perf_counter() - t0) * 1000
        new = apply_edits(text, resolved.edit.changes[d.uri])
        print(f"  {gen[0].title} ({ms:.0f} ms)")
        print(indent(diff_lines(text, new), "      "))


async def demo(path: Path, model_path: str | None, no_model: bool, timeout: float) -> int:
    """Every feature through real LSP requests, in the order an editor session meets them."""
    text = path.read_text(encoding="utf-8")
    diags: dict[str, list] = {}
    got_diags = asyncio.Event()
    d = Demo(make_client(diags, got_diags), path, text, path.resolve().as_uri(), timeout,
             diags, got_diags)
    t_start = time.perf_counter()
    try:
        await start(d, model_path, no_model, t_start)
        await show_diagnostics(d)
        text2, pos = await show_completion(d)
        await show_inline(d, text2, pos)
        await show_sql_to_ibis(d)
        await show_to_sql(d)
        await show_hover(d)
        await show_docstring(d)
        st = await d.status()
        header("Server status")
        print(f"  model: {st['model']}; handler errors: "
              f"{st['stats'].get('handler_errors', 0)}; total demo time "
              f"{time.perf_counter() - t_start:.1f} s")
        await d.client.shutdown_async(None)
        d.client.exit(None)
    finally:
        try:
            await asyncio.wait_for(d.client.stop(), 5)
        except Exception:
            pass
    return 0


def run(args) -> int:
    path = example_path(args.file)
    model_path, line = ensure_model(args)
    print(f"ibert demo — {path}\n{line}")
    no_model = args.no_model or (model_path is None and "deterministic" in line)
    return asyncio.run(demo(path, model_path, no_model, args.timeout))


if __name__ == "__main__":  # pragma: no cover
    os.environ.setdefault("PYTHONUNBUFFERED", "1")

"""textDocument/codeAction (+ codeAction/resolve).

- Quick fix for each ibert diagnostic in the range: rule fixes (and model fixes when no rule
  fits), each offered only when the fixed statement passes the gate and the problem is gone.
- Convert SQL to Ibis: on a SQL string literal, a `.sql(...)` call, a selection, or a `.sql`
  file. The translation (the expensive part) is computed in codeAction/resolve.
- Convert selection to SQL (Ibis -> SQL in the configured dialect).
- Generate docstring on a `def` (style from settings).
- Ask ibert, when the selection is a question (runs the `ibert.ask` command).

Edits are computed lazily when the client resolves `edit` (codeAction.resolveSupport), eagerly
otherwise.
"""

from __future__ import annotations

import ast
import asyncio
import re
import textwrap
from typing import TYPE_CHECKING

from lsprotocol import types

from ibert_lsp.documents import is_sql
from ibert_lsp.features.analysis import current_analysis
from ibert_lsp.features.common import client_range, lines_of, text_in, to_client, to_server
from ibert_lsp.features.registry import safe
from ibert_lsp.features.services import (
    ActionFailed,
    compile_to_sql,
    docstring_result,
    model_within,
    task_budget_s,
    translate_sql,
)
from ibert_lsp.tasks.candidates import INTERACTIVE_CANDIDATES

if TYPE_CHECKING:
    from ibert_lsp.server import IbertServer
    from ibert_lsp.tasks.analysis import Analysis

KINDS = [
    types.CodeActionKind.QuickFix,
    types.CodeActionKind.RefactorRewrite,
    types.CodeActionKind.Refactor,
    types.CodeActionKind.Source,
]
_SQL_START = re.compile(r"^\s*(\(\s*)?(select|with)\b", re.IGNORECASE | re.DOTALL)
PREFIX = "ibert: "


def looks_like_sql(text: str) -> bool:
    return bool(_SQL_START.match(text or "")) and bool(re.search(r"\bfrom\b|\bselect\b\s+\d", text, re.IGNORECASE))


def lazy_edits(ls: IbertServer) -> bool:
    caps = ls.client_capabilities
    try:
        rs = caps.text_document.code_action.resolve_support
        return rs is not None and "edit" in (rs.properties or [])
    except AttributeError:
        return False


def _overlaps(a0: tuple, a1: tuple, b0: tuple, b1: tuple) -> bool:
    return not (a1 < b0 or b1 < a0)


# ---------------------------------------------------------------------- finding SQL targets


def sql_target(doc, source: str, sel: tuple, sel_end: tuple, selected: str) -> dict | None:
    """What to convert: {'sql', 'range': [l, c, el, ec], 'mode'} or None."""
    lines = source.split("\n")
    if is_sql(doc):
        if selected.strip():
            return {"sql": selected, "range": [*sel, *sel_end], "mode": "sql_file"}
        # the statement under the cursor (statements separated by ';')
        off = sum(len(x) + 1 for x in lines[: sel[0]]) + sel[1]
        start = source.rfind(";", 0, off) + 1
        end = source.find(";", off)
        end = len(source) if end == -1 else end
        stmt = source[start:end]
        if not stmt.strip():
            return None
        lead = len(stmt) - len(stmt.lstrip())
        return {"sql": stmt.strip(), "range": None, "offsets": [start + lead, end],
                "mode": "sql_file"}
    from ibert_lsp.tasks.analysis import char_col, parse_tolerant

    tree, _ = parse_tolerant(source)
    best = None
    parents: dict[int, ast.AST] = {}
    for node in ast.walk(tree) if tree is not None else ():
        for child in ast.iter_child_nodes(node):
            parents[id(child)] = node
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            a = (node.lineno - 1, char_col(lines, node.lineno - 1, node.col_offset))
            b = (node.end_lineno - 1, char_col(lines, node.end_lineno - 1, node.end_col_offset))
            # the cursor in it, or a selection that overlaps it (quotes in or out, or part)
            if a <= sel_end and sel <= b and looks_like_sql(node.value):
                best = node
    if best is None:
        body = selected.strip()
        m = re.fullmatch(r"(?s)[rRbBfF]?(\"\"\"|'''|\"|')(.*)\1", body)
        if m:
            body = m.group(2)
        if body and looks_like_sql(body) and body[-1] not in "\"'":
            return {"sql": body, "range": [*sel, *sel_end], "mode": "python"}
        return None
    target = best
    parent = parents.get(id(best))
    if (isinstance(parent, ast.Call) and isinstance(parent.func, ast.Attribute)
            and parent.func.attr == "sql" and parent.args and parent.args[0] is best):
        target = parent  # replace the whole `con.sql("...")` call
    a = (target.lineno - 1, char_col(lines, target.lineno - 1, target.col_offset))
    b = (target.end_lineno - 1, char_col(lines, target.end_lineno - 1, target.end_col_offset))
    return {"sql": best.value, "range": [*a, *b], "mode": "python",
            "call": target is not best}


def _indent_continuation(code: str, col: int, line_text: str) -> str:
    """Multi-line code placed at column `col`: wrap in parentheses, indent the rest."""
    code = code.strip("\n")
    if "\n" not in code:
        return code
    indent = re.match(r"\s*", line_text).group(0) + "    "
    body = textwrap.indent(code, indent)
    return "(\n" + body + "\n" + re.match(r"\s*", line_text).group(0) + ")"


# ---------------------------------------------------------------------- the handlers


def register(server: IbertServer) -> None:
    @server.feature(types.TEXT_DOCUMENT_CODE_ACTION,
                    types.CodeActionOptions(code_action_kinds=KINDS, resolve_provider=True))
    @safe(default=list)
    async def code_action(ls: IbertServer, params: types.CodeActionParams):
        if not ls.settings.enabled("code_actions"):
            return []
        uri = params.text_document.uri
        doc = ls.document(uri)
        lines = lines_of(doc)
        sel = to_server(doc, params.range.start, lines)
        sel_end = to_server(doc, params.range.end, lines)
        if sel_end < sel:
            sel, sel_end = sel_end, sel
        selected = text_in(doc, params.range, lines) if sel != sel_end else ""
        only = params.context.only if params.context else None

        def wanted(kind: str) -> bool:
            return not only or any(kind == k or kind.startswith(k + ".") for k in only)

        actions: list[types.CodeAction] = []
        lazy = lazy_edits(ls)
        if wanted(types.CodeActionKind.QuickFix) and ls.is_python(doc):
            actions += await quick_fixes(ls, doc, params, sel, sel_end, lines)
        if wanted(types.CodeActionKind.RefactorRewrite):
            target = await ls.in_gate(sql_target, doc, doc.source, sel, sel_end, selected)
            if target is not None:
                action = types.CodeAction(
                    title=PREFIX + "Convert SQL to Ibis",
                    kind=types.CodeActionKind.RefactorRewrite,
                    data={"action": "sql_to_ibis", "uri": uri, "version": doc.version,
                          **target})
                actions.append(await offered(ls, action, lazy))
            if ls.is_python(doc):
                an = await current_analysis(ls, doc.uri)
                to_sql = await ls.in_gate(ibis_selection, an, sel, sel_end, selected)
                if to_sql is not None:
                    action = types.CodeAction(
                        title=PREFIX + f"Convert selection to SQL ({ls.settings.dialect})",
                        kind=types.CodeActionKind.RefactorRewrite,
                        data={"action": "to_sql", "uri": uri, "version": doc.version,
                              "dialect": ls.settings.dialect, **to_sql})
                    actions.append(await offered(ls, action, lazy))
        if wanted(types.CodeActionKind.Refactor) and ls.is_python(doc):
            fn = await ls.in_gate(_function_at, doc.source, sel[0])
            if fn is not None:
                style = ls.settings.docstring_style
                action = types.CodeAction(
                    title=PREFIX + f"Generate docstring for `{fn}` ({style.capitalize()} style)",
                    kind=types.CodeActionKind.Refactor,
                    data={"action": "docstring", "uri": uri, "version": doc.version,
                          "line": sel[0], "style": style})
                actions.append(await offered(ls, action, lazy))
        if selected.strip() and wanted(types.CodeActionKind.Refactor):
            from ibert_lsp.tasks.qa import is_question

            q = " ".join(ln.strip().lstrip("#").strip() for ln in selected.split("\n"))
            if is_question(q):
                actions.append(types.CodeAction(
                    title=PREFIX + f"Ask: {q[:60]}",
                    kind=types.CodeActionKind.Refactor,
                    command=types.Command(title="Ask ibert", command="ibert.ask",
                                          arguments=[{"question": q, "uri": uri}])))
        return [a for a in actions if a is not None]

    @server.feature(types.CODE_ACTION_RESOLVE)
    async def code_action_resolve(ls: IbertServer, action: types.CodeAction):
        """Never an error: an action whose edit cannot be computed comes back without one,
        its title and a message saying why."""
        try:
            return await resolve_action(ls, action)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - ActionFailed, or a bug: said, not raised
            return unavailable(ls, action, exc)


def unavailable(ls: IbertServer, action: types.CodeAction, exc: BaseException) -> types.CodeAction:
    """`action` with no edit, and why — in its title and as a message to the user."""
    if isinstance(exc, ActionFailed):
        reason = str(getattr(exc, "message", "") or exc).removeprefix(PREFIX.strip()).strip(": ")
    else:
        ls.log(f"ibert: codeAction/resolve failed: {type(exc).__name__}: {exc}",
               types.MessageType.Error)
        reason = f"{type(exc).__name__}: {exc}"
    reason = reason.split("\n")[0][:200]
    ls.tell(f"{PREFIX}{reason}", types.MessageType.Warning)
    action.edit = None
    action.title = f"{action.title} (unavailable: {reason})"
    return action


async def offered(ls: IbertServer, action: types.CodeAction, lazy: bool) -> types.CodeAction | None:
    """The action as offered: unresolved for clients that resolve lazily, else resolved now —
    and then not offered at all when its edit cannot be computed."""
    if lazy:
        return action
    try:
        return await resolve_action(ls, action)
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # noqa: BLE001 - not offered rather than an error
        ls.log(f"ibert: action not offered ({action.title}): {exc}")
        return None


def _function_at(source: str, line: int) -> str | None:
    from ibert_lsp.tasks.documentation import DocError, find_function

    try:
        return find_function(source, line).name
    except DocError:
        return None


def ibis_selection(an: Analysis, sel, sel_end, selected: str) -> dict | None:
    """The Ibis code to compile: the selection, or the statement under the cursor (runs in a
    gate thread on the document's analysis)."""
    from ibert_lsp.tasks.analysis import gate_eval

    if selected.strip():
        code = textwrap.dedent(selected).strip()
        if looks_like_sql(code):
            return None
        env = an.env_before(sel[0])
        try:
            gate_eval("(" + code + ")" if "\n" not in code and "=" not in code else code,
                      an.schemas, env)
        except Exception:
            try:
                gate_eval(code, an.schemas, env)
            except Exception:
                return None
        return {"code": code, "insert_after": sel_end[0], "name": None, "line": sel[0]}
    for st in an.statements:
        if st.line - 1 <= sel[0] <= st.end_line - 1:
            if any(p.stmt_line == st.line - 1 for p in an.problems):
                return None
            return {"code": st.snippet, "insert_after": st.node.end_lineno - 1,
                    "name": st.target, "line": st.line - 1}
    return None


async def quick_fixes(ls: IbertServer, doc, params, sel, sel_end, lines) -> list:
    from ibert_lsp.features.diagnostics import SOURCE, to_diagnostics
    from ibert_lsp.tasks.error_resolution import fixes

    an = await current_analysis(ls, doc.uri)
    diags = to_diagnostics(doc, an)
    wanted = []
    for p, d in zip(an.problems, diags):
        if _overlaps((p.line, p.col), (p.end_line, p.end_col), sel, sel_end):
            wanted.append((p, d))
    # diagnostics the client sent back (same version) select problems too
    for cd in (params.context.diagnostics if params.context else []) or []:
        if cd.source != SOURCE:
            continue
        for p, d in zip(an.problems, diags):
            if d.range == cd.range and d.message == cd.message and (p, d) not in wanted:
                wanted.append((p, d))
    out = []
    for p, d in wanted[:5]:
        found = await ls.in_gate(fixes, doc.source, an.schemas, p, analysis=an)
        if not found:
            found = await model_within(ls, fixes, doc.source, an.schemas, p, analysis=an,
                                       n_model=INTERACTIVE_CANDIDATES,
                                       budget_s=task_budget_s(ls)) or []
        for i, fx in enumerate(found):
            last = min(fx.end_line, len(lines) - 1)
            edit = types.TextEdit(range=client_range(doc, fx.line, 0, last, len(lines[last]),
                                                     lines), new_text=fx.new_text)
            out.append(types.CodeAction(
                title=PREFIX + fx.title + (" (model)" if fx.source == "model" else ""),
                kind=types.CodeActionKind.QuickFix,
                diagnostics=[d],
                is_preferred=(i == 0),
                edit=types.WorkspaceEdit(changes={doc.uri: [edit]}),
            ))
    return out


async def resolve_action(ls: IbertServer, action: types.CodeAction) -> types.CodeAction:
    data = action.data if isinstance(action.data, dict) else None
    if not data or "action" not in data:
        return action
    uri = data["uri"]
    doc = ls.document(uri)
    if data.get("version") is not None and doc.version is not None and (
            doc.version != data["version"]):
        raise ActionFailed("ibert: the document changed; ask for the action again")
    kind = data["action"]
    if kind == "sql_to_ibis":
        action.edit = await _sql_to_ibis_edit(ls, doc, data)
    elif kind == "to_sql":
        action.edit = await _to_sql_edit(ls, doc, data)
    elif kind == "docstring":
        action.edit = await _docstring_edit(ls, doc, data)
    return action


async def _sql_to_ibis_edit(ls: IbertServer, doc, data: dict) -> types.WorkspaceEdit:
    an = await current_analysis(ls, doc.uri)
    schemas = dict(an.schemas)
    res = await translate_sql(ls, data["sql"], schemas)
    if not getattr(res, "ibis", None):
        raise ActionFailed(f"ibert: cannot translate this SQL: {getattr(res, 'reason', '')}")
    if not getattr(res, "verified", False):
        raise ActionFailed(
            "ibert: the translation could not be verified against the SQL "
            f"({getattr(res, 'reason', 'no reason given')}); not applied")
    lines = lines_of(doc)
    code = res.ibis.strip("\n")
    if data["mode"] == "python":
        l0, c0, l1, c1 = data["range"]
        text = _indent_continuation(code, c0, lines[l0])
        edit = types.TextEdit(range=client_range(doc, l0, c0, l1, c1, lines), new_text=text)
        return types.WorkspaceEdit(changes={doc.uri: [edit]})
    # a .sql file: a new Python file next to it when the client can create files, holding the
    # table declarations and the checked expression; otherwise a comment block after the SQL
    if _can_create_files(ls) and doc.path:
        return _new_python_file(doc, code, schemas, res)
    if data.get("range"):
        l1, c1 = data["range"][2], data["range"][3]
    else:
        end = data["offsets"][1]
        pos = doc.source[:end].split("\n")
        l1, c1 = len(pos) - 1, len(pos[-1])
    block = "\n-- ibis (verified on DuckDB):\n" + "\n".join(
        "-- " + ln for ln in code.split("\n")) + "\n"
    at = client_range(doc, l1, c1, l1, c1, lines)
    return types.WorkspaceEdit(changes={doc.uri: [types.TextEdit(range=at, new_text=block)]})


def _can_create_files(ls: IbertServer) -> bool:
    try:
        we = ls.client_capabilities.workspace.workspace_edit
        return bool(we.document_changes) and types.ResourceOperationKind.Create in (
            we.resource_operations or [])
    except AttributeError:
        return False


def _new_python_file(doc, code: str, schemas: dict, res) -> types.WorkspaceEdit:
    import os

    from pygls.uris import from_fs_path

    base, _ = os.path.splitext(doc.path)
    path = base + "_ibis.py"
    n = 2
    while os.path.exists(path):
        path, n = f"{base}_ibis{n}.py", n + 1
    uri = from_fs_path(path)
    used = [t for t in schemas if re.search(rf"\b{re.escape(t)}\b", code)]
    decls = "\n".join(f"{t} = ibis.table({schemas[t]!r}, name={t!r})" for t in used)
    body = (f'"""Ibis translation of {os.path.basename(doc.path)} (verified on DuckDB: '
            f'{getattr(res, "reason", "")})."""\nimport ibis\nfrom ibis import _\n\n'
            f"{decls}\n\nexpr = {_indent_continuation(code, 7, '')}\n")
    return types.WorkspaceEdit(document_changes=[
        types.CreateFile(uri=uri, options=types.CreateFileOptions(ignore_if_exists=True)),
        types.TextDocumentEdit(
            text_document=types.OptionalVersionedTextDocumentIdentifier(uri=uri, version=None),
            edits=[types.TextEdit(range=types.Range(start=types.Position(line=0, character=0),
                                                    end=types.Position(line=0, character=0)),
                                  new_text=body)]),
    ])


async def _to_sql_edit(ls: IbertServer, doc, data: dict) -> types.WorkspaceEdit:
    from ibert_lsp.validate.errors import GateError

    try:
        an = await current_analysis(ls, doc.uri)
        sql = await ls.in_gate(compile_to_sql, an, data["code"], data["line"],
                               data.get("dialect") or ls.settings.dialect)
    except GateError as exc:
        raise ActionFailed(f"ibert: cannot compile to SQL: {exc.message}") from None
    lines = lines_of(doc)
    after = min(data["insert_after"], len(lines) - 1)
    indent = re.match(r"\s*", lines[data["line"]]).group(0)
    name = (data.get("name") or "expr") + "_sql"
    body = "\n".join(indent + ln if ln else ln for ln in sql.strip().split("\n"))
    text = f"\n{indent}{name} = \"\"\"\n{body}\n{indent}\"\"\""
    at = client_range(doc, after, len(lines[after]), after, len(lines[after]), lines)
    return types.WorkspaceEdit(changes={doc.uri: [types.TextEdit(range=at, new_text=text)]})


async def _docstring_edit(ls: IbertServer, doc, data: dict) -> types.WorkspaceEdit:
    from ibert_lsp.tasks.documentation import DocError

    an = await current_analysis(ls, doc.uri)
    try:
        res = await docstring_result(ls, doc.source, data["line"], data.get("style") or
                                     ls.settings.docstring_style, an.schemas)
    except DocError as exc:
        raise ActionFailed(f"ibert: {exc}") from None
    lines = lines_of(doc)
    start = to_client(doc, res.insert_line, 0, lines)
    end = to_client(doc, res.replace_end_line, 0, lines) if res.replace_end_line < len(lines) \
        else to_client(doc, len(lines) - 1, len(lines[-1]), lines)
    edit = types.TextEdit(range=types.Range(start=start, end=end), new_text=res.block)
    return types.WorkspaceEdit(changes={doc.uri: [edit]})

"""textDocument/completion: columns and Ibis members (deterministic), model continuations after.

Typing-triggered completion (`.`, `(`, `,`, quotes) answers from the deterministic engine only,
so it stays within a few milliseconds; an explicit request (Ctrl-Space, triggerKind=Invoked)
also asks the model, within the `maxLatencyMs` budget, for checked continuations ranked last.
Documentation is filled lazily by completionItem/resolve.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from lsprotocol import types

from ibert_lsp.features.analysis import quick_analysis
from ibert_lsp.features.common import python_at, to_client
from ibert_lsp.features.registry import safe
from ibert_lsp.features.services import completion_budget_s, model_within
from ibert_lsp.tasks.candidates import INTERACTIVE_CANDIDATES

if TYPE_CHECKING:
    from ibert_lsp.server import IbertServer

TRIGGERS = [".", "(", ",", '"', "'", "_"]

KINDS = {
    "column": types.CompletionItemKind.Field,
    "method": types.CompletionItemKind.Method,
    "attribute": types.CompletionItemKind.Property,
    "function": types.CompletionItemKind.Function,
    "module": types.CompletionItemKind.Module,
    "class": types.CompletionItemKind.Class,
    "table": types.CompletionItemKind.Struct,
    "variable": types.CompletionItemKind.Variable,
    "keyword": types.CompletionItemKind.Keyword,
    "model": types.CompletionItemKind.Snippet,
}


def markdown_ok(ls: IbertServer) -> bool:
    try:
        fmts = ls.client_capabilities.text_document.completion.completion_item.documentation_format
        return bool(fmts) and types.MarkupKind.Markdown in fmts
    except AttributeError:
        return False


def _doc(value: str, markdown: bool):
    if not value:
        return None
    if markdown:
        return types.MarkupContent(kind=types.MarkupKind.Markdown, value=value)
    return value


def to_items(doc, line: int, character: int, cands, lines,
             markdown: bool = True) -> list[types.CompletionItem]:
    items = []
    end = to_client(doc, line, character, lines)
    for i, c in enumerate(cands):
        start = to_client(doc, line, c.replace_start if c.replace_start is not None
                          else character, lines)
        data = {"qualname": c.qualname} if c.qualname else None
        items.append(types.CompletionItem(
            label=c.label,
            kind=KINDS.get(c.kind, types.CompletionItemKind.Text),
            detail=c.detail or None,
            # member docs come with completionItem/resolve: a smaller list is a faster one
            documentation=_doc(c.documentation, markdown) if c.kind == "model" or (
                not data and c.kind != "column") else None,
            sort_text=f"{c.rank}{i:04d}",
            filter_text=c.insert_text if c.kind != "model" else None,
            text_edit=types.TextEdit(range=types.Range(start=start, end=end),
                                     new_text=c.insert_text),
            insert_text_format=types.InsertTextFormat.PlainText,
            data=data,
        ))
    return items


@safe(default=lambda: types.CompletionList(is_incomplete=False, items=[]))
async def completion(ls: IbertServer, params: types.CompletionParams):
    at = python_at(ls, params.text_document.uri, params.position, "completion")
    if at is None:
        return types.CompletionList(is_incomplete=False, items=[])
    doc, source, lines, line, character = at.doc, at.source, at.lines, at.line, at.character
    invoked = (params.context is None
               or params.context.trigger_kind == types.CompletionTriggerKind.Invoked)

    an = await quick_analysis(ls, doc.uri)

    def work():
        from ibert_lsp.tasks.completion import complete
        from ibert_lsp.tasks.operands import operand_candidates
        from ibert_lsp.tasks.relevance import relevant_completions

        env = an.env_before(line)
        found = complete(source, line, character, an.schemas, env=env,
                         types=an.types_before(line), path=doc.path, use_jedi=invoked)
        if not found:  # after an operator: the operand (the CLI does the same)
            found = operand_candidates(source, line, character, an.schemas, env)
        return relevant_completions(source, line, character, found), env, an.schemas

    cands, env, schemas = await ls.interactive(work)
    if invoked and ls.generator is not None:
        from ibert_lsp.tasks.completion import Candidate
        from ibert_lsp.tasks.continuations import continuations
        from ibert_lsp.tasks.cursor import context_at

        texts = await model_within(ls, continuations, source, line, character, schemas,
                                   env=env, n=INTERACTIVE_CANDIDATES, multiline=False,
                                   budget_s=completion_budget_s(ls))
        ctx = context_at(source, line, character)
        seen = {c.insert_text for c in cands}
        from ibert_lsp.tasks.relevance import completion_verdict

        after = lines[line][character:]
        for t in texts or []:
            full = ctx.prefix + t
            if full.strip() and full not in seen and completion_verdict("", t, after).ok:
                seen.add(full)
                cands.append(Candidate(full[:60], full, "model", "ibert model",
                                       "Suggested by the local model; checked against the "
                                       "schemas.", "model", 5, ctx.replace_start))
    return types.CompletionList(is_incomplete=False,
                                items=to_items(doc, line, character, cands[:300], lines,
                                               markdown_ok(ls)))


async def resolve(ls: IbertServer, item: types.CompletionItem):
    try:
        return await _resolve(ls, item)
    except asyncio.CancelledError:
        raise
    except Exception as exc:
        ls.log(f"ibert: completion resolve failed: {exc}", types.MessageType.Error)
        return item


async def _resolve(ls: IbertServer, item: types.CompletionItem):
    data = item.data if isinstance(item.data, dict) else None
    if data and data.get("qualname"):
        from ibert_lsp.tasks.introspect import full_doc

        doc = await ls.interactive(full_doc, data["qualname"])
        if doc:
            item.documentation = _doc(
                f"```python\n{item.detail or item.label}\n```\n\n{doc}", markdown_ok(ls))
    return item


def register(server: IbertServer) -> None:
    options = types.CompletionOptions(trigger_characters=TRIGGERS, resolve_provider=True)
    server.feature(types.TEXT_DOCUMENT_COMPLETION, options)(completion)
    server.feature(types.COMPLETION_ITEM_RESOLVE)(resolve)

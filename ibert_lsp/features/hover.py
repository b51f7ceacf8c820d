"""textDocument/hover: Ibis names (signature + docstring, columns of tables), and answers.

On a comment that is a question (`# how do I count rows per group?`) the hover is the Q&A
task's answer, grounded in the installed Ibis docstrings, with code that passed the gate.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from lsprotocol import types

from ibert_lsp.features.analysis import current_analysis, quick_analysis
from ibert_lsp.features.common import python_at, to_client
from ibert_lsp.features.registry import safe
from ibert_lsp.features.services import ask

if TYPE_CHECKING:
    from ibert_lsp.server import IbertServer

_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _md(value: str) -> types.MarkupContent:
    return types.MarkupContent(kind=types.MarkupKind.Markdown, value=value)


def namespace_hover(receiver: str, word: str) -> str | None:
    """`ibis.duckdb.connect`, `ibis.examples.penguins.fetch`: documented from the installed
    Ibis (introspection only; nothing is connected or fetched)."""
    from ibert_lsp.tasks.namespaces import backend_class, connect_parameters, namespace_of

    ns = namespace_of(receiver)
    if ns is None:
        return None
    kind, detail = ns
    if kind == "backend_module":
        cls = backend_class(detail)
        member = getattr(cls, word, None)
        if member is None:
            return None
        text = _member_hover(f"ibis.{detail}", word, member)
        if word == "connect":
            params = ", ".join(connect_parameters(cls, detail))
            text += f"\n\nConnection parameters of the {detail} backend: `{params}`" if params \
                else ""
        return text
    if kind == "example" and word == "fetch":
        import ibis.examples

        return _member_hover(f"ibis.examples.{detail}", word,
                             type(getattr(ibis.examples, detail)).fetch)
    return None


def _ibis_method_guess(source: str, word: str) -> str | None:
    """In a file that uses Ibis, a method whose receiver ibert cannot type: Ibis's own method
    of that name (tables first), said to be a guess."""
    import ibis.expr.types as ir
    from ibis.backends import BaseBackend
    from ibis.expr.types.groupby import GroupedTable

    if "ibis" not in source:
        return None
    for cls in (ir.Table, GroupedTable, ir.NumericColumn, ir.StringColumn, ir.TimestampColumn,
                ir.Column, ir.Value, ir.Scalar, BaseBackend):
        member = getattr(cls, word, None)
        if member is not None and callable(member) and not word.startswith("_"):
            owner = cls.__name__ if cls is not BaseBackend else "Backend"
            return (_member_hover(owner, word, member) + f"\n\n*The receiver's type is not "
                    f"known here; this is Ibis's `{owner}.{word}`.*")
    return None


def _member_hover(owner: str, word: str, member: Any) -> str:
    """Signature and docstring of an Ibis method or property, as hover markdown."""
    import inspect

    if isinstance(member, property):
        member = member.fget
    try:
        sig = f"{word}{inspect.signature(member)}"
    except (TypeError, ValueError):
        sig = word
    doc = inspect.cleandoc(getattr(member, "__doc__", "") or "")
    return f"```python\n{owner}.{sig}\n```\n\n{doc}"


def describe_name(source: str, line: int, character: int, schemas: dict, env: dict,
                  types: dict | None = None):
    """(markdown, (start, end) columns) for the identifier at the cursor, or None.

    `types`: names whose class is known but not their columns (a parameter annotated
    `ir.Table`, a table from a database ibert cannot read): their methods still get hovers."""

    import ibis
    import ibis.expr.types as ir

    from ibert_lsp.prompting.statements import statement_start
    from ibert_lsp.tasks.completion import evaluate_receiver
    from ibert_lsp.tasks.cursor import receiver_before

    all_lines = source.split("\n")
    text = all_lines[line]
    m = None
    for mm in _WORD.finditer(text):
        if mm.start() <= character <= mm.end():
            m = mm
            break
    if m is None:
        return None
    word = m.group(0)
    before = text[: m.start()].rstrip()
    first = statement_start(all_lines, line)
    if not before and first < line:  # `    .group_by(...)` continuing a chain
        before = "\n".join(all_lines[first:line]).rstrip()
    if before.endswith(".") or text[: m.start()].strip() == ".":
        ctx = "\n".join(all_lines[first:line] + [text[: m.start()]]).rstrip()
        ctx = ctx[:-1]
        rec_text = receiver_before(ctx, len(ctx))
        if word.startswith("_"):
            return None
        namespace = namespace_hover(rec_text, word) if rec_text else None
        if namespace is not None:
            return namespace, (m.start(), m.end())
        obj = evaluate_receiver(rec_text, schemas, env) if rec_text else None
        if obj is None:
            from ibert_lsp.tasks.typeflow import type_of

            cls = type_of(rec_text, types or {}) if rec_text else None
            member = getattr(cls, word, None) if cls is not None else None
            if member is not None:
                return _member_hover(cls.__name__, word, member), (m.start(), m.end())
            guess = _ibis_method_guess(source, word)
            return (guess, (m.start(), m.end())) if guess else None
        if isinstance(obj, ir.Table) and word in obj.columns:
            return (f"```python\n{rec_text}.{word}: {obj.schema()[word]}\n```\n\ncolumn "
                    f"`{word}` of `{rec_text}`"), (m.start(), m.end())
        member = getattr(type(obj), word, None) if obj is not ibis else getattr(ibis, word, None)
        if member is None:
            return None
        owner = "ibis" if obj is ibis else type(obj).__name__
        return _member_hover(owner, word, member), (m.start(), m.end())
    if word in env:
        obj = env[word]
        if isinstance(obj, ir.Table):
            cols = "\n".join(f"| `{c}` | {t} |" for c, t in obj.schema().items())
            return (f"```python\n{word}: ibis.Table\n```\n\n| column | type |\n|---|---|\n"
                    f"{cols}"), (m.start(), m.end())
        try:
            typ = obj.type()
        except Exception:
            typ = type(obj).__name__
        return f"```python\n{word}: {type(obj).__name__} ({typ})\n```", (m.start(), m.end())
    if word in schemas:
        cols = ", ".join(f"{c}: {t}" for c, t in schemas[word].items())
        return f"table `{word}`: {cols}", (m.start(), m.end())
    if word == "ibis":
        return f"```python\nimport ibis  # {ibis.__version__}\n```", (m.start(), m.end())
    return None


@safe(default=None)
async def hover(ls: IbertServer, params: types.HoverParams):
    at = python_at(ls, params.text_document.uri, params.position, "hover")
    if at is None:
        return None
    doc, source, lines, line, character = at.doc, at.source, at.lines, at.line, at.character
    text = lines[line] if line < len(lines) else ""
    from ibert_lsp.pysource import split_comment
    from ibert_lsp.tasks.qa import is_question

    code, comment = split_comment(text)
    hash_at = len(code)
    if comment and character >= hash_at:
        question = comment[1:].strip()
        if not is_question(question):
            return None
        an = await current_analysis(ls, doc.uri)
        res = await ask(ls, question, an.schemas)
        rng = types.Range(start=to_client(doc, line, hash_at, lines),
                          end=to_client(doc, line, len(text), lines))
        return types.Hover(contents=_md(res.text), range=rng)

    an = await quick_analysis(ls, doc.uri)

    def work():
        return describe_name(source, line, character, an.schemas, an.env_before(line),
                             an.types_before(line))

    found = await ls.interactive(work)
    if not found:
        return None
    value, (a, b) = found
    return types.Hover(contents=_md(value), range=types.Range(
        start=to_client(doc, line, a, lines), end=to_client(doc, line, b, lines)))


def register(server: IbertServer) -> None:
    server.feature(types.TEXT_DOCUMENT_HOVER)(hover)

"""Literal masking for the translation tasks (SQL -> Ibis, Ibis -> SQL).

A tiny model learns translations far better when the literals are replaced by placeholders
(`<L0>`, `<L1>`, ...) in both the source and the target, and put back afterwards (DESIGN.md,
"Pitfalls measured"). This module finds the literals of SQL text (regex over quoted strings and
numbers) and of Python/Ibis code (the `tokenize` module), masks them consistently, and restores
them into either language with that language's quoting.
"""

from __future__ import annotations

import io
import re
import tokenize
from dataclasses import dataclass, field

from ibert_lsp.validate.synth import parse_number

PLACEHOLDER = re.compile(r"<L(\d+)>")
MAX_LITERALS = 16

# SQL: '...' strings ('' escapes a quote) and bare numbers not glued to identifiers.
_SQL_TOKEN = re.compile(
    r"(?P<str>'(?:[^']|'')*')"
    r"|(?P<ident>\"(?:[^\"]|\"\")*\")"
    r"|(?P<word>[A-Za-z_][A-Za-z0-9_$]*)"
    r"|(?P<num>(?<![\w.])\d+(?:\.\d+)?(?:[eE][+-]?\d+)?(?![\w]))"
)


@dataclass
class Literals:
    """The placeholder -> value mapping of one example (values are Python str/int/float)."""

    values: list = field(default_factory=list)

    def placeholder(self, value) -> str | None:
        for i, v in enumerate(self.values):
            if type(v) is type(value) and v == value:
                return f"<L{i}>"
        if len(self.values) >= MAX_LITERALS:
            return None
        self.values.append(value)
        return f"<L{len(self.values) - 1}>"

    def find(self, value) -> str | None:
        for i, v in enumerate(self.values):
            if type(v) is type(value) and v == value:
                return f"<L{i}>"
            # 10 in SQL may be 10.0 in the code and the other way round
            if isinstance(v, (int, float)) and isinstance(value, (int, float)) and v == value:
                return f"<L{i}>"
        return None

    def to_dict(self) -> dict:
        return {f"<L{i}>": v for i, v in enumerate(self.values)}


def sql_literals(sql: str) -> list[tuple[int, int, object]]:
    """(start, end, value) of each string/number literal in SQL text."""
    out = []
    for m in _SQL_TOKEN.finditer(sql):
        if m.group("str") is not None:
            out.append((m.start(), m.end(), m.group("str")[1:-1].replace("''", "'")))
        elif m.group("num") is not None:
            v = parse_number(m.group("num"))
            if v is not None:
                out.append((m.start(), m.end(), v))
    return out


def _line_offsets(code: str) -> list[int]:
    offs = [0]
    for line in code.splitlines(keepends=True):
        offs.append(offs[-1] + len(line))
    return offs


# Methods whose string arguments name columns: those strings are code, not data, and stay.
COLUMN_METHODS = {
    "select", "group_by", "order_by", "drop", "distinct", "rename", "relocate", "join",
    "left_join", "inner_join", "outer_join", "right_join", "semi_join", "anti_join", "cross_join",
    "asof_join", "asc", "desc", "unpack", "dropna", "drop_null", "fill_null", "pivot_longer",
    "pivot_wider", "cols", "c", "table", "sql", "alias", "name", "window", "lag", "lead",
}


def _column_name_positions(code: str) -> set[tuple[int, int]]:
    """(line, char col) of string constants that name columns (`select('a')`, `t['a']`)."""
    import ast

    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError):
        return set()
    lines = code.splitlines()
    found: set[tuple[int, int]] = set()

    def add(node):
        nodes = node.elts if isinstance(node, (ast.List, ast.Tuple)) else [node]
        for n in nodes:
            if isinstance(n, ast.Constant) and isinstance(n.value, str):
                line = lines[n.lineno - 1] if n.lineno - 1 < len(lines) else ""
                col = len(line.encode()[: n.col_offset].decode(errors="ignore"))
                found.add((n.lineno, col))

    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                and node.func.attr in COLUMN_METHODS:
            for a in node.args:
                add(a)
            for kw in node.keywords:
                if kw.arg in (None, "by", "on", "predicates", "names", "cols", "group_by",
                              "order_by") or node.func.attr == "rename":
                    add(kw.value)
        elif isinstance(node, ast.Subscript):
            add(node.slice)
    return found


def code_literals(code: str) -> list[tuple[int, int, object]]:
    """(start, end, value) of each plain string/number literal in Python code (no f-strings,
    no strings that name columns)."""
    out = []
    offs = _line_offsets(code)
    names = _column_name_positions(code)
    try:
        toks = list(tokenize.generate_tokens(io.StringIO(code).readline))
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return out
    for tok in toks:
        if tok.type not in (tokenize.STRING, tokenize.NUMBER):
            continue
        text = tok.string
        if tok.type == tokenize.STRING:
            if tok.start in names:
                continue
            prefix = re.match(r"^[A-Za-z]*", text).group(0).lower()
            if prefix not in ("", "u") or text.startswith(('"""', "'''")):
                continue
            body = text[len(prefix):]
            try:
                import ast

                value = ast.literal_eval(body)
            except Exception:
                continue
            if not isinstance(value, str):
                continue
        else:
            value = parse_number(text.replace("_", ""))
            if value is None:
                continue
        start = offs[tok.start[0] - 1] + tok.start[1]
        end = offs[tok.end[0] - 1] + tok.end[1]
        out.append((start, end, value))
    return out


def _replace(text: str, spans: list[tuple[int, int, str]]) -> str:
    parts, pos = [], 0
    for start, end, rep in sorted(spans):
        parts.append(text[pos:start])
        parts.append(rep)
        pos = end
    parts.append(text[pos:])
    return "".join(parts)


def mask_source(text: str, language: str, lits: Literals | None = None,
                keep: set | frozenset = frozenset()) -> tuple[str, Literals]:
    """Replace every literal of the source by a new placeholder (same value, same placeholder);
    strings in `keep` (names of tables and columns) are names, not data, and stay."""
    lits = lits if lits is not None else Literals()
    found = sql_literals(text) if language == "sql" else code_literals(text)
    spans = []
    for start, end, value in found:
        if isinstance(value, str) and value in keep:
            continue
        ph = lits.placeholder(value)
        if ph is not None:
            spans.append((start, end, ph))
    return _replace(text, spans), lits


def mask_target(text: str, language: str, lits: Literals) -> str:
    """Replace the target's literals that also occur in the source by their placeholders."""
    found = sql_literals(text) if language == "sql" else code_literals(text)
    spans = []
    for start, end, value in found:
        ph = lits.find(value)
        if ph is not None:
            spans.append((start, end, ph))
    return _replace(text, spans)


def render(value, language: str) -> str:
    """A literal written in the given language."""
    if isinstance(value, str):
        if language == "sql":
            return "'" + value.replace("'", "''") + "'"
        return repr(value)
    return repr(value)


class UnknownPlaceholder(ValueError):
    """The model wrote a placeholder the source does not have."""


def unmask(text: str, language: str, lits: Literals) -> str:
    """Put the literal values back; raises UnknownPlaceholder for a placeholder not in `lits`."""

    def sub(m: re.Match) -> str:
        i = int(m.group(1))
        if i >= len(lits.values):
            raise UnknownPlaceholder(m.group(0))
        return render(lits.values[i], language)

    return PLACEHOLDER.sub(sub, text)


# --------------------------------------------------------------------------- identifiers
# The translations also mask the names of the tables the source uses and of their columns
# (`<T0>`, `<C0>`, ...): a small model then learns the structure of the mapping and never has to
# spell a name it has not seen; the names come back from the schema after decoding.
MAX_TABLES = 8
MAX_COLUMNS = 48
IDENT_PLACEHOLDER = re.compile(r"<([TC])(\d+)>")
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _schema_cols(cols) -> dict:
    if isinstance(cols, dict) and isinstance(cols.get("schema"), dict):
        return cols["schema"]
    return cols if isinstance(cols, dict) else {}


@dataclass
class Identifiers:
    """Placeholders for the tables a source names and all their columns (schema order)."""

    tables: list = field(default_factory=list)
    columns: list = field(default_factory=list)
    types: dict = field(default_factory=dict)  # table -> {column: type}

    @classmethod
    def from_source(cls, text: str, tables: dict | None, extra: tuple | list = ()) -> Identifiers:
        """`extra`: more names the target must copy (SQL output aliases), masked after the
        schema's columns as column placeholders."""
        words = set(_WORD.findall(text))
        out = cls()
        for name, cols in (tables or {}).items():
            if name in words and len(out.tables) < MAX_TABLES:
                out.tables.append(name)
                cols = _schema_cols(cols)
                out.types[name] = dict(cols)
                for c in cols:
                    if c not in out.columns and len(out.columns) < MAX_COLUMNS:
                        out.columns.append(c)
        for name in extra:
            if (name in words and name not in out.columns and name not in out.tables
                    and len(out.columns) < MAX_COLUMNS):
                out.columns.append(name)
        return out

    @property
    def names(self) -> set:
        return set(self.tables) | set(self.columns)

    def _names(self) -> dict[str, str]:
        names = {c: f"<C{i}>" for i, c in enumerate(self.columns)}
        names.update({t: f"<T{i}>" for i, t in enumerate(self.tables)})  # a table name wins
        return names

    def mask(self, text: str) -> str:
        names = self._names()
        if not names:
            return text
        alt = "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True))
        return re.sub(rf"(?<![<\w])({alt})(?![\w>])", lambda m: names[m.group(1)], text)

    def unmask(self, text: str) -> str:
        def sub(m: re.Match) -> str:
            seq = self.tables if m.group(1) == "T" else self.columns
            i = int(m.group(2))
            if i >= len(seq):
                raise UnknownPlaceholder(m.group(0))
            return seq[i]

        return IDENT_PLACEHOLDER.sub(sub, text)

    def schema_line(self) -> str:
        """`tables: <T0>(<C0> int64, <C1> string)` — the masked schema of the used tables."""
        if not self.tables:
            return ""
        names = self._names()
        parts = [
            f"{names[t]}(" + ", ".join(f"{names.get(c, c)} {ty}"
                                       for c, ty in self.types[t].items()) + ")"
            for t in self.tables
        ]
        return "tables: " + "; ".join(parts) + "\n"

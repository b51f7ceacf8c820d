"""The one place where model prompts are built and model outputs are parsed.

Training (`training/`) and serving (`ibert_lsp.tasks`, `ibert_lsp.model`) both call these
functions, so a model always sees at inference exactly the text layout it was trained on.

Per-task record keys (dataset records, DESIGN.md):

| task             | input keys         | target key  |
|------------------|--------------------|-------------|
| code_completion  | prefix, suffix     | completion  |
| ibis_to_sql      | ibis, dialect      | sql         |
| sql_to_ibis      | sql                | ibis        |
| error_resolution | code, error        | fixed       |
| qa               | question           | answer      |
| documentation    | code, style        | docstring   |

`context` is the record's context (`{"tables": {name: {"schema": {col: type}} or {col: type}}}`).
The translation tasks mask literals (`ibert_lsp.prompting.literals`): prompt and target carry `<L0>`,
`<L1>`, ... and `parse_output(task, text, inp)` puts the values back.

All four code tasks mask the names of tables and columns (`<T0>`, `<C0>`, ...; translation tasks:
the tables the source names; `code_completion` and `error_resolution`: the tables the code or the
error names, all of the context's tables when it names none), so a small model never has to spell
a name it has not seen. `parse_output` needs the `inp` and `context` the prompt was built from to
put the names back (a code-task candidate whose placeholders cannot be restored parses to "",
never to half-restored code). Generators never emit a placeholder the prompt lacks
(`absent_placeholders`), since it could not be restored.

`code_completion` is fill-in-the-middle in suffix-prefix-middle order:
`<fim_suffix>SUFFIX<fim_prefix>PREFIX<fim_middle>` followed by the middle.
"""

from __future__ import annotations

import re

from ibert_lsp.prompting import literals as lit
from ibert_lsp.prompting.statements import cursor_statement

# 3: names masked in code_completion and error_resolution; 4: completion prompts in
# suffix-prefix-middle order, so the text the model continues ends right at the cursor;
# 5: sql_to_ibis masks the query's aliases too
PROMPT_FORMAT_VERSION = 5

TASKS = (
    "code_completion",
    "ibis_to_sql",
    "sql_to_ibis",
    "error_resolution",
    "qa",
    "documentation",
)

INPUT_KEYS = {
    "code_completion": ("prefix", "suffix"),
    "ibis_to_sql": ("ibis", "dialect"),
    "sql_to_ibis": ("sql",),
    "error_resolution": ("code", "error"),
    "qa": ("question",),
    "documentation": ("code", "style"),
}
TARGET_KEY = {
    "code_completion": "completion",
    "ibis_to_sql": "sql",
    "sql_to_ibis": "ibis",
    "error_resolution": "fixed",
    "qa": "answer",
    "documentation": "docstring",
}

EOS = "<|endoftext|>"
PAD = "<|pad|>"
FIM_PREFIX = "<fim_prefix>"
FIM_SUFFIX = "<fim_suffix>"
FIM_MIDDLE = "<fim_middle>"
TASK_TOKENS = {task: f"<|{task}|>" for task in TASKS}
PLACEHOLDER_TOKENS = (
    [f"<L{i}>" for i in range(lit.MAX_LITERALS)]
    + [f"<T{i}>" for i in range(lit.MAX_TABLES)]
    + [f"<C{i}>" for i in range(lit.MAX_COLUMNS)]
)

# Tokens that must never reach a user: stripped from every output.
SPECIAL_TOKENS = [EOS, PAD, FIM_PREFIX, FIM_SUFFIX, FIM_MIDDLE, *TASK_TOKENS.values()]
# Everything the from-scratch tokenizer keeps atomic.
ALL_ADDED_TOKENS = SPECIAL_TOKENS + PLACEHOLDER_TOKENS

# Text after which generation stops (the model's own end token is handled by the generator too).
_COMMON_STOP = (EOS, FIM_PREFIX, FIM_SUFFIX, FIM_MIDDLE, *TASK_TOKENS.values())
STOP: dict[str, tuple[str, ...]] = {
    "code_completion": _COMMON_STOP,
    "ibis_to_sql": _COMMON_STOP,
    "sql_to_ibis": _COMMON_STOP,
    "error_resolution": _COMMON_STOP,
    "qa": _COMMON_STOP,
    "documentation": _COMMON_STOP,
}

# Longest pieces of free text kept in a prompt (characters); long inputs keep the part nearest
# to the cursor / the end.
MAX_SCHEMA_CHARS = 600
MAX_FIELD_CHARS = 1500

_LANG_SOURCE = {"sql_to_ibis": "sql", "ibis_to_sql": "python"}
_LANG_TARGET = {"sql_to_ibis": "python", "ibis_to_sql": "sql"}


class PromptError(ValueError):
    """A task input that lacks what its prompt needs."""


def _check_task(task: str) -> None:
    if task not in TASK_TOKENS:
        raise PromptError(f"unknown task {task!r}; tasks: {', '.join(TASKS)}")


_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def schema_line(context: dict | None, text: str | None = None, *,
                mentioned_columns: bool = False) -> str:
    """`tables: t(a int64, b string); u(...)` — compact, deterministic (insertion order).

    With `text`, only the tables that text names are listed (all of them if it names none);
    with `mentioned_columns`, only the columns it names too (the translation tasks: the
    source already spells every column it uses, the types are what it lacks)."""
    tables = (context or {}).get("tables") or {}
    words = set(_WORD.findall(text)) if text is not None else None
    items = []
    for name, cols in tables.items():
        if isinstance(cols, dict) and isinstance(cols.get("schema"), dict):
            cols = cols["schema"]
        if isinstance(cols, dict):
            items.append((name, cols))
    if words is not None and any(name in words for name, _ in items):
        items = [(n, c) for n, c in items if n in words]
    parts = []
    for name, cols in items:
        if mentioned_columns and words is not None:
            cols = {c: t for c, t in cols.items() if c in words}
        parts.append(f"{name}(" + ", ".join(f"{c} {t}" for c, t in cols.items()) + ")")
    text = "; ".join(parts)
    if len(text) > MAX_SCHEMA_CHARS:
        text = text[:MAX_SCHEMA_CHARS]
    return f"tables: {text}\n" if text else ""


def _field(inp: dict, key: str, task: str, default: str | None = None) -> str:
    value = inp.get(key, default)
    if value is None:
        raise PromptError(f"task {task}: input lacks {key!r}")
    return str(value)


def _tail(text: str, n: int = MAX_FIELD_CHARS) -> str:
    return text if len(text) <= n else text[-n:]


def _head(text: str, n: int = MAX_FIELD_CHARS) -> str:
    return text if len(text) <= n else text[:n]


def source_literals(task: str, inp: dict, context: dict | None = None) -> lit.Literals | None:
    """The literal mapping of a translation task's source (None for other tasks)."""
    if task not in _LANG_SOURCE:
        return None
    keep = source_identifiers(task, inp, context).names
    key = "sql" if task == "sql_to_ibis" else "ibis"
    return lit.mask_source(_field(inp, key, task), _LANG_SOURCE[task], keep=keep)[1]


def _tables(inp: dict, context: dict | None) -> dict:
    if context is None and isinstance(inp.get("tables"), dict):
        return inp["tables"]
    return (context or {}).get("tables") or {}


def sql_aliases(sql: str, dialect: str = "duckdb") -> list[str]:
    """Names a query gives (output columns, subqueries, CTEs), in order of appearance: the Ibis
    translation must spell them, so they are masked like columns (a small model copies a
    placeholder far more reliably than a new word). [] when the SQL does not parse."""
    try:
        from sqlglot import exp

        from ibert_lsp.validate.sqlutil import parse

        trees = parse(sql, dialect)
    except Exception:  # noqa: BLE001 - any parse failure: no aliases, the prompt still works
        return []
    names = {node.alias for tree in trees for node in tree.walk()
             if isinstance(node, (exp.Alias, exp.CTE, exp.Subquery)) and node.alias}
    return sorted((n for n in names if _WORD.fullmatch(n)),
                  key=lambda n: (_first_word(sql, n), n))


def _first_word(text: str, word: str) -> int:
    m = re.search(rf"(?<!\w){re.escape(word)}(?!\w)", text)
    return m.start() if m else len(text)


def source_identifiers(task: str, inp: dict, context: dict | None) -> lit.Identifiers:
    """The table/column placeholders of a translation task's source (sql_to_ibis: the query's
    aliases too)."""
    if task == "sql_to_ibis":
        sql = _field(inp, "sql", task)
        return lit.Identifiers.from_source(sql, _tables(inp, context),
                                           sql_aliases(sql, inp.get("dialect") or "duckdb"))
    return lit.Identifiers.from_source(_field(inp, "ibis", task), _tables(inp, context))


# The code tasks whose prompt and target carry name placeholders (see the module docstring).
_NAME_MASKED = ("code_completion", "error_resolution")


def _completion_fields(inp: dict) -> tuple[str, str]:
    prefix, suffix = str(inp.get("prefix", "")), str(inp.get("suffix") or "")
    return cursor_statement(prefix, suffix)


def _names_key(task: str, inp: dict | None) -> tuple:
    if task == "code_completion":
        return _completion_fields(inp)
    return (str(inp.get("code", "")), str(inp.get("error") or ""))


def code_identifiers(task: str, inp: dict, context: dict | None = None, *,
                     fields: tuple[str, str] | None = None) -> lit.Identifiers | None:
    """The table/column placeholders of a code task's input (None for the other tasks): the
    tables its text names (the error message included), all tables when it names none.
    `fields`: the input's texts when the caller already has them (`_names_key`)."""
    if task not in _NAME_MASKED:
        return None
    tables = _tables(inp, context)
    text = "\n".join(fields if fields is not None else _names_key(task, inp))
    ids = lit.Identifiers.from_source(text, tables)
    if not ids.tables and tables:
        ids = lit.Identifiers.from_source(" ".join(str(t) for t in tables), tables)
    return ids


def _identifiers_for_parse(task: str, inp: dict | None, context: dict | None):
    """The placeholders `build_prompt` used for this input: callers pass the same `inp` and
    `context` they built the prompt from."""
    return code_identifiers(task, inp, context) if inp is not None else None


def build_prompt(task: str, inp: dict, context: dict | None = None) -> str:
    """The prompt text for one task input; the model continues it with the target."""
    _check_task(task)
    tok = TASK_TOKENS[task]
    if context is None and isinstance(inp.get("tables"), dict):
        context = {"tables": inp["tables"]}  # callers may pass the tables inside the input
    if task == "code_completion":
        _field(inp, "prefix", task)
        prefix, suffix = _completion_fields(inp)
        ids = code_identifiers(task, inp, context, fields=(prefix, suffix))
        prefix, suffix = ids.mask(_tail(prefix)), ids.mask(_head(suffix))
        tables = ids.schema_line()
        # SPM order: the middle continues the prefix directly (easier for a small model
        # than PSM, where it must look back past the suffix).
        return f"{tok}{tables}{FIM_SUFFIX}{suffix}{FIM_PREFIX}{prefix}{FIM_MIDDLE}"
    if task == "sql_to_ibis":
        raw = _field(inp, "sql", task)
        idents = source_identifiers(task, inp, context)
        sql = idents.mask(lit.mask_source(raw, "sql", keep=idents.names)[0])
        tables = idents.schema_line()
        return f"{tok}\n{tables}sql: {_head(sql).strip()}\nibis:\n"
    if task == "ibis_to_sql":
        raw = _field(inp, "ibis", task)
        idents = source_identifiers(task, inp, context)
        code = idents.mask(lit.mask_source(raw, "python", keep=idents.names)[0])
        tables = idents.schema_line()
        dialect = inp.get("dialect") or "duckdb"
        return f"{tok}\n{tables}dialect: {dialect}\nibis:\n{_head(code).strip()}\nsql:\n"
    if task == "error_resolution":
        _field(inp, "code", task)
        ids = code_identifiers(task, inp, context)
        code = ids.mask(_tail(_field(inp, "code", task)).strip("\n"))
        error = ids.mask(_head(_field(inp, "error", task, ""), 400).strip())
        tables = ids.schema_line()
        return f"{tok}\n{tables}code:\n{code}\nerror: {error}\nfixed:\n"
    if task == "qa":
        question = _head(_field(inp, "question", task)).strip()
        tables = schema_line(context, question) if context else ""
        return f"{tok}\n{tables}question: {question}\nanswer:\n"
    # documentation
    code = _head(_field(inp, "code", task)).strip("\n")
    style = inp.get("style") or "google"
    return f"{tok}\nstyle: {style}\ncode:\n{code}\ndocstring:\n"


def target_text(task: str, target: dict | str, inp: dict | None = None,
                context: dict | None = None) -> str:
    """The text the model is trained to produce after the prompt (without the end token).

    For the translation tasks `inp` (and `context`, for the schemas) is needed, so the target's
    literals and names get the placeholders the prompt gave them.
    """
    _check_task(task)
    value = target if isinstance(target, str) else target.get(TARGET_KEY[task])
    if value is None:
        raise PromptError(f"task {task}: target lacks {TARGET_KEY[task]!r}")
    value = str(value)
    if task in _LANG_TARGET:
        if inp is None:
            raise PromptError(f"task {task}: target_text needs the input to mask literals")
        lits = source_literals(task, inp, context)
        value = lit.mask_target(value.strip(), _LANG_TARGET[task], lits)
        value = source_identifiers(task, inp, context).mask(value)
    elif task in _NAME_MASKED:
        if inp is None:
            raise PromptError(f"task {task}: target_text needs the input to mask names")
        if task == "error_resolution":
            value = value.strip("\n")
        value = code_identifiers(task, inp, context).mask(value)
    elif task != "code_completion":
        value = value.strip("\n")
    return value


def training_text(task: str, inp: dict, target: dict | str, context: dict | None = None):
    """(prompt, completion) as used for training: completion ends with the end token."""
    return build_prompt(task, inp, context), target_text(task, target, inp, context) + EOS


def absent_placeholders(prompt: str) -> list[str]:
    """Placeholder tokens a continuation of `prompt` must not contain: those the prompt does
    not carry (parse_output could not restore them)."""
    return [t for t in PLACEHOLDER_TOKENS if t not in prompt]


def strip_special(text: str) -> str:
    for tok in SPECIAL_TOKENS:
        text = text.replace(tok, "")
    return text


def cut_at_stop(text: str, stop: tuple[str, ...] | list[str]) -> str:
    cut = len(text)
    for s in stop:
        if s:
            i = text.find(s)
            if i != -1:
                cut = min(cut, i)
    return text[:cut]


def parse_output(task: str, text: str, inp: dict | None = None,
                 context: dict | None = None) -> str:
    """The user-facing answer from raw model text: cut at a stop, no special tokens, literals
    and names restored (translation tasks: pass the `inp` and `context` the prompt was built
    from; raises `literals.UnknownPlaceholder` for a placeholder the source does not have)."""
    _check_task(task)
    text = strip_special(cut_at_stop(text, STOP[task]))
    if task in _LANG_TARGET:
        text = text.strip()
        if inp is not None:
            text = source_identifiers(task, inp, context).unmask(text)
            text = lit.unmask(text, _LANG_TARGET[task], source_literals(task, inp, context))
        if lit.IDENT_PLACEHOLDER.search(text) or lit.PLACEHOLDER.search(text):
            raise lit.UnknownPlaceholder(text)
        return text
    if task in _NAME_MASKED:
        ids = _identifiers_for_parse(task, inp, context)
        try:
            text = ids.unmask(text) if ids is not None else text
        except lit.UnknownPlaceholder:
            return ""
        if lit.IDENT_PLACEHOLDER.search(text):
            return ""
        return text if task == "code_completion" else text.strip("\n")
    return text.strip("\n")

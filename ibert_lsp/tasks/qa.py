"""Q&A: answers about Ibis grounded in the installed Ibis docstrings; code in answers is checked.

Deterministic engines first: `compose` builds the code a question spells out with the user's
own columns ("average fare per city" -> `trips.group_by("city").agg(mean_fare=_.fare.mean())`),
and retrieval (`retrieval.search`) finds the API entries and an example on the user's tables
(templates tried in order; the first that evaluates through the gate is shown). A model answer
comes after. Every answer must pass the gate and the relevance check (`relevance.qa_verdict`:
its code uses an API retrieval ranks relevant and runs on the user's tables).
"""

from __future__ import annotations

import ast
import re
import textwrap
import threading
from dataclasses import dataclass, field
from typing import Any

from ibert_lsp.schema.types import Schemas
from ibert_lsp.tasks.compose import compose

# Used when the document declares no table, so examples still compile.
DEMO_SCHEMAS: Schemas = {
    "t": {"id": "int64", "category": "string", "amount": "float64", "created_at": "timestamp"}
}

_QUESTION = re.compile(
    r"(\?\s*$)|^\s*(how|what|whats|what's|why|which|when|where|can|does|do|is|are|should|"
    r"explain)\b", re.IGNORECASE
)
# A request written as a command ("sort employees by salary", "median salary by dept"): a verb
# or an aggregate people start such notes with, then at least two more words.
_REQUEST = re.compile(
    r"^\s*(sort|order|group|filter|count|compute|calculate|find|get|show|list|rename|drop|"
    r"join|convert|cast|lowercase|uppercase|top|average|mean|median|total|sum|max|min|"
    r"maximum|minimum|highest|lowest)\b(\s+\S+){2,}", re.IGNORECASE)


def is_question(text: str) -> bool:
    """Looks like a question (ends with '?' or starts with a question word) or a request for
    code ("median salary by dept"): what the hover answers."""
    text = text.strip().lstrip("#").strip()
    return len(text) >= 6 and bool(_QUESTION.search(text) or _REQUEST.search(text))


@dataclass
class Answer:
    question: str
    text: str  # markdown, what hover shows
    code: list[str] = field(default_factory=list)  # checked code in the answer
    sources: list[str] = field(default_factory=list)  # API entries it is grounded in
    source: str = "retrieval"  # rule | retrieval | model | model+rule | model+retrieval
    why: str = ""  # why it was accepted (the relevance verdict)

    def to_dict(self) -> dict[str, Any]:
        return {"question": self.question, "text": self.text, "code": self.code,
                "sources": self.sources, "source": self.source, "why": self.why}


def _pick_columns(schemas: Schemas, question: str = "") -> dict[str, Any]:
    words = set(re.findall(r"[a-z_][a-z0-9_]*", question.lower()))
    tables = sorted(schemas, key=lambda n: (n not in words, not (set(schemas[n]) & words)))
    t = tables[0]
    cols = schemas[t]
    ordered = sorted(cols, key=lambda c: c.lower() not in words)

    def first(pred, default=None):
        return next((c for c in ordered if pred(cols[c]) and c.isidentifier()), default)

    numeric = first(lambda ty: re.match(r"!?(u?int|float|decimal)", ty))
    string = first(lambda ty: ty.lstrip("!") == "string")
    temporal = first(lambda ty: re.match(r"!?(timestamp|date)", ty))
    anycol = next((c for c in ordered if c.isidentifier()), None)
    join = None
    for u in tables[1:]:
        common = [c for c in cols if c in schemas[u]]
        if common:
            join = (u, common[0])
            break
    return {"t": t, "num": numeric, "str": string, "time": temporal, "col": anycol, "join": join}


_TEMPLATES: dict[str, list[str]] = {
    "filter": ["{t}.filter({t}.{num} > 0)", "{t}.filter({t}.{str}.notnull())"],
    "group_by": ['{t}.group_by("{str}").agg(n=_.count())',
                 '{t}.group_by("{col}").agg(n=_.count())'],
    "agg": ['{t}.group_by("{str}").agg(total=_.{num}.sum())', "{t}.agg(n=_.count())"],
    "aggregate": ['{t}.group_by("{str}").aggregate(total=_.{num}.sum())'],
    "count": ['{t}.group_by("{str}").agg(n=_.count())', "{t}.count()"],
    "size": ['{t}.group_by("{str}").agg(n=_.count())'],
    "having": ['{t}.group_by("{str}").having(_.count() > 1).agg(n=_.count())'],
    "rename": ['{t}.rename(new_{col}="{col}")'],
    "order_by": ['{t}.order_by(ibis.desc("{num}"))', '{t}.order_by("{col}")'],
    "desc": ["{t}.order_by({t}.{num}.desc())", 'ibis.desc("{col}")'],
    "asc": ["{t}.order_by({t}.{col}.asc())"],
    "sort": ['{t}.order_by("{col}")'],
    "distinct": ["{t}.distinct()", '{t}.select("{col}").distinct()'],
    "select": ['{t}.select("{col}")'],
    "drop": ['{t}.drop("{col}")'],
    "mutate": ["{t}.mutate(double_{num}={t}.{num} * 2)"],
    "limit": ["{t}.limit(10)"],
    "head": ["{t}.head(5)"],
    "join": ['{t}.join({join_t}, "{join_c}")'],
    "left_join": ['{t}.left_join({join_t}, "{join_c}")'],
    "cast": ['{t}.{num}.cast("string")', '{t}.{col}.cast("string")'],
    "lower": ["{t}.mutate({str}_lower={t}.{str}.lower())"],
    "upper": ["{t}.mutate({str}_upper={t}.{str}.upper())"],
    "year": ["{t}.{time}.year()"],
    "fill_null": ["{t}.fill_null({{'{num}': 0}})"],
    "drop_null": ['{t}.drop_null("{col}")'],
    "isnull": ["{t}.filter({t}.{col}.isnull())"],
    "notnull": ["{t}.filter({t}.{col}.notnull())"],
    "isin": ["{t}.filter({t}.{num}.isin([1, 2]))"],
    "between": ["{t}.filter({t}.{num}.between(0, 10))"],
    "case": ['ibis.cases(({t}.{num} > 0, "positive"), else_="other")'],
    "cases": ['{t}.mutate(sign=ibis.cases(({t}.{num} > 0, "positive"), else_="other"))'],
    "over": ['{t}.mutate(rank=ibis.row_number().over(order_by="{col}"))'],
    "row_number": ['{t}.mutate(rn=ibis.row_number().over(order_by="{col}"))'],
    "to_sql": ["{t}.filter({t}.{num} > 0)"],
    "sql": ["{t}.filter({t}.{num} > 0)"],
}


def example_for(name: str, owner: str, schemas: Schemas, question: str = "") -> str | None:
    """A gate-checked example using `name` on the user's tables, or None."""
    from ibert_lsp.tasks.analysis import gate_eval

    if not schemas:
        return None
    cols = _pick_columns(schemas, question)
    fmt = {k: v for k, v in cols.items() if v is not None and k != "join"}
    if cols["join"]:
        fmt["join_t"], fmt["join_c"] = cols["join"]
    candidates = list(_TEMPLATES.get(name, []))
    t = cols["t"]
    if owner in ("Table",):
        candidates += [f"{t}.{name}()"]
    elif owner == "GroupedTable":
        candidates += [f'{t}.group_by("{{col}}").{name}()']
    elif owner == "ibis":
        candidates += [f"ibis.{name}({t}.{{col}})", f'ibis.{name}("{{col}}")']
    elif owner != "selectors":
        for key in ("num", "str", "time", "col"):
            candidates.append(f"{t}.{{{key}}}.{name}()")
    for tmpl in candidates:
        try:
            code = tmpl.format(**fmt)
        except (KeyError, IndexError, ValueError):
            continue
        try:
            gate_eval(code, schemas)
            return code
        except Exception:
            continue
    return None


def code_blocks(text: str) -> list[str]:
    blocks = re.findall(r"```(?:python|py)?\n(.*?)```", text, re.DOTALL)
    if blocks:
        return [b.strip("\n") for b in blocks]
    # bare code: lines that parse and mention an Ibis call
    lines = [ln for ln in text.split("\n") if re.search(r"\w\.\w+\(|ibis\.", ln)]
    out = []
    for ln in lines:
        try:
            ast.parse(ln.strip())
            out.append(ln.strip())
        except SyntaxError:
            continue
    return out


def check_code(code: str, schemas: Schemas) -> bool:
    """Code passes the gate: every Ibis statement evaluates, at least one exists."""
    from ibert_lsp.tasks.analysis import analyze, gate_eval

    code = textwrap.dedent(code)
    try:
        ast.parse(code)
    except SyntaxError:
        return False
    an = analyze(code, schemas)
    if an.problems:
        return False
    if an.statements:
        return True
    try:
        gate_eval(code, schemas)
        return True
    except Exception:
        return False


def _retrieval_answer(question: str, schemas: Schemas, hits: list) -> Answer | None:
    """The best retrieval hit that has a checked example on the user's tables."""
    for _, d in hits:
        ex = example_for(d.name, d.owner, schemas, question)
        if ex:
            return _render(question, d, ex, hits, "retrieval")
    return None


def _render(question: str, best, code: str, hits: list, source: str) -> Answer:
    sig = best.signature if len(best.signature) <= 90 else f"{best.name}(...)"
    parts = [f"**`{best.owner}.{sig}`**\n\n{best.summary}",
             f"```python\n{code}\n```\n_(checked against your tables)_"]
    related = [f"`{d.qualname}`" for _, d in hits if d is not best]
    if related:
        parts.append("See also: " + ", ".join(related))
    return Answer(question, "\n\n".join(parts), [code], [d.qualname for _, d in hits], source)


def answers(
    question: str,
    schemas: Schemas | None = None,
    *,
    generator: Any = None,
    k: int = 3,
    deadline_s: float | None = None,
    cancel: threading.Event | None = None,
) -> list[Answer]:
    """Answers to `question`, best first, each relevant (`relevance.qa_verdict`) and with code
    that passes the gate: composed from the question's own columns (`rule`), a retrieval hit's
    example on the user's tables (`retrieval`), then the model's (`model`). `Answer.why` says
    why each was kept. The CLI shows this list; hover shows `answer`, built from it."""
    from ibert_lsp.tasks import relevance, retrieval

    question = question.strip().lstrip("#").strip()
    user_tables = bool(schemas)
    schemas = schemas or DEMO_SCHEMAS
    api = relevance.relevant_api(question)
    hits = retrieval.search(relevance.retrieval_query(question), k=max(k, relevance.QA_TOP_K))
    out: list[Answer] = []

    def keep(a: Answer) -> None:
        v = relevance.qa_verdict(question, a.code, schemas if user_tables else None,
                                 text=a.text, api=api)
        if v.ok and all(check_code(c, schemas) for c in a.code) and not any(
                o.text == a.text or (a.code and o.code == a.code) for o in out):
            a.why = v.reason
            out.append(a)

    from ibert_lsp.tasks.codebuild import CodeBuildError

    try:
        composed = compose(question, schemas)
    except CodeBuildError:  # a column name no keyword argument can carry: no composed answer
        composed = None
    if composed:
        code, used = composed
        # headline the most specific API the code uses (`mean` before `group_by`)
        best = next((d for n in reversed(used)
                     for _, d in hits + retrieval.search(n, k=5) if d.name == n), None)
        if best is None:
            from ibert_lsp.tasks.retrieval import lookup

            best = next((d for d in (lookup(n) for n in reversed(used)) if d), None)
        if best is not None:
            keep(_render(question, best, code, hits[:k], "rule"))
    ra = _retrieval_answer(question, schemas, hits[:k])
    if ra:
        keep(ra)
    if generator is not None and not (cancel and cancel.is_set()):
        text = model_answer(question, schemas, generator, deadline_s=deadline_s, cancel=cancel)
        if text.strip():
            keep(Answer(question, text.strip(), code_blocks(text), [], "model"))
    return out


def answer(
    question: str,
    schemas: Schemas | None = None,
    *,
    generator: Any = None,
    k: int = 3,
    deadline_s: float | None = None,
    cancel: threading.Event | None = None,
) -> Answer:
    """What hover shows: the first answer of `answers`, the model's after it when it passed."""
    found = answers(question, schemas, generator=generator, k=k, deadline_s=deadline_s,
                    cancel=cancel)
    question = question.strip().lstrip("#").strip()
    if not found:
        return Answer(question, "No Ibis API entry matches this question. Try naming the "
                      "operation (filter, group by, join, order, rename, cast, ...).", [], [],
                      "retrieval", why="nothing relevant passed the gate")
    first = found[0]
    model = next((a for a in found if a.source == "model"), None)
    if model is None or model is first:
        return first
    return Answer(question, first.text + "\n\n" + model.text, first.code + model.code,
                  first.sources, "model+" + first.source, why=first.why)


def model_answer(question: str, schemas: Schemas, generator: Any, *,
                 deadline_s: float | None = None, cancel: threading.Event | None = None) -> str:
    from ibert_lsp.prompting import prompts

    inp = {"question": question}
    try:
        raw = generator.generate(
            prompts.build_prompt("qa", inp, {"tables": {k: dict(v) for k, v in schemas.items()}}),
            n=1, max_new_tokens=128, stop=prompts.STOP["qa"], deadline_s=deadline_s,
            cancel=cancel)
    except Exception:
        return ""
    return prompts.parse_output("qa", raw[0], inp) if raw else ""

"""Q&A grounded in the installed Ibis package: its docstrings and signatures, plus runnable
examples (validated pairs) that pass the gate.

`api_entries()` reads the public API with `inspect` (no code from docstrings is run);
`qa_from_api` turns each entry into questions about what it does, its parameters, its return
value and where it fits; `qa_from_pairs` answers "how do I ..." and "show an example of X"
with code from validated pairs (the check re-runs every ```python block through the gate).
"""

from __future__ import annotations

import ast
import inspect
import random
import re
from typing import Any

from datagen.records import make_record

CLASSES = (
    ("Table", "a table expression"),
    ("GroupedTable", "a grouped table (the result of `Table.group_by`)"),
    ("Value", "any value expression (column or scalar)"),
    ("Column", "a column expression"),
    ("Scalar", "a scalar expression"),
    ("NumericValue", "a numeric value"),
    ("NumericColumn", "a numeric column"),
    ("IntegerValue", "an integer value"),
    ("IntegerColumn", "an integer column"),
    ("FloatingValue", "a floating point value"),
    ("DecimalValue", "a decimal value"),
    ("StringValue", "a string value"),
    ("BooleanValue", "a boolean value"),
    ("BooleanColumn", "a boolean column"),
    ("DateValue", "a date value"),
    ("TimestampValue", "a timestamp value"),
    ("TimeValue", "a time value"),
    ("IntervalValue", "an interval value"),
    ("ArrayValue", "an array value"),
    ("MapValue", "a map value"),
    ("StructValue", "a struct value"),
    ("JSONValue", "a JSON value"),
)
TOP_LEVEL = (
    "cases", "ifelse", "coalesce", "greatest", "least", "row_number", "rank", "dense_rank",
    "percent_rank", "cume_dist", "ntile", "window", "rows_window", "range_window",
    "cumulative_window", "trailing_window", "desc", "asc", "literal", "date", "timestamp",
    "time", "interval", "memtable", "table", "schema", "union", "intersect", "difference",
    "null", "now", "today", "random", "uuid", "array", "map", "struct", "param", "to_sql",
    "connect", "read_csv", "read_parquet", "read_json", "parse_sql", "deferred", "dtype",
    "get_backend", "set_backend", "and_", "or_", "case", "udf",
)


def _section_split(doc: str) -> dict[str, list[str]]:
    lines = doc.splitlines()
    sections: dict[str, list[str]] = {"": []}
    cur = ""
    i = 0
    while i < len(lines):
        line = lines[i]
        nxt = lines[i + 1] if i + 1 < len(lines) else ""
        if line.strip() and re.fullmatch(r"-{3,}", nxt.strip()):
            cur = line.strip()
            sections[cur] = []
            i += 2
            continue
        sections[cur].append(line)
        i += 1
    return sections


def _clean(text: str) -> str:
    text = re.sub(r":::\s*\{[^}]*\}", "", text)
    text = text.replace(":::", "")
    text = re.sub(r"\[\]\(`?([^`)]+)`?\)", r"`\1`", text)  # quartodoc cross-refs [](`x`)
    text = re.sub(r"\[([^\]]+)\]\([^)]*\)", r"\1", text)  # markdown links -> text
    return re.sub(r"[ \t]+", " ", text).strip()


def _params(lines: list[str]) -> list[dict]:
    out: list[dict] = []
    for line in lines:
        if line and not line.startswith(" "):
            m = re.match(r"^(\*{0,2}[A-Za-z_]\w*)(?:\s*:\s*(.*))?$", line.strip())
            if m:
                out.append({"name": m.group(1).lstrip("*"), "type": (m.group(2) or "").strip(),
                            "desc": []})
        elif out and line.strip():
            out[-1]["desc"].append(line.strip())
    for p in out:
        p["desc"] = _clean(" ".join(p["desc"]))
    return [p for p in out if p["desc"]]


def parse_numpydoc(doc: str) -> dict:
    secs = _section_split(doc)
    head = "\n".join(secs.get("", [])).strip()
    paras = [_clean(p.replace("\n", " ")) for p in re.split(r"\n\s*\n", head) if p.strip()]
    paras = [p for p in paras if p and not p.startswith(">>>")]
    returns = _clean(" ".join(x.strip() for x in secs.get("Returns", []) if x.strip()))
    return {"summary": paras[0] if paras else "", "details": paras[1:3],
            "params": _params(secs.get("Parameters", [])), "returns": returns}


def api_entries() -> list[dict]:
    """Public documented methods and functions of the installed Ibis, parsed."""
    import ibis
    import ibis.expr.types as ir

    entries: list[dict] = []
    seen: set[int] = set()
    for cname, what in CLASSES:
        cls = getattr(ir, cname, None)
        if cls is None and cname == "GroupedTable":
            from ibis.expr.types.groupby import GroupedTable as cls  # noqa: N813
        if cls is None:
            continue
        for name, obj in sorted(vars(cls).items()):
            if name.startswith("_"):
                continue
            func = obj.fget if isinstance(obj, property) else obj
            if not callable(func) or id(func) in seen:
                continue
            doc = inspect.getdoc(func)
            if not doc:
                continue
            seen.add(id(func))
            try:
                sig = str(inspect.signature(func))
            except (TypeError, ValueError):
                sig = "(...)"
            sig = re.sub(r"^\(self,?\s*", "(", sig)
            sig = re.sub(r"\s*->.*$", "", sig)
            parsed = parse_numpydoc(doc)
            if not parsed["summary"]:
                continue
            entries.append({"owner": cname, "owner_what": what, "name": name,
                            "qualname": f"{cname}.{name}", "signature": sig,
                            "is_property": isinstance(obj, property), **parsed})
    for name in TOP_LEVEL:
        func = getattr(ibis, name, None)
        if func is None or not callable(func):
            continue
        doc = inspect.getdoc(func)
        if not doc:
            continue
        try:
            sig = re.sub(r"\s*->.*$", "", str(inspect.signature(func)))
        except (TypeError, ValueError):
            sig = "(...)"
        parsed = parse_numpydoc(doc)
        if parsed["summary"]:
            entries.append({"owner": "ibis", "owner_what": "the ibis module", "name": name,
                            "qualname": f"ibis.{name}", "signature": sig,
                            "is_property": False, **parsed})
    return entries


def _short_sig(sig: str, limit: int = 160) -> str:
    sig = re.sub(r"(:\s*)'([^']*)'", r"\1\2", sig)  # string annotations -> bare
    return sig if len(sig) <= limit else sig[:limit].rsplit(",", 1)[0] + ", ...)"


WHAT_Q = ("What does `{q}` do?", "What is `{q}` for?", "Explain `{q}` in Ibis.",
          "How does `{q}` work?")
PARAM_Q = ("What does the `{p}` parameter of `{q}` do?", "What is the `{p}` argument of `{q}` for?",
           "In `{q}`, what does `{p}` mean?")
PARAMS_Q = ("Which parameters does `{q}` take?", "What are the arguments of `{q}`?")
RETURN_Q = ("What does `{q}` return?", "What is the return value of `{q}`?")
WHICH_Q = ("Which Ibis API should I use to {task}?", "How can I {task} in Ibis?")


def _lower_first(s: str) -> str:
    return s[:1].lower() + s[1:] if s else s


def qa_from_api(entries: list[dict], rng: random.Random) -> list[dict]:
    out = []
    for e in entries:
        q = e["qualname"]
        call = f"{q}{_short_sig(e['signature'])}" if not e["is_property"] else q
        meta = dict(template="qa_api", source="ibis_docstring", difficulty="easy",
                    features=["qa", "api", e["owner"].lower()])
        prov = {"provenance": {"object": q}}
        what = e["summary"]
        details = " ".join(e["details"][:1])
        ans = f"`{q}` ({e['owner_what']}): {what}"
        if details and len(details) < 400:
            ans += f" {details}"
        ans += f"\n\nSignature: `{call}`" if not e["is_property"] else ""
        out.append(make_record("qa", {"question": rng.choice(WHAT_Q).format(q=q)},
                               {"answer": ans}, tables=None, family="qa_api_what",
                               extra_meta=prov, **meta))
        params = [p for p in e["params"] if p["name"] not in ("self",)]
        for p in params:
            pa = f"`{p['name']}`: {p['desc']}"
            m = re.search(rf"\b{re.escape(p['name'])}\s*(?::[^=,]*)?=\s*([^,)]+)", e["signature"])
            if m:
                pa += f" (default: `{m.group(1).strip()}`)"
            pa += f"\n\nIt is a parameter of `{call}`."
            out.append(make_record("qa", {"question": rng.choice(PARAM_Q).format(p=p["name"], q=q)},
                                   {"answer": pa}, tables=None, family="qa_api_param",
                                   extra_meta=prov, **meta))
        if len(params) >= 2:
            listing = "\n".join(f"- `{p['name']}`: {p['desc'][:200]}" for p in params)
            out.append(make_record("qa", {"question": rng.choice(PARAMS_Q).format(q=q)},
                                   {"answer": f"`{call}` takes:\n{listing}"}, tables=None,
                                   family="qa_api_params", extra_meta=prov, **meta))
        if e["returns"]:
            out.append(make_record("qa", {"question": rng.choice(RETURN_Q).format(q=q)},
                                   {"answer": f"`{q}` returns {e['returns']}"}, tables=None,
                                   family="qa_api_returns", extra_meta=prov, **meta))
        task = _lower_first(what.rstrip("."))
        if 12 < len(task) < 140 and e["owner"] != "ibis" or e["owner"] == "ibis":
            out.append(make_record("qa", {"question": rng.choice(WHICH_Q).format(task=task)},
                                   {"answer": f"Use `{q}` ({e['owner_what']}): {what}"
                                              + (f"\n\nSignature: `{call}`" if not e["is_property"] else "")},
                                   tables=None, family="qa_api_which", extra_meta=prov, **meta))
    return out


def methods_used(code: str) -> set[str]:
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return set()
    out = set()
    for n in ast.walk(tree):
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute):
            out.add(n.func.attr)
    return out


HOWTO_Q = ("How do I get {desc} with Ibis?", "Using Ibis, how can I compute {desc}?",
           "Write Ibis code for: {desc}.", "How would I express {desc} in Ibis?")
HOWTO_VERB_Q = ("How do I {desc} with Ibis?", "In Ibis, how can I {desc}?",
                "Write Ibis code to {desc}.", "What is the Ibis way to {desc}?")
_VERBS = {"keep", "select", "return", "find", "count", "list", "page", "add", "round", "join",
          "label", "bucket", "map", "cast", "turn", "apply", "replace", "show", "stack", "rank",
          "compute", "filter", "sort", "group", "take", "get"}


def howto_question(desc: str, rng: random.Random) -> str:
    desc = desc.rstrip(".")
    first = desc.split(" ", 1)[0].lower()
    return rng.choice(HOWTO_VERB_Q if first in _VERBS else HOWTO_Q).format(desc=desc)


def _schema_line(schemas: dict) -> str:
    return "; ".join(f"`{t}` ({', '.join(f'{c}: {ty}' for c, ty in s.items())})"
                     for t, s in schemas.items())


def qa_from_pairs(pairs: list[dict], entries: list[dict], rng: random.Random, *,
                  howto: int, examples_per_method: int = 3) -> list[dict]:
    """How-to questions answered with validated code, and API examples with runnable code."""
    out = []
    pool = list(pairs)
    rng.shuffle(pool)
    for p in pool[:howto]:
        desc = p.get("description")
        if not desc:
            continue
        question = howto_question(desc, rng)
        answer = (f"With the tables {_schema_line(p['schemas'])}:\n\n```python\n{p['ibis']}\n```"
                  f"\n\nThe same query in SQL:\n\n```sql\n{p['sql']}\n```")
        out.append(make_record("qa", {"question": question}, {"answer": answer},
                               tables=p["schemas"], template=p["template"], source="synthetic",
                               features=["qa", "howto", *p.get("features", [])],
                               difficulty=p.get("difficulty", "medium"),
                               family=p.get("family", p["template"]),
                               extra_meta={"domain": p.get("domain"), "variant": "howto"}))
    by_method: dict[str, list[dict]] = {}
    for p in pool:
        for m in methods_used(p["ibis"]):
            by_method.setdefault(m, []).append(p)
    for e in entries:
        if e["owner"] in ("ibis",):
            key = e["name"]
        else:
            key = e["name"]
        cands = by_method.get(key, [])
        for p in cands[:examples_per_method]:
            q = e["qualname"]
            question = rng.choice(("Show an example of `{q}`.", "Give me an example that uses `{q}`.",
                                   "How is `{q}` used in practice?")).format(q=q)
            answer = (f"`{q}`: {e['summary']}\n\nFor example, with {_schema_line(p['schemas'])}:"
                      f"\n\n```python\n{p['ibis']}\n```")
            out.append(make_record("qa", {"question": question}, {"answer": answer},
                                   tables=p["schemas"], template="qa_api_example",
                                   source="ibis_docstring+synthetic",
                                   features=["qa", "api", "example", *p.get("features", [])],
                                   difficulty=p.get("difficulty", "medium"),
                                   family=p.get("family", p["template"]),
                                   extra_meta={"provenance": {"object": q},
                                               "domain": p.get("domain")}))
    return out


def to_dict(e: dict) -> dict[str, Any]:
    return dict(e)

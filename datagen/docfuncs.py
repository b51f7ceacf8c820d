"""Documentation examples: functions that build Ibis expressions + Google/NumPy docstrings.

Functions are synthesized from validated pairs (tables become parameters, the pair's literals
become parameters with defaults) or mined. The check never executes the `def`: it parses it,
parses the docstring in its style, compares parameter names with the signature, and evaluates
the body through the gate with the defaults bound by assignments.
"""

from __future__ import annotations

import ast
import random
import re
import textwrap
from typing import Any

from datagen import gate
from datagen.records import make_record
from ibert_lsp.tasks.codebuild import is_name

PY_TYPES = {"int64": "int", "int32": "int", "float64": "float", "string": "str",
            "boolean": "bool", "date": "str", "timestamp": "str"}


# ------------------------------------------------------------------------------------------
# docstring parsing (the check)
# ------------------------------------------------------------------------------------------
_GOOGLE_ARG = re.compile(r"^    (\*{0,2}\w+)(?: \(([^)]*)\))?:\s*(.*)$")
_NUMPY_ARG = re.compile(r"^(\*{0,2}\w+)(?: : (.*))?$")


def parse_docstring(doc: str, style: str) -> dict:
    """{'summary', 'params': [names], 'returns': text} or ValueError for a malformed docstring."""
    lines = doc.strip("\n").splitlines()
    if not lines or not lines[0].strip():
        raise ValueError("the docstring has no summary line")
    summary = lines[0].strip()
    params: list[str] = []
    returns = None
    if style == "google":
        section = None
        for line in lines[1:]:
            if re.fullmatch(r"(Args|Arguments|Parameters|Returns|Raises|Examples|Yields):", line):
                section = line[:-1]
                continue
            if not line.strip():
                continue
            if section in ("Args", "Arguments", "Parameters"):
                m = _GOOGLE_ARG.match(line)
                if m:
                    params.append(m.group(1).lstrip("*"))
                elif not line.startswith("        "):
                    raise ValueError(f"malformed Args line: {line!r}")
            elif section == "Returns" and returns is None:
                returns = line.strip()
            elif section is None and line.startswith(" "):
                raise ValueError(f"unexpected indentation: {line!r}")
    elif style == "numpy":
        i = 1
        section = None
        while i < len(lines):
            line = lines[i]
            nxt = lines[i + 1] if i + 1 < len(lines) else ""
            if line.strip() and re.fullmatch(r"-{3,}", nxt.strip()) and len(nxt.strip()) == len(line.strip()):
                section = line.strip()
                i += 2
                continue
            if line.strip():
                if section == "Parameters" and not line.startswith(" "):
                    m = _NUMPY_ARG.match(line)
                    if not m:
                        raise ValueError(f"malformed Parameters line: {line!r}")
                    params.append(m.group(1).lstrip("*"))
                elif section == "Returns" and returns is None and not line.startswith(" "):
                    returns = line.strip()
            i += 1
    else:
        raise ValueError(f"unknown docstring style {style!r}")
    return {"summary": summary, "params": params, "returns": returns}


def _function_def(code: str) -> ast.FunctionDef:
    tree = ast.parse(code)
    funcs = [n for n in tree.body if isinstance(n, ast.FunctionDef)]
    if len(funcs) != 1 or len(tree.body) != 1:
        raise ValueError("the code must be exactly one function definition")
    return funcs[0]


def signature_params(fn: ast.FunctionDef) -> list[str]:
    a = fn.args
    names = [p.arg for p in [*a.posonlyargs, *a.args]]
    if a.vararg:
        names.append(a.vararg.arg)
    names += [p.arg for p in a.kwonlyargs]
    if a.kwarg:
        names.append(a.kwarg.arg)
    return [n for n in names if n not in ("self", "cls")]


def body_as_snippet(fn: ast.FunctionDef) -> str:
    """The body as gate-checkable code: defaults bound by assignments, `return x` -> `x`."""
    a = fn.args
    lines = []
    pos = [*a.posonlyargs, *a.args]
    for p, d in zip(pos[len(pos) - len(a.defaults):], a.defaults):
        lines.append(f"{p.arg} = {ast.unparse(d)}")
    for p, d in zip(a.kwonlyargs, a.kw_defaults):
        if d is not None:
            lines.append(f"{p.arg} = {ast.unparse(d)}")
    body = list(fn.body)
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
            and isinstance(body[0].value.value, str):
        body = body[1:]
    if not body or not isinstance(body[-1], ast.Return) or body[-1].value is None:
        raise ValueError("the function must end with `return <expression>`")
    for stmt in body[:-1]:
        lines.append(ast.unparse(stmt))
    lines.append(ast.unparse(body[-1].value))
    return "\n".join(lines)


def check_documentation(code: str, docstring: str, style: str, schemas: dict) -> tuple[bool, str]:
    try:
        fn = _function_def(code)
        parsed = parse_docstring(docstring, style)
    except (SyntaxError, ValueError) as exc:
        return False, f"malformed: {exc}"
    if ast.get_docstring(fn) is not None:
        return False, "the input function already has a docstring"
    sig = signature_params(fn)
    if parsed["params"] != sig:
        return False, f"docstring parameters {parsed['params']} != signature {sig}"
    if parsed["returns"] is None:
        return False, "no Returns section"
    try:
        snippet = body_as_snippet(fn)
    except ValueError as exc:
        return False, str(exc)
    table_params = [p for p in sig if p in schemas]
    if not table_params:
        return False, "no parameter is a known table"
    ok, why = gate.check_code(snippet, schemas)
    return (ok, "docstring matches the signature; body evaluates" if ok else f"body: {why}")


# ------------------------------------------------------------------------------------------
# synthesis from validated pairs
# ------------------------------------------------------------------------------------------
_ROLE_SUFFIX = {"num": "cutoff", "int": "cutoff", "id": "cutoff", "key": "cutoff", "cat": "value",
                "text": "value", "bool": "flag", "date": "from", "ts": "from"}


def _literal_params(pair: dict) -> list[tuple[str, Any, str, str]]:
    """(param, python value, python literal text, description) for the pair's scalar literals."""
    slots = pair.get("slots", {})
    specs = pair.get("slot_specs", {})
    out = []
    used = set()
    for slot, spec in specs.items():
        m = re.fullmatch(r"lit\((\w+)\)", spec)
        if not m or slot not in slots or m.group(1) not in slots:
            continue
        info, col = slots[slot], slots[m.group(1)]
        val, column = info.get("value"), col.get("name")
        if val is None or column is None or isinstance(val, list):
            continue
        if isinstance(val, float) and val.is_integer() and not re.search(r"\.", str(info.get("py"))):
            val = int(val)
        name = f"{column}_{_ROLE_SUFFIX.get(col.get('role'), 'value')}"
        if not is_name(name):  # it becomes a parameter name in generated source
            continue
        if name in used:
            name = f"other_{name}"
        if name in used or name in pair["schemas"] or any(v == val for _, v, _, _ in out):
            continue
        used.add(name)
        out.append((name, val, repr(val), f"Value compared with ``{column}``"))
    for slot, name, desc in (("k", "n", "How many rows or groups to keep"),
                             ("o", "offset", "How many rows to skip")):
        info = slots.get(slot)
        if info and re.fullmatch(r"\d+", str(info.get("py", ""))) and name not in used:
            used.add(name)
            out.append((name, int(info["py"]), info["py"], desc))
    return out


def _substitute(code: str, params: list[tuple[str, Any, str, str]]) -> str | None:
    """Replace the literal constants of the code by parameter names (AST level)."""
    tree = ast.parse(code)
    by_value: dict[Any, str] = {}
    for name, val, _, _ in params:
        by_value[(type(val).__name__, val)] = name
        if isinstance(val, float) and val.is_integer():
            by_value[("int", int(val))] = name
    hit = set()

    class T(ast.NodeTransformer):
        def visit_Constant(self, node: ast.Constant) -> ast.AST:
            key = (type(node.value).__name__, node.value)
            if key in by_value and not isinstance(node.value, bool):
                hit.add(by_value[key])
                return ast.copy_location(ast.Name(by_value[key], ast.Load()), node)
            return node

    new = T().visit(tree)
    if not hit:
        return None if params else ast.unparse(new)
    return ast.unparse(new)


def _fn_name(pair: dict) -> str:
    cols = [v.get("name") for k, v in pair.get("slots", {}).items()
            if v.get("role") in ("num", "int", "cat", "date", "ts", "text", "bool") and v.get("name")]
    base = pair["template"]
    return re.sub(r"\W", "_", f"{base}_{cols[0]}" if cols else base, flags=re.ASCII)[:60]


def _sentence(text: str) -> str:
    text = text.strip()
    text = text[0].upper() + text[1:]
    return text if text.endswith(".") else text + "."


def _returns_text(out_schema: dict | None) -> tuple[str, str]:
    if out_schema is None:
        return "ibis.Scalar", "A scalar expression."
    cols = ", ".join(f"{c} ({t})" for c, t in list(out_schema.items())[:8])
    more = ", ..." if len(out_schema) > 8 else ""
    return "ibis.Table", f"A table expression with columns {cols}{more}."


def render_docstring(style: str, summary: str, params: list[tuple[str, str, str, str | None]],
                     returns: tuple[str, str]) -> str:
    """params: (name, type, description, default text or None)."""
    lines = [summary, ""]
    if style == "google":
        lines.append("Args:")
        for name, typ, desc, default in params:
            extra = f" Defaults to {default}." if default is not None else ""
            lines.append(f"    {name} ({typ}): {desc}.{extra}")
        lines += ["", "Returns:", f"    {returns[0]}: {returns[1]}"]
    else:
        lines += ["Parameters", "----------"]
        for name, typ, desc, default in params:
            lines.append(f"{name} : {typ}" + (f", default {default}" if default is not None else ""))
            lines.append(f"    {desc}.")
        lines += ["", "Returns", "-------", returns[0], f"    {returns[1]}"]
    return "\n".join(lines)


def synthesize(pair: dict, rng: random.Random) -> tuple[str, dict, dict] | None:
    """(function code without docstring, docstring parts, schemas keyed by parameter name)."""
    code = pair["ibis"]
    schemas = pair["schemas"]
    lits = _literal_params(pair)
    body_code = _substitute(code, lits)
    if body_code is None:
        lits = []
        body_code = ast.unparse(ast.parse(code))
    lits = [p for p in lits if re.search(rf"\b{re.escape(p[0])}\b", body_code)]
    tree = ast.parse(body_code)
    used_tables = [t for t in schemas if any(isinstance(n, ast.Name) and n.id == t
                                             for n in ast.walk(tree))]
    if not used_tables:
        return None
    stmts = tree.body
    if not stmts or not isinstance(stmts[-1], ast.Expr):
        return None
    body = [ast.unparse(s) for s in stmts[:-1]] + [f"return {ast.unparse(stmts[-1].value)}"]
    args = list(used_tables) + [f"{n}={t}" for n, _, t, _ in lits]
    name = _fn_name(pair)
    src = f"def {name}({', '.join(args)}):\n" + textwrap.indent("\n".join(body), "    ") + "\n"
    try:
        out_schema = gate.output_schema(code, schemas)
    except Exception:  # noqa: BLE001
        return None
    summary = pair.get("description") or pair["template"].replace("_", " ")
    for n, val, _, _ in lits:
        summary = summary.replace(f"'{val}'" if isinstance(val, str) else str(val), f"``{n}``", 1)
    summary = _sentence(summary)
    pdocs = []
    for t in used_tables:
        cols = ", ".join(list(schemas[t])[:6]) + (", ..." if len(schemas[t]) > 6 else "")
        pdocs.append((t, "ibis.Table", f"The {t} table (columns {cols})", None))
    for n, val, text, desc in lits:
        typ = type(val).__name__ if not isinstance(val, str) else "str"
        pdocs.append((n, typ, desc, text))
    parts = {"summary": summary, "params": pdocs, "returns": _returns_text(out_schema)}
    return src, parts, {t: schemas[t] for t in used_tables}


def build_documentation(item: dict) -> list[dict]:
    rng = random.Random(item["seed"])
    res = synthesize(item, rng)
    if res is None:
        return []
    src, parts, schemas = res
    out = []
    styles = ["google", "numpy"]
    rng.shuffle(styles)
    for style in styles[: item.get("n", 1)]:
        doc = render_docstring(style, parts["summary"], parts["params"], parts["returns"])
        ok, why = check_documentation(src, doc, style, schemas)
        if not ok:
            continue
        meta = dict(template=item["template"], source=item.get("source", "synthetic"),
                    features=item.get("features", []) + ["function"],
                    difficulty=item.get("difficulty", "medium"),
                    family=item.get("family", item["template"]))
        out.append(make_record("documentation", {"code": src, "style": style},
                               {"docstring": doc}, tables=schemas,
                               extra_meta={"domain": item.get("domain"), "variant": "function"},
                               **meta))
    return out

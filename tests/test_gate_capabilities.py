"""The gate's interpreter is capability-typed: the red team's escapes, freezes and memory bombs
are refused with the right kind, the allow-list matches the installed Ibis, and a fuzzer that
walks attribute chains and calls from every kind of value the gate produces only ever gets a
GateError or a value of an allowed type."""

from __future__ import annotations

import functools
import inspect
import re
import subprocess
import sys
import textwrap
import time
import types
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ibert_lsp.validate import capabilities as caps
from ibert_lsp.validate import capability_data, patterns, policy, values
from ibert_lsp.validate.errors import GateError
from ibert_lsp.validate.safe_eval import compile_sql, evaluate, run

SCHEMAS = {
    "t": {"id": "int64", "amount": "float64", "status": "string", "flag": "boolean",
          "ts": "timestamp", "d": "date", "tm": "time", "price": "decimal(12, 2)",
          "tags": "array<string>", "info": "struct<x: int64, y: string>",
          "attrs": "map<string, int64>", "doc": "json", "raw": "binary", "u": "uuid",
          "span": "interval('D')"},
    "u2": {"id": "int64", "name": "string"},
}

# --- deriving the allow-list from the installed Ibis (the literal lives in capability_data.py) ------

def _ibis_classes() -> dict[str, type]:
    """Every class whose instances checked code may hold, by qualified name."""
    import ibis.common.selectors as csel
    import ibis.expr.builders as bld
    import ibis.expr.datatypes as dt
    import ibis.expr.types as ir
    import ibis.selectors as sel
    from ibis.common.deferred import Deferred
    from ibis.expr.schema import Schema
    from ibis.expr.types.groupby import GroupedTable

    roots = (ir.Expr, GroupedTable, bld.Builder, csel.Expandable, Deferred, Schema,
             dt.DataType, ir.DayOfWeek, sel.Indexable)
    out: dict[str, type] = {}
    stack = list(roots)
    while stack:
        cls = stack.pop()
        name = f"{cls.__module__}.{cls.__qualname__}"
        if name in out or not cls.__module__.startswith(("ibis.expr", "ibis.selectors",
                                                          "ibis.common")):
            continue
        out[name] = cls
        stack.extend(cls.__subclasses__())
    return out


_KINDS = (types.FunctionType, property, classmethod, staticmethod, functools.cached_property)
_EXPR_RETURN = re.compile(r"^(?:(?:ir|bl|ibis\.expr\.types)\.)?(?:Table|GroupedTable|Expr|Self|"
                          r"Deferred|Join|DayOfWeek|\w*(?:Value|Column|Scalar|Builder))$")


def _own_members(cls: type) -> dict[str, Any]:
    """Public functions/properties defined on `cls` itself (data attributes left out)."""
    return {n: v for n, v in vars(cls).items()
            if not n.startswith("_") and isinstance(v, _KINDS)}


def _doc(v: Any) -> str:
    f = v.fget if isinstance(v, property) else getattr(v, "__func__", v)
    if isinstance(v, functools.cached_property):
        f = v.func
    return (getattr(f, "__doc__", None) or "").strip()


def derive() -> tuple[dict[str, frozenset[str]], frozenset[str], frozenset[str]]:
    """(members per class, names a deferred `_` chain may use, class names) from the
    installed Ibis: public members with a docstring (their own or that of the member they
    override), plus the declared fields and slots of dtypes and schemas, minus the denied
    names. A deferred chain may use only members annotated to return an expression."""
    import ibis.expr.datatypes as dt
    import ibis.expr.types as ir
    from ibis.expr.schema import Schema

    classes = _ibis_classes()
    bases: dict[str, type] = {}
    for cls in classes.values():
        for b in cls.__mro__:
            if b.__module__.startswith("ibis."):
                bases[f"{b.__module__}.{b.__qualname__}"] = b
    expr_bases = {b for cls in classes.values()
                  if issubclass(cls, ir.Expr) or cls.__name__ in ("GroupedTable", "DayOfWeek")
                  or cls.__module__ == "ibis.expr.builders" for b in cls.__mro__}
    documented = {n for b in bases.values() for n, v in _own_members(b).items() if _doc(v)}
    members: dict[str, frozenset[str]] = {}
    deferred: set[str] = set()
    for qual, b in sorted(bases.items()):
        names = {n for n in _own_members(b) if n in documented}
        if issubclass(b, (dt.DataType, Schema)):
            names |= {n for n in getattr(b, "__argnames__", ()) if not n.startswith("_")}
            names |= {n for n, v in vars(b).items()
                      if isinstance(v, types.MemberDescriptorType) and not n.startswith("_")}
        names = {n for n in names if not caps.member_denied(n)}
        if names:
            members[qual] = frozenset(names)
        if b in expr_bases:
            for n in names:
                v = vars(b)[n] if n in vars(b) else None
                f = v.fget if isinstance(v, property) else getattr(v, "__func__", v)
                try:
                    ret = inspect.signature(f).return_annotation
                except (TypeError, ValueError):
                    continue
                text = ret if isinstance(ret, str) else getattr(ret, "__name__", "")
                if text == "_empty":
                    text = ""
                parts = [p.strip() for p in text.split("|")] if text else []
                if parts and all(_EXPR_RETURN.match(p) for p in parts):
                    deferred.add(n)
    return members, frozenset(deferred - caps.DEFERRED_EXCLUDED), frozenset(classes)


def render() -> str:
    """The literal data block of capability_data.py for the installed Ibis."""
    import ibis

    members, deferred, classes = derive()

    def block(names: frozenset[str], indent: str) -> str:
        return textwrap.fill(", ".join(f'"{n}"' for n in sorted(names)), width=96,
                             initial_indent=indent, subsequent_indent=indent)

    out = [f'IBIS_VERSION = "{ibis.__version__}"', "",
           "CLASSES: frozenset[str] = frozenset({", block(classes, "    "), "})", "",
           "MEMBERS: dict[str, frozenset[str]] = {"]
    for qual in sorted(members):
        out += [f'    "{qual}": frozenset({{', block(members[qual], "        "), "    }),"]
    out += ["}", "", "DEFERRED_NAMES: frozenset[str] = frozenset({", block(deferred, "    "),
            "})"]
    return "\n".join(out) + "\n"


def _literal_block() -> str:
    text = Path(capability_data.__file__).read_text()
    start = text.index("# ---- BEGIN DERIVED")
    start = text.index("\n", start) + 1
    return text[start:text.index("# ---- END DERIVED")]


# --- the allow-list ---------------------------------------------------------------------------

def test_allow_list_is_the_installed_ibis_api() -> None:
    """Fails when Ibis grows or loses a public documented member: review the new list
    (`python tests/test_gate_capabilities.py`) and paste it into capability_data.py."""
    members, deferred, classes = derive()
    assert caps.CLASSES == classes, sorted(caps.CLASSES ^ classes)
    for qual in sorted(set(members) | set(caps.MEMBERS)):
        got, want = caps.MEMBERS.get(qual, frozenset()), members.get(qual, frozenset())
        assert got == want, (qual, "listed only:", sorted(got - want),
                             "installed only:", sorted(want - got))
    assert caps.DEFERRED_NAMES == deferred, sorted(caps.DEFERRED_NAMES ^ deferred)
    assert _literal_block() == render()


def test_no_denied_name_on_the_list() -> None:
    dangerous = {"execute", "compile", "op", "sql", "cache", "get_backend", "to_pandas",
                 "to_pyarrow", "to_csv", "to_parquet", "to_sql", "visualize", "preview",
                 "copy", "resolve", "args", "from_pandas", "unbind"} | policy.DENIED_ATTRS
    listed = {n for names in caps.MEMBERS.values() for n in names} | caps.DEFERRED_NAMES
    assert not listed & dangerous, sorted(listed & dangerous)
    assert not any(n.startswith(("_", "to_", "from_")) for n in listed)
    assert "pipe" not in caps.DEFERRED_NAMES  # a lambda's arbitrary result stays inside


def test_every_listed_member_exists_and_allowed_classes_resolve() -> None:
    import ibis

    t = ibis.table(SCHEMAS["t"], name="t")
    assert caps.members_of(type(t)) >= {"select", "filter", "group_by", "pipe", "columns"}
    assert caps.members_of(type(t.amount)) >= {"sum", "mean", "cast", "over"}
    assert "op" not in caps.members_of(type(t)) and "execute" not in caps.members_of(type(t))
    assert caps.members_of(type(t.op())) is None  # op nodes are not values checked code holds
    for qual, names in caps.MEMBERS.items():
        module, _, name = qual.rpartition(".")
        obj: Any = __import__(module, fromlist=["x"])
        for part in name.split("."):
            obj = getattr(obj, part)
        for n in names:
            assert hasattr(obj, n), (qual, n)


def test_namespaces_hold_no_modules() -> None:
    value, env = run("import ibis\nimport ibis.selectors as s\nfrom ibis import _\nibis", SCHEMAS)
    assert all(not isinstance(v, types.ModuleType) for v in env.values())
    assert isinstance(value, values.Namespace)
    ibis_ns, sel_ns, _ = values.namespaces()
    for ns in (ibis_ns, sel_ns):
        assert not any(isinstance(v, types.ModuleType) for v in ns.members.values())


# --- the red team's reproducers -----------------------------------------------------------------

def _refused(code: str, kind: str, schemas: dict | None = None) -> GateError:
    with pytest.raises(GateError) as info:
        run(code, schemas or SCHEMAS)
    assert info.value.kind == kind, info.value.to_dict()
    return info.value


@pytest.mark.parametrize("template", [
    'ibis.memtable({{"a": [1]}}).op().data.obj.eval("@ast.sys.modules.get(\'os\')'
    '.system(\'id > {m}\')", engine="python")',
    't.filter(ibis.memtable({{"a": [1]}}).op().data.obj.eval("@ast.sys.modules.get(\'os\')'
    '.system(\'id > {m}\')", engine="python") == 0)',
    'ibis.memtable({{"a": [1]}}).select(_.op().data.obj.eval("@ast.sys.modules.get(\'os\')'
    '.system(\'id > {m}\')", engine="python"))',
    'x = ibis.memtable({{"a": [1]}})\ny = x.op()\ny.data.obj.to_pickle("{m}")',
    'ibis.memtable({{"a": [1]}}).op().data.obj.to_html("{m}")',
    'ibis.memtable({{"a": [1]}}).op().data.obj.to_string("{m}")',
    'f = ibis.memtable\nf({{"a": [1]}}).op().data.to_frame().to_csv("{m}")',
    't.pipe(lambda x: x.op()).to_expr()',
    't.mutate(x=_.op())',
    'ibis.memtable({{"a": [1]}}).a.op()',
])
def test_pandas_behind_a_memtable_is_unreachable(template, tmp_path) -> None:
    marker = tmp_path / "marker"
    _refused(template.format(m=marker), "forbidden")
    assert not marker.exists()
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("code,kind", [
    ("x = (((0,)*10000,)*10000,)*10000\n{x}", "limit"),
    ("[[[0]*10000]*10000]*10000 == [[[0]*10000]*10000]*10000", "limit"),
    ("x = ((0,)*10000,)*10000\nsorted([x, x])", "limit"),
    ("x = ((0,)*10000,)*10000\nx in [x]", "limit"),
    ('import ibis.selectors as s\nt.select(s.matches("((a)+)+$"))', "forbidden"),
    ('t.select(s.matches("(a|aa)+$"))', "forbidden"),
    ('t.select(s.matches(r"(a)\\1"))', "forbidden"),
    ('t.select(s.matches("a" * 300))', "forbidden"),
    ('t.pivot_longer(s.all(), names_pattern="((x+)+)y")', "forbidden"),
    ('t.rename("{name:>999999999}")', "forbidden"),
    ('t.rename("{name.__class__.__mro__}")', "forbidden"),
    ('t.join(u2, "id", rname="{name!r:>99999999}")', "forbidden"),
    ('t.select(s.across(s.numeric(), lambda c: c, names="{col:>99999999}"))', "forbidden"),
    ("d = _.amount\n" + "d = d + d\n" * 40 + "t.select(d)", "limit"),
    ("list(s.index)", "forbidden"),
    ("'a' in s.index", "forbidden"),
])
def test_no_freeze_inside_one_c_call(code, kind) -> None:
    t0 = time.perf_counter()
    _refused(code, kind, {**SCHEMAS, "t": {**SCHEMAS["t"], "a" * 32 + "!": "int64"}})
    assert time.perf_counter() - t0 < 3


def test_regex_refusals_are_exact() -> None:
    ok = ["^a", "id$", "(a)+b", "[ab]+", "(foo|bar)_id", "a.*b", "(a|b)+", "x{2,5}", "(ab)?c+"]
    bad = ["((a)+)+$", "(a+)+", "(a*)*", "(a|aa)+", "(.*a){3}", r"(a)\1", "a" * 300,
           ".*.*.*.*.*x", "(?:a+){2,}"]
    assert [p for p in ok if patterns.regex_refusal(p)] == []
    assert [p for p in bad if not patterns.regex_refusal(p)] == []
    assert "amount" in compile_sql(evaluate('t.select(s.matches("^am(ou)?nt$"))', SCHEMAS))


@pytest.mark.parametrize("code", [
    "a = [0] * 10000\nb = [[0] * 10000 for x in a]\nc = [[0] * 10000 for x in a]",
    "a = [0] * 10000\nb = [('x' * 10000) + ('y' * 10000) for x in a]",
    "a = [0] * 2000\nb = [('x' * 10000) + ('y' * 10000) for x in a]",
    "a = 'x' * 10000\nb = [a + a + a + a + a + a + a + a + a + a for i in [0] * 9000]",
])
def test_memory_is_bounded_in_bytes(code) -> None:
    import tracemalloc

    tracemalloc.start()
    try:
        _refused(code, "limit")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 3 * policy.MAX_MEMORY_BYTES, peak


def test_snippet_lambdas_and_to_sql_still_work() -> None:
    assert "WHERE" in compile_sql(evaluate("t.pipe(lambda x: x.filter(x.id > 1))", SCHEMAS))
    value, _ = run("ibis.to_sql(t.select('id'))", SCHEMAS)
    assert isinstance(value, str) and "SELECT" in value
    value, _ = run("sorted(t.columns, key=len)[0]", SCHEMAS)
    assert value in ("d", "u", "id")


def test_deferred_columns_named_like_python_methods_still_work() -> None:
    schemas = {"t": {"title": "string", "index": "int64", "values": "int64"}}
    sql = compile_sql(evaluate("t.filter(_.title.upper() == 'A').select(_.index, _.values)",
                               schemas))
    assert '"t0"."index"' in sql and "UPPER(" in sql
    _refused("t.select(_.op())", "forbidden", schemas)
    _refused("t.select(_.get_name())", "forbidden", schemas)


def test_only_handed_out_callables_are_passed_or_called() -> None:
    assert _refused("t.pipe(t.filter)", "forbidden")
    assert _refused("t.pipe(ibis.memtable)", "forbidden")
    assert _refused("t.mutate(x=t.amount.sum)", "forbidden")
    assert _refused("t.columns[0].center(10)", "forbidden")
    assert _refused("_.get_name()", "forbidden")
    assert _refused("t.select(_.columns)", "forbidden")
    assert _refused("min(t.amount, t.id)", "forbidden")


def _cli(tmp_path: Path, code: str) -> subprocess.CompletedProcess:
    src = tmp_path / "q.py"
    src.write_text(code)
    return subprocess.run([sys.executable, "-m", "ibert_lsp.cli", "to-sql", "--schema",
                           '{"t": {"a": "int64", "b": "string"}}', str(src)],
                          capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("code", [
    "t.select(" + "(" * 300 + "t.a" + ")" * 300 + ")",
    "t.mutate(x=" + "7" * 5000 + ")",
])
def test_cli_reports_parser_limits_in_one_line(code, tmp_path) -> None:
    proc = _cli(tmp_path, code)
    assert proc.returncode == 2, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and "internal error" not in proc.stderr


def test_cli_selectors_import_is_not_a_table(tmp_path) -> None:
    proc = _cli(tmp_path, "import ibis.selectors as s\nt.select(s.numeric())\n")
    assert proc.returncode == 0, proc.stderr
    assert '"a"' in proc.stdout and '"b"' not in proc.stdout


# --- the fuzzer ---------------------------------------------------------------------------------

SEEDS = [
    "t", "t.group_by('status')", "t.amount", "t.id", "t.status", "t.flag", "t.ts", "t.d",
    "t.tm", "t.price", "t.tags", "t.info", "t.attrs", "t.doc", "t.raw", "t.u", "t.span",
    "t.amount.sum()", "t.status.length().max()", "ibis.literal(1)", "ibis.literal('x')",
    "_", "_.amount", "s.numeric()", "s.matches('a')", "s.index", "s.index[0]",
    "ibis.window(order_by='id')", "ibis.row_number()", "t.amount.case()",
    "ibis.cases((t.id > 1, 'a'))", "t.schema()", "t.amount.type()", "t.tags.type()",
    "ibis", "s", "ibis.desc('id')", "t.ts.day_of_week", "t.join(u2, 'id')",
    "t.columns", "ibis.interval(days=1)", "ibis.dtype('int64')",
]
SMALL = ["None", "0", "1", "-1", "2.5", "'a'", "'id'", "'amount'", "''", "True", "[1]",
         "('id',)", "{'a': 1}", "lambda x: x", "_", "t", "t.id", "s.all()", "ibis"]


def _allowed_outcome(value: Any) -> bool:
    cat = values.category(type(value))
    if cat == values.FORBIDDEN:
        return False
    if cat == values.FUNCTION:
        if isinstance(value, types.MethodType):
            return caps.members_of(type(value.__self__)) is not None
        if isinstance(value, types.BuiltinFunctionType):
            owner = value.__self__
            return values._py_methods(type(owner)) is not None or id(value) in values._SAFE_CALLABLES
        return id(value) in values.namespaces()[2] or id(value) in values._SAFE_CALLABLES
    if cat == values.CONTAINER:
        items = list(value.items()) if isinstance(value, dict) else list(value)
        return all(_allowed_outcome(x) for pair in items[:50]
                   for x in (pair if isinstance(value, dict) else (pair,)))
    return True


@settings(max_examples=5000, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_fuzz_attribute_chains_and_calls(data) -> None:
    lines = [f"v0 = {data.draw(st.sampled_from(SEEDS), label='seed')}"]
    for step in range(1, data.draw(st.integers(1, 5), label="steps") + 1):
        try:
            value, _ = run("\n".join(lines), SCHEMAS)
        except GateError:
            return
        names = sorted(n for n in dir(value) if not n.startswith("__"))
        allowed = sorted(caps.members_of(type(value)) or ())
        if isinstance(value, values.Namespace):
            names = allowed = sorted(value.members) + ["connect", "options", "util"]
        elif type(value).__name__ == "Deferred":
            allowed = sorted(caps.DEFERRED_NAMES) + ["amount", "status", "op", "columns"]
        action = data.draw(st.sampled_from(["attr", "attr", "call", "call", "item", "op",
                                            "use"]), label="action")
        prev = f"v{step - 1}"
        if action == "attr" and names:
            pool = allowed if allowed and data.draw(st.integers(0, 3), label="bias") else names
            expr = f"{prev}.{data.draw(st.sampled_from(pool), label='name')}"
        elif action == "use":  # hand the value to Ibis: deferreds and selectors resolve there
            use = data.draw(st.sampled_from(["t.select({})", "t.mutate(x={})", "t.filter({})",
                                             "t.group_by('id').agg(x={})", "t.pipe({})",
                                             "t.order_by({})", "ibis.to_sql({})"]), label="use")
            expr = use.format(prev)
        elif action == "call":
            args = data.draw(st.lists(st.sampled_from(SMALL), max_size=3), label="args")
            expr = f"{prev}({', '.join(args)})"
        elif action == "item":
            expr = f"{prev}[{data.draw(st.sampled_from(SMALL[:12]), label='key')}]"
        else:
            op = data.draw(st.sampled_from(["+", "*", "==", "<", "&", "-"]), label="op")
            expr = f"{prev} {op} {data.draw(st.sampled_from(SMALL), label='rhs')}"
        lines.append(f"v{step} = {expr}")
        t0 = time.perf_counter()
        try:
            value, _ = run("\n".join(lines), SCHEMAS)
        except GateError as exc:
            assert exc.kind in ("syntax", "forbidden", "name", "attribute", "type", "ibis",
                                "limit"), exc.to_dict()
            return
        finally:
            assert time.perf_counter() - t0 < 5, lines
        assert _allowed_outcome(value), ("\n".join(lines), type(value))


if __name__ == "__main__":  # print the derived block for capability_data.py
    print(render(), end="")

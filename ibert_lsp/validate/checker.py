"""Static allow-list over the AST: refuse everything an Ibis expression does not need, before
any of it runs. The interpreter re-checks at run time what cannot be known statically."""

from __future__ import annotations

import ast
import difflib

from ibert_lsp.validate import policy
from ibert_lsp.validate.errors import GateError

_EXPR_NODES = (
    ast.BoolOp, ast.BinOp, ast.UnaryOp, ast.Lambda, ast.IfExp, ast.Dict, ast.Set,
    ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp, ast.Compare, ast.Call,
    ast.JoinedStr, ast.FormattedValue, ast.Constant, ast.Attribute, ast.Subscript,
    ast.Starred, ast.Name, ast.List, ast.Tuple, ast.Slice,
)
_AUX_NODES = (
    ast.Load, ast.Store, ast.operator, ast.unaryop, ast.boolop, ast.cmpop, ast.keyword,
    ast.arguments, ast.arg, ast.comprehension, ast.alias,
)
_STMT_NODES = (ast.Expr, ast.Assign, ast.AugAssign, ast.Import, ast.ImportFrom, ast.Pass)

_DESCRIBE = {
    ast.NamedExpr: "the walrus operator (:=)", ast.FunctionDef: "function definitions",
    ast.AsyncFunctionDef: "function definitions", ast.ClassDef: "class definitions",
    ast.For: "loops", ast.AsyncFor: "loops", ast.While: "loops", ast.With: "with blocks",
    ast.AsyncWith: "with blocks", ast.Try: "try blocks", ast.Raise: "raise",
    ast.Global: "global", ast.Nonlocal: "nonlocal", ast.Delete: "del", ast.If: "if statements",
    ast.Return: "return", ast.Yield: "yield", ast.YieldFrom: "yield", ast.Await: "await",
    ast.Assert: "assert", ast.AnnAssign: "annotated assignments",
}
_RESERVED = {"ibis", "_", "True", "False", "None"} | set(policy.SAFE_BUILTINS)


def parse(source: str) -> ast.Module:
    """Parse with size limits; parser crashes on hostile nesting become GateErrors."""
    if not isinstance(source, str):
        raise GateError("syntax", "code must be text")
    if len(source.encode("utf-8", "surrogatepass")) > policy.MAX_SOURCE_BYTES:
        raise GateError("limit", f"code is larger than {policy.MAX_SOURCE_BYTES // 1000} kB")
    try:
        return ast.parse(source, mode="exec")
    except SyntaxError as exc:
        msg = exc.msg or "invalid syntax"
        if "too many nested" in msg or "too complex" in msg:
            raise GateError("limit", f"code is nested too deeply ({msg})", line=exc.lineno) from None
        col = exc.offset - 1 if exc.offset else None
        end_col = exc.end_offset - 1 if getattr(exc, "end_offset", None) else None
        raise GateError("syntax", f"syntax error: {msg}", line=exc.lineno, col=col,
                        end_line=getattr(exc, "end_lineno", None), end_col=end_col) from None
    except (RecursionError, MemoryError):
        raise GateError("limit", "code is nested too deeply to parse") from None
    except ValueError as exc:  # e.g. null bytes
        raise GateError("syntax", f"syntax error: {exc}") from None


def check_size(tree: ast.AST) -> None:
    """Node count and depth, computed without recursion (the tree may be hostile)."""
    count = 0
    stack: list[tuple[ast.AST, int]] = [(tree, 0)]
    while stack:
        node, depth = stack.pop()
        count += 1
        if count > policy.MAX_NODES:
            raise GateError("limit", f"code has more than {policy.MAX_NODES} syntax nodes").locate(node)
        if depth > policy.MAX_DEPTH:
            raise GateError("limit", f"code is nested deeper than {policy.MAX_DEPTH} levels").locate(node)
        for child in ast.iter_child_nodes(node):
            stack.append((child, depth + 1))


def forbidden(node: ast.AST, what: str) -> GateError:
    return GateError("forbidden", f"{what} is not allowed in Ibis code checked by ibert").locate(node)


class _Checker:
    """Walks statements in order, tracking which names exist, refusing what is not allowed."""

    def __init__(self, names: set[str]) -> None:
        self.globals = set(names) | {"ibis", "_", "s", "selectors"} | set(policy.SAFE_CONSTANTS)
        self.builtins = set(policy.SAFE_BUILTINS)

    # statements --------------------------------------------------------------------------------
    def stmt(self, node: ast.stmt) -> None:
        if not isinstance(node, _STMT_NODES):
            raise forbidden(node, _DESCRIBE.get(type(node), type(node).__name__))
        if isinstance(node, ast.Expr):
            self.expr(node.value, frozenset())
        elif isinstance(node, ast.Assign):
            self.expr(node.value, frozenset())
            for target in node.targets:
                self.target(target)
        elif isinstance(node, ast.AugAssign):
            if not isinstance(node.target, ast.Name):
                raise forbidden(node.target, "assigning to anything but a plain name")
            if node.target.id in _RESERVED or node.target.id.startswith("_"):
                raise forbidden(node.target, f"assigning to {node.target.id!r}")
            self.load_name(node.target, frozenset())
            self.expr(node.value, frozenset())
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            for name in import_bindings(node):
                self.globals.add(name)

    def target(self, node: ast.expr) -> None:
        if isinstance(node, ast.Tuple | ast.List):
            for elt in node.elts:
                self.target(elt)
            return
        if not isinstance(node, ast.Name):
            raise forbidden(node, "assigning to anything but a plain name")
        if node.id in _RESERVED or node.id.startswith("_"):
            raise forbidden(node, f"assigning to {node.id!r}")
        self.globals.add(node.id)

    # expressions -------------------------------------------------------------------------------
    def expr(self, node: ast.AST, local: frozenset[str]) -> None:
        if not isinstance(node, _EXPR_NODES):
            raise forbidden(node, _DESCRIBE.get(type(node), type(node).__name__))
        if isinstance(node, ast.Name):
            self.load_name(node, local)
        elif isinstance(node, ast.Constant):
            check_constant(node)
        elif isinstance(node, ast.Attribute):
            check_attr_name(node, node.attr)
            if isinstance(node.value, ast.Name) and node.value.id == "ibis" \
                    and "ibis" not in local and node.attr not in policy.IBIS_ALLOWED:
                raise forbidden(node, f"ibis.{node.attr}")
            self.expr(node.value, local)
        elif isinstance(node, ast.Call):
            self.call(node, local)
        elif isinstance(node, ast.BinOp):
            if isinstance(node.op, ast.Pow):
                check_exponent(node.right)
            self.expr(node.left, local)
            self.expr(node.right, local)
        elif isinstance(node, ast.Lambda):
            self.lam(node, local)
        elif isinstance(node, (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)):
            self.comp(node, local)
        elif isinstance(node, ast.FormattedValue):
            if node.format_spec is not None:
                raise forbidden(node, "a format spec inside an f-string")
            self.expr(node.value, local)
        elif isinstance(node, ast.Dict):
            for k in node.keys:
                if k is not None:
                    self.expr(k, local)
            for v in node.values:
                self.expr(v, local)
        else:
            for child in ast.iter_child_nodes(node):
                if not isinstance(child, (ast.expr_context, ast.operator, ast.unaryop,
                                          ast.boolop, ast.cmpop)):
                    self.expr(child, local)

    def load_name(self, node: ast.Name, local: frozenset[str]) -> None:
        name = node.id
        if name.startswith("__"):
            raise forbidden(node, f"the name {name!r}")
        if name in local or name in self.globals or name in self.builtins:
            return
        known = sorted(self.globals | local)
        close = difflib.get_close_matches(name, known, n=3, cutoff=0.6)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise GateError("name", f"name {name!r} is not defined{hint}", suggestions=close).locate(node)

    def call(self, node: ast.Call, local: frozenset[str]) -> None:
        func = node.func
        if isinstance(func, ast.Name):
            if func.id in local or func.id not in self.builtins or func.id in self.globals:
                raise forbidden(func, f"calling {func.id!r} (only methods and "
                                f"{', '.join(sorted(self.builtins))} may be called)")
        elif isinstance(func, ast.Attribute):
            self.expr(func, local)
        else:
            raise forbidden(func, "calling anything but a method or a safe builtin")
        for arg in node.args:
            self.expr(arg, local)
        for kw in node.keywords:
            if kw.arg is not None and kw.arg.startswith("__"):
                raise forbidden(kw, f"the keyword {kw.arg!r}")
            self.expr(kw.value, local)

    def lam(self, node: ast.Lambda, local: frozenset[str]) -> None:
        a = node.args
        if a.vararg or a.kwarg:
            raise forbidden(node, "*args/**kwargs in a lambda")
        for d in [*a.defaults, *(d for d in a.kw_defaults if d is not None)]:
            self.expr(d, local)
        params = [p.arg for p in [*a.posonlyargs, *a.args, *a.kwonlyargs]]
        for p in params:
            if p.startswith("__") or p in ("ibis",):
                raise forbidden(node, f"the lambda parameter {p!r}")
        self.expr(node.body, local | frozenset(params))

    def comp(self, node: ast.AST, local: frozenset[str]) -> None:
        scope = set(local)
        for gen in node.generators:  # type: ignore[attr-defined]
            if gen.is_async:
                raise forbidden(node, "async comprehensions")
            self.expr(gen.iter, frozenset(scope))
            scope |= comp_targets(gen.target)
            for cond in gen.ifs:
                self.expr(cond, frozenset(scope))
        inner = frozenset(scope)
        if isinstance(node, ast.DictComp):
            self.expr(node.key, inner)
            self.expr(node.value, inner)
        else:
            self.expr(node.elt, inner)  # type: ignore[attr-defined]


def comp_targets(node: ast.AST) -> set[str]:
    if isinstance(node, ast.Name):
        if node.id.startswith("__") or node.id in _RESERVED:
            raise forbidden(node, f"the loop variable {node.id!r}")
        return {node.id}
    if isinstance(node, ast.Tuple | ast.List):
        out: set[str] = set()
        for elt in node.elts:
            out |= comp_targets(elt)
        return out
    raise forbidden(node, "this comprehension target")


def check_attr_name(node: ast.AST, attr: str) -> None:
    if attr == "_" and isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) \
            and node.value.id == "ibis":
        return  # `ibis._`: the interpreter hands out the deferred only from the namespace
    if attr.startswith("_"):
        raise forbidden(node, f"the attribute {attr!r} (names starting with '_')")
    if policy.attr_denied(attr):
        raise GateError("forbidden", f"'.{attr}' is not allowed in Ibis code checked by ibert "
                        f"(for a column named {attr!r} write t[{attr!r}])").locate(node)


def check_constant(node: ast.Constant) -> None:
    v = node.value
    if isinstance(v, int) and not isinstance(v, bool) and v.bit_length() > policy.MAX_INT_BITS:
        raise GateError("limit", "integer literal is too large").locate(node)
    if isinstance(v, (str, bytes)) and len(v) > policy.MAX_STR_LEN:
        raise GateError("limit", f"string literal longer than {policy.MAX_STR_LEN}").locate(node)


def check_exponent(node: ast.AST) -> None:
    inner = node.operand if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) else node
    ok = isinstance(inner, ast.Constant) and isinstance(inner.value, (int, float)) \
        and not isinstance(inner.value, bool) and abs(inner.value) <= policy.MAX_POW_EXPONENT
    if not ok:
        raise GateError("limit", f"'**' needs a literal exponent of at most {policy.MAX_POW_EXPONENT}"
                        ).locate(node)


def import_bindings(node: ast.Import | ast.ImportFrom) -> list[str]:
    """Names bound by one of the few imports that only restate the environment."""
    out: list[str] = []
    if isinstance(node, ast.Import):
        for alias in node.names:
            if alias.name == "ibis" and alias.asname in (None, "ibis") or alias.name == "ibis.selectors" and alias.asname is None:
                out.append("ibis")
            elif alias.name == "ibis.selectors" and alias.asname in ("s", "selectors"):
                out.append(alias.asname)
            else:
                raise forbidden(node, f"importing {alias.name!r} (only `import ibis`, "
                                "`import ibis.selectors as s`, `from ibis import _`)")
        return out
    if node.module != "ibis" or node.level:
        raise forbidden(node, f"importing from {node.module!r}")
    for alias in node.names:
        if alias.name == "_" and alias.asname in (None, "_"):
            out.append("_")
        elif alias.name == "selectors" and alias.asname in (None, "s", "selectors"):
            out.append(alias.asname or "selectors")
        else:
            raise forbidden(node, f"importing {alias.name!r} from ibis")
    return out


def check_source(source: str, names: set[str]) -> ast.Module:
    """Parse `source` and check it against the allow-list; `names` are the tables in scope."""
    tree = parse(source)
    check_size(tree)
    checker = _Checker(names)
    for stmt in tree.body:
        checker.stmt(stmt)
    return tree

"""A small tree-walking interpreter for checked snippets: every attribute access, call and
operator goes through a guard, so aliasing (`x = ibis; x.connect`) cannot escape the policy."""

from __future__ import annotations

import ast
import operator
import re
import time
import types
from collections.abc import Callable
from typing import Any

from ibert_lsp.validate import policy
from ibert_lsp.validate.errors import GateError

_BINOPS: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
    ast.Div: operator.truediv, ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod,
    ast.Pow: operator.pow, ast.LShift: operator.lshift, ast.RShift: operator.rshift,
    ast.BitOr: operator.or_, ast.BitXor: operator.xor, ast.BitAnd: operator.and_,
    ast.MatMult: operator.matmul,
}
_UNOPS: dict[type, Callable[[Any], Any]] = {
    ast.UAdd: operator.pos, ast.USub: operator.neg, ast.Not: operator.not_,
    ast.Invert: operator.invert,
}
_CMPOPS: dict[type, Callable[[Any, Any], Any]] = {
    ast.Eq: operator.eq, ast.NotEq: operator.ne, ast.Lt: operator.lt, ast.LtE: operator.le,
    ast.Gt: operator.gt, ast.GtE: operator.ge, ast.Is: operator.is_, ast.IsNot: operator.is_not,
    ast.In: lambda a, b: a in b, ast.NotIn: lambda a, b: a not in b,
}
_SIZED = (str, bytes, list, tuple, dict, set, frozenset)
# a quantified group that itself contains a quantifier: `(a+)+`, `(a|aa)*`-style ReDoS shapes
_NESTED_QUANTIFIER = re.compile(r"\((?:[^()\\]|\\.)*(?:[*+}]|\|)(?:[^()\\]|\\.)*\)[*+{]")


def locate_attr(err: GateError, node: ast.AST, name: str) -> GateError:
    """Point at the attribute name itself (`t.amout` -> `amout`), not the whole chain."""
    err.locate(node)
    if isinstance(node, ast.Attribute) and err.end_line == err.line and err.end_col is not None:
        err.col = err.end_col - len(name)
    return err


class Located(Exception):
    """Carries a foreign exception plus the innermost node it came from."""

    def __init__(self, exc: BaseException, node: ast.AST) -> None:
        super().__init__(str(exc))
        self.exc = exc
        self.node = node


class Interpreter:
    """Evaluates one checked module; `env` maps names to values (tables, ibis, ...)."""

    def __init__(self, env: dict[str, Any], *, allowed_modules: dict[int, frozenset[str]],
                 deadline_s: float = policy.EVAL_DEADLINE_S) -> None:
        self.env = env
        self.allowed_modules = allowed_modules  # id(module) -> allowed attribute names
        self.deadline = time.monotonic() + deadline_s
        self.iterations = 0
        self.lambda_depth = 0
        self.sizes: dict[Any, int] = {}  # op -> expanded size (memo, keeps ops alive)

    # entry ------------------------------------------------------------------------------------
    def run_stmt(self, node: ast.stmt) -> tuple[bool, Any]:
        """Run one statement; returns (has_value, value) for the 'value of the snippet' rule."""
        if isinstance(node, ast.Expr):
            return True, self.ev(node.value, None)
        if isinstance(node, ast.Assign):
            value = self.ev(node.value, None)
            for target in node.targets:
                self.assign(target, value)
            return True, value
        if isinstance(node, ast.AugAssign):
            value = self.binop(node.op, self.env[node.target.id], self.ev(node.value, None), node)
            self.env[node.target.id] = value
            return True, value
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            self.bind_import(node)
        return False, None

    def assign(self, target: ast.expr, value: Any, scope: dict | None = None) -> None:
        dest = self.env if scope is None else scope
        if isinstance(target, ast.Name):
            dest[target.id] = value
            return
        items = self.bounded(value, target)
        elts = target.elts  # type: ignore[attr-defined]
        if len(items) != len(elts):
            raise GateError("type", f"cannot unpack {len(items)} values into {len(elts)} names"
                            ).locate(target)
        for elt, item in zip(elts, items):
            self.assign(elt, item, scope)

    def bind_import(self, node: ast.Import | ast.ImportFrom) -> None:
        import ibis
        import ibis.selectors as sel

        if isinstance(node, ast.Import):
            for alias in node.names:
                self.env[alias.asname or "ibis"] = sel if alias.asname else ibis
        else:
            for alias in node.names:
                self.env[alias.asname or alias.name] = ibis._ if alias.name == "_" else sel

    # expressions --------------------------------------------------------------------------------
    def ev(self, node: ast.AST, local: dict | None) -> Any:
        if time.monotonic() > self.deadline:
            raise GateError("limit", "evaluation took too long").locate(node)
        method = getattr(self, "ev_" + type(node).__name__, None)
        if method is None:  # the checker should have refused it
            raise GateError("forbidden", f"{type(node).__name__} is not allowed").locate(node)
        try:
            return method(node, local)
        except (GateError, Located):
            raise
        except RecursionError:
            raise GateError("limit", "expression recursion is too deep").locate(node) from None
        except MemoryError:
            raise GateError("limit", "expression needs too much memory").locate(node) from None
        except Exception as exc:  # noqa: BLE001 - classified by the caller with the node
            raise Located(exc, node) from None

    def ev_Constant(self, node: ast.Constant, local: dict | None) -> Any:
        return node.value

    def ev_Name(self, node: ast.Name, local: dict | None) -> Any:
        if local is not None and node.id in local:
            return local[node.id]
        if node.id in self.env:
            return self.env[node.id]
        if node.id in policy.SAFE_CONSTANTS:
            return policy.SAFE_CONSTANTS[node.id]
        if node.id in policy.SAFE_BUILTINS:
            return policy.SAFE_BUILTINS[node.id]
        raise GateError("name", f"name {node.id!r} is not defined").locate(node)

    def ev_Attribute(self, node: ast.Attribute, local: dict | None) -> Any:
        obj = self.ev(node.value, local)
        return self.getattr(obj, node.attr, node)

    def getattr(self, obj: Any, name: str, node: ast.AST) -> Any:
        if policy.attr_denied(name):
            raise GateError("forbidden", f"the attribute {name!r} is not allowed").locate(node)
        if isinstance(obj, types.ModuleType):
            allowed = self.allowed_modules.get(id(obj))
            if allowed is None or name not in allowed:
                raise GateError("forbidden", f"{obj.__name__}.{name} is not allowed in checked "
                                "Ibis code").locate(node)
        else:
            allowed_py = _py_methods(type(obj))
            if allowed_py is not None and name not in allowed_py:
                raise GateError("forbidden", f"'{type(obj).__name__}.{name}' is not allowed"
                                ).locate(node)
        try:
            value = getattr(obj, name)
        except AttributeError:
            from ibert_lsp.validate.safe_eval import missing_attribute

            err = missing_attribute(obj, name)
            if err is None:
                raise
            raise locate_attr(err, node, name) from None
        if isinstance(value, types.ModuleType) and id(value) not in self.allowed_modules:
            raise GateError("forbidden", f"the module {value.__name__} is not allowed").locate(node)
        return value

    def ev_Call(self, node: ast.Call, local: dict | None) -> Any:
        func = self.ev(node.func, local)
        if isinstance(func, type) and func not in policy.SAFE_BUILTINS.values():
            raise GateError("forbidden", f"calling the class {func.__name__!r}").locate(node)
        if isinstance(func, (types.BuiltinFunctionType, types.BuiltinMethodType)):
            owner = getattr(func, "__self__", None)
            if func not in policy.SAFE_BUILTINS.values() and _py_methods(type(owner)) is None:
                raise GateError("forbidden", f"calling the builtin {func.__name__!r}").locate(node)
        args: list[Any] = []
        for arg in node.args:
            if isinstance(arg, ast.Starred):
                args.extend(self.bounded(self.ev(arg.value, local), arg))
            else:
                args.append(self.ev(arg, local))
        kwargs: dict[str, Any] = {}
        for kw in node.keywords:
            value = self.ev(kw.value, local)
            if kw.arg is None:
                if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
                    raise GateError("type", "'**' needs a dict with string keys").locate(kw.value)
                if any(k.startswith("__") for k in value):
                    raise GateError("forbidden", "keyword names starting with '__'").locate(kw)
                kwargs.update(value)
            else:
                kwargs[kw.arg] = value
        if (func is str or func is repr) and any(_is_expr(a) for a in args):
            raise GateError("forbidden", "turning an Ibis expression into text").locate(node)
        self.precheck_call(func, args, kwargs, node)
        result = func(*args, **kwargs)
        return self.check_size(result, node)

    def precheck_call(self, func: Any, args: list[Any], kwargs: dict[str, Any],
                      node: ast.AST) -> None:
        """Refuse calls whose inputs (shared references included) or output could explode."""
        if weight([*args, *kwargs.values()]) > policy.MAX_WEIGHT:
            raise GateError("limit", "arguments hold too many values").locate(node)
        owner = getattr(func, "__self__", None)
        name = getattr(func, "__name__", "")
        if name == "memtable" and "name" in kwargs:  # could shadow a table in the sandbox
            raise GateError("forbidden", "naming an ibis.memtable").locate(node)
        if getattr(func, "__module__", "") == "ibis.selectors" and name == "matches" and args \
                and isinstance(args[0], str) and _NESTED_QUANTIFIER.search(args[0]):
            raise GateError("forbidden", "nested regex quantifiers (catastrophic backtracking)"
                            ).locate(node)
        if isinstance(owner, (str, bytes)) and name == "join" and args:
            total = weight(args[0]) * (len(owner) + 1) + sum(
                len(x) for x in args[0] if isinstance(x, (str, bytes))) \
                if isinstance(args[0], (list, tuple)) else 0
            if total > policy.MAX_STR_LEN * 100:
                raise GateError("limit", "joined string would be too large").locate(node)
        if isinstance(owner, (str, bytes)) and name == "replace" and len(args) >= 2 \
                and len(owner) * max(1, len(args[1])) > policy.MAX_STR_LEN * 100:
            raise GateError("limit", "string replacement result would be too large").locate(node)

    def ev_Lambda(self, node: ast.Lambda, local: dict | None) -> Callable[..., Any]:
        a = node.args
        names = [p.arg for p in [*a.posonlyargs, *a.args]]
        kwonly = [p.arg for p in a.kwonlyargs]
        defaults = [self.ev(d, local) for d in a.defaults]
        kw_defaults = {p.arg: self.ev(d, local) for p, d in zip(a.kwonlyargs, a.kw_defaults)
                       if d is not None}
        outer = dict(local or {})
        interp = self

        def fn(*args: Any, **kwargs: Any) -> Any:
            scope = dict(outer)
            n_req = len(names) - len(defaults)
            if len(args) > len(names) or len(args) + sum(n in kwargs for n in names) < n_req:
                raise TypeError(f"lambda takes {len(names)} arguments ({len(args)} given)")
            for i, pname in enumerate(names):
                if i < len(args):
                    scope[pname] = args[i]
                elif pname in kwargs:
                    scope[pname] = kwargs.pop(pname)
                else:
                    scope[pname] = defaults[i - n_req]
            for pname in kwonly:
                scope[pname] = kwargs.pop(pname) if pname in kwargs else kw_defaults[pname]
            if kwargs:
                raise TypeError(f"lambda got unexpected keywords {sorted(kwargs)}")
            interp.lambda_depth += 1
            try:
                if interp.lambda_depth > policy.MAX_LAMBDA_DEPTH:
                    raise GateError("limit", "lambdas call each other too deeply").locate(node)
                return interp.ev(node.body, scope)
            finally:
                interp.lambda_depth -= 1

        return fn

    def ev_IfExp(self, node: ast.IfExp, local: dict | None) -> Any:
        return self.ev(node.body if self.ev(node.test, local) else node.orelse, local)

    def ev_BoolOp(self, node: ast.BoolOp, local: dict | None) -> Any:
        value: Any = None
        for v in node.values:
            value = self.ev(v, local)
            if isinstance(node.op, ast.And) and not value:
                return value
            if isinstance(node.op, ast.Or) and value:
                return value
        return value

    def ev_UnaryOp(self, node: ast.UnaryOp, local: dict | None) -> Any:
        return _UNOPS[type(node.op)](self.ev(node.operand, local))

    def ev_BinOp(self, node: ast.BinOp, local: dict | None) -> Any:
        return self.binop(node.op, self.ev(node.left, local), self.ev(node.right, local), node)

    def binop(self, op: ast.operator, left: Any, right: Any, node: ast.AST) -> Any:
        self.precheck_binop(op, left, right, node)
        return self.check_size(_BINOPS[type(op)](left, right), node)

    def precheck_binop(self, op: ast.operator, a: Any, b: Any, node: ast.AST) -> None:
        """Refuse constant-folding bombs before Python computes them."""
        lim = GateError("limit", "this arithmetic would produce a value too large to check")
        ints = isinstance(a, int) and isinstance(b, int)
        if isinstance(op, ast.Pow) and isinstance(a, (int, float)) and isinstance(b, (int, float)):
            bits = abs(a).bit_length() if isinstance(a, int) else 64
            if abs(b) > policy.MAX_POW_EXPONENT or bits * abs(b) > policy.MAX_INT_BITS * 4:
                raise lim.locate(node)
        if isinstance(op, (ast.LShift,)) and ints and b > policy.MAX_INT_BITS:
            raise lim.locate(node)
        if isinstance(op, ast.Mult):
            for seq, n in ((a, b), (b, a)):
                if isinstance(seq, (str, bytes, list, tuple)) and isinstance(n, int) \
                        and len(seq) * max(n, 0) > policy.MAX_SEQ_LEN:
                    raise lim.locate(node)
        if isinstance(op, ast.Mod) and isinstance(a, (str, bytes)):
            raise GateError("forbidden", "'%' string formatting is not allowed").locate(node)

    def check_size(self, value: Any, node: ast.AST) -> Any:
        if _is_expr(value):
            if expanded_size(value.op(), self.sizes) > policy.MAX_EXPANDED_OPS:
                raise GateError("limit", "the expression would compile to too much SQL "
                                "(shared subexpressions repeat)").locate(node)
        elif isinstance(value, int) and not isinstance(value, bool):
            if value.bit_length() > policy.MAX_INT_BITS * 4:
                raise GateError("limit", "integer result is too large").locate(node)
        elif isinstance(value, _SIZED) and len(value) > policy.MAX_SEQ_LEN * 10:
            raise GateError("limit", "value is too large").locate(node)
        return value

    def ev_Compare(self, node: ast.Compare, local: dict | None) -> Any:
        left = self.ev(node.left, local)
        result: Any = True
        for op, comp in zip(node.ops, node.comparators):
            right = self.ev(comp, local)
            value = _CMPOPS[type(op)](left, right)
            if len(node.ops) == 1:
                return value
            result = value  # chained comparisons on Ibis values would need `&`; keep Python's
            if not value:
                return value
            left = right
        return result

    def ev_Subscript(self, node: ast.Subscript, local: dict | None) -> Any:
        obj = self.ev(node.value, local)
        key = self.ev(node.slice, local)
        return obj[key]

    def ev_Slice(self, node: ast.Slice, local: dict | None) -> slice:
        def part(n: ast.AST | None) -> Any:
            return None if n is None else self.ev(n, local)
        return slice(part(node.lower), part(node.upper), part(node.step))

    def elements(self, elts: list[ast.expr], local: dict | None) -> list[Any]:
        out: list[Any] = []
        for elt in elts:
            if isinstance(elt, ast.Starred):
                out.extend(self.bounded(self.ev(elt.value, local), elt))
            else:
                out.append(self.ev(elt, local))
        return out

    def ev_List(self, node: ast.List, local: dict | None) -> list:
        return self.elements(node.elts, local)

    def ev_Tuple(self, node: ast.Tuple, local: dict | None) -> tuple:
        return tuple(self.elements(node.elts, local))

    def ev_Set(self, node: ast.Set, local: dict | None) -> set:
        return set(self.elements(node.elts, local))

    def ev_Dict(self, node: ast.Dict, local: dict | None) -> dict:
        out: dict = {}
        for k, v in zip(node.keys, node.values):
            if k is None:
                value = self.ev(v, local)
                if not isinstance(value, dict):
                    raise GateError("type", "'**' in a dict needs a dict").locate(v)
                out.update(value)
            else:
                out[self.ev(k, local)] = self.ev(v, local)
        return out

    def ev_JoinedStr(self, node: ast.JoinedStr, local: dict | None) -> str:
        parts = [self.ev(v, local) for v in node.values]
        return self.check_size("".join(parts), node)

    def ev_FormattedValue(self, node: ast.FormattedValue, local: dict | None) -> str:
        value = self.ev(node.value, local)
        if _is_expr(value):
            raise GateError("forbidden", "formatting an Ibis expression into text").locate(node)
        if weight(value) > policy.MAX_WEIGHT:
            raise GateError("limit", "value is too large to format").locate(node)
        conv = {ord("r"): repr, ord("a"): ascii}.get(node.conversion, str)
        text = conv(value)
        return text[: policy.MAX_STR_LEN * 10]

    def ev_Starred(self, node: ast.Starred, local: dict | None) -> Any:
        raise GateError("forbidden", "'*' is only allowed in calls and list/tuple literals"
                        ).locate(node)

    # comprehensions -----------------------------------------------------------------------------
    def bounded(self, value: Any, node: ast.AST) -> list[Any]:
        """Materialize an iterable only if it is a plain, bounded Python container."""
        if isinstance(value, dict):
            value = list(value)
        if not isinstance(value, (list, tuple, str, set, frozenset)):
            raise GateError("type", f"cannot iterate over a {type(value).__name__} here"
                            ).locate(node)
        if len(value) > policy.MAX_SEQ_LEN:
            raise GateError("limit", "iterating over too many items").locate(node)
        return list(value)

    def comp_rows(self, gens: list[ast.comprehension], local: dict | None):
        def walk(i: int, scope: dict):
            if i == len(gens):
                yield scope
                return
            gen = gens[i]
            for item in self.bounded(self.ev(gen.iter, scope), gen.iter):
                self.iterations += 1
                if self.iterations > policy.MAX_ITERATIONS:
                    raise GateError("limit", "comprehensions iterate too many times").locate(gen.iter)
                inner = dict(scope)
                self.assign(gen.target, item, inner)
                if all(self.ev(cond, inner) for cond in gen.ifs):
                    yield from walk(i + 1, inner)
        return walk(0, dict(local or {}))

    def ev_ListComp(self, node: ast.ListComp, local: dict | None) -> list:
        return self.check_size([self.ev(node.elt, s) for s in self.comp_rows(node.generators, local)], node)

    def ev_GeneratorExp(self, node: ast.GeneratorExp, local: dict | None) -> tuple:
        return tuple(self.ev_ListComp(node, local))  # type: ignore[arg-type]

    def ev_SetComp(self, node: ast.SetComp, local: dict | None) -> set:
        return {self.ev(node.elt, s) for s in self.comp_rows(node.generators, local)}

    def ev_DictComp(self, node: ast.DictComp, local: dict | None) -> dict:
        return {self.ev(node.key, s): self.ev(node.value, s)
                for s in self.comp_rows(node.generators, local)}


def weight(value: Any, budget: int = policy.MAX_WEIGHT) -> int:
    """Elements reachable through plain containers (shared references counted each time),
    stopping early once over `budget`: `[[0]*10000]*10000` is small in memory but not to walk."""
    total = 0
    stack = [value]
    while stack:
        v = stack.pop()
        total += 1
        if total > budget:
            return total
        if isinstance(v, (list, tuple, set, frozenset)):
            if len(v) > budget:
                return budget + 1
            stack.extend(v)
        elif isinstance(v, dict):
            if len(v) > budget:
                return budget + 1
            stack.extend(v.keys())
            stack.extend(v.values())
        elif isinstance(v, (str, bytes)):
            total += len(v) // 100
    return total


def _py_methods(cls: type) -> frozenset[str] | None:
    """Allowed methods for plain Python values, subclasses included (ibis' SQLString is a str)."""
    for base in cls.__mro__:
        if base in policy.PY_METHODS:
            return policy.PY_METHODS[base]
    return None


def _is_expr(value: Any) -> bool:
    import ibis

    return isinstance(value, ibis.Expr)


def expanded_size(op: Any, memo: dict[Any, Any], cap: int = policy.MAX_EXPANDED_OPS) -> int:
    """Roughly how big the SQL for `op` gets: value trees are expanded (a subexpression used
    twice is printed twice), relations count once each (compiled once, referenced by name).
    Memoized across calls, so checking every intermediate result stays linear overall;
    saturates just above `cap`."""
    from ibis.expr.operations import Relation

    total = _value_size(op, memo, cap, Relation)
    for rel in _relations(op, memo, Relation):
        total = min(cap + 1, total + _value_size(rel, memo, cap, Relation))
    return total


def _relations(op: Any, memo: dict[Any, Any], relation: type) -> frozenset:
    """Every relation reachable from `op` (memoized per node as ("rels", node))."""
    stack: list[tuple[Any, bool]] = [(op, False)]
    while stack:
        node, ready = stack.pop()
        if ("rels", node) in memo:
            continue
        kids = getattr(node, "__children__", ())
        if ready:
            found: set = set()
            for c in kids:
                found |= memo[("rels", c)]
                if isinstance(c, relation):
                    found.add(c)
            memo[("rels", node)] = frozenset(found)
        else:
            stack.append((node, True))
            stack.extend((c, False) for c in kids if ("rels", c) not in memo)
    return memo[("rels", op)]


def _value_size(op: Any, memo: dict[Any, int], cap: int, relation: type) -> int:
    """1 + children's sizes, where a child relation counts 1 (it is sized on its own)."""
    stack: list[tuple[Any, bool]] = [(op, False)]
    while stack:
        node, ready = stack.pop()
        if node in memo:
            continue
        kids = [c for c in getattr(node, "__children__", ()) if not isinstance(c, relation)]
        if ready:
            n_rel = sum(isinstance(c, relation) for c in getattr(node, "__children__", ()))
            memo[node] = min(cap + 1, 1 + n_rel + sum(memo[c] for c in kids))
        else:
            stack.append((node, True))
            stack.extend((c, False) for c in kids if c not in memo)
    return memo[op]

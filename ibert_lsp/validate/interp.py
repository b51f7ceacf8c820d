"""A small tree-walking interpreter for checked snippets, capability-typed: every value it holds
is of an allow-listed type, every attribute and call is checked against that type's allowed
API (`capabilities.py`), and every result is type-checked before it is bound, so aliasing
(`x = ibis; x.connect`) or reaching through Ibis (`t.op().data`) cannot escape the policy."""

from __future__ import annotations

import ast
import datetime as _dt
import decimal
import operator
import re
import string
import sys
import time
import types
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from ibert_lsp.validate import capabilities as caps
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

# --- value categories: what a value of each type may be -----------------------------------------
ATOM, CONTAINER, VIEW, IBIS, NAMESPACE, FUNCTION, FORBIDDEN = range(7)
_ATOMS = (type(None), bool, int, float, str, bytes, _dt.date, _dt.time, _dt.datetime,
          _dt.timedelta, decimal.Decimal)
_CONTAINERS = (list, tuple, dict, set, frozenset)
_VIEWS = (type({}.keys()), type({}.values()), type({}.items()))
_FUNCTIONS = (types.FunctionType, types.MethodType, types.BuiltinFunctionType, type)
_SAFE_CALLABLES = frozenset(id(f) for f in policy.SAFE_BUILTINS.values())
_CATEGORY: dict[type, int] = {}


def category(cls: type) -> int:
    """What kind of value instances of `cls` are (cached per class: one dict lookup)."""
    cat = _CATEGORY.get(cls)
    if cat is None:
        if cls in _ATOMS:
            cat = ATOM
        elif cls in _CONTAINERS:
            cat = CONTAINER
        elif cls in _VIEWS:
            cat = VIEW
        elif cls is Namespace or cls is IndexSelector:
            cat = NAMESPACE
        elif cls in _FUNCTIONS:
            cat = FUNCTION
        elif caps.members_of(cls) is not None:
            cat = IBIS
        elif issubclass(cls, str) and cls.__module__.startswith("ibis."):  # SQLString
            cat = ATOM
        else:
            cat = FORBIDDEN
        _CATEGORY[cls] = cat
    return cat


_PY_TYPES_AS_DTYPES = {int: "int64", float: "float64", str: "string", bool: "boolean"}


def _as_dtype(value: Any) -> Any:
    """`int`/`float`/`str`/`bool` given to an Ibis call mean the dtypes Ibis maps them to."""
    if type(value) is type and value in _PY_TYPES_AS_DTYPES:
        import ibis

        return ibis.dtype(_PY_TYPES_AS_DTYPES[value])
    return value


class Namespace:
    """Stands in for a module (`ibis`, `ibis.selectors`): exposes only allow-listed members,
    so the interpreter's globals hold no module at all."""

    __slots__ = ("name", "members")

    def __init__(self, name: str, members: dict[str, Any]) -> None:
        self.name = name
        self.members = members

    def __repr__(self) -> str:
        return f"<namespace {self.name}>"


class IndexSelector:
    """`s.index[...]` without the real `Indexable`, which iterates forever when listed."""

    __slots__ = ()

    def __getitem__(self, key: Any) -> Any:
        import ibis.selectors as sel

        return sel.index[key]

    def __iter__(self) -> Any:
        raise TypeError("s.index can only be subscripted")

    def __repr__(self) -> str:
        return "s.index"


@lru_cache(maxsize=1)
def namespaces() -> tuple[Namespace, Namespace, frozenset[int]]:
    """(`ibis`, `ibis.selectors`, ids of the functions they hand out), built once."""
    import ibis
    import ibis.selectors as sel

    s_members = {n: getattr(sel, n) for n in sorted(policy.SELECTORS_ALLOWED) if hasattr(sel, n)}
    s_members["index"] = IndexSelector()
    s_ns = Namespace("ibis.selectors", s_members)
    i_members = {n: getattr(ibis, n) for n in sorted(policy.IBIS_ALLOWED)
                 if hasattr(ibis, n) and n != "selectors"}
    i_members["selectors"] = s_ns
    i_ns = Namespace("ibis", i_members)
    funcs = frozenset(id(v) for ns in (s_members, i_members) for v in ns.values()
                      if isinstance(v, types.FunctionType))
    return i_ns, s_ns, funcs


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


def _forbidden(message: str, node: ast.AST | None) -> GateError:
    return GateError("forbidden", message).locate(node)


class Interpreter:
    """Evaluates one checked module; `env` maps names to values (tables, namespaces, ...)."""

    def __init__(self, env: dict[str, Any], *, deadline_s: float = policy.EVAL_DEADLINE_S
                 ) -> None:
        self.env = env
        self.deadline = time.monotonic() + deadline_s
        self.iterations = 0
        self.lambda_depth = 0
        self.memory = 0
        self.sizes: dict[Any, int] = {}  # op / deferred resolver -> expanded size (memo)
        self.lambdas: dict[int, Callable[..., Any]] = {}  # id -> the snippet's own lambdas
        self.ns_funcs = namespaces()[2]

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
            self.env[node.target.id] = self.check_type(value, node)
            return True, value
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            self.bind_import(node)
        return False, None

    def assign(self, target: ast.expr, value: Any, scope: dict | None = None) -> None:
        dest = self.env if scope is None else scope
        if isinstance(target, ast.Name):
            dest[target.id] = self.check_type(value, target)
            return
        items = self.bounded(value, target)
        elts = target.elts  # type: ignore[attr-defined]
        if len(items) != len(elts):
            raise GateError("type", f"cannot unpack {len(items)} values into {len(elts)} names"
                            ).locate(target)
        for elt, item in zip(elts, items):
            self.assign(elt, item, scope)

    def bind_import(self, node: ast.Import | ast.ImportFrom) -> None:
        """The allowed imports bind the capability namespaces, never modules."""
        import ibis

        ibis_ns, sel_ns, _ = namespaces()
        if isinstance(node, ast.Import):
            for alias in node.names:
                self.env[alias.asname or "ibis"] = sel_ns if alias.asname else ibis_ns
        else:
            for alias in node.names:
                self.env[alias.asname or alias.name] = ibis._ if alias.name in ("_", "deferred") \
                    else sel_ns

    # type checks ---------------------------------------------------------------------------------
    def check_type(self, value: Any, node: ast.AST | None) -> Any:
        """Refuse a value of a type outside the capability model (shallow; cheap)."""
        cat = _CATEGORY.get(type(value))
        if cat is None:
            cat = category(type(value))
        if cat == FORBIDDEN or (cat == FUNCTION and not self.callable_ok(value)):
            raise _forbidden(f"a value of type {_type_name(value)} is not allowed in checked "
                             "Ibis code", node)
        return value

    def admit(self, value: Any, node: ast.AST, *, trusted: bool = False) -> Any:
        """Type-check and size a value the interpreter is about to hold: Ibis expressions by
        their expanded size, containers by expanded weight and element types, and strings
        and containers against the evaluation's memory budget."""
        cls = type(value)
        cat = _CATEGORY.get(cls)
        if cat is None:
            cat = category(cls)
        if cat == ATOM:
            if cls is str or cls is bytes:
                if len(value) > policy.MAX_STR_LEN * 10:
                    raise GateError("limit", "string value is too large").locate(node)
                self.charge(value, node)
            elif cls is int and value.bit_length() > policy.MAX_INT_BITS * 4:
                raise GateError("limit", "integer result is too large").locate(node)
            return value
        if cat == IBIS:
            if isinstance(value, _expr_type()):
                if expanded_size(value.op(), self.sizes) > policy.MAX_EXPANDED_OPS:
                    raise GateError("limit", "the expression would compile to too much SQL "
                                    "(shared subexpressions repeat)").locate(node)
            elif cls is _deferred_type():
                if deferred_size(value, self.sizes) > policy.MAX_EXPANDED_OPS:
                    raise GateError("limit", "the deferred expression is too large (shared "
                                    "parts repeat)").locate(node)
            return value
        if cat == CONTAINER:
            self.check_container(value, node)
            self.charge(value, node)
            return value
        if cat == VIEW:
            return self.admit(list(value), node)
        if cat == NAMESPACE:
            return value
        if cat == FUNCTION and (trusted or self.callable_ok(value)):
            return value
        raise _forbidden(f"a value of type {_type_name(value)} is not allowed in checked Ibis "
                         "code", node)

    def charge(self, value: Any, node: ast.AST) -> None:
        self.memory += sys.getsizeof(value)
        if self.memory > policy.MAX_MEMORY_BYTES:
            raise GateError("limit", f"the code creates more than "
                            f"{policy.MAX_MEMORY_BYTES >> 20} MiB of values").locate(node)

    def check_container(self, value: Any, node: ast.AST, *, args_of: Any = None) -> None:
        """Walk a container (shared references counted each time, stopping at the budget):
        its expanded weight is bounded and every element is of an allowed type. With
        `args_of` (the callee), functions inside are refused except the snippet's lambdas."""
        budget = policy.MAX_WEIGHT
        total = 0
        stack = [value]
        while stack:
            v = stack.pop()
            total += 1
            cls = type(v)
            cat = _CATEGORY.get(cls)
            if cat is None:
                cat = category(cls)
            if cat == CONTAINER:
                if len(v) > budget:
                    total = budget + 1
                elif cls is dict:
                    stack.extend(v.keys())
                    stack.extend(v.values())
                else:
                    stack.extend(v)
            elif cat == ATOM:
                if cls is str or cls is bytes:
                    total += len(v) // 100
            elif cat == IBIS or (cat == NAMESPACE and args_of is None):
                pass
            elif cat == FUNCTION and args_of is None and self.callable_ok(v):
                pass
            elif cat == FUNCTION and id(v) in self.lambdas:
                pass
            elif cat == FUNCTION and args_of is not None and id(args_of) in _SAFE_CALLABLES \
                    and id(v) in _SAFE_CALLABLES:
                pass  # sorted(names, key=len)
            elif cat == FUNCTION or cat == NAMESPACE:
                raise _forbidden(f"passing {_type_name(v)} to a call (only the snippet's own "
                                 "lambdas may be passed as functions)", node)
            else:
                raise _forbidden(f"a value of type {_type_name(v)} is not allowed in checked "
                                 "Ibis code", node)
            if total > budget:
                raise GateError("limit", "value holds too many elements (shared references "
                                "count each time)").locate(node)

    def callable_ok(self, func: Any) -> bool:
        """Callables the interpreter hands out: its lambdas, namespace functions, safe
        builtins, and bound methods of allowed values whose name is allowed."""
        cls = type(func)
        if cls is types.FunctionType:
            return id(func) in self.lambdas or id(func) in self.ns_funcs
        if cls is types.MethodType:
            members = caps.members_of(type(func.__self__))
            return members is not None and func.__func__.__name__ in members
        if cls is types.BuiltinFunctionType:
            if id(func) in _SAFE_CALLABLES:
                return True
            owner = func.__self__
            allowed = _py_methods(type(owner))
            return allowed is not None and func.__name__ in allowed
        return cls is type and id(func) in _SAFE_CALLABLES

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
        """Read `obj.name` if `name` is on the allow-list of `obj`'s type."""
        cls = type(obj)
        if cls is Namespace and name == "_" and "_" in obj.members:
            return obj.members["_"]  # `ibis._`, the same deferred as `from ibis import _`
        if policy.attr_denied(name):
            raise _forbidden(f"the attribute {name!r} is not allowed", node)
        if cls is Namespace:
            if name not in obj.members:
                raise _forbidden(f"{obj.name}.{name} is not allowed in checked Ibis code", node)
            return obj.members[name]
        members = caps.members_of(cls)
        if members is None:
            allowed_py = _py_methods(cls)
            if allowed_py is None or name not in allowed_py:
                raise _forbidden(f"'{_type_name(obj)}.{name}' is not allowed in checked Ibis "
                                 "code", node)
            return getattr(obj, name)
        if cls is _deferred_type():
            # Ibis resolves `_` chains itself: each step must map an expression to an
            # expression (DEFERRED_NAMES), or be a column/field name (no Ibis member at all).
            if name not in caps.DEFERRED_NAMES and name in caps.all_ibis_member_names():
                raise _forbidden(f"'_.{name}' is not allowed in checked Ibis code (for a column "
                                 f"named {name!r} write _[{name!r}])", node)
        elif name not in members and name in caps.real_members(cls):
            hint = f" (for a column named {name!r} write t[{name!r}])" \
                if isinstance(obj, _table_type()) else ""
            raise _forbidden(f"'{cls.__name__}.{name}' is not part of the Ibis API that checked "
                             f"code may use{hint}", node)
        try:
            value = getattr(obj, name)
        except AttributeError:
            from ibert_lsp.validate.hints import missing_attribute

            err = missing_attribute(obj, name)
            if err is None:
                raise
            raise locate_attr(err, node, name) from None
        return self.admit(value, node, trusted=name in members)

    def ev_Call(self, node: ast.Call, local: dict | None) -> Any:
        func = self.ev(node.func, local)
        self.check_callee(func, node)
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
        if id(func) not in _SAFE_CALLABLES:  # `try_cast(int)`: Ibis reads Python types as dtypes
            args = [_as_dtype(a) for a in args]
            kwargs = {k: _as_dtype(v) for k, v in kwargs.items()}
        self.precheck_call(func, args, kwargs, node)
        return self.admit(func(*args, **kwargs), node)

    def check_callee(self, func: Any, node: ast.AST) -> None:
        """Only callables the interpreter handed out may be called (and Deferred `_` calls)."""
        if type(func) is _deferred_type():
            return
        if type(func) is type and id(func) not in _SAFE_CALLABLES:
            raise _forbidden(f"calling the class {func.__name__!r}", node)
        if not (category(type(func)) == FUNCTION and self.callable_ok(func)):
            raise _forbidden(f"calling {_type_name(func)} is not allowed", node)

    def precheck_call(self, func: Any, args: list[Any], kwargs: dict[str, Any],
                      node: ast.AST) -> None:
        """Refuse calls whose inputs (shared references included) or output could explode, or
        that would hand Python-side matching a catastrophic regex or format template."""
        self.check_container([args, kwargs], node, args_of=func)
        if id(func) in _SAFE_CALLABLES:
            for a in args:
                if category(type(a)) not in (ATOM, CONTAINER):
                    raise _forbidden(f"{getattr(func, '__name__', 'this builtin')}() takes only "
                                     f"plain Python values here, not {_type_name(a)}", node)
        owner = getattr(func, "__self__", None)
        name = _callee_name(func)
        if name == "memtable" and "name" in kwargs:  # could shadow a table in the sandbox
            raise GateError("forbidden", "naming an ibis.memtable").locate(node)
        if owner is None or category(type(owner)) == IBIS or type(func) is _deferred_type():
            check_python_side_patterns(name, args, kwargs, node)
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
            for pname in (*names, *kwonly):  # Ibis chose these values: type-check them too
                interp.check_type(scope[pname], node)
            interp.lambda_depth += 1
            try:
                if interp.lambda_depth > policy.MAX_LAMBDA_DEPTH:
                    raise GateError("limit", "lambdas call each other too deeply").locate(node)
                return interp.ev(node.body, scope)
            finally:
                interp.lambda_depth -= 1

        self.lambdas[id(fn)] = fn
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
        operand = self.ev(node.operand, local)
        self.check_operand(operand, node)
        return self.admit(_UNOPS[type(node.op)](operand), node)

    def ev_BinOp(self, node: ast.BinOp, local: dict | None) -> Any:
        return self.binop(node.op, self.ev(node.left, local), self.ev(node.right, local), node)

    def binop(self, op: ast.operator, left: Any, right: Any, node: ast.AST) -> Any:
        self.precheck_binop(op, left, right, node)
        return self.admit(_BINOPS[type(op)](left, right), node)

    def check_operand(self, value: Any, node: ast.AST) -> None:
        """Operators apply to data and Ibis values, never to functions or namespaces."""
        cat = category(type(value))
        if cat not in (ATOM, CONTAINER, IBIS):
            raise _forbidden(f"an operator on {_type_name(value)}", node)

    def precheck_binop(self, op: ast.operator, a: Any, b: Any, node: ast.AST) -> None:
        """Refuse constant-folding bombs before Python computes them."""
        self.check_operand(a, node)
        self.check_operand(b, node)
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

    def ev_Compare(self, node: ast.Compare, local: dict | None) -> Any:
        left = self.ev(node.left, local)
        result: Any = True
        for op, comp in zip(node.ops, node.comparators):
            right = self.ev(comp, local)
            self.check_operand(left, node)
            self.check_operand(right, node)
            if isinstance(op, (ast.In, ast.NotIn)) and category(type(right)) == IBIS \
                    and not hasattr(type(right), "__contains__"):
                raise GateError("type", f"'in' needs a container, not {_type_name(right)}"
                                ).locate(node)
            value = self.admit(_CMPOPS[type(op)](left, right), node)
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
        if category(type(obj)) not in (ATOM, CONTAINER, IBIS) and type(obj) is not IndexSelector:
            raise _forbidden(f"subscripting {_type_name(obj)}", node)
        return self.admit(obj[key], node)

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
        return self.admit(self.elements(node.elts, local), node)

    def ev_Tuple(self, node: ast.Tuple, local: dict | None) -> tuple:
        return self.admit(tuple(self.elements(node.elts, local)), node)

    def ev_Set(self, node: ast.Set, local: dict | None) -> set:
        items = self.elements(node.elts, local)
        self.check_container(items, node)  # bounded before hashing walks them
        return self.admit(set(items), node)

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
        return self.admit(out, node)

    def ev_JoinedStr(self, node: ast.JoinedStr, local: dict | None) -> str:
        parts = [self.ev(v, local) for v in node.values]
        return self.admit("".join(parts), node)

    def ev_FormattedValue(self, node: ast.FormattedValue, local: dict | None) -> str:
        value = self.ev(node.value, local)
        if category(type(value)) not in (ATOM, CONTAINER):
            raise GateError("forbidden", f"formatting {_type_name(value)} into text").locate(node)
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
                    raise GateError("limit", "comprehensions iterate too many times"
                                    ).locate(gen.iter)
                inner = dict(scope)
                self.assign(gen.target, item, inner)
                if all(self.ev(cond, inner) for cond in gen.ifs):
                    yield from walk(i + 1, inner)
        return walk(0, dict(local or {}))

    def ev_ListComp(self, node: ast.ListComp, local: dict | None) -> list:
        return self.admit([self.ev(node.elt, s) for s in self.comp_rows(node.generators, local)],
                          node)

    def ev_GeneratorExp(self, node: ast.GeneratorExp, local: dict | None) -> tuple:
        return self.admit(tuple(self.ev_ListComp(node, local)), node)  # type: ignore[arg-type]

    def ev_SetComp(self, node: ast.SetComp, local: dict | None) -> set:
        items = [self.ev(node.elt, s) for s in self.comp_rows(node.generators, local)]
        self.check_container(items, node)
        return self.admit(set(items), node)

    def ev_DictComp(self, node: ast.DictComp, local: dict | None) -> dict:
        pairs = [(self.ev(node.key, s), self.ev(node.value, s))
                 for s in self.comp_rows(node.generators, local)]
        self.check_container(pairs, node)
        return self.admit(dict(pairs), node)


# --- Python-side matching of names: regexes and format templates -------------------------------

_TEMPLATE_FIELDS = {"rename": ("name",), "lname": ("name",), "rname": ("name",),
                    "names": ("col", "fn")}


def check_python_side_patterns(name: str, args: list[Any], kwargs: dict[str, Any],
                               node: ast.AST) -> None:
    """Regexes and format templates that Ibis applies in Python to column names (not in
    DuckDB): refuse catastrophic-backtracking regexes and templates beyond `{name}`."""
    regexes: list[Any] = []
    if name == "matches":
        regexes += [*args[:1], kwargs.get("regex")]
    if "names_pattern" in kwargs:
        regexes.append(kwargs["names_pattern"])
    for regex in regexes:
        if isinstance(regex, str):
            why = regex_refusal(regex)
            if why:
                raise GateError("forbidden", f"regex {regex[:40]!r} {why}").locate(node)
        elif regex is not None and not isinstance(regex, str):
            raise GateError("type", "a regex here must be a string").locate(node)
    templates: list[tuple[Any, tuple[str, ...]]] = []
    if name == "rename":
        method = args[0] if args else kwargs.get("method")
        if isinstance(method, str) and method not in ("snake_case", "ALL_CAPS"):
            templates.append((method, _TEMPLATE_FIELDS["rename"]))
    for key in ("lname", "rname"):
        if key in kwargs:
            templates.append((kwargs[key], _TEMPLATE_FIELDS[key]))
    if name == "across":
        names = args[2] if len(args) > 2 else kwargs.get("names")
        if isinstance(names, str):
            templates.append((names, _TEMPLATE_FIELDS["names"]))
    for tmpl, fields in templates:
        if isinstance(tmpl, str):
            why = template_refusal(tmpl, fields)
            if why:
                raise GateError("forbidden", why).locate(node)


def template_refusal(tmpl: str, fields: tuple[str, ...]) -> str | None:
    """Why a `str.format` template is refused (attribute/index access, format specs and
    conversions can read objects or build huge strings), or None."""
    try:
        parts = list(string.Formatter().parse(tmpl))
    except ValueError as exc:
        return f"invalid name template {tmpl[:40]!r}: {exc}"
    for _, field, spec, conv in parts:
        if field is None:
            continue
        if field not in fields or spec or conv:
            allowed = ", ".join("{" + f + "}" for f in fields)
            return f"name templates may only use {allowed} (got {{{field}}}" \
                   f"{'!' + conv if conv else ''}{':' + spec if spec else ''})"
    return None


def regex_refusal(pattern: str) -> str | None:
    """Why a regex that Python (not RE2) will match is refused, or None: too long, a repeat
    inside a repeat (groups included, any depth), alternation inside a repeat, backreferences,
    or too many unbounded repeats."""
    import re._constants as c  # noqa: PLC0415 - the stdlib's own regex parser
    import re._parser as p

    if len(pattern) > policy.MAX_REGEX_LEN:
        return f"is longer than {policy.MAX_REGEX_LEN} characters"
    try:
        parsed = p.parse(pattern)
    except (re.error, RecursionError, OverflowError):
        return None  # invalid: Ibis reports it
    repeats = (c.MAX_REPEAT, c.MIN_REPEAT, c.POSSESSIVE_REPEAT)
    unbounded = 0
    stack: list[tuple[Any, bool]] = [(parsed, False)]
    while stack:
        sub, in_repeat = stack.pop()
        for op, av in sub:
            if op in repeats:
                lo, hi, inner = av
                many = hi is c.MAXREPEAT or hi > 1
                if in_repeat:
                    return "nests a repeat inside a repeat (catastrophic backtracking)"
                if hi is c.MAXREPEAT:
                    unbounded += 1
                stack.append((inner, many))
            elif op in (c.GROUPREF, c.GROUPREF_EXISTS):
                return "uses a backreference"
            elif op is c.BRANCH:
                if in_repeat:
                    return "repeats an alternation (catastrophic backtracking)"
                stack.extend((b, in_repeat) for b in av[1])
            elif op is c.SUBPATTERN:
                stack.append((av[3], in_repeat))
            elif op in (c.ASSERT, c.ASSERT_NOT):
                stack.append((av[1], in_repeat))
            elif op is c.ATOMIC_GROUP:
                stack.append((av, in_repeat))
    if unbounded > policy.MAX_REGEX_REPEATS:
        return f"has more than {policy.MAX_REGEX_REPEATS} unbounded repeats"
    return None


# --- helpers -----------------------------------------------------------------------------------

def _callee_name(func: Any) -> str:
    if type(func) is _deferred_type():
        return getattr(getattr(func, "_resolver", None), "name", "") or ""
    inner = getattr(func, "__func__", func)
    return getattr(inner, "__name__", "") or ""


def _type_name(value: Any) -> str:
    cls = type(value)
    if cls is types.ModuleType:
        return f"the module {value.__name__}"
    if cls is Namespace:
        return f"the namespace {value.name}"
    if cls in (types.FunctionType, types.MethodType, types.BuiltinFunctionType):
        return f"the function {getattr(value, '__name__', '?')}"
    if cls is type:
        return f"the class {value.__name__}"
    return f"{cls.__module__}.{cls.__qualname__}" if cls.__module__ != "builtins" \
        else cls.__qualname__


@lru_cache(maxsize=1)
def _expr_type() -> type:
    import ibis

    return ibis.Expr


@lru_cache(maxsize=1)
def _table_type() -> type:
    import ibis

    return ibis.Table


@lru_cache(maxsize=1)
def _deferred_type() -> type:
    from ibis.common.deferred import Deferred

    return Deferred


def deferred_size(value: Any, memo: dict[Any, Any], cap: int = policy.MAX_EXPANDED_OPS) -> int:
    """Expanded size of a deferred `_` expression (a resolver DAG that Ibis resolves by plain
    recursion, so `d = d + d` forty times would take 2**40 steps); memoized, saturating."""
    root = getattr(value, "_resolver", None)
    if root is None:
        return 1
    stack: list[tuple[Any, bool]] = [(root, False)]
    while stack:
        node, ready = stack.pop()
        key = ("deferred", id(node))
        if key in memo:
            continue
        kids = _resolver_children(node)
        if ready:
            memo[key] = min(cap + 1, 1 + sum(memo[("deferred", id(k))] for k in kids))
            memo[("keep", id(node))] = node  # keeps the id unique while the memo lives
        else:
            stack.append((node, True))
            stack.extend((k, False) for k in kids if ("deferred", id(k)) not in memo)
    return memo[("deferred", id(root))]


def _resolver_children(node: Any) -> list[Any]:
    from ibis.common.deferred import Resolver

    out: list[Any] = []
    for slot in getattr(type(node), "__slots__", ()):
        v = getattr(node, slot, None)
        items = v.values() if isinstance(v, dict) else v if isinstance(v, (tuple, list)) else (v,)
        out.extend(x for x in items if isinstance(x, Resolver))
    return out


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

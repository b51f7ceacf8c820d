"""A small tree-walking interpreter for checked snippets, capability-typed: every value it holds
is of an allow-listed type, every attribute and call is checked against that type's allowed
API (`capabilities.py`), and every result is type-checked before it is bound, so aliasing
(`x = ibis; x.connect`) or reaching through Ibis (`t.op().data`) cannot escape the policy."""

from __future__ import annotations

import ast
import sys
import time
import types
from collections.abc import Callable
from typing import Any

from ibert_lsp.validate import capabilities as caps
from ibert_lsp.validate import policy
from ibert_lsp.validate.errors import GateError, Located, locate_attr
from ibert_lsp.validate.interp_collections import CollectionEvaluation
from ibert_lsp.validate.patterns import check_python_side_patterns
from ibert_lsp.validate.sizes import deferred_size, expanded_size, weight
from ibert_lsp.validate.values import (
    _BINOPS,
    _CATEGORY,
    _CMPOPS,
    _SAFE_CALLABLES,
    _UNOPS,
    ATOM,
    CONTAINER,
    FORBIDDEN,
    FUNCTION,
    IBIS,
    NAMESPACE,
    VIEW,
    IndexSelector,
    Namespace,
    _as_dtype,
    _callee_name,
    _deferred_type,
    _expr_type,
    _py_methods,
    _table_type,
    _type_name,
    category,
    namespaces,
)


def _forbidden(message: str, node: ast.AST | None) -> GateError:
    return GateError("forbidden", message).locate(node)


class Interpreter(CollectionEvaluation):
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

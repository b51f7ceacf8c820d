"""The interpreter's literals and comprehensions: lists, tuples, sets, dicts, f-strings,
starred items, bounded iteration. A mixin of `interp.Interpreter`, whose checks (`admit`,
`check_container`, `assign`, `ev`) every result still passes through."""

from __future__ import annotations

import ast
from typing import Any

from ibert_lsp.validate import policy
from ibert_lsp.validate.errors import GateError
from ibert_lsp.validate.sizes import weight
from ibert_lsp.validate.values import (
    ATOM,
    CONTAINER,
    _type_name,
    category,
)


class CollectionEvaluation:
    """`ev_*` for collection literals and comprehensions (see `Interpreter.ev`)."""

    iterations: int

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

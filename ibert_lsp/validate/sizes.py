"""How big a value is: the expanded weight of containers and the expanded size of Ibis and
deferred expressions, each capped so measuring stays cheap."""

from __future__ import annotations

from typing import Any

from ibert_lsp.validate import policy


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

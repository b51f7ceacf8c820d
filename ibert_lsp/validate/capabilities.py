"""What each kind of value may do in checked code: the capability allow-list.

Every value the gate's interpreter holds is of an allowed type, and every attribute read on an
Ibis value is checked against the members listed here for its class (and its Ibis base
classes). The lists are Ibis's public, documented API as installed (ibis 12.0.0), derived once
by `tests/test_gate_capabilities.py` (run `python tests/test_gate_capabilities.py` to print the
block between the markers), reviewed, and kept as literal data so that an Ibis upgrade cannot
silently widen what untrusted code reaches: the test fails when Ibis grows or loses members.
"""

from __future__ import annotations

from functools import lru_cache

# the derived literal; DEFERRED_NAMES and IBIS_VERSION are read as `capabilities.X` too
from ibert_lsp.validate.capability_data import (  # noqa: F401
    CLASSES,
    DEFERRED_NAMES,
    IBIS_VERSION,
    MEMBERS,
)

# Never on the list, whatever Ibis documents: execution, backends, I/O, raw nodes, rebuilding
# objects from arbitrary fields, and deferred resolution outside the interpreter.
DENIED_MEMBERS = frozenset({
    "execute", "compile", "op", "sql", "cache", "preview", "visualize", "get_backend",
    "copy", "resolve", "interactive", "release", "materialize", "args", "argnames",
    "window_by", "unbind", "predicate", "funcs", "regex",
})
DENIED_MEMBER_PREFIXES = ("_", "to_", "from_")

# Members that return an expression but hand it a snippet callable's arbitrary result, so a
# deferred `_` chain may not continue through them (the interpreter checks direct calls).
DEFERRED_EXCLUDED = frozenset({"pipe"})


def member_denied(name: str) -> bool:
    """True for member names that are never allowed on an Ibis value."""
    return name in DENIED_MEMBERS or name.startswith(DENIED_MEMBER_PREFIXES)




@lru_cache(maxsize=None)
def members_of(cls: type) -> frozenset[str] | None:
    """Allowed member names for instances of `cls`, or None when `cls` is not allowed at all.
    Cached per class, so a check is one dict lookup."""
    if f"{cls.__module__}.{cls.__qualname__}" not in CLASSES:
        return None
    names: set[str] = set()
    for base in cls.__mro__:
        names |= MEMBERS.get(f"{base.__module__}.{base.__qualname__}", frozenset())
    return frozenset(names)


@lru_cache(maxsize=None)
def real_members(cls: type) -> frozenset[str]:
    """Every public name defined on `cls` (allowed or not): a name outside this set is not a
    method but, on a table or struct, a column or field."""
    return frozenset(n for n in dir(cls) if not n.startswith("_"))


@lru_cache(maxsize=1)
def all_ibis_member_names() -> frozenset[str]:
    """Public names of every allowed Ibis class, for deciding what `_.name` may refer to."""
    import importlib

    out: set[str] = set()
    for qual in CLASSES:
        module, _, name = qual.rpartition(".")
        obj = importlib.import_module(module)
        for part in name.split("."):
            obj = getattr(obj, part, None)
        if isinstance(obj, type):
            out |= real_members(obj)
    return frozenset(out)

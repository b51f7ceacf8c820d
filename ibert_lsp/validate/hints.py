"""Friendly messages for a missing attribute: "did you mean" a close column or method.

Used by the interpreter where an attribute read fails and by `safe_eval`'s error mapping; kept
apart so the two do not import each other.
"""

from __future__ import annotations

import difflib
from typing import Any

from ibert_lsp.validate import capabilities as caps
from ibert_lsp.validate.errors import GateError


def missing_attribute(obj: Any, name: str) -> GateError | None:
    """A friendly error for `t.amout` on a table or `col.sumx()` on a column."""
    import ibis

    if isinstance(obj, ibis.Table):
        cols = list(obj.columns)
        close = difflib.get_close_matches(name, cols, n=3, cutoff=0.5)
        tname = table_label(obj)
        hint = f"; did you mean {close[0]!r}?" if close else f"; columns: {', '.join(cols)}"
        return GateError("attribute", f"Table {tname}has no column {name!r}{hint}",
                         suggestions=close)
    if isinstance(obj, ibis.Expr):
        names = sorted(caps.members_of(type(obj)) or ())
        close = difflib.get_close_matches(name, names, n=3, cutoff=0.6)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        return GateError("attribute", f"'{type(obj).__name__}' has no attribute {name!r}{hint}",
                         suggestions=close)
    return None


def table_label(table: Any) -> str:
    """'orders ' for a named table, '' for memtables and derived tables (messages read well
    either way)."""
    op = table.op()
    name = getattr(op, "name", None)
    return f"{name!r} " if isinstance(name, str) and type(op).__name__ in (
        "UnboundTable", "DatabaseTable") and not name.startswith("ibis_") else ""  # not memtables

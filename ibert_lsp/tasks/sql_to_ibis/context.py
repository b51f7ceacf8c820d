"""Translation state: relations in scope, emitted assignments, names, features used."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import ibis

from ibert_lsp.tasks.codebuild import colref

from .code import V, attr, is_ident
from .errors import Unsupported


@dataclass
class Rel:
    """A relation being built: its text/value, and where each SQL (alias, column) now lives.

    `named` is true while the text is a bare variable with no operation applied, so column
    references can be written idiomatically as `orders.amount`; afterwards they go through `_`.
    """

    text: str
    value: Any  # ibis.Table
    cols: dict[str, dict[str, str]]  # sql alias -> sql column -> output column name
    named: bool = False

    @property
    def names(self) -> list[str]:
        return list(self.value.schema().names)

    def then(self, text: str, value: Any, cols: dict[str, dict[str, str]] | None = None) -> Rel:
        """The relation after one more method call."""
        return Rel(text, value, self.cols if cols is None else cols, named=False)

    def ref(self, name: str) -> V:
        """Reference to an output column: `t.col` while named, else `_.col`."""
        if self.named:
            return attr(V(self.text, self.value), name)
        value = self.value[name]
        return V(colref("_", name, attribute_ok=not hasattr(ibis.Table, name)), value)


@dataclass
class Ctx:
    """Everything shared by one translation, plus the scope chain for correlated subqueries."""

    schemas: dict[str, dict[str, str]]
    tables: dict[str, Any]  # base table name -> ibis.Table
    stmts: list[str] = field(default_factory=list)
    used_names: set[str] = field(default_factory=set)
    features: set[str] = field(default_factory=set)
    ctes: dict[str, Rel] = field(default_factory=dict)
    cte_tables: dict[str, set[str]] = field(default_factory=dict)  # CTE -> tables it reads
    active: dict[str, int] = field(default_factory=dict)  # base tables in use by enclosing scopes

    def fresh(self, hint: str) -> str:
        """A new variable name that collides with no table, CTE, keyword or earlier name."""
        base = hint if is_ident(hint) and hint != "ibis" else "t"
        name, i = base, 1
        while name in self.used_names or name in self.tables or name in ("ibis", "_"):
            i += 1
            name = f"{base}{i}"
        self.used_names.add(name)
        return name

    def assign(self, hint: str, rel: Rel) -> Rel:
        """Emit `name = <rel>` and return the relation as that name."""
        name = self.fresh(hint)
        self.stmts.append(f"{name} = {rel.text}")
        return Rel(name, rel.value, rel.cols, named=True)

    def feature(self, name: str) -> None:
        self.features.add(name)


@dataclass
class Scope:
    """How expressions are resolved: current relation, outer scopes, substitutions."""

    ctx: Ctx
    rel: Rel | None
    outer: Scope | None = None
    subst: dict[str, V] = field(default_factory=dict)  # sql text of a node -> replacement
    in_agg: bool = False  # inside an aggregate's arguments (substitutions of keys still apply)
    join_refs: dict[str, Rel] | None = None  # inside ON: alias -> named participant
    taken: set[str] = field(default_factory=set)  # base tables/CTEs used by this query's FROM
    deep: set[str] = field(default_factory=set)  # ... and those read inside its CTEs/derived tables

    def all_taken(self) -> set[str]:
        """Tables in use here and in enclosing queries: a second use needs `.view()`."""
        out: set[str] = set()
        s: Scope | None = self
        while s is not None:
            out |= s.taken | s.deep
            s = s.outer
        return out

    def column(self, table: str, name: str) -> V:
        """Resolve a qualified SQL column through this scope and then the outer ones."""
        if self.join_refs is not None and table in self.join_refs:
            part = self.join_refs[table]
            return part.ref(part.cols[table][name])
        if self.rel is not None and table in self.rel.cols:
            cols = self.rel.cols[table]
            if name not in cols:
                raise Unsupported(f"column {table}.{name} is not available here")
            return self.rel.ref(cols[name])
        if self.outer is not None:
            v = self.outer.column_outer(table, name)
            if v is not None:
                self.ctx.feature("correlated_subquery")
                return v
        raise Unsupported(f"cannot resolve column {table}.{name}")

    def column_outer(self, table: str, name: str) -> V | None:
        """An outer reference: the outer relation must be a named variable."""
        if self.rel is not None and table in self.rel.cols:
            if not self.rel.named:
                raise Unsupported("correlated reference to an unnamed relation")
            return self.rel.ref(self.rel.cols[table][name])
        if self.join_refs is not None and table in self.join_refs:
            part = self.join_refs[table]
            return part.ref(part.cols[table][name])
        return self.outer.column_outer(table, name) if self.outer else None

    def child(self, rel: Rel | None) -> Scope:
        """A scope for a subquery nested in this one."""
        return Scope(self.ctx, rel, outer=self, taken=set(self.taken))

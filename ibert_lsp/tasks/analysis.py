"""Model a Python document's Ibis code, statement by statement, and check what can be checked.

Real code gets tables from connections, files, memtables and parameters; the analysis follows
each name in order and per scope (module, function bodies), binds what it can build exactly
(schemas from settings, `ibis.table(...)` declarations, literal memtables, databases and data
files inside the workspace), types what it can only type (a table whose columns are unknown
still has every Table method), and leaves the rest *unknown*. A statement is evaluated through
the gate only when every name it reads is known; a problem is reported only then — what ibert
cannot model stays silent. Shared by diagnostics, quick fixes, completion, hover and the CLI;
runs in a gate worker process when isolation is on.
"""

from __future__ import annotations

import functools
from typing import Any

from ibert_lsp.schema.types import Schemas
from ibert_lsp.tasks.problems import (  # noqa: F401 - the analysis' public names
    PANDAS_METHODS,
    Analysis,
    Binding,
    Problem,
    Statement,
    char_col,
    pandas_lint,
    problem_from_gate,
)
from ibert_lsp.pysource import parse_tolerant  # noqa: F401
from ibert_lsp.tasks.snippets import (  # noqa: F401
    _free_names,
    _segment,
    base_tables,
    gate_eval,
)
from ibert_lsp.tasks.walker import (  # noqa: F401
    GATE_NAMES,
    MAX_STATEMENTS,
    REPORTED_KINDS,
    Scope,
    _declared_tables,
    _Walker,
)
from ibert_lsp.validate.isolation import isolated


@isolated
def analyze(code: str, schemas: Schemas, *, check: bool = True,
            env: dict[str, Any] | None = None, root: str | None = None) -> Analysis:
    """Model every statement of `code` in order; check those whose names are all known.

    `schemas`: tables the settings describe; the document's own literal declarations are
    added to `Analysis.schemas` (and bound where they are declared). `env`: names already bound (a fix checks one
    statement in the environment of its line). `root`: the workspace folder; databases and data
    files the code opens with literal paths inside it are read (read-only) for their schemas.
    """
    lines = code.split("\n")
    tree, blanked = parse_tolerant(code)
    analysis = Analysis(code, dict(schemas), tree, {}, [], [], blanked)
    if tree is None:
        return analysis
    from ibert_lsp.schema.sources import declared_schemas

    try:  # the document's own `ibis.table(...)` literals, read from the tree parsed here
        analysis.schemas.update(declared_schemas(tree, blanked))
    except Exception:  # noqa: BLE001 - a scan that breaks on odd code must not cost the analysis
        pass
    declared = _declared_tables(tree)
    free_tables = {k: v for k, v in schemas.items() if k not in declared}
    walker = _Walker(analysis, lines, free_tables, root, check)
    scope = Scope()
    for name, value in (env or {}).items():
        walker.bind(scope, name, 0, value=value)
    walker.walk(tree.body, scope)
    if blanked:  # a statement repaired to parse is not what the user wrote: nothing on it
        repaired = set(blanked)
        analysis.problems = [p for p in analysis.problems if not repaired.intersection(
            range(p.stmt_line + 1, p.stmt_end_line + 2))]
    analysis.env = dict(scope.values)
    analysis.types = dict(scope.types)
    from ibert_lsp.validate import isolation

    if isolation._IN_WORKER:  # the caller needs positions and values, not the module's tree
        analysis.tree = None
        for b in analysis.bindings:
            if b.value is not None and not _portable(b.value):
                b.value, b.type = None, type(b.value)
            if b.type is not None and not _crosses(b.type):
                b.type = None  # a type the caller would refuse to rebuild: unknown instead
        analysis.types = {k: v for k, v in analysis.types.items() if _crosses(v)}
    return analysis


@functools.lru_cache(maxsize=256)
def _crosses(cls: type) -> bool:
    """True when the caller's restricted unpickler rebuilds this class."""
    import pickle

    from ibert_lsp.validate.isolation import loads_result

    try:
        return loads_result(pickle.dumps(cls)) is cls
    except Exception:  # noqa: BLE001 - refused or not picklable: it does not cross
        return False


def _portable(value: Any) -> bool:
    import ibis

    return isinstance(value, (ibis.Expr, ibis.Schema))

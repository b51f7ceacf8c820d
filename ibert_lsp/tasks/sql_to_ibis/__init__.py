"""Verified SQL -> Ibis: a deterministic sqlglot-AST translator whose answers the gate proves.

`translate(sql, schemas)` returns a `Result`; `ibis` is set only when the gate found the Ibis
program equivalent to the SQL on DuckDB (or when `verify=False`, unchecked). Otherwise `reason`
says why not: the translator never answers silently wrong.
"""

from __future__ import annotations

import ibert_lsp.validate  # noqa: F401  (pins Ibis's SQL dialects before sqlglot is used)

from .api import Result, translate

__all__ = ["Result", "translate"]

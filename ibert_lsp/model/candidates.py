"""Moved to `ibert_lsp.tasks.candidates` (checking model output is task work, above the model).

Kept only for `ibert_lsp.tasks.sql_to_ibis.api`, which imports `CANDIDATES` and
`make_sql_fallback` from here; remove it once that import names `ibert_lsp.tasks.candidates`.
"""

from ibert_lsp.tasks.candidates import CANDIDATES, make_sql_fallback  # noqa: F401

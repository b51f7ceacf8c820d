"""The gate: untrusted Ibis code is checked, evaluated under guards, compiled, and compared on
synthetic data in a locked DuckDB. Import the submodules (`safe_eval`, `equivalence`, `synth`)
directly.

Ibis's SQL dialects are imported here, first: if sqlglot's own MySQL dialect is used before them,
Ibis compiles `length()` to MySQL's byte-counting LENGTH instead of CHAR_LENGTH for the rest of
the process. Every use of sqlglot in ibert_lsp goes through this package or the translator,
which imports it too."""

import ibis.backends.sql.dialects  # noqa: F401

from ibert_lsp.validate.errors import GateError

__all__ = ["GateError"]

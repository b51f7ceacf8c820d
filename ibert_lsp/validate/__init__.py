"""The gate: untrusted Ibis code is checked, evaluated under guards, compiled, and compared on
synthetic data in a locked DuckDB. Import the submodules (`safe_eval`, `equivalence`, `synth`)
directly; this package import stays light."""

from ibert_lsp.validate.errors import GateError

__all__ = ["GateError"]

"""Input sizes checked before anything parses the input: a parser's cost grows with its input,
so a limit checked after parsing (or after translating) protects nothing."""

from __future__ import annotations

MAX_SQL_CHARS = 100_000          # one SQL text to translate or check
MAX_DOCUMENT_CHARS = 500_000     # a document the server analyses (larger: cheap features only)
MAX_CODE_CHARS = 100_000         # one Ibis snippet the CLI checks (the gate's own source limit)


def check_sql_size(sql: object) -> str | None:
    """None when `sql` may be parsed, else the reason it may not."""
    if not isinstance(sql, str):
        return "SQL must be text"
    if len(sql) > MAX_SQL_CHARS:
        return (f"the SQL is too large to translate ({len(sql):,} characters; the limit is "
                f"{MAX_SQL_CHARS:,})")
    return None


def document_too_large(text: str) -> bool:
    return len(text) > MAX_DOCUMENT_CHARS

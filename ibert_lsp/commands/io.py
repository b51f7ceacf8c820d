"""Reading user input for CLI commands: files or stdin, refusing what is not text."""

from __future__ import annotations

import sys
from pathlib import Path

from ibert_lsp.errors import IbertError

MAX_INPUT_BYTES = 2_000_000


def read_input(path: str | None, *, what: str = "input") -> str:
    """Text of FILE, or of stdin for `-`/None; clear errors for missing, binary or empty input."""
    if path in (None, "-"):
        if sys.stdin is None or sys.stdin.isatty():
            raise IbertError(f"no {what}: give a FILE or pipe text on stdin")
        data = sys.stdin.buffer.read(MAX_INPUT_BYTES + 1)
        source = "stdin"
    else:
        p = Path(path)
        if not p.exists():
            raise IbertError(f"file not found: {path}")
        if p.is_dir():
            raise IbertError(f"{path} is a directory, not a file")
        try:
            with p.open("rb") as fh:
                data = fh.read(MAX_INPUT_BYTES + 1)
        except OSError as exc:
            raise IbertError(f"cannot read {path}: {exc.strerror}") from None
        source = path
    return decode_text(data, source, what=what)


def decode_text(data: bytes, source: str, *, what: str = "input") -> str:
    if len(data) > MAX_INPUT_BYTES:
        raise IbertError(f"{source} is larger than {MAX_INPUT_BYTES // 1_000_000} MB; refusing it")
    if b"\x00" in data:
        raise IbertError(f"{source} looks binary (it contains NUL bytes); expected text")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise IbertError(f"{source} is not UTF-8 text (bad byte at offset {exc.start})") from None
    if not text.strip():
        raise IbertError(f"{source} is empty: no {what} to read")
    return text


SCHEMA_HELP = (
    "JSON text or file {table: {col: type}}, a .duckdb file, or 'col: type, ...' with "
    "--table-name"
)
TABLE_NAME_HELP = (
    "name of a table the code uses (repeatable); its schema is inferred unless --schema gives it"
)


def add_schema_options(p, *, schema_help: str = SCHEMA_HELP) -> None:
    """`--schema` and repeatable `--table-name`, spelled alike in every command that reads code."""
    p.add_argument("--schema", "-s", help=schema_help)
    p.add_argument("--table-name", "-t", action="append", dest="table_names",
                   help=TABLE_NAME_HELP)

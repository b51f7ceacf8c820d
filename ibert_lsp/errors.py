"""One error type for everything a user can get wrong, so the CLI and server report it cleanly."""

from __future__ import annotations


class IbertError(Exception):
    """A user-facing error: printed as one line, never as a traceback."""

    exit_code = 2

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

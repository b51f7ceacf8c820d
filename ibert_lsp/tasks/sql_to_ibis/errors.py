"""Why the translator abstains: one exception carrying a short, user-readable reason."""

from __future__ import annotations


class Unsupported(Exception):
    """The deterministic translator cannot express this SQL; it abstains instead of guessing."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason

"""Why the translator abstains: one exception carrying a short, user-readable reason."""

from __future__ import annotations


class Unsupported(Exception):
    """The deterministic translator cannot express this SQL; it abstains instead of guessing."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def readable(exc: BaseException) -> str:
    """One line a user can act on for an error Ibis raised while a translation was built:
    no object reprs, no Python attribute names, no multi-line plan dumps."""
    import re

    text = str(exc).strip()
    first = text.splitlines()[0] if text else type(exc).__name__
    name = type(exc).__name__
    if name == "IntegrityError":
        return "it uses a column of a relation that is not in scope there, which Ibis cannot express"
    m = re.match(r"'(\w+?)(Column|Scalar|Value)' object has no attribute '(\w+)'", first)
    if m:
        return f"{m.group(3)}() does not apply to {m.group(1).lower()} values"
    m = re.match(r"unsupported operand type\(s\) for (\S+): '(\w+?)(?:Column|Scalar|Value)' and "
                 r"'(\w+?)(?:Column|Scalar|Value)'", first)
    if m:
        return f"operator {m.group(1)} does not apply to {m.group(2).lower()} and {m.group(3).lower()} values"
    if first.startswith("__") or "UnboundTable" in first or " object at 0x" in first:
        return f"Ibis refuses this combination of types ({name})"
    return first[:200]

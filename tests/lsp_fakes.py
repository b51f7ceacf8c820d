"""Scripted Generators the LSP tests load into the server through the `python:` model path.

They stand in for a trained model so tests can check the server's own behaviour: that model
text is filtered through the gate, ranked after deterministic items, and that cancellation
reaches a running generation.
"""

from __future__ import annotations

import os
import threading
import time


class ScriptedGenerator:
    """Returns, for a code-completion prompt, one continuation that compiles against the test
    schema and one that does not (unknown column), so the gate must drop the second."""

    def __init__(self, delay_s: float = 0.0):
        self.delay_s = delay_s
        self.calls = 0

    def generate(self, prompt, n=1, max_new_tokens=64, stop=(), *, temperature=0.0,
                 deadline_s=None, cancel: threading.Event | None = None):
        self.calls += 1
        log = os.environ.get("IBERT_FAKE_CANCEL_LOG")
        if log and self.delay_s:  # the cancellation tests wait for this before they cancel
            with open(log, "a") as fh:
                fh.write("started\n")
        end = time.monotonic() + self.delay_s
        while time.monotonic() < end:  # a slow model that honours cancellation
            if cancel is not None and cancel.is_set():
                if log:
                    with open(log, "a") as fh:
                        fh.write("cancelled\n")
                return []
            time.sleep(0.005)
        if "<|code_completion|>" in prompt:
            return ["filter(_.amount > 10)", "filter(_.no_such_column > 1)",
                    "group_by(\"country\").agg(total=_.amount.sum())"][:max(n, 3)]
        if "<|error_resolution|>" in prompt:
            return ["events.filter(events.amount > 10)"]
        if "<|qa|>" in prompt:
            return ["Use `group_by` then `agg`:\n```python\n"
                    "events.group_by(\"country\").agg(n=_.count())\n```"]
        if "<|documentation|>" in prompt:
            return ["Sum the amounts per country."]
        return [""]


def make_generator():
    return ScriptedGenerator()


def make_slow_generator():
    return ScriptedGenerator(delay_s=float(os.environ.get("IBERT_FAKE_DELAY", "3")))

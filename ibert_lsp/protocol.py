"""pygls' protocol with the LSP spec's answers where pygls 2.1.1 gives none, and the one way
the server process ends (`end_process`). Tests: `tests/test_lsp_protocol.py`."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Generator
from typing import Any

from lsprotocol import types
from pygls.protocol import LanguageServerProtocol
from pygls.protocol.language_server import lsp_method

log = logging.getLogger("ibert.server")

_UINTEGER_MAX = 2**31 - 1  # LSP's uinteger
INVALID_REQUEST = -32600
INVALID_PARAMS = -32602


class _Rejected:
    """A request that cannot be handled as sent: answered with a JSON-RPC error, not dropped."""

    __slots__ = ("id", "code", "message")

    def __init__(self, msg_id: int | str | None, code: int, message: str) -> None:
        self.id, self.code, self.message = msg_id, code, message


class _BadResponse:
    """A client's response that does not deserialize: fails the server's pending request."""

    __slots__ = ("id", "message")

    def __init__(self, msg_id: int | str, message: str) -> None:
        self.id, self.message = msg_id, message


def _valid_id(data: Any) -> int | str | None:
    """The request id as the client sent it, or None when it is not a JSON-RPC id."""
    msg_id = data.get("id") if isinstance(data, dict) else None
    if isinstance(msg_id, bool) or not isinstance(msg_id, (int, str)):
        return None
    return msg_id


def _clamp_position(data: dict) -> dict:
    """`{"line", "character"}` ints clamped into LSP's uinteger range.

    The features clamp positions into the document; this only keeps out-of-range numbers
    (negative, 2**63) from failing deserialization, which pygls would answer with nothing.
    """
    for key in ("line", "character"):
        v = data[key]
        if isinstance(v, int) and not isinstance(v, bool):
            data[key] = min(max(v, 0), _UINTEGER_MAX)
    return data


def end_process(code: int) -> None:
    """Flush what was written and leave with `code` at once.

    A normal interpreter exit joins or tears down threads that are still running (the
    gate thread, the model worker with torch's thread pools, stdin's reader) and C++
    destructors in them abort the process (SIGABRT, "terminate called ..."). Nothing the
    server holds needs a clean teardown: DuckDB sandboxes are in memory, files are written
    atomically. So: flush, then `os._exit`.
    """
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:
            pass
    try:  # idle gate worker processes are killed now, not left to notice their closed stdin
        from ibert_lsp.validate import isolation

        isolation.disable()
    except Exception:
        pass
    try:
        logging.shutdown()
    except Exception:
        pass
    os._exit(code)


class IbertProtocol(LanguageServerProtocol):
    """pygls' protocol with the LSP spec's answers where pygls 2.1.1 gives none.

    - params that do not deserialize: pygls raises inside `json.loads`' object hook and the
      message is logged and dropped, so the client waits forever; here the request gets
      InvalidParams (-32602), or InvalidRequest (-32600) when the envelope itself is bad;
    - positions out of LSP's range (negative, 2**63) are clamped instead of rejected;
    - requests after `shutdown`: InvalidRequest (pygls drops them);
    - `exit` (and stdin's end, in `main`): the process ends with 0 after shutdown, 1
      without, through `end_process` when `main` owns the process.
    """

    owns_process = False  # set by main(): only then may `exit` end the interpreter at once

    def structure_message(self, data: dict[str, Any]) -> Any:
        if "jsonrpc" not in data:
            if len(data) == 2 and "line" in data and "character" in data:
                return _clamp_position(data)
            return data
        if self._shutdown and "id" in data and data.get("method", types.EXIT) != types.EXIT:
            return _Rejected(_valid_id(data), INVALID_REQUEST,
                             f"{data.get('method')}: the server is shutting down; only exit "
                             "is accepted")
        try:
            return super().structure_message(data)
        except Exception as exc:
            msg_id = _valid_id(data)
            method = data.get("method")
            if "method" not in data:
                if msg_id is not None and ("result" in data or "error" in data):
                    return _BadResponse(msg_id, f"response does not deserialize: {exc}")
                raise
            if msg_id is None and "id" not in data:
                raise  # a notification: nobody waits for an answer (pygls logs it)
            if msg_id is None or not isinstance(method, str):
                return _Rejected(msg_id, INVALID_REQUEST,
                                 "invalid request: id must be a number or string and "
                                 "method a string")
            return _Rejected(msg_id, INVALID_PARAMS,
                             f"invalid params for {method}: {_cause(exc)}")

    def handle_message(self, message: Any) -> None:
        if isinstance(message, _Rejected):
            self._reply_error(message.id, message.code, message.message)
            return
        if isinstance(message, _BadResponse):
            self._handle_response(message.id, None,
                                  types.ResponseError(code=INVALID_PARAMS,
                                                      message=message.message))
            return
        if not isinstance(message, dict) and getattr(message, "jsonrpc", None) == self.VERSION:
            method = getattr(message, "method", None)
            is_request = method is not None and hasattr(message, "id")
            if is_request and _valid_id({"id": message.id}) is None:
                self._reply_error(None, INVALID_REQUEST,
                                  "invalid request: id must be a number or string")
                return
            if self._shutdown and is_request and method != types.EXIT:
                self._reply_error(message.id, INVALID_REQUEST,
                                  f"{method}: the server is shutting down; only exit is "
                                  "accepted")
                return
            super().handle_message(message)
            return
        # not a JSON-RPC 2.0 message: answer what is shaped like a request (or a batch)
        if isinstance(message, dict):
            if "method" in message and "id" in message:
                self._reply_error(_valid_id(message), INVALID_REQUEST,
                                  'invalid request: "jsonrpc" must be "2.0"')
            else:
                log.warning("ibert: ignored a message that is not JSON-RPC 2.0")
            return
        if hasattr(message, "method") and hasattr(message, "id"):
            self._reply_error(_valid_id({"id": message.id}), INVALID_REQUEST,
                              'invalid request: "jsonrpc" must be "2.0"')
            return
        if hasattr(message, "method"):
            log.warning("ibert: ignored a notification that is not JSON-RPC 2.0")
            return
        self._reply_error(None, INVALID_REQUEST,
                          "invalid request: a message must be one JSON object (LSP has no "
                          "batches)")

    def _reply_error(self, msg_id: int | str | None, code: int, message: str) -> None:
        if msg_id is None:  # the converter would drop a None id; JSON-RPC wants "id": null
            self._send_data({"jsonrpc": self.VERSION, "id": None,
                             "error": {"code": code, "message": message}})
        else:
            self._send_response(msg_id, error=types.ResponseError(code=code, message=message))

    @lsp_method(types.EXIT)
    def lsp_exit(self, *args) -> Generator[Any, Any, None]:
        """End the process: 0 after shutdown, 1 without (never a signal)."""
        if (user_handler := self.fm.features.get(types.EXIT)) is not None:
            yield user_handler, args, None
        code = 0 if self._shutdown else 1
        if self.owns_process:
            end_process(code)
        sys.exit(code)


def _cause(exc: BaseException) -> str:
    """The first line of what made deserialization fail (cattrs nests the real reason)."""
    inner: BaseException = exc.__cause__ or exc
    subs = getattr(inner, "exceptions", None)
    while subs:
        inner = subs[0]
        subs = getattr(inner, "exceptions", None)
    text = str(inner).strip().splitlines()
    return (text[0] if text else type(inner).__name__)[:200]

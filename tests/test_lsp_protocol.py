"""Protocol hygiene over raw JSON-RPC: every request gets an answer, and the process ends with
the exit code the LSP spec asks for (0 after shutdown, 1 without), never by a signal.

The server is driven as a plain subprocess speaking Content-Length framed JSON over stdio, so
malformed messages that a typed client could not even send are tested too. Every read has a
deadline: a server that fails to answer fails the test instead of hanging the suite.
"""

from __future__ import annotations

import json
import queue
import subprocess
import threading
import time
from typing import Any

import pytest

from tests.lsp_helpers import SERVER, server_env

ANSWER_S = 20.0  # first requests pay for imports on a busy 2-core machine
EXIT_S = 10.0

URI = "file:///tmp/ibert_protocol_doc.py"
TEXT = ('import ibis\nevents = ibis.table({"user_id": "int64", "amount": "float64"}, '
        'name="events")\nevents.\n')


class RawClient:
    """A minimal LSP client: framed JSON over the server's stdin/stdout, read in a thread."""

    def __init__(self, cwd: str | None = None) -> None:
        self.proc = subprocess.Popen(SERVER + ["--no-model"], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     env=server_env(), cwd=cwd)
        self.messages: queue.Queue[dict | None] = queue.Queue()
        self.notifications: list[dict] = []
        self.stderr_chunks: list[bytes] = []
        self._next_id = 0
        threading.Thread(target=self._read, daemon=True).start()
        threading.Thread(target=self._read_stderr, daemon=True).start()

    # -------------------------------------------------------------- transport
    def _read(self) -> None:
        out = self.proc.stdout
        assert out is not None
        while True:
            length = None
            while True:
                line = out.readline()
                if not line:
                    self.messages.put(None)
                    return
                if line in (b"\r\n", b"\n"):
                    break
                name, _, value = line.decode("ascii").partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value.strip())
            if length is None:
                continue
            body = out.read(length)
            self.messages.put(json.loads(body))

    def _read_stderr(self) -> None:
        err = self.proc.stderr
        assert err is not None
        for chunk in iter(lambda: err.read1(4096), b""):
            self.stderr_chunks.append(chunk)

    @property
    def stderr(self) -> str:
        return b"".join(self.stderr_chunks).decode("utf-8", "replace")

    def send_raw(self, payload: Any) -> None:
        body = json.dumps(payload).encode("utf-8")
        assert self.proc.stdin is not None
        self.proc.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        self.proc.stdin.flush()

    def request(self, method: str, params: Any = None, *, with_params: bool = True) -> int:
        self._next_id += 1
        msg: dict[str, Any] = {"jsonrpc": "2.0", "id": self._next_id, "method": method}
        if with_params:
            msg["params"] = params
        self.send_raw(msg)
        return self._next_id

    def notify(self, method: str, params: Any = None) -> None:
        self.send_raw({"jsonrpc": "2.0", "method": method, "params": params})

    def response(self, msg_id: Any, timeout: float = ANSWER_S) -> dict:
        """The response to `msg_id`; answers requests the server sends meanwhile."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no response to request {msg_id!r} within {timeout} s; "
                                     f"stderr: {self.stderr[-2000:]}")
            try:
                msg = self.messages.get(timeout=left)
            except queue.Empty:
                continue
            if msg is None:
                raise AssertionError(f"server closed its output before answering {msg_id!r}; "
                                     f"stderr: {self.stderr[-2000:]}")
            if "method" in msg and "id" in msg:  # server -> client request (progress, config)
                self.send_raw({"jsonrpc": "2.0", "id": msg["id"], "result": None})
                continue
            if "method" in msg:
                self.notifications.append(msg)
                continue
            if msg.get("id") == msg_id:
                return msg

    def call(self, method: str, params: Any = None, **kw) -> dict:
        return self.response(self.request(method, params, **kw))

    def initialize(self, root_uri: str | None = None) -> None:
        res = self.call("initialize", {"processId": None, "rootUri": root_uri,
                                       "capabilities": {}})
        assert "result" in res and "capabilities" in res["result"], res
        self.notify("initialized", {})

    def open_doc(self) -> None:
        self.notify("textDocument/didOpen", {"textDocument": {
            "uri": URI, "languageId": "python", "version": 1, "text": TEXT}})

    def wait_exit(self, timeout: float = EXIT_S) -> int:
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(f"server did not exit within {timeout} s") from None

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)


@pytest.fixture
def raw():
    client = RawClient()
    yield client
    client.kill()
    for stream in (client.proc.stdin, client.proc.stdout, client.proc.stderr):
        try:
            stream.close()
        except Exception:
            pass


def assert_clean_stderr(client: RawClient) -> None:
    text = client.stderr
    assert "terminate called" not in text, text[-2000:]
    assert "FATAL" not in text, text[-2000:]
    assert "Traceback" not in text, text[-2000:]


# ------------------------------------------------------------------------ exit codes


def test_shutdown_then_exit_quickly_is_code_0(raw: RawClient):
    raw.initialize()
    res = raw.call("shutdown", with_params=False)
    assert res.get("result", "missing") is None and "error" not in res, res
    raw.notify("exit")
    time.sleep(0.05)
    assert raw.wait_exit() == 0
    assert_clean_stderr(raw)


def test_exit_right_after_initialize_without_shutdown_is_code_1(raw: RawClient):
    raw.initialize()
    raw.notify("exit")
    assert raw.wait_exit() == 1  # a signal would be negative
    assert_clean_stderr(raw)


def test_stdin_closed_ends_the_server(raw: RawClient):
    raw.initialize()
    assert raw.proc.stdin is not None
    raw.proc.stdin.close()
    code = raw.wait_exit()
    assert code == 1, f"EOF without shutdown is an exit without shutdown, got {code}"
    assert_clean_stderr(raw)


def test_stdin_closed_after_shutdown_is_code_0(raw: RawClient):
    raw.initialize()
    raw.call("shutdown", with_params=False)
    assert raw.proc.stdin is not None
    raw.proc.stdin.close()
    assert raw.wait_exit() == 0
    assert_clean_stderr(raw)


# ------------------------------------------------------------------------ every request answered


def _completion(raw: RawClient, line: Any, character: Any) -> dict:
    return raw.call("textDocument/completion", {
        "textDocument": {"uri": URI}, "position": {"line": line, "character": character}})


def _labels(res: dict) -> list[str]:
    result = res.get("result")
    items = result.get("items", []) if isinstance(result, dict) else (result or [])
    return [i["label"] for i in items]


def test_out_of_range_positions_are_clamped_and_answered(raw: RawClient):
    raw.initialize()
    raw.open_doc()
    # the real end of the document: after `events.` on line 2 completes the table's members
    at_end = _completion(raw, 2, 7)
    assert "error" not in at_end, at_end
    assert "filter" in _labels(at_end)

    negative = _completion(raw, -1, -5)
    assert "error" not in negative and "result" in negative, negative

    huge = _completion(raw, 2**63, 2**63)
    assert "error" not in huge and "result" in huge, huge

    beyond_line = _completion(raw, 2, 10_000_000_000)  # clamped to the end of line 2
    assert "error" not in beyond_line, beyond_line
    assert "filter" in _labels(beyond_line)

    hover = raw.call("textDocument/hover", {"textDocument": {"uri": URI},
                                            "position": {"line": -3, "character": 2**40}})
    assert "error" not in hover and "result" in hover, hover


BAD_PARAMS = [
    None,
    {"textDocument": {"uri": URI}},  # no position
    {"textDocument": {"uri": URI}, "position": {"line": "two", "character": 0}},
    {"textDocument": "not an identifier", "position": {"line": 0, "character": 0}},
    {"textDocument": {"uri": URI}, "position": {"line": None, "character": 0}},
    {"textDocument": {"uri": URI}, "position": [0, 0]},
    [1, 2, 3],
    "junk",
]


def test_params_that_do_not_deserialize_get_invalid_params(raw: RawClient):
    raw.initialize()
    raw.open_doc()
    for params in BAD_PARAMS:
        res = raw.call("textDocument/completion", params)
        assert res.get("error", {}).get("code") == -32602, (params, res)
        assert "invalid params" in res["error"]["message"]
    # the server is still serving
    assert "error" not in _completion(raw, 0, 0)
    raw.call("shutdown", with_params=False)
    raw.notify("exit")
    assert raw.wait_exit() == 0
    assert_clean_stderr(raw)  # the log says what happened in one line, no traceback


def test_request_without_params_key_gets_invalid_params(raw: RawClient):
    raw.initialize()
    res = raw.call("textDocument/completion", with_params=False)
    assert res.get("error", {}).get("code") == -32602, res
    res = raw.call("textDocument/hover", with_params=False)
    assert res.get("error", {}).get("code") == -32602, res


def test_unknown_method_gets_method_not_found(raw: RawClient):
    raw.initialize()
    res = raw.call("ibert/noSuchMethod", {"x": 1})
    assert res.get("error", {}).get("code") == -32601, res


def test_malformed_envelopes_get_invalid_request(raw: RawClient):
    raw.initialize()
    raw.send_raw({"id": 901, "method": "textDocument/hover", "params": {}})  # no "jsonrpc"
    assert raw.response(901).get("error", {}).get("code") == -32600
    raw.send_raw({"jsonrpc": "1.0", "id": 902, "method": "shutdown"})
    assert raw.response(902).get("error", {}).get("code") == -32600
    raw.send_raw([{"jsonrpc": "2.0", "id": 903, "method": "shutdown"}])  # batches: not LSP
    res = raw.response(None)
    assert res.get("error", {}).get("code") == -32600, res
    raw.send_raw({"jsonrpc": "2.0", "id": [1], "method": "shutdown"})  # an id of a bad type
    res = raw.response(None)
    assert res.get("error", {}).get("code") == -32600, res
    # none of those shut the server down
    assert "error" not in raw.call("textDocument/hover", {
        "textDocument": {"uri": URI}, "position": {"line": 0, "character": 0}})


def test_requests_after_shutdown_get_invalid_request(raw: RawClient):
    raw.initialize()
    raw.open_doc()
    assert "error" not in raw.call("shutdown", with_params=False)
    for method, params in (
        ("textDocument/completion", {"textDocument": {"uri": URI},
                                     "position": {"line": 0, "character": 0}}),
        ("textDocument/hover", None),
        ("shutdown", None),
        ("ibert/noSuchMethod", {}),
    ):
        res = raw.call(method, params)
        assert res.get("error", {}).get("code") == -32600, (method, res)
    raw.notify("exit")
    assert raw.wait_exit() == 0
    assert_clean_stderr(raw)

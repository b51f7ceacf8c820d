"""The remote model backend against a real `transformers serve` on 127.0.0.1.

The served model is the micro model trained in this test session (`tests/test_model_support`),
its merged directory served as is. `transformers serve` (transformers 5.x, FastAPI + uvicorn)
loads a local directory offline and answers the legacy `POST /v1/completions`. Faults are real
too: a TCP relay in front of the real server delays bytes (a slow server) or loses its upstream
(the server killed mid-request), and finally the server process itself is killed.
"""

from __future__ import annotations

import asyncio
import json
import os
import select
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient

from ibert_lsp.errors import IbertError
from ibert_lsp.model.remote import RemoteGenerator, check_key_env, is_remote, parse_endpoint
from ibert_lsp.prompting import prompts
from tests.lsp_helpers import (
    ROOT,
    SERVER,
    diagnostics_for,
    initialize,
    open_doc,
    pos_of,
    server_env,
    wait_for,
)
from tests.test_model_support import micro_run

pytestmark = pytest.mark.serving


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Relay:
    """A TCP relay to the real server that can delay the request, delay the answer, or lose
    its upstream (what an editor sees when the server dies or the network is slow)."""

    def __init__(self, upstream_port: int):
        self.upstream = upstream_port
        self.delay_request_s = 0.0
        self.delay_answer_s = 0.0
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.accepted = 0
        self.client_closed = threading.Event()
        self._stop = False
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while not self._stop:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.accepted += 1
            threading.Thread(target=self._pipe, args=(conn,), daemon=True).start()

    def _pipe(self, client: socket.socket) -> None:
        try:
            time.sleep(self.delay_request_s)
            try:
                up = socket.create_connection(("127.0.0.1", self.upstream), timeout=2)
            except OSError:
                return  # upstream gone: the client's connection is closed without an answer
            answered = False
            while True:
                r, _, _ = select.select([client, up], [], [], 30)
                if not r:
                    return
                for s in r:
                    data = s.recv(65536)
                    if not data:
                        if s is client:
                            self.client_closed.set()
                        return
                    if s is client:
                        answered = False  # the next answer on this keep-alive is delayed too
                    elif not answered:
                        answered = True
                        time.sleep(self.delay_answer_s)
                    (up if s is client else client).sendall(data)
        except OSError:
            return
        finally:
            client.close()

    def close(self) -> None:
        self._stop = True
        self.sock.close()


# ------------------------------------------------------------------ without a server
def test_endpoint_urls():
    ep = parse_endpoint("openai+http://gpu-box:8000/v1#ibert-lora")
    assert (ep.scheme, ep.host, ep.port, ep.path, ep.model) == (
        "http", "gpu-box", 8000, "/v1", "ibert-lora")
    assert parse_endpoint("openai+https://h/api/v1?prompt_format=5#m").port == 443
    assert parse_endpoint("openai+https://h/api/v1?prompt_format=5#m").prompt_format == 5
    assert is_remote("OPENAI+HTTP://h:1/v1") and not is_remote("/models/x")
    for bad, why in [
        ("openai+http://user:secret@h:8000/v1#m", "credentials"),
        ("openai+http://h:8000/containers/create#m", "/v1"),
        ("openai+http://h:8000/v1?x=1#m", "prompt_format"),
        ("openai+http://h:99999/v1", "out of range"),
        ("openai+ftp://h/v1", "expected"),
        ("openai+http:///v1", "no host"),
    ]:
        with pytest.raises(IbertError, match=why):
            parse_endpoint(bad)


def test_key_only_from_an_ibert_variable():
    assert check_key_env(None) == "IBERT_API_KEY"
    assert check_key_env("IBERT_TEAM_KEY") == "IBERT_TEAM_KEY"
    for bad in ("AWS_SECRET_ACCESS_KEY", "OPENAI_API_KEY", "sk-live-1234567890", "IBERT_"):
        with pytest.raises(IbertError, match="IBERT_"):
            check_key_env(bad)
    from ibert_lsp import config as cfg

    s, problems = cfg.apply(cfg.Settings(), {"ibert": {"apiKeyEnv": "sk-abcdef0123456789"}})
    assert s.api_key_env is None and "never hold the key" in problems[0]
    s, problems = cfg.apply(cfg.Settings(), {"apiKeyEnv": "IBERT_TEAM_KEY"})
    assert s.api_key_env == "IBERT_TEAM_KEY" and not problems


def test_unreachable_server_is_a_state_not_a_crash():
    port = free_port()  # nothing listens there
    gen = RemoteGenerator.load(f"openai+http://127.0.0.1:{port}/v1#m")
    assert gen.remote_state == "unreachable" and "refused" in gen.last_error
    t0 = time.perf_counter()
    assert gen.generate("x", n=3) == []  # fails fast during the back-off
    assert time.perf_counter() - t0 < 0.1
    from ibert_lsp.model.hf import ModelLoadError

    with pytest.raises(ModelLoadError, match="unreachable: connection refused"):
        RemoteGenerator.load(f"openai+http://127.0.0.1:{port}/v1#m", require_reachable=True)


def test_cli_unreachable_model_is_one_line_exit_2():
    port = free_port()
    p = subprocess.run([sys.executable, "-m", "ibert_lsp.cli", "complete", "-", "--model",
                        f"openai+http://127.0.0.1:{port}/v1#m", "--table-name", "t"],
                       input="expr = t.filter(t.a > 1)\n", capture_output=True, text=True, timeout=60,
                       cwd=ROOT, env=server_env(), check=False)
    assert p.returncode == 2, p.stderr
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and "unreachable" in lines[0] and "Traceback" not in p.stderr


# ------------------------------------------------------------------ the real server
@pytest.fixture(scope="module")
def served():
    """`transformers serve <micro model>/merged` on 127.0.0.1; killed at the end."""
    run_dir, _ = micro_run()
    model_dir = run_dir / "model"
    port = free_port()
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
           "TOKENIZERS_PARALLELISM": "false", "OMP_NUM_THREADS": "1"}
    log = open(model_dir.parent / "serve.log", "wb")  # noqa: SIM115 - open while it serves
    proc = subprocess.Popen(
        [sys.executable, "-c", ("import sys; from transformers.cli.transformers import main; "
                                "sys.argv[0] = 'transformers'; sys.exit(main())"), "serve",
         str(model_dir / "merged"), "--host", "127.0.0.1", "--port", str(port),
         "--device", "cpu", "--log-level", "warning"],
        stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    deadline = time.monotonic() + 90
    while True:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1).read()
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.fail("transformers serve did not start: "
                            + (model_dir.parent / "serve.log").read_text()[-2000:])
            time.sleep(0.2)
    yield {"port": port, "model_dir": model_dir, "proc": proc,
           "url": f"openai+http://127.0.0.1:{port}/v1#{model_dir / 'merged'}"}
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(10)
    log.close()


def _reference_greedy(model_dir: Path, prompt: str, max_new: int) -> str:
    """What the served weights produce, computed here with transformers directly."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(model_dir / "merged"))
    model = AutoModelForCausalLM.from_pretrained(str(model_dir / "merged")).eval()
    ids = tok(prompt, return_tensors="pt")
    with torch.inference_mode():
        out = model.generate(**ids, max_new_tokens=max_new, do_sample=False)
    return tok.decode(out[0, ids["input_ids"].shape[-1]:], skip_special_tokens=True)


def test_remote_matches_the_served_weights_and_checks_the_format(served):
    gen = RemoteGenerator.load(served["url"])
    assert gen.remote_state == "ready"
    # the served model's id is a directory on this machine: its manifest was read
    assert gen.info["format_checked"] == "manifest"
    assert gen.info["prompt_format"] == prompts.PROMPT_FORMAT_VERSION
    inp = {"prefix": "expr = events.filter(events.amount > 5).", "suffix": ""}
    prompt = prompts.build_prompt("code_completion", inp, {"tables": {
        "events": {"schema": {"user_id": "int64", "amount": "float64"}}}})
    got = gen.generate(prompt, n=1, max_new_tokens=16)
    want = prompts.strip_special(_reference_greedy(served["model_dir"], prompt, 16))
    assert got == [want] and want
    assert gen.stats["ok"] == 1 and gen.info.get("special_tokens") == "stripped by the server"
    got2 = gen.generate(prompt, n=3, max_new_tokens=16)  # n is ignored by this server
    assert got2 and got2[0] == want
    assert gen.status()["connections_opened"] <= 3  # keep-alive: later requests reuse one
    before = gen.status()["connections_opened"]
    for _ in range(3):
        gen.generate(prompt, max_new_tokens=4)
    assert gen.status()["connections_opened"] == before
    with pytest.raises(IbertError, match="prompt format 4"):
        RemoteGenerator.load(served["url"].replace("/v1#", "/v1?prompt_format=4#"))


def test_slow_server_is_cut_at_the_deadline_and_cancel_closes_the_request(served):
    relay = Relay(served["port"])
    try:
        gen = RemoteGenerator.load(served["url"].replace(str(served["port"]),
                                                         str(relay.port)))
        relay.delay_answer_s = 1.5
        t0 = time.perf_counter()
        assert gen.generate("<|qa|>", max_new_tokens=4, deadline_s=0.3) == []
        assert time.perf_counter() - t0 < 0.6 and gen.stats["late"] == 1
        assert gen.remote_state == "ready"  # slow is not down
        cancel = threading.Event()
        threading.Timer(0.2, cancel.set).start()
        relay.client_closed.clear()
        t0 = time.perf_counter()
        assert gen.generate("<|qa|>", max_new_tokens=4, cancel=cancel) == []
        assert time.perf_counter() - t0 < 0.5 and gen.stats["cancelled"] == 1
        assert relay.client_closed.wait(2)  # the request's connection was closed
        relay.delay_answer_s = 0.0
        assert gen.generate("<|qa|>", max_new_tokens=4)  # and the next one works
    finally:
        relay.close()


DOC = '''import ibis
from ibis import _

events = ibis.table({"user_id": "int64", "amount": "float64", "country": "string"}, name="events")

q = events.filter(events.amout > 10)
m = events.country + events.amount
r = events.'''


async def _status(client: LanguageClient) -> dict:
    return await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command="ibert.status"))


@pytest_lsp.fixture(scope="module",
                    config=ClientServerConfig(server_command=SERVER, server_env=server_env()))
async def client(lsp_client: LanguageClient, served):
    relay = Relay(served["port"])
    url = served["url"].replace(str(served["port"]), str(relay.port))
    await initialize(lsp_client, {"ibert": {"modelPath": url, "maxLatencyMs": 3000}})
    for _ in range(400):
        if (await _status(lsp_client))["model"] == "ready":
            break
        await asyncio.sleep(0.05)
    lsp_client.relay = relay
    lsp_client.served = served
    yield
    relay.close()
    await lsp_client.shutdown_session()


@pytest.mark.asyncio(loop_scope="module")
async def test_lsp_features_through_the_served_model(client: LanguageClient):
    st = await _status(client)
    assert st["model"] == "ready", st
    assert st["stats"]["remote_model"]["format_checked"] == "manifest"
    uri = "file:///tmp/ibert_remote.py"
    open_doc(client, uri, DOC)
    diags = await diagnostics_for(client, uri, predicate=lambda d: bool(d))
    assert any("amout" in d.message for d in diags)
    res = await client.text_document_inline_completion_async(types.InlineCompletionParams(
        text_document=types.TextDocumentIdentifier(uri=uri), position=pos_of(DOC, "r = events."),
        context=types.InlineCompletionContext(
            trigger_kind=types.InlineCompletionTriggerKind.Invoked)))
    asked = (await _status(client))["stats"]["remote_model"]
    assert asked["ok"] >= 1 and asked["failed"] == 0  # the served model answered
    from ibert_lsp.validate.safe_eval import evaluate

    schemas = {"events": {"user_id": "int64", "amount": "float64", "country": "string"}}
    for item in res.items:  # whatever it suggested passed the gate
        evaluate("events." + item.insert_text, schemas)
    comp = await client.text_document_completion_async(types.CompletionParams(
        text_document=types.TextDocumentIdentifier(uri=uri), position=pos_of(DOC, "r = events.")))
    labels = [i.label for i in (comp.items if hasattr(comp, "items") else comp)]
    assert "amount" in labels
    amout = [d for d in diags if "amout" in d.message]
    actions = await client.text_document_code_action_async(types.CodeActionParams(
        text_document=types.TextDocumentIdentifier(uri=uri),
        range=amout[0].range, context=types.CodeActionContext(diagnostics=amout)))
    titles = [a.title for a in actions or []]
    assert any("amount" in t for t in titles), titles  # the rule fix
    # a type error no rule fixes: the quick fix asks the served model
    mismatch = [d for d in diags if d.range.start.line == 6]
    assert mismatch, [d.message for d in diags]
    before = (await _status(client))["stats"]["remote_model"]["requests"]
    await client.text_document_code_action_async(types.CodeActionParams(
        text_document=types.TextDocumentIdentifier(uri=uri),
        range=mismatch[0].range, context=types.CodeActionContext(diagnostics=mismatch)))
    after = (await _status(client))["stats"]["remote_model"]
    assert after["requests"] > before and after["failed"] == 0


@pytest.mark.asyncio(loop_scope="module")
async def test_lsp_slow_server_keeps_the_latency_budget(client: LanguageClient):
    uri = "file:///tmp/ibert_remote_slow.py"
    doc = DOC.replace("r = events.", "s = events.")
    client.workspace_did_change_configuration(types.DidChangeConfigurationParams(
        settings={"ibert": {"maxLatencyMs": 300}}))
    await asyncio.sleep(0.2)
    open_doc(client, uri, doc)
    client.relay.delay_answer_s = 2.0
    late_before = (await _status(client))["stats"]["remote_model"]["late"]
    t0 = time.perf_counter()
    res = await client.text_document_inline_completion_async(types.InlineCompletionParams(
        text_document=types.TextDocumentIdentifier(uri=uri),
        position=pos_of(doc, "s = events."),
        context=types.InlineCompletionContext(
            trigger_kind=types.InlineCompletionTriggerKind.Invoked)))
    took = time.perf_counter() - t0
    client.relay.delay_answer_s = 0.0
    st = await _status(client)
    assert list(res.items) == [] and took < 1.5, (took, st["stats"]["remote_model"])
    st = await _status(client)
    assert st["stats"]["remote_model"]["late"] == late_before + 1, json.dumps(st["stats"])
    assert st["model"] == "ready"


@pytest.mark.asyncio(loop_scope="module")
async def test_lsp_server_killed_mid_request(client: LanguageClient):
    uri = "file:///tmp/ibert_remote_killed.py"
    doc = DOC.replace("r = events.", "k = events.select(")
    open_doc(client, uri, doc)
    client.workspace_did_change_configuration(types.DidChangeConfigurationParams(
        settings={"ibert": {"maxLatencyMs": 5000}}))
    await asyncio.sleep(0.2)
    relay, proc = client.relay, client.served["proc"]
    relay.delay_request_s = 1.0  # the request is in flight when the server dies
    task = asyncio.ensure_future(client.text_document_inline_completion_async(
        types.InlineCompletionParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            position=pos_of(doc, "k = events.select("),
            context=types.InlineCompletionContext(
                trigger_kind=types.InlineCompletionTriggerKind.Invoked))))
    await asyncio.sleep(0.3)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(10)
    res = await asyncio.wait_for(task, 10)
    assert list(res.items) == []
    st = await _status(client)
    assert st["model"] == "unreachable", st
    assert "closed the connection" in st["model_error"] or "refused" in st["model_error"]
    warned = await wait_for(lambda: [m for m in client.messages
                                     if "unreachable" in m.message], what="a warning")
    assert len(warned) == 1
    # the deterministic features keep working, at once
    t0 = time.perf_counter()
    comp = await client.text_document_completion_async(types.CompletionParams(
        text_document=types.TextDocumentIdentifier(uri=uri),
        position=pos_of(doc, "k = events.select(")))
    assert comp is not None and time.perf_counter() - t0 < 2
    diags = await diagnostics_for(client, uri, predicate=lambda d: bool(d))
    assert any("amout" in d.message for d in diags)
    relay.delay_request_s = 0.0
    t0 = time.perf_counter()
    res = await client.text_document_inline_completion_async(types.InlineCompletionParams(
        text_document=types.TextDocumentIdentifier(uri=uri),
        position=pos_of(doc, "k = events.select("),
        context=types.InlineCompletionContext(
            trigger_kind=types.InlineCompletionTriggerKind.Invoked)))
    assert list(res.items) == [] and time.perf_counter() - t0 < 1.0


def test_comes_back_when_the_server_returns():
    """Down (nothing listens) → unreachable; a real server on that port → ready again."""
    port = free_port()
    gen = RemoteGenerator.load(f"openai+http://127.0.0.1:{port}/v1")
    assert gen.remote_state == "unreachable"
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class H(BaseHTTPRequestHandler):
        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            out = json.dumps({"choices": [{"index": 0, "text": body["prompt"][::-1]}]}).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(out)))
            self.end_headers()
            self.wfile.write(out)

        def log_message(self, *a):
            pass

    srv = ThreadingHTTPServer(("127.0.0.1", port), H)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        time.sleep(max(0.0, gen._retry_at - time.monotonic()))
        assert gen.generate("abc") == ["cba"] and gen.remote_state == "ready"
    finally:
        srv.shutdown()
        srv.server_close()

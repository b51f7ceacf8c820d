"""A Generator over a model served elsewhere: the legacy OpenAI `POST /v1/completions` API.

vLLM (`--enable-lora --lora-modules ibert=…`), llama.cpp's server and `transformers serve` all
expose that API with raw prompts, so one team GPU box can serve every editor. `modelPath` (and
`--model` on the CLI) names it as

    openai+http://gpu-box:8000/v1#ibert-lora          (or openai+https://…)
    openai+http://gpu-box:8000/v1?prompt_format=5#ibert-lora

The fragment is the served model (or LoRA adapter) name; `prompt_format` states the prompt
format the served model was trained with, for when its manifest cannot be read.

Why the rules below (docs/security.md, "Settings"): a workspace's settings are untrusted, and
they may name an endpoint. So the URL may hold no credentials; the API key comes only from an
environment variable of the process that started ibert, whose *name* the settings give and
which must start with `IBERT_` (a workspace can never make ibert send `AWS_SECRET_…` or
`OPENAI_API_KEY` to a host it chose); the path must end in `/v1` and carry no other query, so
a setting can only ever reach `…/v1/completions` and `…/v1/models`; redirects are never
followed; responses are size-capped and parsed as data, and whatever text comes back goes
through the gate like any model's output.

Networking is the standard library's `http.client` (httpx is not in the environment): a small
keep-alive pool, request and connect timeouts, and cancellation that closes the request's
socket — the server (vLLM, uvicorn) sees the disconnect and stops generating. A server that
cannot be reached turns the state to `unreachable` with the reason; requests then fail fast
(back-off 1 → 10 s) and the first success turns it back to `ready`.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import select
import socket
import ssl
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from ibert_lsp.errors import IbertError
from ibert_lsp.model.hf import MANIFEST, ModelLoadError
from ibert_lsp.prompting import prompts

SCHEMES = {"openai+http": "http", "openai+https": "https"}
DEFAULT_KEY_ENV = "IBERT_API_KEY"
KEY_ENV_RE = re.compile(r"IBERT_[A-Z0-9_]{1,64}")
MAX_BODY = 4 * 1024 * 1024  # bytes of a response: a hostile server cannot flood memory
MAX_STOP = 4  # the OpenAI API's limit on stop strings; the rest are cut here
POOL_SIZE = 4
POLL_S = 0.02  # how often a waiting request looks at its cancel event and deadline
BACKOFF_S = (1.0, 2.0, 5.0, 10.0)


def is_remote(model_path: str | None) -> bool:
    """Whether a `modelPath` names a served model rather than a local directory."""
    return bool(model_path) and str(model_path).split("://", 1)[0].lower() in SCHEMES


@dataclass(frozen=True)
class Endpoint:
    scheme: str  # http | https
    host: str
    port: int
    path: str  # the API root, ending in /v1
    model: str  # served model / adapter name ('' = the server's only model)
    prompt_format: int | None  # stated in the URL

    @property
    def base_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}:{self.port}{self.path}"

    def __str__(self) -> str:
        return self.base_url + (f"#{self.model}" if self.model else "")


def parse_endpoint(url: str) -> Endpoint:
    """`openai+http(s)://host[:port]/…/v1[?prompt_format=N][#model]`; IbertError otherwise."""
    raw = str(url).strip()
    scheme, sep, _ = raw.partition("://")
    if not sep or scheme.lower() not in SCHEMES:
        raise IbertError(f"model endpoint {raw!r}: expected openai+http://host:port/v1#model")
    try:
        parts = urlsplit("http://" + raw.split("://", 1)[1])
        port = parts.port
    except ValueError as exc:
        raise IbertError(f"model endpoint {raw!r}: {exc}") from None
    if parts.username is not None or parts.password is not None:
        raise IbertError("model endpoint: the URL may not hold credentials; put the key in an "
                         "environment variable and name it in the apiKeyEnv setting")
    if not parts.hostname:
        raise IbertError(f"model endpoint {raw!r} names no host")
    path = parts.path.rstrip("/")
    if not path.endswith("/v1") or any(not re.fullmatch(r"[A-Za-z0-9._~-]+", seg)
                                       for seg in path.split("/")[1:]):
        raise IbertError(f"model endpoint {raw!r}: the path must be the API root ending in /v1 "
                         "(e.g. http://gpu-box:8000/v1)")
    fmt = None
    if parts.query:
        query = parse_qs(parts.query, keep_blank_values=True)
        if set(query) != {"prompt_format"} or len(query["prompt_format"]) != 1 \
                or not query["prompt_format"][0].isdigit():
            raise IbertError(f"model endpoint {raw!r}: the only query allowed is "
                             "?prompt_format=N")
        fmt = int(query["prompt_format"][0])
    scheme_l = SCHEMES[scheme.lower()]
    model = unquote(parts.fragment)
    if len(model) > 512 or any(ord(ch) < 32 for ch in model):
        raise IbertError("model endpoint: the model name after '#' is not a plain name")
    return Endpoint(scheme_l, parts.hostname, port or (443 if scheme_l == "https" else 80),
                    path, model, fmt)


def check_key_env(name: str | None) -> str:
    """The environment variable that may hold the API key (default IBERT_API_KEY)."""
    name = name or DEFAULT_KEY_ENV
    if not KEY_ENV_RE.fullmatch(name):
        raise IbertError(f"apiKeyEnv {name[:40]!r} refused: it must name an environment "
                         "variable starting with IBERT_ (e.g. IBERT_API_KEY), never hold a key")
    return name


class RemoteError(Exception):
    """A request that did not give an answer; `unreachable` says whether the server is gone."""

    def __init__(self, message: str, *, unreachable: bool = False, status: int | None = None):
        super().__init__(message)
        self.message = message
        self.unreachable = unreachable
        self.status = status


class _Stopped(Exception):
    """The caller cancelled the request, or its deadline passed: the connection was closed."""

    def __init__(self, why: str):
        super().__init__(why)
        self.why = why


class _Pool:
    """Idle keep-alive connections to one endpoint, newest first."""

    def __init__(self, ep: Endpoint, connect_timeout_s: float):
        self.ep = ep
        self.connect_timeout_s = connect_timeout_s
        self._idle: list[http.client.HTTPConnection] = []
        self._lock = threading.Lock()
        self.opened = 0

    def get(self) -> tuple[http.client.HTTPConnection, bool]:
        """(connection, reused)."""
        with self._lock:
            if self._idle:
                return self._idle.pop(), True
        self.opened += 1
        if self.ep.scheme == "https":
            return http.client.HTTPSConnection(self.ep.host, self.ep.port,
                                               timeout=self.connect_timeout_s,
                                               context=ssl.create_default_context()), False
        return http.client.HTTPConnection(self.ep.host, self.ep.port,
                                          timeout=self.connect_timeout_s), False

    def put(self, conn: http.client.HTTPConnection) -> None:
        with self._lock:
            if len(self._idle) < POOL_SIZE:
                self._idle.append(conn)
                return
        conn.close()

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for c in idle:
            c.close()


def _local_manifest(name: str | None) -> dict | None:
    """An ibert manifest beside a served model whose name is a path on this machine (a server
    on 127.0.0.1 or a shared disk: `transformers serve DIR`, vLLM's `root`): the model dir
    itself, or its parent (`model/merged`, `model/adapter`)."""
    if not name or not name.startswith(("/", "~")) or len(name) > 4096:
        return None
    p = Path(name.split("@", 1)[0]).expanduser()
    for d in (p, p.parent):
        man = d / MANIFEST
        try:
            if man.is_file() and man.stat().st_size < 1_000_000:
                data = json.loads(man.read_text(encoding="utf-8"))
                if isinstance(data, dict) and data.get("format") == "ibert-model":
                    return data
        except (OSError, ValueError):
            continue
    return None


class RemoteGenerator:
    """Generator backed by an OpenAI-compatible completions server."""

    def __init__(self, endpoint: Endpoint, *, api_key: str | None = None,
                 key_env: str = DEFAULT_KEY_ENV, timeout_s: float = 30.0,
                 connect_timeout_s: float = 2.0):
        self.endpoint = endpoint
        self._api_key = api_key
        self.key_env = key_env
        self.timeout_s = timeout_s
        self.connect_timeout_s = connect_timeout_s
        self._pool = _Pool(endpoint, connect_timeout_s)
        self._lock = threading.Lock()
        self.remote_state = "ready"  # ready | unreachable | error
        self.last_error: str | None = None
        self._failures = 0
        self._retry_at = 0.0
        self.extra_fields: dict = {"skip_special_tokens": False}  # vLLM: keep placeholders
        self.stats = {"requests": 0, "ok": 0, "failed": 0, "cancelled": 0, "late": 0,
                      "last_ms": None}
        self.info: dict = {"remote": str(endpoint), "model": endpoint.model,
                           "prompt_format": endpoint.prompt_format, "format_checked": False,
                           "api_key": "none"}

    # ------------------------------------------------------------------ loading
    @classmethod
    def load(cls, url: str, *, api_key_env: str | None = None, timeout_s: float = 30.0,
             connect_timeout_s: float = 2.0, require_reachable: bool = False,
             env: dict | None = None) -> RemoteGenerator:
        """Parse the URL, read the key, probe `GET /v1/models` and check the prompt format.

        An unreachable server gives a generator in state `unreachable` (it recovers when the
        server comes back) unless `require_reachable` (the CLI): then ModelLoadError. A
        refused key or a prompt-format mismatch is always a ModelLoadError."""
        ep = parse_endpoint(url)
        key_env = check_key_env(api_key_env)
        key = (os.environ if env is None else env).get(key_env) or None
        gen = cls(ep, api_key=key, key_env=key_env, timeout_s=timeout_s,
                  connect_timeout_s=connect_timeout_s)
        gen.info["api_key"] = f"from ${key_env}" if key else f"none (${key_env} not set)"
        served = None
        try:
            listing = gen._json("GET", "/models", None, timeout_s=max(connect_timeout_s, 5.0))
            gen._mark_ok()
            served = gen._find_model(listing)
        except RemoteError as exc:
            if exc.status in (401, 403):
                raise ModelLoadError(f"model server {ep.base_url} refused the API key "
                                     f"(HTTP {exc.status}); set ${key_env}") from None
            if exc.unreachable:
                gen._mark_failed(exc.message)
                if require_reachable:
                    raise ModelLoadError(f"model server {ep.base_url} is unreachable: "
                                         f"{exc.message}") from None
            # other answers (404: a server without /models) leave the model usable
        gen._check_format(served)
        return gen

    def _find_model(self, listing) -> dict | None:
        data = listing.get("data") if isinstance(listing, dict) else None
        if not isinstance(data, list):
            return None
        names = {self.endpoint.model, self.endpoint.model.split("@", 1)[0]}
        for entry in data[:1000]:
            if isinstance(entry, dict) and entry.get("id") in names:
                return entry
        return None

    def _check_format(self, served: dict | None) -> None:
        want = prompts.PROMPT_FORMAT_VERSION
        candidates = [self.endpoint.model]
        if served:
            candidates += [str(served.get(k)) for k in ("root", "parent") if served.get(k)]
        manifest = next((m for m in map(_local_manifest, candidates) if m), None)
        stated = self.endpoint.prompt_format
        if manifest is not None:
            fmt = manifest.get("prompt_format")
            if stated is not None and stated != fmt:
                raise ModelLoadError(f"model endpoint states prompt format {stated} but the "
                                     f"served model's {MANIFEST} says {fmt}")
            self.info.update(prompt_format=fmt, format_checked="manifest")
        elif stated is not None:
            self.info.update(prompt_format=stated, format_checked="settings")
        else:
            self.info["format_checked"] = False
            return
        if self.info["prompt_format"] != want:
            raise ModelLoadError(
                f"the served model {self.endpoint} was trained with prompt format "
                f"{self.info['prompt_format']}; this ibert uses {want}: serve a model built by "
                "this version (`ibert model build` / `ibert train`)")

    # ------------------------------------------------------------------ state
    def _mark_ok(self) -> None:
        with self._lock:
            self.remote_state, self.last_error = "ready", None
            self._failures, self._retry_at = 0, 0.0

    def _mark_failed(self, message: str, *, unreachable: bool = True) -> None:
        with self._lock:
            self.last_error = message
            if unreachable:
                self.remote_state = "unreachable"
                self._retry_at = time.monotonic() + BACKOFF_S[min(self._failures,
                                                                  len(BACKOFF_S) - 1)]
                self._failures += 1
            else:
                self.remote_state = "error"

    def status(self) -> dict:
        """What `ibert.status` shows: endpoint, state, last error, counters."""
        return {"endpoint": str(self.endpoint), "state": self.remote_state,
                "error": self.last_error, **self.info, **self.stats,
                "connections_opened": self._pool.opened}

    # ------------------------------------------------------------------ HTTP
    def _headers(self, body: bytes | None) -> dict:
        h = {"Accept": "application/json", "User-Agent": "ibert-lsp"}
        if body is not None:
            h["Content-Type"] = "application/json"
        if self._api_key:
            h["Authorization"] = f"Bearer {self._api_key}"
        return h

    def _json(self, method: str, sub: str, payload: dict | None, *, timeout_s: float,
              cancel: threading.Event | None = None):
        body = None if payload is None else json.dumps(payload).encode()
        deadline_at = time.monotonic() + timeout_s
        for attempt in (0, 1):
            conn, reused = self._pool.get()
            try:
                return self._exchange(conn, method, self.endpoint.path + sub, body,
                                      deadline_at, cancel)
            except _Stopped:
                raise
            except RemoteError as exc:
                if reused and exc.unreachable and attempt == 0:
                    continue  # a keep-alive connection the server had closed: try a new one
                raise
        raise RemoteError("no connection")  # pragma: no cover - the loop always returns

    def _exchange(self, conn, method, path, body, deadline_at, cancel):
        """One request on `conn`; the connection goes back to the pool only after a clean
        answer. Waiting polls the socket so that a cancel or the deadline closes it at once."""
        keep = False
        try:
            if conn.sock is None:  # connecting counts against the request's time too
                conn.timeout = max(0.05, min(self.connect_timeout_s,
                                             deadline_at - time.monotonic()))
            try:
                conn.request(method, path, body=body, headers=self._headers(body))
            except (OSError, http.client.HTTPException) as exc:
                raise RemoteError(_why(exc), unreachable=True) from None
            sock = conn.sock
            while True:
                if cancel is not None and cancel.is_set():
                    raise _Stopped("cancelled")
                left = deadline_at - time.monotonic()
                if left <= 0:
                    raise _Stopped("late")
                try:
                    ready, _, _ = select.select([sock], [], [], min(POLL_S, left))
                except (OSError, ValueError) as exc:
                    raise RemoteError(_why(exc), unreachable=True) from None
                if ready:
                    break
            sock.settimeout(max(0.05, deadline_at - time.monotonic()))
            try:
                resp = conn.getresponse()
                data = resp.read(MAX_BODY + 1)
            except TimeoutError:
                raise _Stopped("late") from None
            except (OSError, http.client.HTTPException) as exc:
                raise RemoteError(_why(exc), unreachable=True) from None
            if len(data) > MAX_BODY:
                raise RemoteError(f"response over {MAX_BODY} bytes refused")
            if resp.status != 200:
                detail = _detail(data)
                raise RemoteError(f"HTTP {resp.status}{': ' + detail if detail else ''}",
                                  status=resp.status)
            try:
                out = json.loads(data)
            except ValueError:
                raise RemoteError("the server's answer is not JSON") from None
            keep = not resp.will_close
            return out
        finally:
            if keep:
                self._pool.put(conn)
            else:
                conn.close()

    # ------------------------------------------------------------------ generation
    def generate(
        self,
        prompt: str,
        n: int = 1,
        max_new_tokens: int = 64,
        stop: tuple[str, ...] | list[str] = (),
        *,
        temperature: float = 0.0,
        deadline_s: float | None = None,
        cancel: threading.Event | None = None,
    ) -> list[str]:
        """Up to `n` distinct continuations; [] when cancelled, late, or the server is down
        (the reason is in `status()`). Cut at the stop strings here too: servers differ."""
        n = max(1, int(n))
        if cancel is not None and cancel.is_set():
            return []
        with self._lock:
            if self.remote_state == "unreachable" and time.monotonic() < self._retry_at:
                return []  # fail fast while the server is down; retried after the back-off
        stop = tuple(s for s in stop if s)
        all_stop = stop + tuple(s for s in prompts.SPECIAL_TOKENS if s not in stop)
        payload = {"prompt": prompt, "max_tokens": int(max_new_tokens),
                   "temperature": float(temperature), "n": n}
        if self.endpoint.model:
            payload["model"] = self.endpoint.model
        if n > 1:
            payload["best_of"] = n
        if stop:
            payload["stop"] = list(stop[:MAX_STOP])
        if temperature and temperature > 0:
            payload["top_p"] = 0.95
        timeout = self.timeout_s if deadline_s is None else min(self.timeout_s, deadline_s)
        t0 = time.perf_counter()
        self.stats["requests"] += 1
        try:
            try:
                answer = self._json("POST", "/completions", {**payload, **self.extra_fields},
                                    timeout_s=timeout, cancel=cancel)
            except RemoteError as exc:
                if exc.status not in (400, 422) or not self.extra_fields:
                    raise
                # a server that refuses the extra fields (transformers serve: 422): without them
                self.extra_fields = {}
                self.info["special_tokens"] = "stripped by the server"
                left = timeout - (time.perf_counter() - t0)
                answer = self._json("POST", "/completions", payload,
                                    timeout_s=max(0.05, left), cancel=cancel)
        except _Stopped as stopped:
            self.stats["cancelled" if stopped.why == "cancelled" else "late"] += 1
            return []
        except RemoteError as exc:
            self.stats["failed"] += 1
            self._mark_failed(exc.message, unreachable=exc.unreachable)
            return []
        self._mark_ok()
        self.stats["ok"] += 1
        self.stats["last_ms"] = round((time.perf_counter() - t0) * 1000, 1)
        choices = answer.get("choices") if isinstance(answer, dict) else None
        results: list[str] = []
        for ch in sorted((c for c in (choices or [])[:64] if isinstance(c, dict)),
                         key=lambda c: c.get("index", 0) if isinstance(c.get("index"), int)
                         else 0):
            text = ch.get("text")
            if not isinstance(text, str):
                continue
            text = prompts.strip_special(prompts.cut_at_stop(text[:65536], all_stop))
            if text not in results:
                results.append(text)
        return results[:n]

    def close(self) -> None:
        self._pool.close()


def _why(exc: BaseException) -> str:
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, socket.gaierror):
        return f"unknown host ({exc.strerror or exc})"
    if isinstance(exc, (TimeoutError, socket.timeout)):
        return "connection timed out"
    if isinstance(exc, (http.client.RemoteDisconnected, ConnectionResetError,
                        BrokenPipeError)):
        return "the server closed the connection without answering"
    text = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}{': ' + text if text else ''}"


def _detail(data: bytes) -> str:
    try:
        obj = json.loads(data)
    except ValueError:
        return data[:120].decode("utf-8", "replace").strip()
    if isinstance(obj, dict):
        d = obj.get("detail") or obj.get("error") or obj.get("message")
        if isinstance(d, dict):
            d = d.get("message")
        return str(d)[:200] if d else ""
    return ""

"""Latency of the running ibert language server over stdio, against its targets, with
jedi-language-server's completion on the same file as the reference.

    .venv/bin/python bench/lsp_latency.py [--n 100] [--model auto|off|PATH] [--out FILE]

Every number is a real LSP round trip from a pygls client to a server subprocess, each request
after an edit (a new document version), as when typing. Prints a table (measured / target
ratio: < 1 is within target) and writes JSON (default bench/results/lsp_latency.json).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import statistics
import sys
import time
from pathlib import Path

from lsprotocol import types

sys.path.insert(0, str(Path(__file__).resolve().parent))
from lsp_session import Session

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "demo.py"

TARGETS = {  # metric -> (target, unit)
    "completion_p95_ms": (50.0, "ms"),
    "diagnostics_after_edit_p95_ms": (150.0, "ms"),
    "inline_completion_p95_ms": (500.0, "ms"),
    "sql_to_ibis_resolve_p95_ms": (1000.0, "ms"),
    "server_rss_mib": (1024.0, "MiB"),
}


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    k = (len(values) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (k - lo)


def summary(values: list[float]) -> dict:
    return {"n": len(values), "p50": round(pct(values, 0.5), 2), "p95": round(pct(values, 0.95), 2),
            "mean": round(statistics.fmean(values), 2) if values else None,
            "max": round(max(values), 2) if values else None}


def rss_mib(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().split("\n"):
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def caps() -> types.ClientCapabilities:
    """The shared client capabilities (`ibert_lsp.client`); settings are pushed, not pulled."""
    from ibert_lsp.client import client_capabilities

    return client_capabilities(configuration=False)


def session(cmd: list[str], options: dict | None) -> Session:
    return Session(cmd, options, caps(), name="ibert-bench")


def pos_end(text: str) -> types.Position:
    lines = text.split("\n")
    return types.Position(line=len(lines) - 1, character=len(lines[-1]))


async def bench_completion(s: Session, base: str, n: int, uri: str) -> list[float]:
    out = []
    s.open(uri, base)
    await asyncio.sleep(0.5)
    tails = ["x{i} = revenue.", "y{i} = orders.", "z{i} = orders.filter(orders.amount > {i}).",
             'w{i} = orders.group_by("']
    for i in range(n):
        text = base + "\n" + tails[i % len(tails)].format(i=i)
        s.change(uri, text, i + 2)
        t0 = time.perf_counter()
        res = await s.client.text_document_completion_async(types.CompletionParams(
            text_document=types.TextDocumentIdentifier(uri=uri), position=pos_end(text),
            context=types.CompletionContext(
                trigger_kind=types.CompletionTriggerKind.TriggerCharacter,
                trigger_character=text[-1])))
        out.append((time.perf_counter() - t0) * 1000)
        items = res.items if hasattr(res, "items") else (res or [])
        if i == 0 and not items:
            raise RuntimeError("completion returned nothing")
    return out


async def bench_diagnostics(s: Session, base: str, n: int, uri: str) -> list[float]:
    out = []
    s.open(uri, base)
    await asyncio.sleep(0.5)
    for i in range(n):
        bad = "amout" if i % 2 == 0 else "amount"
        text = base + f"\nprobe = orders.filter(orders.{bad} > {i})\n"
        version = i + 2
        t0 = s.change(uri, text, version)
        end = t0 + 10
        while (uri, version) not in s.diag_seen and time.perf_counter() < end:
            await asyncio.sleep(0.001)
        if (uri, version) in s.diag_seen:
            out.append((s.diag_seen[(uri, version)] - t0) * 1000)
        await asyncio.sleep(0.03)  # think time between keystrokes
    return out


async def bench_inline(s: Session, base: str, n: int, uri: str) -> tuple[list[float], int]:
    out, nonempty = [], 0
    s.open(uri, base)
    await asyncio.sleep(0.5)
    tails = ["a{i} = orders.", "b{i} = orders.filter(orders.amount > {i}).", "c{i} = customers.",
             "d{i} = paid.", "e{i} = orders.group_by("]
    for i in range(n):
        text = base + "\n" + tails[i % len(tails)].format(i=i)
        s.change(uri, text, i + 2)
        t0 = time.perf_counter()
        res = await s.client.text_document_inline_completion_async(types.InlineCompletionParams(
            text_document=types.TextDocumentIdentifier(uri=uri), position=pos_end(text),
            context=types.InlineCompletionContext(
                trigger_kind=types.InlineCompletionTriggerKind.Automatic)))
        out.append((time.perf_counter() - t0) * 1000)
        nonempty += bool(res and res.items)
    return out, nonempty


async def bench_sql_to_ibis(s: Session, base: str, n: int, uri: str) -> tuple[list[float], int]:
    out, ok = [], 0
    for i in range(n):
        sql = (f'q = """SELECT customer_id, SUM(amount) AS total FROM orders '
               f"WHERE amount > {i + 1} AND status = 'paid' GROUP BY customer_id "
               f'ORDER BY total DESC LIMIT {i % 7 + 3}"""')
        text = base + "\n" + sql + "\n"
        if i == 0:
            s.open(uri, text)
        else:
            s.change(uri, text, i + 1)
        pos = types.Position(line=text.count("\n") - 1, character=10)
        actions = await s.client.text_document_code_action_async(types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            range=types.Range(start=pos, end=pos), context=types.CodeActionContext(diagnostics=[])))
        conv = [a for a in actions or [] if "Convert SQL to Ibis" in a.title]
        if not conv:
            continue
        t0 = time.perf_counter()
        try:
            resolved = await s.client.code_action_resolve_async(conv[0])
            ok += bool(resolved.edit)
        except Exception:
            pass
        out.append((time.perf_counter() - t0) * 1000)
    return out, ok


async def bench_jedi(base: str, n: int) -> dict | None:
    exe = shutil.which("jedi-language-server") or str(Path(sys.executable).parent /
                                                       "jedi-language-server")
    if not Path(exe).exists():
        return None
    s = session([exe], None)
    await s.start()
    uri = "file:///tmp/ibert_bench_jedi.py"
    try:
        first = base + "\nfirst = orders."
        s.open(uri, first)
        # first request pays jedi's import of ibis: measured separately
        t0 = time.perf_counter()
        await s.client.text_document_completion_async(types.CompletionParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            position=pos_end(first), context=None))
        first_ms = (time.perf_counter() - t0) * 1000
        out = []
        tails = ["x{i} = revenue.", "y{i} = orders.", "z{i} = orders.filter(orders.amount > {i}).",
                 'w{i} = orders.group_by("']
        for i in range(n):
            text = base + "\n" + tails[i % len(tails)].format(i=i)
            s.change(uri, text, i + 2)
            t0 = time.perf_counter()
            await s.client.text_document_completion_async(types.CompletionParams(
                text_document=types.TextDocumentIdentifier(uri=uri), position=pos_end(text),
                context=types.CompletionContext(
                    trigger_kind=types.CompletionTriggerKind.TriggerCharacter,
                    trigger_character=text[-1])))
            out.append((time.perf_counter() - t0) * 1000)
        return {"completion": summary(out), "first_request_ms": round(first_ms, 1)}
    finally:
        await s.stop()


async def main_async(args) -> dict:
    base = EXAMPLE.read_text()
    server = [sys.executable, "-m", "ibert_lsp"]
    options: dict = {"ibert": {"features": {"model": args.model != "off"},
                               "maxLatencyMs": args.max_latency_ms}}
    if args.model not in ("auto", "off"):
        options["ibert"]["modelPath"] = args.model
    results: dict = {"machine": {"python": platform.python_version(), "cpus": os.cpu_count(),
                                 "platform": platform.platform()},
                     "n": args.n, "file": str(EXAMPLE.relative_to(ROOT))}
    s = session(server, options)
    results["startup_s"] = round(await s.start(), 2)
    try:
        # wait for the model (if any) to finish loading
        t0 = time.perf_counter()
        st = {}
        while time.perf_counter() - t0 < 300:
            st = await s.client.workspace_execute_command_async(
                types.ExecuteCommandParams(command="ibert.status"))
            if st["model"] != "loading":
                break
            await asyncio.sleep(0.2)
        results["model"] = st.get("model")
        results["model_error"] = st.get("model_error")
        results["model_load_s"] = st.get("stats", {}).get("model_load_s")
        await asyncio.sleep(1.0)  # let start-up warm-up finish
        print(f"server up in {results['startup_s']} s; model: {results['model']}", flush=True)
        comp = await bench_completion(s, base, args.n, "file:///tmp/ibert_bench_c.py")
        results["completion"] = summary(comp)
        print(f"completion: {results['completion']}", flush=True)
        diag = await bench_diagnostics(s, base, args.n, "file:///tmp/ibert_bench_d.py")
        results["diagnostics_after_edit"] = summary(diag)
        print(f"diagnostics after edit: {results['diagnostics_after_edit']}", flush=True)
        if results["model"] == "ready":
            inl, nonempty = await bench_inline(s, base, max(10, args.n // 3),
                                               "file:///tmp/ibert_bench_i.py")
            results["inline_completion"] = {**summary(inl), "with_suggestion": nonempty}
            print(f"inline completion: {results['inline_completion']}", flush=True)
        sql, ok = await bench_sql_to_ibis(s, base, max(10, args.n // 5),
                                          "file:///tmp/ibert_bench_s.py")
        results["sql_to_ibis_resolve"] = {**summary(sql), "with_edit": ok}
        print(f"SQL->Ibis resolve: {results['sql_to_ibis_resolve']}", flush=True)
        st = await s.client.workspace_execute_command_async(
            types.ExecuteCommandParams(command="ibert.status"))
        results["server_side_handler_ms"] = st.get("handler_ms")
        print(f"server-side handler times: {st.get('handler_ms')}", flush=True)
        if s.pid:
            results["server_rss_mib"] = round(rss_mib(s.pid) or float("nan"), 1)
    finally:
        await s.stop()
    results["jedi_language_server"] = await bench_jedi(base, args.n)
    print(f"jedi-language-server: {results['jedi_language_server']}", flush=True)
    return results


def table(results: dict) -> str:
    rows = []

    def row(name, value, key):
        target, unit = TARGETS[key]
        if value is None or value != value:
            rows.append(f"| {name} | n/a | {target:g} {unit} | n/a |")
        else:
            rows.append(f"| {name} | {value:g} {unit} | {target:g} {unit} | "
                        f"{value / target:.2f} |")

    row("completion p95 (deterministic)", results.get("completion", {}).get("p95"),
        "completion_p95_ms")
    row("diagnostics after an edit p95", results.get("diagnostics_after_edit", {}).get("p95"),
        "diagnostics_after_edit_p95_ms")
    row("inline completion p95 (model)", results.get("inline_completion", {}).get("p95"),
        "inline_completion_p95_ms")
    row("SQL→Ibis code action resolve p95", results.get("sql_to_ibis_resolve", {}).get("p95"),
        "sql_to_ibis_resolve_p95_ms")
    row(f"server RSS (model: {results.get('model')})", results.get("server_rss_mib"),
        "server_rss_mib")
    out = ["| metric | measured | target | ratio |", "|---|---|---|---|", *rows]
    jedi = results.get("jedi_language_server")
    ours = results.get("completion", {})
    if jedi:
        jc = jedi["completion"]
        out.append("")
        out.append("| completion on the same file | p50 | p95 |")
        out.append("|---|---|---|")
        out.append(f"| ibert-lsp | {ours.get('p50')} ms | {ours.get('p95')} ms |")
        out.append(f"| jedi-language-server (reference) | {jc['p50']} ms | {jc['p95']} ms |")
        if ours.get("p95") and jc.get("p95"):
            out.append(f"| ratio ibert / jedi (p95) | | {ours['p95'] / jc['p95']:.2f} |")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--n", type=int, default=100, help="requests per measurement")
    p.add_argument("--model", default="auto",
                   help="auto (the default model if installed), off, or a model path")
    p.add_argument("--max-latency-ms", type=int, default=450)
    p.add_argument("--out", default=str(ROOT / "bench" / "results" / "lsp_latency.json"))
    args = p.parse_args(argv)
    results = asyncio.run(main_async(args))
    text = table(results)
    print("\n" + text)
    results["table"] = text
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(results, indent=2) + "\n")
    print(f"\nwrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

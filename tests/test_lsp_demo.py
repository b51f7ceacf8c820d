"""`ibert demo` drives the real server and prints what an editor would show."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_demo_without_model_shows_every_deterministic_feature(tmp_path):
    env = dict(os.environ, IBERT_HOME=str(tmp_path / "home"), PYTHONUNBUFFERED="1",
               PYTHONPATH=str(ROOT), IBERT_SHIPPED_MODEL="none")  # as if none shipped
    proc = subprocess.run([sys.executable, "-m", "ibert_lsp.cli", "demo", "--no-build"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=180)
    out = proc.stdout
    assert proc.returncode == 0, proc.stderr[-3000:] + out[-3000:]
    assert "the default model is not built" in out and "ibert model build" in out
    assert "(4 problems" in out
    assert "+big_orders = orders.filter(orders.amount > 100)" in out
    assert "+first_customer = customers.filter(customers.customer_id == 1)" in out
    assert "+by_status = orders.group_by(\"status\")" in out
    assert "  country        string" in out  # completion: columns first
    assert "no model loaded" in out  # inline completion says why it is empty
    assert '+top_sql = orders.filter(orders.status == "paid")' in out
    assert 'GROUP BY' in out and '"t0"."status" = \'paid\'' in out  # Ibis -> SQL (postgres)
    assert 'orders.group_by("status").agg(n=_.count())' in out  # hover Q&A example
    assert '+    """Paid revenue by country.' in out
    assert "handler errors: 0" in out


def test_demo_says_an_installed_model_of_another_prompt_format_is_out_of_date(tmp_path):
    from ibert_lsp.model.default import outdated_reason
    from ibert_lsp.prompting.prompts import PROMPT_FORMAT_VERSION

    model = tmp_path / "home" / "models" / "default"
    model.mkdir(parents=True)
    (model / "ibert.json").write_text('{"base": "base", "prompt_format": 1}')
    assert f"prompt format 1, this ibert uses {PROMPT_FORMAT_VERSION}" in outdated_reason(model)
    (model / "ibert.json").write_text("{not json")
    assert "unreadable" in outdated_reason(model)
    (model / "ibert.json").write_text('{"base": "base", "prompt_format": 1}')
    env = dict(os.environ, IBERT_HOME=str(tmp_path / "home"), PYTHONUNBUFFERED="1",
               PYTHONPATH=str(ROOT), IBERT_SHIPPED_MODEL="none")  # as if none shipped
    proc = subprocess.run([sys.executable, "-m", "ibert_lsp.cli", "demo", "--no-build"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "the default model is out of date: it was built for prompt format 1" in proc.stdout
    assert "handler errors: 0" in proc.stdout

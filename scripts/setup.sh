#!/usr/bin/env bash
# Create .venv and install ibert with its tested dependency set (CPU torch, pinned constraints).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
.venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip >/dev/null 2>&1 || true
# The CPU build first, so nothing below pulls a multi-GB CUDA build.
.venv/bin/python -m pip install -q --disable-pip-version-check torch==2.13.0 2>&1 | grep -v '^WARNING: Location' || true
.venv/bin/python -m pip install -q --disable-pip-version-check -c constraints.txt -e '.[dev]' 2>&1 \
  | grep -v '^WARNING: Location' || true
.venv/bin/python -c "import ibert_lsp, ibis, torch, pygls" || { echo "setup failed" >&2; exit 1; }

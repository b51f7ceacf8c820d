#!/usr/bin/env bash
# Set up ibert in .venv with its tested dependency set (CPU torch, pinned constraints).
#   scripts/setup.sh          runtime + dev Python packages
#   scripts/setup.sh --dev    also the test tools outside Python: Neovim (apt), the VS Code
#                             extension's node packages and the tools of its end-to-end test
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
quiet() { grep -v -e '^WARNING: Location' -e 'is ignored: it is neither' || true; }

if [ ! -x .venv/bin/python ]; then
  echo "[setup] creating .venv with $($PY --version)"
  "$PY" -m venv .venv
fi
echo "[setup] installing Python packages (CPU torch 2.13.0 + constraints.txt)"
.venv/bin/python -m pip install -q --disable-pip-version-check torch==2.13.0 2>&1 | quiet
.venv/bin/python -m pip install -q --disable-pip-version-check -c constraints.txt -e '.[dev]' 2>&1 | quiet
.venv/bin/python -c "import ibert_lsp, ibis, torch, pygls, peft" \
  || { echo "[setup] failed: the Python packages did not install" >&2; exit 1; }

if [ "${1:-}" = "--dev" ]; then
  if ! command -v nvim >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
      echo "[setup] installing Neovim (Debian package) for the editor test"
      (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq neovim) >/dev/null 2>&1 \
        || echo "[setup] warning: could not install neovim; its test will be skipped" >&2
    else
      echo "[setup] note: install neovim to run the real-editor test" >&2
    fi
  fi
  if command -v npm >/dev/null 2>&1 && [ -f vscode-extension/package-lock.json ]; then
    echo "[setup] installing the VS Code extension's node packages"
    (cd vscode-extension && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
  fi
  # the VS Code end-to-end test's tools (Node 24, code-server, playwright-core, chromium); on
  # failure it records why, and the test skips with that reason
  bash tests/e2e_vscode/setup.sh
fi
echo "[setup] ready: .venv/bin/ibert, .venv/bin/ibert-lsp"

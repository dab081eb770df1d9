#!/usr/bin/env bash
# One entry point from clone to running: every command sets up what it needs first.
#
#   ./dev.sh serve [server.py options]   set up, then host the frame (prints the URLs)
#   ./dev.sh test  [pytest options]      set up (browser included), then run the whole test suite
#   ./dev.sh bench [bench/run.py options] set up, then run the benchmarks
#   ./dev.sh setup                       only set up
#
# Set-up is idempotent and quick when nothing changed: a virtualenv in .venv with the project
# installed, the pinned PyScript runtime (npm ci from runtime/package-lock.json, integrity-checked),
# the pinned wheels (pip --require-hashes), the Pyodide memory snapshot the frame boots from
# (node runtime/build-snapshot.mjs), for bench wrk and nginx, and for tests a Chromium: Debian's
# `chromium` where apt-get can install it, Playwright's own otherwise (or with BX24_CHROMIUM=playwright).
set -euo pipefail
cd "$(dirname "$0")"

PYTHON=${PYTHON:-python3}
VENV=.venv
STAMPS=$VENV/.stamps

log() { printf '\033[1m[dev]\033[0m %s\n' "$*" >&2; }

stamp_ok() {  # stamp_ok NAME FILE...: true when FILE... have not changed since `stamp NAME`
  [ -f "$STAMPS/$1" ] && [ "$(cat "$STAMPS/$1")" = "$(cat "${@:2}" | sha256sum)" ]
}
stamp() { mkdir -p "$STAMPS"; cat "${@:2}" | sha256sum > "$STAMPS/$1"; }

setup_python() {
  if [ ! -x "$VENV/bin/python" ]; then
    log "creating $VENV with $($PYTHON --version)"
    "$PYTHON" -m venv "$VENV"
  fi
  if ! stamp_ok python pyproject.toml; then
    log "installing the project and its test tools into $VENV"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check -e '.[test]'
    stamp python pyproject.toml
  fi
}

setup_runtime() {
  if ! stamp_ok npm runtime/package-lock.json || [ ! -d runtime/node_modules ]; then
    command -v npm >/dev/null || { log "npm is required (Node.js 20+) to install the PyScript runtime"; exit 1; }
    log "installing the pinned PyScript runtime (npm ci, integrity-checked)"
    npm ci --prefix runtime --no-audit --no-fund --loglevel=error
    stamp npm runtime/package-lock.json
  fi
  if ! stamp_ok wheels runtime/wheels.txt; then
    log "downloading the pinned wheels (hash-checked)"
    "$VENV/bin/pip" download --quiet --disable-pip-version-check --no-deps --require-hashes \
      -r runtime/wheels.txt -d runtime/wheels
    stamp wheels runtime/wheels.txt
  fi
}

setup_snapshot() {  # the Pyodide memory snapshot the frame boots from (docs/performance.md)
  local inputs=(runtime/package-lock.json runtime/wheels.txt runtime/build-snapshot.mjs
                frame/pyodide.json frame/*.py pylib/bx24/*.py)
  if ! stamp_ok snapshot "${inputs[@]}" || [ ! -f runtime/snapshot/manifest.json ]; then
    log "building the Pyodide memory snapshot (runtime/snapshot/)"
    node runtime/build-snapshot.mjs
    stamp snapshot "${inputs[@]}"
  fi
}

setup_precompress() {  # gzip the runtime files and the snapshot once, not on a request
  local inputs=(runtime/package-lock.json runtime/wheels.txt runtime/snapshot/manifest.json)
  if ! stamp_ok precompress "${inputs[@]}"; then
    log "compressing the runtime files once (served gzipped from .cache/)"
    "$VENV/bin/python" server.py --precompress >/dev/null
    stamp precompress "${inputs[@]}"
  fi
}

apt_install() {  # apt_install PACKAGE...: true when Debian's packages got installed
  local sudo=""
  [ "$(id -u)" = 0 ] || sudo=$(command -v sudo || true)
  command -v apt-get >/dev/null && { [ "$(id -u)" = 0 ] || [ -n "$sudo" ]; } || return 1
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$@" >/dev/null
}

setup_bench_tools() {  # wrk and nginx for the server benchmarks, from Debian
  command -v wrk >/dev/null && { command -v nginx >/dev/null || [ -x /usr/sbin/nginx ]; } && return
  log "installing wrk and nginx (server benchmarks)"
  apt_install wrk nginx-light || apt_install wrk nginx \
    || log "no wrk/nginx and no apt-get: the server benchmark rows will be skipped"
}

setup_browser() {
  if [ "${BX24_CHROMIUM:-}" = playwright ]; then
    log "installing Playwright's own Chromium"
    "$VENV/bin/python" -m playwright install chromium
    return
  fi
  if [ -n "${BX24_CHROMIUM:-}" ] || command -v chromium >/dev/null || command -v chromium-browser >/dev/null; then
    return
  fi
  log "installing Debian's chromium"
  if ! apt_install chromium; then
    log "no chromium on PATH and no apt-get: installing Playwright's own Chromium"
    "$VENV/bin/python" -m playwright install chromium
  fi
}

setup() {
  setup_python
  setup_runtime
  setup_snapshot
  setup_precompress
}

cmd=${1:-serve}
[ $# -gt 0 ] && shift
case "$cmd" in
  setup) setup; setup_browser ;;
  serve) setup; exec "$VENV/bin/python" server.py "$@" ;;
  test) setup; setup_browser; exec "$VENV/bin/python" -m pytest "$@" ;;
  bench) setup; setup_browser; setup_bench_tools; exec "$VENV/bin/python" bench/run.py "$@" ;;
  *) echo "usage: ./dev.sh {serve|test|bench|setup} [options]" >&2; exit 2 ;;
esac

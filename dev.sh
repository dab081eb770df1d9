#!/usr/bin/env bash
# One entry point from clone to running, for contributors to this repository; every command sets
# up what it needs first, then calls the `bx24` command (the one way to work, here as in a
# project of one's own).
#
#   ./dev.sh serve [bx24 serve options]  set up, then serve this repo's app with the emulator
#   ./dev.sh test  [pytest options]      set up (browser, nginx included), then run every test
#   ./dev.sh bench [bench/run.py options] set up, then run the benchmarks
#   ./dev.sh setup                       only set up
#
# Set-up is idempotent and quick when nothing changed: a virtualenv in .venv with the project
# installed (editable, with its test tools), then `bx24 setup` (the pinned PyScript runtime and
# wheels into the bx24 cache, integrity- and hash-checked, the Pyodide memory snapshot, gzip
# copies), for tests a Chromium (Debian's `chromium` where apt-get can install it, Playwright's
# own otherwise, or with BX24_CHROMIUM=playwright) and Debian's nginx (the export is tested
# behind it), for bench wrk and nginx.
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
    "$VENV/bin/pip" install --quiet --disable-pip-version-check -e '.[test,dev,postgres]'
    stamp python pyproject.toml
  fi
}

setup_frame() {  # the pinned runtime, the snapshot, gzip copies: bx24 setup (quick when done)
  "$VENV/bin/bx24" setup --project .
}

apt_install() {  # apt_install PACKAGE...: true when Debian's packages got installed
  local sudo=""
  [ "$(id -u)" = 0 ] || sudo=$(command -v sudo || true)
  command -v apt-get >/dev/null && { [ "$(id -u)" = 0 ] || [ -n "$sudo" ]; } || return 1
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$@" >/dev/null
}

nginx_found() { command -v nginx >/dev/null || [ -x /usr/sbin/nginx ]; }
kamailio_found() { command -v kamailio >/dev/null || [ -x /usr/sbin/kamailio ]; }

BROTLI_MODULE=/usr/lib/nginx/modules/ngx_http_brotli_static_module.so

postgres_found() { ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null; }

setup_servers() {  # the real servers the tests start as their own instances, from Debian
  local missing=()
  nginx_found && [ -f "$BROTLI_MODULE" ] \
    || missing+=(libnginx-mod-http-brotli-static)  # the export is served with brotli_static
  nginx_found || missing+=(nginx-light)
  kamailio_found && ls /usr/lib/*/kamailio/modules/websocket.so >/dev/null 2>&1 \
    || missing+=(kamailio kamailio-websocket-modules)  # the SIP softphone's registrar
  ls /usr/lib/*/kamailio/modules/tls.so >/dev/null 2>&1 \
    || missing+=(kamailio-tls-modules)  # ...over WSS, as in production
  command -v turnserver >/dev/null || [ -x /usr/bin/turnserver ] \
    || missing+=(coturn)  # TURN, for media through a relay only
  command -v rtpengine >/dev/null || [ -x /usr/bin/rtpengine ] \
    || missing+=(rtpengine-daemon)  # the media relay between browsers and plain SIP
  command -v baresip >/dev/null || missing+=(baresip-core)  # a plain SIP phone
  postgres_found || missing+=(postgresql)  # the application server's shared portal store
  [ ${#missing[@]} = 0 ] && return
  log "installing Debian's ${missing[*]} (tests run them as their own instances)"
  apt_install "${missing[@]}" \
    || apt_install "${missing[@]/#nginx-light/nginx}" \
    || { log "cannot install ${missing[*]} (no apt-get?)"; exit 1; }
}

setup_bench_tools() {  # wrk and nginx for the server benchmarks, from Debian
  command -v wrk >/dev/null && nginx_found && return
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
  setup_frame
}

cmd=${1:-serve}
[ $# -gt 0 ] && shift
case "$cmd" in
  setup) setup; setup_browser; setup_servers ;;
  serve) setup; exec "$VENV/bin/bx24" serve --project . --emulator "$@" ;;
  test) setup; setup_browser; setup_servers; exec "$VENV/bin/python" -m pytest "$@" ;;
  bench) setup; setup_browser; setup_bench_tools; exec "$VENV/bin/python" bench/run.py "$@" ;;
  *) echo "usage: ./dev.sh {serve|test|bench|setup} [options]" >&2; exit 2 ;;
esac

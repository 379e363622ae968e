#!/usr/bin/env bash
# Smoke test of a stream-echo build: version, check, serve a config, answer a client over TCP,
# reload on SIGHUP, stop on SIGTERM with exit 0. POSIX hosts (Linux, macOS).
#
#   scripts/smoke.sh ./stream-echo
#   scripts/smoke.sh deno run --allow-net --allow-read --allow-write --allow-ffi --unstable-net dist/stream-echo.js
set -euo pipefail
[ $# -gt 0 ] || { echo "usage: $0 COMMAND..." >&2; exit 2; }
# The script works in a temporary directory: make relative paths among the arguments
# (./stream-echo, dist/stream-echo.js) absolute first.
cmd=()
for arg in "$@"; do
  if [[ "$arg" != /* && -e "$arg" ]]; then cmd+=("$PWD/$arg"); else cmd+=("$arg"); fi
done
work=$(mktemp -d "${TMPDIR:-/tmp}/stream-echo-smoke-XXXXXX")
pid=""
cleanup() {
  if [ -n "$pid" ]; then kill -KILL "$pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
cd "$work"
fail() { echo "smoke: FAIL: $*" >&2; [ -f err.log ] && cat err.log >&2; exit 1; }

"${cmd[@]}" --version | grep -q '^stream-echo ' || fail "--version"

cat > se.conf <<'CONF'
stream {
    server {
        listen 127.0.0.1:0;
        echo "Hello, world!";
        echo_read_line;
        echo -n "you said: ";
        echo_request_data;
    }
}
CONF
"${cmd[@]}" check -c se.conf 2>&1 | grep -q 'test is successful' || fail "check"
set +e; "${cmd[@]}" bogus >/dev/null 2>&1; code=$?; set -e
[ "$code" = 2 ] || fail "unknown command exits $code, not 2"

"${cmd[@]}" serve -c se.conf 2> err.log &
pid=$!
port=""
for _ in $(seq 1 100); do
  port=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9][0-9]*\).*/\1/p' err.log | head -n 1)
  [ -n "$port" ] && break
  sleep 0.1
done
[ -n "$port" ] || fail "no 'listening on' line"

talk() {
  exec 3<>"/dev/tcp/127.0.0.1/$port"
  printf 'ping\n' >&3
  cat <&3
  exec 3<&-
}
reply=$(talk)
[ "$reply" = "$(printf 'Hello, world!\nyou said: ping')" ] || fail "reply was: $reply"

sed -i.bak 's/Hello, world!/Hello again!/' se.conf
kill -HUP "$pid"
for _ in $(seq 1 100); do grep -q 'configuration reloaded' err.log && break; sleep 0.1; done
reply=$(talk)
[ "$reply" = "$(printf 'Hello again!\nyou said: ping')" ] || fail "reply after reload was: $reply"

kill -TERM "$pid"
set +e; wait "$pid"; code=$?; set -e
pid=""
[ "$code" = 0 ] || fail "SIGTERM exit code $code"
echo "smoke: ok (${cmd[*]})"

#!/bin/sh
# Proves the compiled module graph without `deno compile` (which cannot download its runtime
# here): bundles cli.ts into one file, then runs the CLI end-to-end tests against that file,
# from a temporary working directory, with exactly the permissions the binary is compiled with.
#
#   scripts/bundle_e2e.sh            # bundle + all tests/cli_*_test.ts and tests/e2e_*_test.ts
#   scripts/bundle_e2e.sh FILTER     # only tests whose name contains FILTER
#   PEER_SUITE=../shared/peer-suite scripts/bundle_e2e.sh
#                                    # also run the module's suite (--no-log-checks) against the
#                                    # bundle with the binary's permissions
set -eu

repo=$(cd "$(dirname "$0")/.." && pwd)
# Exactly the binary's permissions: the flags of deno.json's "compile" task (tests/binary_permissions.ts).
perms=$(cd "$repo" && deno eval --ext=ts \
  'import { BINARY_PERMISSIONS } from "./tests/binary_permissions.ts"; console.log(BINARY_PERMISSIONS.join(" "))')

mkdir -p "$repo/dist"
deno bundle --platform deno -o "$repo/dist/stream-echo.js" "$repo/cli.ts"

work=$(mktemp -d "${TMPDIR:-/tmp}/stream-echo-bundle-XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM
# The bundle must stand alone: run a copy outside the repo, with no deno.json next to it.
cp "$repo/dist/stream-echo.js" "$work/stream-echo.js"
cd "$work"
deno run $perms --no-config "$work/stream-echo.js" --version

export STREAM_ECHO_CMD="deno run $perms --no-config $work/stream-echo.js"
filter=""
if [ $# -gt 0 ]; then filter="--filter=$1"; fi
deno test --config "$repo/deno.json" --allow-run --allow-env --allow-read --allow-write --allow-net \
  $filter "$repo"/tests/cli_*_test.ts "$repo"/tests/e2e_*_test.ts

if [ -n "${PEER_SUITE:-}" ]; then
  suite=$(cd "$repo" && cd "$PEER_SUITE" && pwd)
  python3 "$suite/run.py" --target cmd --cwd "$work" --no-log-checks \
    --cmd "deno run $perms --no-config $work/stream-echo.js serve --config {config}" \
    "$suite/t/*.t"
else
  echo "bundle_e2e: the module's suite was not run (set PEER_SUITE=../shared/peer-suite to run it)"
fi

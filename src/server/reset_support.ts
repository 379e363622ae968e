/**
 * Whether this process can send a TCP reset (`echo_reset`, `echo_send_limit ... reset`,
 * `echo_mismatch_action reset`): it needs the connection's descriptor, found through the C
 * library on Linux with `--allow-ffi` (socket_fd.ts). Elsewhere those directives close the
 * connection plainly, and the server says so once at start instead of leaving it to be
 * discovered from a client that never sees its reset.
 *
 * @module
 */
import type { Config, Position, Step } from "../config/types.ts";
import { libcUnavailable } from "../sys/libc.ts";

/** Why resets are not possible here, or undefined when they are. */
export function resetUnavailable(os: typeof Deno.build.os = Deno.build.os): string | undefined {
  if (os !== "linux") return `only Linux can, not ${os}`;
  const why = libcUnavailable();
  return why === undefined ? undefined : why;
}

/** Every step of `steps`, nested bodies included. */
function* allSteps(steps: readonly Step[]): Generator<Step> {
  for (const step of steps) {
    yield step;
    switch (step.op) {
      case "loop":
        yield* allSteps(step.body);
        break;
      case "match":
        for (const b of step.branches) yield* allSteps(b.body);
        if (step.fallback) yield* allSteps(step.fallback);
        break;
      case "split":
        for (const b of step.branches) yield* allSteps(b.body);
        break;
    }
  }
}

/** Where `config` asks for a reset: the directive and its position, in config order. */
export function resetsAskedFor(config: Config): { what: string; pos: Position }[] {
  const found: { what: string; pos: Position }[] = [];
  for (const server of config.servers) {
    if (server.settings.mismatchAction === "reset") {
      found.push({ what: "echo_mismatch_action reset", pos: server.pos });
    }
    for (const step of allSteps(server.steps)) {
      if (step.op === "reset") found.push({ what: "echo_reset", pos: step.pos });
      if (step.op === "send_limit" && step.reset) {
        found.push({ what: "echo_send_limit ... reset", pos: step.pos });
      }
    }
  }
  return found;
}

/**
 * One `[warn]` message per place `config` asks for a reset, when this process cannot send one
 * (`why`, from {@linkcode resetUnavailable}); none when it can.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseConfig } from "../config/loader.ts";
 * import { resetWarnings } from "./reset_support.ts";
 * const config = parseConfig(
 *   "stream { server { listen 127.0.0.1:0; echo_read_line; echo_reset; } }",
 *   { file: "se.conf" },
 * );
 * assert.deepEqual(resetWarnings(config, "needs --allow-ffi"), [
 *   '"echo_reset" in se.conf:1 closes without a TCP reset here (needs --allow-ffi)',
 * ]);
 * assert.deepEqual(resetWarnings(config, undefined), []);
 * ```
 */
export function resetWarnings(config: Config, why: string | undefined): string[] {
  if (why === undefined) return [];
  return resetsAskedFor(config).map((r) =>
    `"${r.what}" in ${r.pos.file}:${r.pos.line} closes without a TCP reset here (${why})`
  );
}

/**
 * Compile functions of the fault directives: `echo_close`, `echo_reset`, `echo_shutdown`,
 * `echo_send_rate`, `echo_send_chunk`, `echo_send_limit`, `echo_random_bytes`, and the
 * `MIN..MAX` form of `echo_sleep`. Bad values are load errors naming the file and line.
 *
 * @module
 */

import { stepsOf } from "./block_steps.ts";
import { showToken } from "./bytes.ts";
import { ConfigError } from "./errors.ts";
import { atMost, sizeText } from "./limits.ts";
import type { Directive } from "./parser.ts";
import type { Scope } from "./scope.ts";
import type { ConfigNotice, Step } from "./types.ts";
import { MAX_TIMER_MS, parseDelay, parseSize, parseTime } from "./units.ts";

function push(scope: Scope, step: Step): void {
  stepsOf(scope).push(step);
}

/**
 * The largest SIZE of `echo_send_rate`, `echo_send_chunk`, `echo_send_limit` and
 * `echo_random_bytes`: 1 TiB (as `echo_duplicate`'s bound: far above real use, and byte
 * counts stay exact).
 */
export const MAX_FAULT_SIZE = 2 ** 40;

function size(d: Directive, text: string): number {
  const n = parseSize(text);
  if (n === null) {
    throw new ConfigError(`stream echo sees bad size "${showToken(text)}" in "${d.name}"`, d.pos);
  }
  atMost(d, n, MAX_FAULT_SIZE, sizeText(MAX_FAULT_SIZE), text);
  return n;
}

/**
 * A delay in milliseconds: seconds with up to three decimals as `echo_sleep` (`0.25`), or an
 * nginx time (`250ms`, `1s`); below 597 hours.
 */
export function delayValue(d: Directive, text: string, what = "delay"): number {
  const ms = parseDelay(text)?.ms ?? parseTime(text);
  if (ms === null || ms > MAX_TIMER_MS) {
    const why = ms === null ? "" : ": must be less than 597 hours (2147483.647 seconds at most)";
    throw new ConfigError(
      `stream echo: bad "${what}" argument, "${showToken(text)}", in "${d.name}"${why}`,
      d.pos,
    );
  }
  return ms;
}

/** `echo_close`: flush and end the session here. */
export function compileClose(d: Directive, scope: Scope): void {
  push(scope, { op: "close", directive: d.name, pos: d.pos });
}

/** `echo_reset`: end the connection with a TCP reset. */
export function compileReset(d: Directive, scope: Scope): void {
  push(scope, { op: "reset", directive: d.name, pos: d.pos });
}

/** `echo_shutdown`: flush, then half-close the write side. */
export function compileShutdown(d: Directive, scope: Scope): void {
  push(scope, { op: "shutdown", directive: d.name, pos: d.pos });
}

/** `echo_send_rate SIZE`: bytes per second from here on; 0 turns pacing off. */
export function compileSendRate(d: Directive, scope: Scope): void {
  push(scope, { op: "send_rate", directive: d.name, pos: d.pos, rate: size(d, d.args[0]) });
}

/** `echo_send_chunk SIZE [DELAY]`: writes of at most SIZE bytes, DELAY apart; 0 turns it off. */
export function compileSendChunk(d: Directive, scope: Scope): void {
  const chunk = size(d, d.args[0]);
  const delayMs = d.args.length > 1 ? delayValue(d, d.args[1]) : 0;
  push(scope, { op: "send_chunk", directive: d.name, pos: d.pos, size: chunk, delayMs });
}

/** `echo_send_limit SIZE [close|reset]`: end the connection after SIZE more bytes. */
export function compileSendLimit(d: Directive, scope: Scope): void {
  const limit = size(d, d.args[0]);
  const how = d.args[1] ?? "close";
  if (how !== "close" && how !== "reset") {
    throw new ConfigError(
      `invalid value "${showToken(how)}" in "${d.name}" directive, it must be "close" or "reset"`,
      d.pos,
    );
  }
  push(scope, {
    op: "send_limit",
    directive: d.name,
    pos: d.pos,
    size: limit,
    reset: how === "reset",
  });
}

/** `echo_random_bytes SIZE`: SIZE random bytes. */
export function compileRandomBytes(d: Directive, scope: Scope): void {
  push(scope, { op: "random_bytes", directive: d.name, pos: d.pos, size: size(d, d.args[0]) });
}

/**
 * The `MIN..MAX` argument of `echo_sleep` (each as `echo_sleep` reads seconds), in ms; null when
 * `text` is not a range.
 */
export function sleepRange(d: Directive, text: string): { min: number; max: number } | null {
  const dots = text.indexOf("..");
  if (dots < 0) return null;
  const min = delayValue(d, text.slice(0, dots));
  const max = delayValue(d, text.slice(dots + 2));
  if (min > max) {
    throw new ConfigError(
      `stream echo: bad "delay" argument, "${showToken(text)}", in "${d.name}": ` +
        "MIN is more than MAX",
      d.pos,
    );
  }
  return { min, max };
}

const OUTPUT_OPS: ReadonlySet<string> = new Set([
  "echo",
  "duplicate",
  "echo_template",
  "duplicate_template",
  "request_data",
  "random_bytes",
]);

/** Every step nested in `step` (bodies of blocks, whatever their field names), depth first. */
function* nested(step: Step): Generator<Step> {
  for (const value of Object.values(step)) {
    if (!Array.isArray(value)) continue;
    for (const item of value) {
      if (item === null || typeof item !== "object") continue;
      if ("op" in item) {
        yield item as Step;
        yield* nested(item as Step);
      } else {
        for (const inner of Object.values(item)) {
          if (!Array.isArray(inner)) continue;
          for (const s of inner) {
            if (s !== null && typeof s === "object" && "op" in s) {
              yield s as Step;
              yield* nested(s as Step);
            }
          }
        }
      }
    }
  }
}

/**
 * Load-time `[warn]` notices for output steps that follow an `echo_shutdown` of the top level
 * (it always runs): they can only send nothing. Output after a shutdown inside a block is
 * reported when it happens.
 */
export function outputAfterShutdown(steps: readonly Step[]): ConfigNotice[] {
  const notices: ConfigNotice[] = [];
  const shutdown = steps.findIndex((s) => s.op === "shutdown");
  if (shutdown < 0) return notices;
  const at = steps[shutdown].pos;
  for (const top of steps.slice(shutdown + 1)) {
    for (const step of [top, ...nested(top)]) {
      if (!OUTPUT_OPS.has(step.op)) continue;
      notices.push({
        message: `"${step.directive}" after "echo_shutdown" (${at.file}:${at.line}) sends nothing`,
        pos: step.pos,
        level: "warn",
      });
    }
  }
  return notices;
}

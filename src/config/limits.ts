/**
 * Upper bounds on sizes, counts and times, checked at load time with the directive's file
 * and line, so that an absurd value fails `check` instead of every session at run time.
 * Each is far above any real use; the README's "Limits" table lists them.
 *
 * @module
 */

import { ConfigError } from "./errors.ts";
import { showToken } from "./bytes.ts";
import type { Directive } from "./parser.ts";

/**
 * `echo_read_buffer_size`: 64 MiB. The reading buffer is allocated per session, so this is
 * also the memory one session may hold for reads.
 */
export const MAX_READ_BUFFER_SIZE = 64 * 1024 * 1024;

/**
 * `postpone_output`: 64 MiB, as the reading buffer. Held output stays in memory per session
 * until it is sent, so this is also the memory one session may hold for postponed output.
 */
export const MAX_POSTPONE_OUTPUT = 64 * 1024 * 1024;

/**
 * `echo_duplicate COUNT STRING`: COUNT x the length of STRING, 1 TiB. Repetitions are
 * streamed (never built in memory), so the bound only keeps byte counts exact.
 */
export const MAX_DUPLICATE_BYTES = 2 ** 40;

/** `worker_connections`: 1,048,576 (2^20), far above what one process can hold open. */
export const MAX_WORKER_CONNECTIONS = 1_048_576;

/** `worker_processes N`: 1024, nginx's own `NGX_MAX_PROCESSES`. */
export const MAX_WORKER_PROCESSES = 1024;

/** `listen ... backlog=N`: 65535, the largest queue Linux (`somaxconn`) accepts. */
export const MAX_BACKLOG = 65_535;

/** `worker_rlimit_nofile`: 2^31 - 1 (an int, as in nginx). */
export const MAX_RLIMIT_NOFILE = 2_147_483_647;

/** `4096`, `64m`: a size in nginx's notation, in the largest unit that divides it. */
export function sizeText(n: number): string {
  if (n % (1024 * 1024 * 1024) === 0) return `${n / 1024 / 1024 / 1024}g`;
  if (n % (1024 * 1024) === 0) return `${n / 1024 / 1024}m`;
  if (n % 1024 === 0) return `${n / 1024}k`;
  return String(n);
}

/**
 * Throws nginx's `"NAME" directive invalid value "VALUE": must be at most MAX` at the
 * directive when `value` is above `max`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { atMost } from "./limits.ts";
 * const d = { name: "worker_connections", args: ["9999999"], pos: { file: "se.conf", line: 3 } };
 * assert.throws(() => atMost(d, 9_999_999, 1_048_576, "1048576"), /must be at most 1048576 in se.conf:3/);
 * ```
 */
export function atMost(d: Directive, value: number, max: number, maxText: string, text?: string) {
  if (value <= max) return;
  const shown = showToken(text ?? d.args[0]);
  throw new ConfigError(
    `"${d.name}" directive invalid value "${shown}": must be at most ${maxText}`,
    d.pos,
  );
}

/**
 * Lingering close: after the reply has been flushed and the write side half-closed, read and
 * drop client input until EOF, so input the script did not read never turns the close into a
 * reset that could destroy the reply.
 *
 * @module
 */
import type { Discarder } from "./discarder.ts";
import { clock, TIMED_OUT, withTimeout } from "./timers.ts";

/**
 * How long the `on` mode waits for input that may already be on its way when nothing is known
 * to be pending (nginx looks at whether the socket is readable; a short read does the same).
 */
export const PROBE_MS = 50;

/** Options for {@linkcode linger}. */
export interface LingerOptions {
  /** `echo_lingering_time`: the most time spent lingering, in ms. */
  lingeringTime: number;
  /** `echo_lingering_timeout`: the longest wait for more data, in ms. */
  lingeringTimeout: number;
  /** The wait for the first data, in ms. @default {lingeringTimeout} */
  firstWait?: number;
  /** Wraps waits so a halting session stops lingering. @default {(p) => p} */
  until?: <T>(p: Promise<T>) => Promise<T>;
  /** Told each wait's length in ms (for debug logging). */
  onWait?: (ms: number) => void;
  /** When lingering began (`clock()`), if earlier than this call. @default {clock()} */
  startedAt?: number;
}

/** How lingering ended. */
export type LingerEnd = "eof" | "error" | "timeout";

/**
 * Waits while `discarder` drops input: until EOF (or a read error), until no data came for
 * `lingeringTimeout` (or `firstWait` before any data), or until `lingeringTime` is used up.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ByteReader } from "./byte_reader.ts";
 * import { Discarder } from "./discarder.ts";
 * import { linger } from "./lingering.ts";
 * const d = new Discarder(new ByteReader(ReadableStream.from([new Uint8Array(3)])));
 * assert.equal(await linger(d, { lingeringTime: 1000, lingeringTimeout: 100 }), "eof");
 * ```
 */
export async function linger(discarder: Discarder, options: LingerOptions): Promise<LingerEnd> {
  const until = options.until ?? (<T>(p: Promise<T>) => p);
  const start = options.startedAt ?? clock();
  const deadline = start + options.lingeringTime;
  const firstBytes = discarder.bytes;
  const done = until(discarder.done);
  let lastSeen = start;
  for (;;) {
    const t = clock();
    if (discarder.lastActivity > lastSeen) lastSeen = discarder.lastActivity;
    const idleLimit = discarder.bytes > firstBytes
      ? options.lingeringTimeout
      : (options.firstWait ?? options.lingeringTimeout);
    const wait = Math.min(lastSeen + idleLimit - t, deadline - t);
    if (wait <= 0) {
      done.catch(() => {});
      return "timeout";
    }
    options.onWait?.(wait);
    const end = await withTimeout(done, wait);
    if (end !== TIMED_OUT) return end.kind;
  }
}

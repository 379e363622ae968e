/**
 * What a graceful stop says while it waits: how many sessions are left when it begins, again
 * as they finish (at most one line per interval), and once none is left. An `echo_sleep 3600`
 * then reads as a wait, not a hang.
 *
 * @module
 */
import type { Logger } from "../log/logger.ts";

/** Options for {@linkcode ShutdownProgress}. */
export interface ShutdownProgressOptions {
  /** Least time between two "waiting for" lines, in ms. @default {1000} */
  intervalMs?: number;
}

/** `1 session`, `3 sessions`. */
export function sessions(n: number): string {
  return n === 1 ? "1 session" : `${n} sessions`;
}

/**
 * Reports a graceful stop's progress at `notice`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ShutdownProgress } from "./shutdown_progress.ts";
 * const lines: string[] = [];
 * let left = 2;
 * const progress = new ShutdownProgress(
 *   { enabled: () => true, log: (_level, message) => lines.push(message) },
 *   () => left,
 * );
 * progress.begin();
 * left = 0;
 * progress.changed();
 * assert.deepEqual(lines, ["waiting for 2 sessions to finish", "all sessions finished"]);
 * ```
 */
export class ShutdownProgress {
  readonly #logger: Logger;
  readonly #count: () => number;
  readonly #interval: number;
  #last = -Infinity;
  #lastCount = -1;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #begun = false;
  #done = false;

  /** Reports on `count()`, the sessions still running. */
  constructor(logger: Logger, count: () => number, options: ShutdownProgressOptions = {}) {
    this.#logger = logger;
    this.#count = count;
    this.#interval = options.intervalMs ?? 1000;
  }

  /** The stop begins: says how many sessions it waits for (nothing when there are none). */
  begin(): void {
    if (this.#begun) return;
    this.#begun = true;
    if (this.#count() === 0) {
      this.#done = true;
      return;
    }
    this.#report();
  }

  /**
   * A session ended: report now, or once the interval since the last line has passed. Nothing
   * before {@linkcode ShutdownProgress.begin}.
   */
  changed(): void {
    if (!this.#begun || this.#done) return;
    if (this.#count() === 0) {
      this.end();
      this.#logger.log("notice", "all sessions finished");
      return;
    }
    if (this.#timer !== undefined) return;
    const wait = this.#last + this.#interval - performance.now();
    if (wait <= 0) {
      this.#report();
    } else {
      this.#timer = setTimeout(() => {
        this.#timer = undefined;
        if (!this.#done) this.#report();
      }, wait);
    }
  }

  /** No more lines (the wait is over, or was cut short). */
  end(): void {
    this.#done = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #report(): void {
    const n = this.#count();
    if (n === this.#lastCount) return;
    this.#lastCount = n;
    this.#last = performance.now();
    this.#logger.log("notice", `waiting for ${sessions(n)} to finish`);
  }
}

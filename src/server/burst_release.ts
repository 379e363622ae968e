/**
 * When a burst of sessions is over, give the memory it took back to the OS
 * ({@linkcode releaseMemory}): once the sessions in flight have fallen to a quarter of a peak of
 * at least {@linkcode MIN_PEAK}, and stayed there for {@linkcode QUIET_MS}. Costs a comparison
 * per session start and end; nothing happens for servers that never see such a burst.
 *
 * @module
 */
import type { Logger } from "../log/logger.ts";
import { releaseMemory, type ReleaseReport } from "../sys/memory.ts";
import { dropPooledBuffers } from "../engine/byte_reader.ts";

/** The smallest peak of sessions in flight that counts as a burst. */
export const MIN_PEAK = 1000;
/** How long the count must stay low before memory is released, in ms. */
export const QUIET_MS = 1000;

/** Options for {@linkcode BurstRelease}. */
export interface BurstReleaseOptions {
  /** Where the release is reported (at `info`). */
  logger: Logger;
  /** @default {MIN_PEAK} */
  minPeak?: number;
  /** @default {QUIET_MS} */
  quietMs?: number;
  /** What releases the memory. @default {releaseMemory} */
  release?: () => Promise<ReleaseReport>;
}

/**
 * Watches the number of sessions in flight and releases memory after a burst.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { BurstRelease } from "./burst_release.ts";
 * import { quietLogger } from "../log/logger.ts";
 * let released = 0;
 * const watch = new BurstRelease({
 *   logger: quietLogger,
 *   minPeak: 4,
 *   quietMs: 1,
 *   release: () => {
 *     released++;
 *     return Promise.resolve({ rssBefore: 2, rssAfter: 1, gcMs: 0, trimMs: null });
 *   },
 * });
 * for (let n = 1; n <= 8; n++) watch.note(n);
 * for (let n = 7; n >= 0; n--) watch.note(n);
 * await new Promise((r) => setTimeout(r, 20));
 * assert.equal(released, 1);
 * ```
 */
export class BurstRelease {
  #logger: Logger;
  #minPeak: number;
  #quietMs: number;
  #release: () => Promise<ReleaseReport>;
  #peak = 0;
  #now = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #stopped = false;

  constructor(options: BurstReleaseOptions) {
    this.#logger = options.logger;
    this.#minPeak = options.minPeak ?? MIN_PEAK;
    this.#quietMs = options.quietMs ?? QUIET_MS;
    this.#release = options.release ?? releaseMemory;
  }

  /** Tells the current number of sessions in flight (after a start or an end). */
  note(inFlight: number): void {
    this.#now = inFlight;
    if (inFlight > this.#peak) {
      this.#peak = inFlight;
      return;
    }
    if (this.#timer !== undefined || this.#peak < this.#minPeak) return;
    if (inFlight * 4 > this.#peak) return;
    const timer = setTimeout(() => this.#fire(), this.#quietMs);
    Deno.unrefTimer(timer);
    this.#timer = timer;
  }

  /** Cancels a pending release (the server is stopping). */
  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  async #fire(): Promise<void> {
    this.#timer = undefined;
    if (this.#stopped) return;
    const peak = this.#peak;
    if (this.#now * 4 > peak) return; // a new burst began: wait for it to end
    this.#peak = this.#now;
    // Reading buffers kept for reuse are memory the burst took, too: let them go first.
    dropPooledBuffers();
    try {
      const r = await this.#release();
      const mb = (n: number) => (n / 1048576).toFixed(0);
      this.#logger.log(
        "info",
        `memory returned after a burst of ${peak} sessions: rss ${mb(r.rssBefore)}M -> ` +
          `${mb(r.rssAfter)}M (collection ${r.gcMs.toFixed(0)} ms` +
          (r.trimMs === null ? ", no malloc_trim" : `, malloc_trim ${r.trimMs.toFixed(0)} ms`) +
          ")",
      );
    } catch (err) {
      this.#logger.log("alert", `returning memory failed: ${String(err)}`);
    }
  }
}

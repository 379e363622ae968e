/**
 * `echo_send_rate`: output paced to a number of bytes per second (toxiproxy's `bandwidth`).
 *
 * Smooth rather than bursty: pieces leave in slices of about 1/20 s worth of bytes, each once
 * the time its bytes take at that rate has passed, so a reply of N bytes never arrives much
 * sooner than N / rate seconds. Idle time earns no credit: after a pause the pace restarts.
 *
 * @module
 */
import type { Next, OutputStage, Pause } from "./stage.ts";

/** Slices per second of pacing. */
const SLICES_PER_SECOND = 20;

/**
 * Paces output to `bytesPerSecond`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { RateStage } from "./rate.ts";
 * const rate = new RateStage(1000);
 * const sizes: number[] = [];
 * const t0 = performance.now();
 * await rate.write(
 *   new Uint8Array(100),
 *   (p) => (sizes.push(p.length), Promise.resolve()),
 *   (ms) => new Promise((r) => setTimeout(r, ms)),
 * );
 * assert.deepEqual(sizes, [50, 50]);
 * assert.ok(performance.now() - t0 >= 95);
 * ```
 */
export class RateStage implements OutputStage {
  readonly #rate: number;
  readonly #slice: number;
  /** When the last byte handed on is due, in performance.now() time. */
  #due = 0;

  constructor(bytesPerSecond: number) {
    this.#rate = bytesPerSecond;
    this.#slice = Math.max(1, Math.floor(bytesPerSecond / SLICES_PER_SECOND));
  }

  async write(piece: Uint8Array, next: Next, pause: Pause): Promise<void> {
    for (let offset = 0; offset < piece.byteLength; offset += this.#slice) {
      const part = piece.subarray(offset, offset + this.#slice);
      this.#due = Math.max(this.#due, performance.now()) + (part.byteLength * 1000) / this.#rate;
      const wait = this.#due - performance.now();
      if (wait > 0) await pause(wait);
      await next(part);
    }
  }
}

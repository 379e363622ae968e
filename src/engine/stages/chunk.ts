/**
 * `echo_send_chunk`: output leaves in writes of at most `size` bytes, `delay` ms apart
 * (toxiproxy's `slicer`). Each write is handed to the socket before the delay starts, so a
 * client sees the pieces as separate reads.
 *
 * @module
 */
import type { Next, OutputStage, Pause } from "./stage.ts";

/**
 * Splits output into writes of at most `size` bytes with `delayMs` between them.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ChunkStage } from "./chunk.ts";
 * const seen: number[] = [];
 * const waits: number[] = [];
 * await new ChunkStage(4, 50).write(
 *   new Uint8Array(10),
 *   (p) => (seen.push(p.length), Promise.resolve()),
 *   (ms) => (waits.push(ms), Promise.resolve()),
 * );
 * assert.deepEqual(seen, [4, 4, 2]);
 * assert.equal(waits.length, 2);
 * ```
 */
export class ChunkStage implements OutputStage {
  readonly #size: number;
  readonly #delay: number;
  /** When the last write was handed on, or null before the first. */
  #last: number | null = null;

  constructor(size: number, delayMs: number) {
    this.#size = size;
    this.#delay = delayMs;
  }

  async write(piece: Uint8Array, next: Next, pause: Pause): Promise<void> {
    for (let offset = 0; offset < piece.byteLength; offset += this.#size) {
      if (this.#delay > 0 && this.#last !== null) {
        const wait = this.#last + this.#delay - performance.now();
        if (wait > 0) await pause(wait);
      }
      await next(piece.subarray(offset, offset + this.#size));
      this.#last = performance.now();
    }
  }
}

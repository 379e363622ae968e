/**
 * `echo_send_limit`: after `size` more bytes, the connection ends (toxiproxy's `limit_data`).
 * The piece that crosses the limit is cut; once the last allowed byte was handed to the
 * socket, `onLimit` ends the session (with a close or a reset, the caller's choice). Bytes
 * after it are dropped.
 *
 * @module
 */
import type { Next, OutputStage } from "./stage.ts";

/**
 * Lets `size` bytes through, then calls `onLimit` once.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { LimitStage } from "./limit.ts";
 * let ended = 0;
 * const seen: number[] = [];
 * const limit = new LimitStage(5, () => ended++);
 * const next = (p: Uint8Array) => (seen.push(p.length), Promise.resolve());
 * await limit.write(new Uint8Array(3), next);
 * await limit.write(new Uint8Array(3), next);
 * await limit.write(new Uint8Array(3), next);
 * assert.deepEqual(seen, [3, 2]);
 * assert.equal(ended, 1);
 * ```
 */
export class LimitStage implements OutputStage {
  #left: number;
  #onLimit: (() => void) | null;

  constructor(size: number, onLimit: () => void) {
    this.#left = size;
    this.#onLimit = onLimit;
  }

  start(): void {
    if (this.#left === 0) this.#reached();
  }

  async write(piece: Uint8Array, next: Next): Promise<void> {
    if (this.#left <= 0) return;
    const part = piece.byteLength > this.#left ? piece.subarray(0, this.#left) : piece;
    this.#left -= part.byteLength;
    await next(part);
    if (this.#left === 0) this.#reached();
  }

  #reached(): void {
    const onLimit = this.#onLimit;
    this.#onLimit = null;
    onLimit?.();
  }
}

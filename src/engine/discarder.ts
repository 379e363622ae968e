/**
 * Reads and drops input until EOF, in the background (`echo_discard_request`, lingering close).
 *
 * @module
 */
import { clock } from "./timers.ts";
import type { ByteReader } from "./byte_reader.ts";

/** How discarding ended: the client's EOF, or a read error (a reset). */
export type DiscardEnd = { kind: "eof" } | { kind: "error"; error: unknown };

/**
 * Starts reading `reader` to EOF at once, dropping everything (buffered bytes first).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ByteReader } from "./byte_reader.ts";
 * import { Discarder } from "./discarder.ts";
 * const d = new Discarder(new ByteReader(ReadableStream.from([new Uint8Array(10)])));
 * assert.equal((await d.done).kind, "eof");
 * assert.equal(d.bytes, 10);
 * ```
 */
export class Discarder {
  /** Bytes dropped so far. */
  bytes = 0;
  /** `clock()` (performance.now) of the last data (or of the start). */
  lastActivity: number = clock();
  /** Resolves when the client's side ended; never rejects. */
  readonly done: Promise<DiscardEnd>;

  constructor(reader: ByteReader) {
    this.done = this.#run(reader);
  }

  async #run(reader: ByteReader): Promise<DiscardEnd> {
    try {
      for (;;) {
        const n = await reader.discard();
        if (n === null) return { kind: "eof" };
        this.bytes += n;
        this.lastActivity = clock();
      }
    } catch (error) {
      return { kind: "error", error };
    }
  }
}

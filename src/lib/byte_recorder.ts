/**
 * Keeps a capped copy of the bytes that went one way through a session.
 *
 * @module
 */
import { argBytes, bytesToBinary } from "../config/bytes.ts";

/**
 * A capped, append-only copy of bytes. They are kept as a binary string (one character per
 * byte): appending copies nothing into a new buffer, so recording a short session allocates no
 * `ArrayBuffer` at all until {@linkcode ByteRecorder.bytes} is asked for.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ByteRecorder } from "./byte_recorder.ts";
 * const r = new ByteRecorder(4);
 * r.add(new Uint8Array([0x68, 0x69]));
 * r.add(new Uint8Array([0xff, 0x00, 0x01]));
 * assert.deepEqual(r.bytes(), new Uint8Array([0x68, 0x69, 0xff, 0x00]));
 * assert.equal(r.binary(), "hi\xff\x00");
 * assert.equal(r.truncated, true);
 * ```
 */
export class ByteRecorder {
  #text = "";
  #bytes: Uint8Array | undefined;
  #cap: number;
  #truncated = false;

  /** @param cap Most bytes kept; beyond it the recorder only notes that it truncated. */
  constructor(cap: number) {
    this.#cap = cap;
  }

  /** Bytes kept so far. */
  get length(): number {
    return this.#text.length;
  }

  /** True once a byte was dropped because of the cap. */
  get truncated(): boolean {
    return this.#truncated;
  }

  /** Copies as much of `chunk` as the cap allows (the caller may reuse `chunk` afterwards). */
  add(chunk: Uint8Array): void {
    if (chunk.byteLength === 0) return;
    const room = this.#cap - this.#text.length;
    if (room <= 0) {
      this.#truncated = true;
      return;
    }
    if (chunk.byteLength > room) {
      this.#truncated = true;
      chunk = chunk.subarray(0, room);
    }
    this.#text += bytesToBinary(chunk);
    this.#bytes = undefined;
  }

  /** Everything kept, as a binary string (one character, 0-255, per byte). */
  binary(): string {
    return this.#text;
  }

  /** Everything kept, as one array (built on the first call after a change). */
  bytes(): Uint8Array {
    this.#bytes ??= argBytes(this.#text);
    return this.#bytes;
  }
}

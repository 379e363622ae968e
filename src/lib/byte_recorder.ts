/**
 * Keeps a capped copy of the bytes that went one way through a session.
 *
 * @module
 */

/** A capped, append-only copy of bytes. */
export class ByteRecorder {
  #chunks: Uint8Array[] = [];
  #length = 0;
  #cap: number;
  #truncated = false;

  /** @param cap Most bytes kept; beyond it the recorder only notes that it truncated. */
  constructor(cap: number) {
    this.#cap = cap;
  }

  /** Bytes kept so far. */
  get length(): number {
    return this.#length;
  }

  /** True once a byte was dropped because of the cap. */
  get truncated(): boolean {
    return this.#truncated;
  }

  /** Copies as much of `chunk` as the cap allows (the caller may reuse `chunk` afterwards). */
  add(chunk: Uint8Array): void {
    if (chunk.byteLength === 0) return;
    const room = this.#cap - this.#length;
    if (room <= 0) {
      this.#truncated = true;
      return;
    }
    const n = Math.min(room, chunk.byteLength);
    if (n < chunk.byteLength) this.#truncated = true;
    this.#chunks.push(chunk.slice(0, n));
    this.#length += n;
  }

  /** Everything kept, as one array. */
  bytes(): Uint8Array {
    if (this.#chunks.length === 1) return this.#chunks[0];
    const out = new Uint8Array(this.#length);
    let at = 0;
    for (const c of this.#chunks) {
      out.set(c, at);
      at += c.byteLength;
    }
    return out;
  }
}

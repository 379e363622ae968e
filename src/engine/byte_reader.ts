/**
 * The module's "reading buffer": a fixed-size buffer over a byte stream, read only as far as
 * the read steps need, so unread input stays in the socket (or in the source stream).
 *
 * The buffer holds three regions, in order:
 * `[ request (accumulated by read steps) | unread (received, not yet claimed) | free ]`.
 * Read steps claim bytes from `unread` into `request`; `echo_request_data` consumes the
 * request and moves the unread bytes to the front, so pipelined input stays for the next step.
 *
 * @module
 */

/** Options for {@linkcode ByteReader}. */
export interface ByteReaderOptions {
  /** Capacity of the reading buffer in bytes (`echo_read_buffer_size`). @default {1024} */
  size?: number;
}

/**
 * Reading buffers given back by finished sessions on the direct path, by size (a session of the
 * same server then reuses one instead of allocating and zeroing a new one). Bounded: at most
 * {@linkcode POOL_MAX} buffers per size, sizes up to {@linkcode POOL_SIZE_MAX}.
 */
const pool = new Map<number, Uint8Array[]>();

/**
 * Empties the pool of reading buffers (after a burst, so that the memory can go back to the
 * system: up to 256 buffers per size, 16 MiB for `echo_read_buffer_size 64k`). Returns the bytes
 * it let go of.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { dropPooledBuffers } from "./byte_reader.ts";
 * dropPooledBuffers();
 * assert.equal(dropPooledBuffers(), 0);
 * ```
 */
export function dropPooledBuffers(): number {
  let bytes = 0;
  for (const [size, list] of pool) bytes += size * list.length;
  pool.clear();
  return bytes;
}
const POOL_MAX = 256;
const POOL_SIZE_MAX = 64 * 1024;

/** What a read of a cancelled reader fails with (shared: no stack captured per session). */
const CANCELLED = new Error("reader was cancelled");

/** What a recycled reader holds instead of its buffer (shared: a new empty array is not free). */
const RECYCLED = new Uint8Array(0);

/** Reading buffers up to this size are searched for a LF without a view (see claimLine). */
const SCAN_WHOLE_MAX = 4096;

/** Bytes a stream source hands over per read when discarding input. */
const DISCARD_CHUNK = 4096;

/**
 * Reads straight from a connection, without a stream (`SessionIO.direct`): no stream, reader or
 * transferred buffer per connection.
 */
export interface DirectSource {
  /** Reads at most `buf.byteLength` bytes into `buf`: how many, or null at EOF. */
  read(buf: Uint8Array): Promise<number | null>;
  /** Closes the connection; resolves once a read in flight has settled. */
  cancel(): Promise<void>;
  /**
   * Shown each chunk as soon as a read returns it (a recording tap, src/lib/tap.ts), before the
   * reader goes on: no promise in between. Must copy what it keeps. Absent: nothing is shown.
   */
  onRead?(chunk: Uint8Array): void;
}

type Source =
  | { kind: "byob"; reader: ReadableStreamBYOBReader }
  | { kind: "default"; reader: ReadableStreamDefaultReader<Uint8Array> }
  | { kind: "direct"; reader: DirectSource };

/**
 * A reading buffer over a `ReadableStream<Uint8Array>`. With a byte stream (as the socket
 * adapter provides) it reads with a BYOB reader into the free part of the buffer, so it never
 * takes more from the socket than fits; with any other stream, bytes of a chunk that do not fit
 * wait in a side slot, as if still in the socket.
 *
 * Not safe for two concurrent reads: the session runs one reading activity at a time.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ByteReader } from "./byte_reader.ts";
 * const reader = new ByteReader(ReadableStream.from([new TextEncoder().encode("hi\nthere")]));
 * while (!reader.claimLine()) await reader.fill();
 * assert.equal(new TextDecoder().decode(reader.request()), "hi\n");
 * assert.equal(reader.unread, 5);
 * ```
 */
export class ByteReader {
  #buf: Uint8Array;
  /** Length of the request region (starts at 0). */
  #req = 0;
  /** End of received data in the buffer. */
  #end = 0;
  /** Bytes of a default-reader chunk that did not fit yet. */
  #side: Uint8Array | null = null;
  #eof = false;
  #source: Source;
  #scratch: Uint8Array | null = null;
  #broken = false;
  #received = 0;
  /** Bytes claimed by read steps since the start, ever (never goes down). */
  #claimed = 0;

  constructor(
    readable: ReadableStream<Uint8Array> | DirectSource,
    options: ByteReaderOptions = {},
  ) {
    const size = options.size ?? 1024;
    if (!Number.isInteger(size) || size < 0) throw new RangeError(`bad buffer size ${size}`);
    this.#buf = pool.get(size)?.pop() ?? new Uint8Array(size);
    let source: Source;
    if (!(readable instanceof ReadableStream)) {
      source = { kind: "direct", reader: readable };
    } else {
      try {
        source = { kind: "byob", reader: readable.getReader({ mode: "byob" }) };
      } catch {
        source = { kind: "default", reader: readable.getReader() };
      }
    }
    this.#source = source;
  }

  /** Bytes taken from the source so far (read into the buffer or discarded). */
  get received(): number {
    return this.#received;
  }

  /** The buffer's capacity in bytes. */
  get capacity(): number {
    return this.#buf.byteLength;
  }

  /** True once the client's end of the stream (EOF) has been seen. */
  get eof(): boolean {
    return this.#eof;
  }

  /** Length of the request region (what `echo_request_data` would send). */
  get requestLength(): number {
    return this.#req;
  }

  /** Bytes received from the client that no read step has claimed yet. */
  get unread(): number {
    return this.#end - this.#req + (this.#side?.byteLength ?? 0);
  }

  /** True when the buffer has no free space left. */
  get full(): boolean {
    return this.#end >= this.#buf.byteLength;
  }

  /** Bytes claimed by read steps since the start (a counter that only grows). */
  get claimed(): number {
    return this.#claimed;
  }

  /** The request region as a view (valid until the next call that changes the buffer). */
  request(): Uint8Array {
    return this.#buf.subarray(0, this.#req);
  }

  /**
   * The unread bytes already in the buffer, as a view (valid until the next call that changes
   * the buffer). Bytes of a chunk still waiting to fit are not included.
   */
  unreadView(): Uint8Array {
    return this.#buf.subarray(this.#req, this.#end);
  }

  /** Claims up to `n` unread bytes into the request region; returns how many were claimed. */
  claimBytes(n: number): number {
    const take = Math.min(n, this.#end - this.#req);
    this.#req += take;
    this.#claimed += take;
    return take;
  }

  /**
   * Claims unread bytes through the next LF. Returns true when a LF was found (the line is
   * complete); otherwise claims everything unread and returns false.
   */
  claimLine(): boolean {
    // A small buffer is searched without a view, from the request's end: a LF at or past
    // `#end` is stale, not input. A large one gets a view (no scan of stale bytes per read).
    const end = this.#end;
    const req = this.#req;
    let at = -1;
    if (req < end) {
      if (this.#buf.byteLength <= SCAN_WHOLE_MAX) at = this.#buf.indexOf(0x0a, req);
      else {
        const i = this.#buf.subarray(req, end).indexOf(0x0a);
        if (i >= 0) at = req + i;
      }
    }
    if (at < 0 || at >= end) {
      this.#claimed += end - this.#req;
      this.#req = end;
      return false;
    }
    this.#claimed += at + 1 - this.#req;
    this.#req = at + 1;
    return true;
  }

  /** Drops the request region and moves the unread bytes to the front of the buffer. */
  consumeRequest(): void {
    if (this.#req === 0) return;
    if (this.#req < this.#end) this.#buf.copyWithin(0, this.#req, this.#end);
    this.#end -= this.#req;
    this.#req = 0;
    this.#moveSide();
  }

  /** Drops everything buffered: the request, unread bytes and any chunk waiting to fit. */
  clear(): void {
    this.#req = 0;
    this.#end = 0;
    this.#side = null;
  }

  /**
   * Reads more input into the free part of the buffer. Resolves with the number of bytes added,
   * or null at EOF. Rejects when the stream errors (a reset) or the buffer is full.
   */
  fill(): Promise<number | null> {
    if (this.#eof) return Promise.resolve(null);
    if (this.full) return Promise.reject(new RangeError("reading buffer is full"));
    if (this.#side) return Promise.resolve(this.#moveSide());
    const source = this.#source;
    if (source.kind === "direct") {
      // An empty buffer is read into whole: no view per read.
      const target = this.#end === 0 ? this.#buf : this.#buf.subarray(this.#end);
      return this.#directRead(source.reader, target, this.#filled);
    }
    return this.#fillStream(source);
  }

  /** A direct read into the free part of the buffer returned `n` bytes (null: EOF). */
  #filled = (n: number | null): number | null => {
    if (n === null) {
      this.#eof = true;
      return null;
    }
    (this.#source as { reader: DirectSource }).reader.onRead?.(
      this.#buf.subarray(this.#end, this.#end + n),
    );
    this.#end += n;
    this.#received += n;
    return n;
  };

  async #fillStream(source: Source): Promise<number | null> {
    if (source.kind === "byob") {
      const view = new Uint8Array(this.#buf.buffer, this.#end, this.#buf.byteLength - this.#end);
      const result = await this.#byobRead(source.reader, view);
      // The stream transferred our buffer; adopt the transferred one.
      if (result.value) this.#buf = new Uint8Array(result.value.buffer);
      if (result.done || !result.value) {
        this.#eof = true;
        return null;
      }
      this.#end += result.value.byteLength;
      this.#received += result.value.byteLength;
      return result.value.byteLength;
    }
    if (source.kind !== "default") throw new Error("unreachable: direct sources read in fill()");
    for (;;) {
      const result = await this.#guard(source.reader.read());
      if (result.done) {
        this.#eof = true;
        return null;
      }
      if (result.value.byteLength === 0) continue;
      this.#received += result.value.byteLength;
      this.#side = result.value;
      return this.#moveSide();
    }
  }

  /**
   * Reads input and throws it away (discarding, lingering close): first anything buffered, then
   * one read from the stream. Resolves with the number of bytes dropped, or null at EOF.
   */
  discard(): Promise<number | null> {
    // Bytes already claimed by read steps (the request region) are dropped silently: they are
    // not input the client sent beyond what the script read, so they must not extend lingering.
    const fresh = this.unread;
    if (fresh + this.#req > 0) this.clear();
    if (fresh > 0) return Promise.resolve(fresh);
    if (this.#eof) return Promise.resolve(null);
    const source = this.#source;
    if (source.kind === "direct") {
      // As below: the (empty) reading buffer first, a larger scratch buffer once data keeps
      // coming.
      const useBuf = this.#scratch === null && this.#buf.byteLength > 0;
      const target = useBuf ? this.#buf : (this.#scratch ??= new Uint8Array(DISCARD_CHUNK));
      this.#discardTarget = target;
      return this.#directRead(source.reader, target, this.#discarded);
    }
    return this.#discardStream(source);
  }

  /** What the direct read of {@linkcode discard} reads into. */
  #discardTarget: Uint8Array | null = null;

  /** A direct read of {@linkcode discard} returned `n` bytes (null: EOF). */
  #discarded = (n: number | null): number | null => {
    const target = this.#discardTarget!;
    this.#discardTarget = null;
    if (n === null) {
      this.#eof = true;
      return null;
    }
    (this.#source as { reader: DirectSource }).reader.onRead?.(target.subarray(0, n));
    this.#received += n;
    if (target === this.#buf && n === target.byteLength && n < DISCARD_CHUNK) {
      this.#scratch = new Uint8Array(DISCARD_CHUNK);
    }
    return n;
  };

  async #discardStream(source: Source): Promise<number | null> {
    if (source.kind === "byob") {
      // The (empty) reading buffer serves as scratch until data keeps coming; then a larger
      // scratch buffer takes over. A lingering close that only sees EOF allocates nothing.
      const useBuf = this.#scratch === null && this.#buf.byteLength > 0;
      const target = useBuf ? this.#buf : (this.#scratch ?? new Uint8Array(DISCARD_CHUNK));
      const size = target.byteLength; // the read detaches target
      this.#scratch = null;
      const result = await this.#byobRead(source.reader, target);
      if (result.value) {
        const adopted = new Uint8Array(result.value.buffer);
        if (useBuf) this.#buf = adopted;
        else this.#scratch = adopted;
      }
      if (result.done || !result.value) {
        this.#eof = true;
        return null;
      }
      const n = result.value.byteLength;
      this.#received += n;
      if (useBuf && n === size && n < DISCARD_CHUNK) {
        this.#scratch = new Uint8Array(DISCARD_CHUNK);
      }
      return n;
    }
    if (source.kind !== "default") throw new Error("unreachable: direct sources read in discard()");
    const result = await this.#guard(source.reader.read());
    if (result.done) {
      this.#eof = true;
      return null;
    }
    this.#received += result.value.byteLength;
    return result.value.byteLength;
  }

  /**
   * Cancels the source stream; pending reads end (cancelling closes the stream). Resolves once
   * the source has finished cancelling. Never rejects. The reader keeps its lock on the closed
   * stream: releasing it would reject the reader's `closed` promise with a fresh TypeError, a
   * cost paid on every session for a stream nobody reads again.
   */
  async cancel(): Promise<void> {
    this.#broken = true;
    try {
      await this.#source.reader.cancel();
    } catch { /* already errored */ }
  }

  /**
   * Gives the reading buffer back for another session to reuse; call it only once no read can
   * be in flight (after {@linkcode cancel} resolved). Only on the direct path (a stream may
   * still hold a transferred buffer); the reader must not be used afterwards.
   */
  recycle(): void {
    if (this.#source.kind !== "direct") return;
    const buf = this.#buf;
    const size = buf.byteLength;
    if (size === 0 || size > POOL_SIZE_MAX || buf.byteOffset !== 0) return;
    let list = pool.get(size);
    if (!list) pool.set(size, list = []);
    if (list.length < POOL_MAX) list.push(buf);
    this.#buf = RECYCLED;
    this.#req = this.#end = 0;
    this.#broken = true;
  }

  async #byobRead(
    reader: ReadableStreamBYOBReader,
    view: Uint8Array,
  ): Promise<ReadableStreamReadResult<Uint8Array>> {
    return await this.#guard(reader.read(view as Uint8Array<ArrayBuffer>));
  }

  /**
   * One read of a direct source into `target`, handed to `done` (no async frame: one `then`). A
   * failed read (thrown or rejected) makes the reader unusable, as {@linkcode #guard} does.
   */
  #directRead(
    reader: DirectSource,
    target: Uint8Array,
    done: (n: number | null) => number | null,
  ): Promise<number | null> {
    if (this.#broken) return Promise.reject(CANCELLED);
    let read: Promise<number | null>;
    try {
      read = reader.read(target);
    } catch (err) {
      read = Promise.reject(err);
    }
    return read.then(done, this.#onDirectError);
  }

  /** A direct read failed: the reader is unusable from now on. */
  #onDirectError = (err: unknown): never => {
    this.#broken = true;
    throw err;
  };

  async #guard<T>(p: Promise<T>): Promise<T> {
    if (this.#broken) throw CANCELLED;
    try {
      return await p;
    } catch (err) {
      this.#broken = true;
      throw err;
    }
  }

  #moveSide(): number {
    const side = this.#side;
    if (!side) return 0;
    const room = this.#buf.byteLength - this.#end;
    const take = Math.min(room, side.byteLength);
    this.#buf.set(side.subarray(0, take), this.#end);
    this.#end += take;
    this.#side = take < side.byteLength ? side.subarray(take) : null;
    return take;
  }
}

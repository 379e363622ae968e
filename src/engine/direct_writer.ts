/**
 * A writer over an underlying sink without a `WritableStream`: the part of
 * `WritableStreamDefaultWriter` the session's output uses (`desiredSize`, `ready`, `write`,
 * `close`, `abort`), with the same semantics, for the socket adapter's fast path (building a
 * stream, its controller and writer costs several microseconds per connection): see
 * `SessionIO.direct`.
 *
 * @module
 */

/** What {@linkcode DirectWriter} writes into (the same shape as a stream's underlying sink). */
export interface DirectSink {
  /** Writes one chunk whole; rejects when the connection fails. */
  write(chunk: Uint8Array): Promise<void>;
  /** Ends the output (half-close), after every write completed. */
  close(): Promise<void>;
  /** Called once when aborted, after the write in flight (if any) settled. */
  abort(): Promise<void>;
  /**
   * Shown each chunk once `write` took it whole (a recording tap, src/lib/tap.ts), before the
   * writer goes on: no promise in between. Must copy what it keeps. Absent: nothing is shown.
   */
  onWritten?(chunk: Uint8Array): void;
}

/** The writer members the session's output uses; a `WritableStreamDefaultWriter` has them. */
export type OutputWriter = Pick<
  WritableStreamDefaultWriter<Uint8Array>,
  "desiredSize" | "ready" | "write" | "close" | "abort"
>;

/**
 * Ordered writes into `sink` with byte-counted backpressure (`highWaterMark`), like a
 * `WritableStream` with a `ByteLengthQueuingStrategy` and its default writer: writes run one at
 * a time in order; the first failure (or an abort) errors the writer, and every later or queued
 * write, `ready` and `close` reject with it; `close` waits for the queued writes.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DirectWriter } from "./direct_writer.ts";
 * const got: number[] = [];
 * const w = new DirectWriter({
 *   write: async (c) => void got.push(c.byteLength),
 *   close: async () => {},
 *   abort: async () => {},
 * }, 4);
 * w.write(new Uint8Array(3));
 * assert.equal(w.desiredSize, 1);
 * await w.close();
 * assert.equal(got[0], 3);
 * assert.equal(w.desiredSize, 0);
 * ```
 */
export class DirectWriter implements OutputWriter {
  #sink: DirectSink;
  #hwm: number;
  #queued = 0;
  /** Writes and the close started and not yet settled (they run one at a time, in order). */
  #pending = 0;
  /** The last write or close started: the next one starts once it settled. */
  #last: Promise<void> | null = null;
  #errored = false;
  #error: unknown = undefined;
  #closeRequested = false;
  #closed = false;
  #ready: Promise<undefined> = READY;
  #readyResolve: ((v: undefined) => void) | null = null;
  #readyReject: ((e: unknown) => void) | null = null;

  constructor(sink: DirectSink, highWaterMark: number) {
    this.#sink = sink;
    this.#hwm = highWaterMark;
  }

  get desiredSize(): number | null {
    if (this.#errored) return null;
    if (this.#closed) return 0;
    return this.#hwm - this.#queued;
  }

  get ready(): Promise<undefined> {
    return this.#ready;
  }

  write(chunk: Uint8Array): Promise<void> {
    if (this.#errored) return Promise.reject(this.#error);
    if (this.#closeRequested) {
      return Promise.reject(new TypeError("the writer is closing or closed"));
    }
    this.#queued += chunk.byteLength;
    this.#updateReady();
    // Nothing in flight (the common case): the sink writes at once, no promise in between.
    const last = this.#last;
    const done = this.#pending === 0 || last === null
      ? this.#writeNow(chunk)
      : last.then(() => this.#writeNow(chunk), () => this.#writeNow(chunk));
    this.#pending++;
    this.#last = done;
    return done;
  }

  close(): Promise<void> {
    if (this.#errored) {
      return Promise.reject(new TypeError("Writable stream is closed or errored."));
    }
    if (this.#closeRequested) {
      return Promise.reject(new TypeError("the writer is closing or closed"));
    }
    this.#closeRequested = true;
    const last = this.#last;
    const done = this.#pending === 0 || last === null
      ? this.#closeNow()
      : last.then(() => this.#closeNow(), () => this.#closeNow());
    this.#pending++;
    this.#last = done;
    return done;
  }

  async abort(reason?: unknown): Promise<void> {
    if (this.#closed || this.#errored) return;
    this.#fail(reason);
    // The write in flight settles first (queued ones see the error).
    if (this.#pending > 0 && this.#last) await this.#last.then(noop, noop);
    await this.#sink.abort();
  }

  /** One write, once everything before it settled; the promise settles once it did. */
  #writeNow(chunk: Uint8Array): Promise<void> {
    const size = chunk.byteLength;
    if (this.#errored) {
      this.#settled(size);
      return Promise.reject(this.#error);
    }
    let written: Promise<void>;
    try {
      written = this.#sink.write(chunk);
    } catch (err) {
      written = Promise.reject(err);
    }
    return written.then(
      () => {
        this.#settled(size);
        this.#sink.onWritten?.(chunk);
      },
      (err) => {
        this.#fail(err);
        this.#settled(size);
        throw err;
      },
    );
  }

  #closeNow(): Promise<void> {
    if (this.#errored) {
      this.#settled(0);
      return Promise.reject(this.#error);
    }
    let closed: Promise<void>;
    try {
      closed = this.#sink.close();
    } catch (err) {
      closed = Promise.reject(err);
    }
    return closed.then(
      () => {
        this.#pending--;
        this.#closed = true;
      },
      (err) => {
        this.#fail(err);
        this.#pending--;
        throw err;
      },
    );
  }

  #settled(size: number): void {
    this.#pending--;
    this.#queued -= size;
    this.#updateReady();
  }

  #fail(err: unknown): void {
    if (this.#errored) return;
    this.#errored = true;
    this.#error = err;
    if (this.#readyReject) {
      this.#readyReject(err);
    } else {
      this.#ready = Promise.reject(err);
    }
    this.#ready.catch(noop);
    this.#readyResolve = this.#readyReject = null;
  }

  #updateReady(): void {
    if (this.#errored) return;
    const backpressure = this.#hwm - this.#queued <= 0;
    if (backpressure && !this.#readyResolve) {
      this.#ready = new Promise((resolve, reject) => {
        this.#readyResolve = resolve;
        this.#readyReject = reject;
      });
      this.#ready.catch(noop);
    } else if (!backpressure && this.#readyResolve) {
      this.#readyResolve(undefined);
      this.#readyResolve = this.#readyReject = null;
    }
  }
}

/** The `ready` of a writer with room: shared, it is resolved for good. */
const READY: Promise<undefined> = Promise.resolve(undefined);

function noop(): void {}

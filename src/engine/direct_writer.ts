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
  #tail: Promise<void> = Promise.resolve();
  #errored = false;
  #error: unknown = undefined;
  #closeRequested = false;
  #closed = false;
  #ready: Promise<undefined> = Promise.resolve(undefined);
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
    const size = chunk.byteLength;
    this.#queued += size;
    this.#updateReady();
    const done = this.#tail.then(async () => {
      if (this.#errored) throw this.#error;
      try {
        await this.#sink.write(chunk);
        this.#sink.onWritten?.(chunk);
      } catch (err) {
        this.#fail(err);
        throw err;
      } finally {
        this.#queued -= size;
        this.#updateReady();
      }
    });
    this.#tail = done.catch(() => {});
    return done;
  }

  async close(): Promise<void> {
    if (this.#errored) throw new TypeError("Writable stream is closed or errored.");
    if (this.#closeRequested) throw new TypeError("the writer is closing or closed");
    this.#closeRequested = true;
    const done = this.#tail.then(async () => {
      if (this.#errored) throw this.#error;
      try {
        await this.#sink.close();
      } catch (err) {
        this.#fail(err);
        throw err;
      }
      this.#closed = true;
    });
    this.#tail = done.catch(() => {});
    return await done;
  }

  async abort(reason?: unknown): Promise<void> {
    if (this.#closed || this.#errored) return;
    this.#fail(reason);
    await this.#tail; // the write in flight settles first (queued ones see the error)
    await this.#sink.abort();
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
    this.#ready.catch(() => {});
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
      this.#ready.catch(() => {});
    } else if (!backpressure && this.#readyResolve) {
      this.#readyResolve(undefined);
      this.#readyResolve = this.#readyReject = null;
    }
  }
}

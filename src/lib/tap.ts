/**
 * Taps: streams that stand in front of a session's readable and writable, show every chunk to a
 * callback, and otherwise change nothing. The engine cannot tell them from the real streams:
 *
 * - reads are pulled one for one: the tap reads from the source only when its own reader asks
 *   (high-water mark 0), so no byte leaves the socket that the engine did not ask for (unread
 *   input must stay in the kernel: lingering close and resets depend on it);
 * - a byte source stays a byte source: BYOB reads are passed through with the caller's buffer,
 *   so read sizes are the engine's own;
 * - EOF, errors and cancellation pass through with the same values;
 * - a write resolves when the write underneath resolves, and fails as it fails, so backpressure
 *   and flush waits are the same as without the tap.
 *
 * These are hand-written stream pairs rather than `pipeThrough(new TransformStream())`: a pipe
 * reads ahead into the transform's queue and reports errors a tick late, both of which would
 * change what the engine sees.
 *
 * @module
 */
import type { DirectSink } from "../engine/direct_writer.ts";
import type { DirectIO, SessionIO } from "../engine/types.ts";

/** Called with each chunk that passed; the chunk must be copied if it is kept. */
export type ChunkTap = (chunk: Uint8Array) => void;

/**
 * Size of the buffer a default (non-BYOB) read of a tapped byte stream gets: the socket
 * adapter's own default (src/server/transport.ts), so such reads take what they would untapped.
 */
const AUTO_CHUNK = 16 * 1024;

/**
 * A readable that yields exactly what `source` yields, reading from it only on demand, and shows
 * each chunk to `tap` before handing it on.
 */
export function tapReadable(
  source: ReadableStream<Uint8Array>,
  tap: ChunkTap,
): ReadableStream<Uint8Array> {
  let byob: ReadableStreamBYOBReader | undefined;
  try {
    byob = source.getReader({ mode: "byob" });
  } catch {
    // Not a byte stream: fall back to a default reader below.
  }
  return byob ? tapByteSource(byob, tap) : tapDefaultSource(source.getReader(), tap);
}

function tapByteSource(
  reader: ReadableStreamBYOBReader,
  tap: ChunkTap,
): ReadableStream<Uint8Array> {
  let cancelled = false;
  return new ReadableStream({
    type: "bytes",
    autoAllocateChunkSize: AUTO_CHUNK,
    async pull(controller) {
      // With autoAllocateChunkSize every pull has a request, default reads included.
      const request = controller.byobRequest;
      const view = request?.view;
      if (!request || !view) return;
      const { value, done } = await reader.read(
        new Uint8Array(view.buffer, view.byteOffset, view.byteLength),
      );
      if (cancelled) return;
      if (done) {
        controller.close();
        // The source took our buffer; hand it back empty to settle the request.
        if (value) request.respondWithNewView(value);
        return;
      }
      tap(value);
      request.respondWithNewView(value);
    },
    cancel(reason) {
      cancelled = true;
      return reader.cancel(reason);
    },
  });
}

function tapDefaultSource(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  tap: ChunkTap,
): ReadableStream<Uint8Array> {
  let cancelled = false;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const { value, done } = await reader.read();
      if (cancelled) return;
      if (done) {
        controller.close();
        return;
      }
      tap(value);
      controller.enqueue(value);
    },
    cancel(reason) {
      cancelled = true;
      return reader.cancel(reason);
    },
  }, { highWaterMark: 0 });
}

/** A tapped writable, and a way to wait until what was written to it so far has settled. */
export interface WritableTap {
  writable: WritableStream<Uint8Array>;
  /** Resolves once every chunk written so far was written underneath (or dropped by an error). */
  settled(): Promise<void>;
}

/**
 * A writable that writes each chunk to `sink` and shows it to `tap` once the write underneath
 * has succeeded. Each write settles as the write underneath settles; close and abort pass
 * through. Its queue counts bytes with the high-water mark `sink` has when tapped, so a writer
 * sees the same `desiredSize` and `ready` as it would writing to `sink` directly (a
 * WritableStream writes one chunk at a time to its sink, so `sink` holds at most the chunk in
 * flight, which this queue still counts).
 */
export function tapWritable(sink: WritableStream<Uint8Array>, tap: ChunkTap): WritableTap {
  const writer = sink.getWriter();
  const highWaterMark = Math.max(0, writer.desiredSize ?? 1);
  let pending = 0;
  let idle: (() => void)[] = [];
  const done = (all: boolean) => {
    pending = all ? 0 : pending - 1;
    if (pending > 0) return;
    for (const resolve of idle) resolve();
    idle = [];
  };
  const writable = new WritableStream<Uint8Array>({
    async write(chunk) {
      try {
        await writer.write(chunk);
      } catch (err) {
        done(true); // the stream errors: queued chunks will never be written
        throw err;
      }
      tap(chunk);
      done(false);
    },
    close() {
      return writer.close();
    },
    abort(reason) {
      done(true);
      return writer.abort(reason);
    },
  }, {
    highWaterMark,
    size(chunk) {
      pending++;
      return chunk.byteLength;
    },
  });
  return {
    writable,
    settled: () =>
      pending === 0 ? Promise.resolve() : new Promise<void>((resolve) => idle.push(resolve)),
  };
}

/**
 * `io` with taps on both directions: `onRead` sees each chunk read from the client, `onWrite`
 * each chunk once the socket took it. Unlike {@linkcode tapReadable} / {@linkcode tapWritable},
 * no stream is added:
 *
 * - on the engine's direct path (`io.direct`), the wrapper's own direct calls show the chunks
 *   on their way to `io.direct`'s;
 * - otherwise the readers and writers that `readable.getReader()` and `writable.getWriter()`
 *   hand out show them (the streams are `io`'s own, fetched only when asked for).
 *
 * So a tapped session costs two small objects, not a second pair of streams. Everything else
 * is `io`'s own: read sizes, EOF, errors, cancellation, backpressure, the order of a `closeWrite`
 * after the writes before it, and the other members of {@linkcode SessionIO} (`close`,
 * `closeWrite`, `reset`, `unread`, `accepted`: copied). What
 * a reader, writer or direct call sees is what the taps see; a `pipeTo` into `writable` is not
 * seen (the engine only reads and writes). A tap that throws is ignored: it must not fail the
 * session's I/O.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { tapSession } from "./tap.ts";
 * const seen: string[] = [];
 * const io = tapSession(
 *   {
 *     readable: new ReadableStream({ start: (c) => c.close() }),
 *     writable: new WritableStream(),
 *     close: () => {},
 *   },
 *   () => {},
 *   (chunk) => void seen.push(new TextDecoder().decode(chunk)),
 * );
 * const writer = io.writable.getWriter();
 * await writer.write(new TextEncoder().encode("hi"));
 * assert.deepEqual(seen, ["hi"]);
 * ```
 */
export function tapSession(io: SessionIO, onRead: ChunkTap, onWrite: ChunkTap): SessionIO {
  return new CallbackTap(io, onRead, onWrite);
}

/**
 * What {@linkcode tapSession} returns, for a recorder to extend instead of passing closures: the
 * subclass's {@linkcode SessionTap.tapRead} and {@linkcode SessionTap.tapWritten} are the taps,
 * so a tapped session is this object and its direct path, and nothing else. A class, so that its
 * lazy `readable` / `writable` are shared prototype getters: an object literal with getters costs
 * microseconds per session.
 */
export abstract class SessionTap implements SessionIO {
  readonly #io: SessionIO;
  #readable: ReadableStream<Uint8Array> | undefined;
  #writable: WritableStream<Uint8Array> | undefined;
  /** `io.close`. */
  close: () => void;
  /** `io.closeWrite`. */
  closeWrite: (() => Promise<void>) | undefined;
  /** `io.reset`. */
  reset: (() => void) | undefined;
  /** `io.unread`. */
  unread: (() => number) | undefined;
  /** `io.accepted`. */
  accepted: (() => number) | undefined;
  /** `io.direct`'s calls, their chunks shown to the taps (when `io` has a direct path). */
  direct: DirectIO | undefined;

  /** Taps `io` (see {@linkcode tapSession}). */
  constructor(io: SessionIO) {
    this.#io = io;
    // Every other member is the io's own operation, called on `io` itself (which may keep them on
    // a prototype, as the transport's does) through one shared function each: no closure and no
    // key list per session. A member the io lacks stays undefined, which the engine reads as
    // absent.
    const calls = SessionTap.#calls;
    this.close = calls.close;
    this.closeWrite = typeof io.closeWrite === "function" ? calls.closeWrite : undefined;
    this.reset = typeof io.reset === "function" ? calls.reset : undefined;
    this.unread = typeof io.unread === "function" ? calls.unread : undefined;
    this.accepted = typeof io.accepted === "function" ? calls.accepted : undefined;
    const direct = io.direct;
    // The engine shows the direct path's chunks to the taps as its own reads and writes
    // complete: no promise is added to either, and no closure per session.
    this.direct = direct ? new TappedDirect(this, direct) : undefined;
  }

  /** The io's operations, called on the io: one shared function each. */
  static readonly #calls = {
    close(this: SessionTap): void {
      this.#io.close();
    },
    closeWrite(this: SessionTap): Promise<void> {
      return this.#io.closeWrite!();
    },
    reset(this: SessionTap): void {
      this.#io.reset!();
    },
    unread(this: SessionTap): number {
      return this.#io.unread!();
    },
    accepted(this: SessionTap): number {
      return this.#io.accepted!();
    },
  };

  /** Shown each chunk read from the client; must copy what it keeps. */
  abstract tapRead(chunk: Uint8Array): void;

  /** Shown each chunk once the socket took it; must copy what it keeps. */
  abstract tapWritten(chunk: Uint8Array): void;

  /** The io's own stream (built when first asked for), its readers tapped. */
  get readable(): ReadableStream<Uint8Array> {
    return this.#readable ??= tapReaders(this.#io.readable, (c) => this.tapRead(c));
  }

  /** The io's own stream (built when first asked for), its writers tapped. */
  get writable(): WritableStream<Uint8Array> {
    return this.#writable ??= tapWriters(this.#io.writable, (c) => this.tapWritten(c));
  }
}

/** The {@linkcode SessionTap} of {@linkcode tapSession}: two callbacks. */
class CallbackTap extends SessionTap {
  readonly #onRead: ChunkTap;
  readonly #onWrite: ChunkTap;

  constructor(io: SessionIO, onRead: ChunkTap, onWrite: ChunkTap) {
    super(io);
    this.#onRead = onRead;
    this.#onWrite = onWrite;
  }

  tapRead(chunk: Uint8Array): void {
    this.#onRead(chunk);
  }

  tapWritten(chunk: Uint8Array): void {
    this.#onWrite(chunk);
  }
}

/**
 * The direct path of a {@linkcode SessionTap}: `direct`'s own calls, its chunks shown to the taps.
 * It is its own sink too (one object per tapped session, not two), and holds only the tap and
 * `direct` (the rest are getters).
 */
class TappedDirect implements DirectIO, DirectSink {
  readonly of: SessionTap;
  readonly #direct: DirectIO;

  constructor(of: SessionTap, direct: DirectIO) {
    this.of = of;
    this.#direct = direct;
  }

  /** `direct`'s. */
  get highWaterMark(): number {
    return this.#direct.highWaterMark;
  }

  /** Itself: its writes are `direct.sink`'s, shown to the taps. */
  get sink(): DirectSink {
    return this;
  }

  read(buf: Uint8Array): Promise<number | null> {
    return this.#direct.read(buf);
  }

  cancel(): Promise<void> {
    return this.#direct.cancel();
  }

  onRead(chunk: Uint8Array): void {
    this.#direct.onRead?.(chunk);
    try {
      this.of.tapRead(chunk);
    } catch { /* a tap must not fail the session's I/O */ }
  }

  write(chunk: Uint8Array): Promise<void> {
    return this.#direct.sink.write(chunk);
  }

  close(): Promise<void> {
    return this.#direct.sink.close();
  }

  abort(): Promise<void> {
    return this.#direct.sink.abort();
  }

  onWritten(chunk: Uint8Array): void {
    this.#direct.sink.onWritten?.(chunk);
    try {
      this.of.tapWritten(chunk);
    } catch { /* a tap must not fail the session's I/O */ }
  }
}

/** `stream`, whose readers show each chunk they read to `tap` (the stream itself is patched). */
function tapReaders(
  stream: ReadableStream<Uint8Array>,
  tap: ChunkTap,
): ReadableStream<Uint8Array> {
  const getReader = stream.getReader;
  // deno-lint-ignore no-explicit-any
  (stream as any).getReader = function (options?: ReadableStreamGetReaderOptions) {
    const reader = getReader.call(stream, options as { mode: "byob" });
    const read = reader.read;
    // deno-lint-ignore no-explicit-any
    (reader as any).read = function (...args: unknown[]) {
      // deno-lint-ignore no-explicit-any
      return (read as any).apply(reader, args).then(
        (result: ReadableStreamReadResult<Uint8Array>) => {
          if (!result.done && result.value) call(tap, result.value);
          return result;
        },
      );
    };
    return reader;
  };
  return stream;
}

/** `stream`, whose writers show each chunk to `tap` once written (the stream itself is patched). */
function tapWriters(
  stream: WritableStream<Uint8Array>,
  tap: ChunkTap,
): WritableStream<Uint8Array> {
  const getWriter = stream.getWriter;
  stream.getWriter = function () {
    const writer = getWriter.call(stream);
    const write = writer.write;
    writer.write = function (chunk?: Uint8Array) {
      return write.call(writer, chunk).then(() => {
        if (chunk) call(tap, chunk);
      });
    };
    return writer;
  };
  return stream;
}

function call(tap: ChunkTap, chunk: Uint8Array): void {
  try {
    tap(chunk);
  } catch { /* a tap must not fail the session's I/O */ }
}

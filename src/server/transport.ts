/**
 * The transport: a {@linkcode SessionIO} over a `Deno.Conn` (TCP, TLS or Unix). The engine
 * (src/engine/) sees only SessionIO; everything that names Deno's sockets lives here and in
 * socket_fd.ts.
 *
 * Deno's own `conn.readable`/`conn.writable` close the whole connection at EOF, on cancel and on
 * `writer.close()`, which breaks half-close protocols; this adapter reads with `conn.read()` and
 * writes with `conn.write()` instead:
 * - `readable` is a byte stream: a BYOB read takes at most the bytes asked for, so unread input
 *   stays in the socket (and a pending read pins only the caller's small buffer);
 * - `writable` resolves a write once every byte was handed to the socket (partial writes are
 *   retried) and closing it half-closes (`closeWrite`, FIN), leaving the read side open;
 * - `close()` closes the whole connection gracefully; `reset()` always sends the client a TCP
 *   reset first; `unread()` tells how much input waits unread in the socket (the engine's C
 *   `close()` semantics). The last two need the socket's descriptor, captured at accept
 *   (socket_fd.ts; TCP and TLS on Linux with `--allow-ffi`): without it `reset()` is a plain
 *   close and `unread()` says 0.
 *
 * @module
 */
import type { DirectSink } from "../engine/direct_writer.ts";
import type { DirectIO, SessionIO } from "../engine/types.ts";
import { captureSocket, type SocketFd } from "./socket_fd.ts";

/** Options for {@linkcode connIO}. */
export interface ConnIOOptions {
  /** Bytes queued in front of the socket before writers see backpressure. @default {262144} */
  writeHighWaterMark?: number;
  /** Chunk size for readers that do not bring their own buffer. @default {16384} */
  readChunkSize?: number;
  /**
   * The connection's descriptor, captured right after accept by `captureSocket` (null: none).
   * @default {captureSocket(conn)}, which is right only when called right after `accept()`.
   */
  socket?: SocketFd | null;
  /**
   * The socket has `TCP_NODELAY` already (inherited from its listening socket): no
   * `setNoDelay` call. @default {false}
   */
  hasNoDelay?: boolean;
  /**
   * Offer the direct path (`SessionIO.direct`: `conn.read` into the reading buffer, `conn.write`
   * from the output queue, no streams) to a session that runs over this very io. @default {true}
   */
  direct?: boolean;
}

/**
 * Wraps a connection for the engine's `runSession`. Turns Nagle off for TCP (`setNoDelay`) unless
 * the socket has it off already (`hasNoDelay`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { connIO } from "./transport.ts";
 * const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * const port = (listener.addr as Deno.NetAddr).port;
 * const client = await Deno.connect({ hostname: "127.0.0.1", port });
 * const io = connIO(await listener.accept()); // right after accept: finds the descriptor
 * const writer = io.writable.getWriter();
 * await writer.write(new TextEncoder().encode("hi"));
 * await writer.close(); // half-close: the client sees EOF after "hi"
 * const buf = new Uint8Array(8);
 * assert.equal(await client.read(buf), 2);
 * assert.equal(await client.read(buf), null);
 * io.close();
 * client.close();
 * listener.close();
 * ```
 */
export function connIO(conn: Deno.Conn, options: ConnIOOptions = {}): SessionIO {
  const socket = options.socket === undefined ? captureSocket(conn) : options.socket;
  return new ConnIO(
    conn,
    socket,
    options.writeHighWaterMark ?? 262144,
    options.readChunkSize ?? 16384,
    options.direct !== false,
    options.hasNoDelay === true,
  );
}

/**
 * The io {@linkcode connIO} returns. One object per connection, its operations shared methods
 * (closures for each would cost a few hundred bytes per connection); with its
 * {@linkcode ConnCore} (the direct path and the writable stream's sink) it is all a connection
 * needs until a stream is asked for. Its members are methods, not own properties: a wrapper
 * calls them on this object (`io.reset()`), it does not copy them.
 */
class ConnIO implements SessionIO {
  direct?: DirectIO;
  readonly #core: ConnCore;
  readonly #readChunkSize: number;
  #readable: ReadableStream<Uint8Array> | undefined;
  #writable: WritableStream<Uint8Array> | undefined;

  constructor(
    conn: Deno.Conn,
    socket: SocketFd | null,
    highWaterMark: number,
    readChunkSize: number,
    direct: boolean,
    hasNoDelay: boolean,
  ) {
    this.#core = new ConnCore(this, conn, socket, highWaterMark);
    this.#readChunkSize = readChunkSize;
    if (direct) this.direct = this.#core;
    const tcp = conn as Partial<Deno.TcpConn>;
    if (!hasNoDelay && typeof tcp.setNoDelay === "function") {
      try {
        tcp.setNoDelay(true);
      } catch { /* not a TCP socket after all */ }
    }
  }

  // The streams are built on first use only: a session on the direct path never asks for them.
  get readable(): ReadableStream<Uint8Array> {
    return this.#readable ??= byteStream(this.#core, this.#readChunkSize);
  }

  get writable(): WritableStream<Uint8Array> {
    return this.#writable ??= new WritableStream<Uint8Array>(
      this.#core,
      new ByteLengthQueuingStrategy({ highWaterMark: this.#core.highWaterMark }),
    );
  }

  async closeWrite(): Promise<void> {
    const core = this.#core;
    await core.pendingWrite.then(noop, noop);
    if (!core.closed) await core.conn.closeWrite();
  }

  close(): void {
    this.#core.closeAll();
  }

  accepted(): number {
    return this.#core.accepted;
  }

  reset(): void {
    const core = this.#core;
    if (!core.closed) core.socket?.reset();
    core.closeAll();
  }

  unread(): number {
    const core = this.#core;
    return core.closed || !core.socket ? 0 : core.socket.unread();
  }
}

/**
 * A connection's state, its direct path ({@linkcode DirectIO}) and the underlying sink of its
 * writable stream ({@linkcode DirectSink}: `close` there is the half-close).
 */
class ConnCore implements DirectIO, DirectSink {
  readonly of: SessionIO;
  readonly conn: Deno.Conn;
  readonly socket: SocketFd | null;
  readonly highWaterMark: number;
  closed = false;
  // The read and write in flight, stored as they are (whoever started them handles their
  // rejection); cancel and abort wait for them to settle.
  pendingRead: Promise<unknown> = SETTLED;
  pendingWrite: Promise<unknown> = SETTLED;
  /** Bytes the socket took so far. */
  accepted = 0;
  /** The chunk being written (writes never overlap: each waits for the one before). */
  #chunk: Uint8Array = EMPTY;

  constructor(of: SessionIO, conn: Deno.Conn, socket: SocketFd | null, highWaterMark: number) {
    this.of = of;
    this.conn = conn;
    this.socket = socket;
    this.highWaterMark = highWaterMark;
  }

  get sink(): DirectSink {
    return this;
  }

  closeAll(): void {
    if (this.closed) return;
    this.closed = true;
    this.socket?.release();
    try {
      this.conn.close();
    } catch { /* already closed */ }
  }

  /** One read: at most `target.byteLength` bytes; EOF once the connection was closed on purpose. */
  read(target: Uint8Array): Promise<number | null> {
    const p = this.conn.read(target);
    this.pendingRead = p;
    return p.catch(this.#readFailed);
  }

  #readFailed = (err: unknown): null => {
    if (this.closed) return null;
    throw err;
  };

  cancel(): Promise<void> {
    this.closeAll();
    return this.pendingRead.then(noop, noop);
  }

  write(chunk: Uint8Array): Promise<void> {
    // Most writes are taken whole at once: one promise, no async frame, no closure.
    if (chunk.byteLength === 0) return Promise.resolve();
    const p = this.conn.write(chunk);
    this.pendingWrite = p;
    this.#chunk = chunk;
    return p.then(this.#written);
  }

  #written = (n: number): Promise<void> | undefined => {
    const chunk = this.#chunk;
    this.#chunk = EMPTY;
    if (n <= 0) throw new Deno.errors.WriteZero("the socket accepted no bytes");
    this.accepted += n;
    return n < chunk.byteLength ? this.#writeRest(chunk, n) : undefined;
  };

  /** The rest of a chunk the socket took only part of. */
  async #writeRest(chunk: Uint8Array, offset: number): Promise<void> {
    while (offset < chunk.byteLength) {
      const p = this.conn.write(chunk.subarray(offset));
      this.pendingWrite = p;
      const n = await p;
      if (n <= 0) throw new Deno.errors.WriteZero("the socket accepted no bytes");
      offset += n;
      this.accepted += n;
    }
  }

  // No async frames below: one promise each.
  close(): Promise<void> {
    if (this.closed) return SETTLED;
    try {
      return this.conn.closeWrite();
    } catch (err) {
      return Promise.reject(err);
    }
  }

  abort(): Promise<void> {
    return this.pendingWrite.then(noop, noop);
  }
}

const SETTLED: Promise<void> = Promise.resolve();
const EMPTY = new Uint8Array(0);

function noop(): void {}

/** A byte stream over `core.read`: a BYOB read takes at most the bytes asked for. */
function byteStream(core: ConnCore, autoAllocateChunkSize: number): ReadableStream<Uint8Array> {
  return new ReadableStream({
    type: "bytes",
    autoAllocateChunkSize,
    async pull(controller) {
      const request = controller.byobRequest;
      if (!request?.view) return;
      const view = request.view;
      let n: number | null;
      try {
        n = await core.read(new Uint8Array(view.buffer, view.byteOffset, view.byteLength));
      } catch (err) {
        controller.error(err);
        return;
      }
      if (n === null) {
        finish(controller);
      } else {
        try {
          request.respond(n);
        } catch { /* the stream was cancelled meanwhile */ }
      }
    },
    cancel: () => core.cancel(),
  });
}

function finish(controller: ReadableByteStreamController): void {
  try {
    controller.close();
    controller.byobRequest?.respond(0);
  } catch { /* already closed or cancelled */ }
}

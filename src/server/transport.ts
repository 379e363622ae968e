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
import type { SessionIO } from "../engine/types.ts";
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
   * Offer the direct path (`SessionIO.direct`: `conn.read` into the reading buffer, `conn.write`
   * from the output queue, no streams) to a session that runs over this very io. @default {true}
   */
  direct?: boolean;
}

/**
 * Wraps a connection for the engine's `runSession`. Turns Nagle off for TCP (`setNoDelay`).
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
  let closed = false;
  // The read and write in flight, stored as they are (whoever started them handles their
  // rejection); cancel and abort wait for them to settle.
  let pendingRead: Promise<unknown> = Promise.resolve();
  let pendingWrite: Promise<unknown> = Promise.resolve();
  let accepted = 0;
  const socket = options.socket === undefined ? captureSocket(conn) : options.socket;
  const setNoDelay = (conn as Partial<Deno.TcpConn>).setNoDelay;
  if (typeof setNoDelay === "function") {
    try {
      setNoDelay.call(conn, true);
    } catch { /* not a TCP socket after all */ }
  }

  const close = () => {
    if (closed) return;
    closed = true;
    socket?.release();
    try {
      conn.close();
    } catch { /* already closed */ }
  };

  /** One read: at most `target.byteLength` bytes; EOF once the connection was closed on purpose. */
  const readFailed = (err: unknown): null => {
    if (closed) return null;
    throw err;
  };
  const read = (target: Uint8Array): Promise<number | null> => {
    const p = conn.read(target);
    pendingRead = p;
    return p.catch(readFailed);
  };
  const cancel = async () => {
    close();
    await pendingRead.then(noop, noop);
  };

  /** The rest of a chunk the socket took only part of. */
  const writeRest = async (chunk: Uint8Array, offset: number): Promise<void> => {
    while (offset < chunk.byteLength) {
      const p = conn.write(chunk.subarray(offset));
      pendingWrite = p;
      const n = await p;
      if (n <= 0) throw new Deno.errors.WriteZero("the socket accepted no bytes");
      offset += n;
      accepted += n;
    }
  };
  const sink: DirectSink = {
    write(chunk) {
      // Most writes are taken whole at once: one promise, no async frame.
      if (chunk.byteLength === 0) return Promise.resolve();
      const p = conn.write(chunk);
      pendingWrite = p;
      return p.then((n): Promise<void> | undefined => {
        if (n <= 0) throw new Deno.errors.WriteZero("the socket accepted no bytes");
        accepted += n;
        return n < chunk.byteLength ? writeRest(chunk, n) : undefined;
      });
    },
    async close() {
      if (closed) return;
      await conn.closeWrite();
    },
    async abort() {
      await pendingWrite.then(noop, noop);
    },
  };
  const highWaterMark = options.writeHighWaterMark ?? 262144;
  const readChunkSize = options.readChunkSize ?? 16384;

  // The streams are built on first use only: a session on the direct path never asks for them.
  let readable: ReadableStream<Uint8Array> | undefined;
  let writable: WritableStream<Uint8Array> | undefined;
  const io: SessionIO = {
    get readable(): ReadableStream<Uint8Array> {
      return readable ??= byteStream(read, cancel, readChunkSize);
    },
    get writable(): WritableStream<Uint8Array> {
      return writable ??= new WritableStream<Uint8Array>(
        sink,
        new ByteLengthQueuingStrategy({ highWaterMark }),
      );
    },
    async closeWrite() {
      await pendingWrite.then(noop, noop);
      if (!closed) await conn.closeWrite();
    },
    close,
    accepted: () => accepted,
    reset() {
      if (!closed) socket?.reset();
      close();
    },
    unread: () => closed || !socket ? 0 : socket.unread(),
  };
  if (options.direct !== false) io.direct = { of: io, read, cancel, sink, highWaterMark };
  return io;
}

function noop(): void {}

/** A byte stream over `read`: a BYOB read takes at most the bytes asked for. */
function byteStream(
  read: (target: Uint8Array) => Promise<number | null>,
  cancel: () => Promise<void>,
  autoAllocateChunkSize: number,
): ReadableStream<Uint8Array> {
  return new ReadableStream({
    type: "bytes",
    autoAllocateChunkSize,
    async pull(controller) {
      const request = controller.byobRequest;
      if (!request?.view) return;
      const view = request.view;
      let n: number | null;
      try {
        n = await read(new Uint8Array(view.buffer, view.byteOffset, view.byteLength));
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
    cancel,
  });
}

function finish(controller: ReadableByteStreamController): void {
  try {
    controller.close();
    controller.byobRequest?.respond(0);
  } catch { /* already closed or cancelled */ }
}

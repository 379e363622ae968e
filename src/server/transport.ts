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

  const source: UnderlyingByteSource = {
    type: "bytes",
    autoAllocateChunkSize: options.readChunkSize ?? 16384,
    async pull(controller) {
      const request = controller.byobRequest;
      if (!request?.view) return;
      const view = request.view;
      const target = new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
      let n: number | null;
      try {
        const read = conn.read(target);
        pendingRead = read.catch(() => {});
        n = await read;
      } catch (err) {
        if (closed) {
          finish(controller);
        } else {
          controller.error(err);
        }
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
    async cancel() {
      close();
      await pendingRead;
    },
  };
  const readable: ReadableStream<Uint8Array> = new ReadableStream(source);

  const writable = new WritableStream<Uint8Array>(
    {
      async write(chunk) {
        let offset = 0;
        while (offset < chunk.byteLength) {
          const write = conn.write(chunk.subarray(offset));
          pendingWrite = write.catch(() => {});
          const n = await write;
          if (n <= 0) throw new Deno.errors.WriteZero("the socket accepted no bytes");
          offset += n;
          accepted += n;
        }
      },
      async close() {
        if (closed) return;
        await conn.closeWrite();
      },
      async abort() {
        await pendingWrite;
      },
    },
    new ByteLengthQueuingStrategy({ highWaterMark: options.writeHighWaterMark ?? 262144 }),
  );

  return {
    readable,
    writable,
    async closeWrite() {
      await pendingWrite;
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
}

function finish(controller: ReadableByteStreamController): void {
  try {
    controller.close();
    controller.byobRequest?.respond(0);
  } catch { /* already closed or cancelled */ }
}

/**
 * Two socket operations Deno does not offer, done through the C library (Linux and macOS, with
 * `--allow-ffi`; elsewhere or without the permission they do nothing and say so):
 *
 * 1. **Nagle off on TLS connections** (`Deno.TlsConn` has no `setNoDelay`). After a TLS 1.3
 *    handshake the server sends its session ticket; with Nagle on, the first reply bytes then
 *    wait for the client's delayed ACK (about 40 ms on Linux, up to 200 ms elsewhere), and so
 *    does every later small write while one is unacknowledged. Measured here with a Python
 *    client: first reply byte 40-45 ms after the handshake with Nagle on, under 1 ms with it
 *    off. Accepted sockets inherit `TCP_NODELAY` from their listening socket (Linux; BSD and
 *    macOS copy it too), so it is set once on the listener ({@linkcode setListenerNoDelay}),
 *    right after binding: a few calls per listener, nothing per connection.
 * 2. **Closing a connection whose TLS handshake has not finished.** Deno's `close()` then
 *    interrupts the pending operation but leaves the TCP socket open (the client never sees
 *    EOF, the descriptor stays in use). {@linkcode shutdownSocket} calls `shutdown(SHUT_RDWR)`
 *    on it, after which Deno's own task ends and the descriptor is released.
 *
 * Descriptors are found when their socket is new, never by scanning (src/sys/libc.ts
 * `findNewFd`; for connections, socket_fd.ts).
 *
 * @module
 */

import { findNewFd, libc, libcUnavailable, netAddrKey, sockKey, sockPort } from "../sys/libc.ts";
import type { SocketFd } from "./socket_fd.ts";

const IPPROTO_TCP = 6;
const TCP_NODELAY = 1;

/** Why these helpers cannot work here, or undefined when they can. */
export function socketFfiUnavailable(): string | undefined {
  return libcUnavailable();
}

/**
 * Sets `TCP_NODELAY` on the listening socket of `listener`, so that every connection it accepts
 * (TLS included) starts with Nagle off. Call it right after `Deno.listen`/`Deno.listenTls`
 * returned (the socket is found as the newest descriptor, see `findNewFd`). Returns true when
 * the socket was set; false when it was not found or the platform or permissions do not allow
 * it. Never throws.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { setListenerNoDelay, socketFfiUnavailable } from "./socket_ffi.ts";
 * const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * const done: boolean = setListenerNoDelay(listener); // true on Linux with --allow-ffi
 * assert.equal(done, Deno.build.os === "linux" && socketFfiUnavailable() === undefined);
 * listener.close();
 * ```
 */
export function setListenerNoDelay(listener: Deno.Listener): boolean {
  try {
    const addr = listener.addr;
    if (addr.transport !== "tcp") return false;
    const lib = libc();
    if (!lib) return false;
    const one = new Int32Array([1]);
    // A listening socket has our address and port, and no peer.
    const own = netAddrKey(addr);
    const fd = findNewFd(
      lib,
      (fd) =>
        sockPort(lib.getsockname, fd) === addr.port &&
        (own === null || sockKey(lib.getsockname, fd) === own) &&
        sockPort(lib.getpeername, fd) < 0,
    );
    return fd !== null && lib.setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, one, 4) === 0;
  } catch {
    return false;
  }
}

/**
 * Shuts down (both directions) the TCP socket under a connection (its descriptor captured at
 * accept, see socket_fd.ts), so that closing it really closes it even mid-handshake. Returns
 * true when it did. Never throws.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { shutdownSocket } from "./socket_ffi.ts";
 * import { captureSocket } from "./socket_fd.ts";
 * const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * const client = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
 * const conn = await listener.accept();
 * const socket = captureSocket(conn);
 * assert.equal(shutdownSocket(socket), socket !== null); // true on Linux with --allow-ffi
 * socket?.release();
 * conn.close();
 * client.close();
 * listener.close();
 * ```
 */
export function shutdownSocket(socket: SocketFd | null | undefined): boolean {
  try {
    return socket ? socket.shutdown() : false;
  } catch {
    return false;
  }
}

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
 *    macOS copy it too), so it is set once on the listener ({@linkcode setListenerNoDelay}):
 *    one descriptor scan per listener at bind time, nothing per connection.
 * 2. **Closing a connection whose TLS handshake has not finished.** Deno's `close()` then
 *    interrupts the pending operation but leaves the TCP socket open (the client never sees
 *    EOF, the descriptor stays in use). {@linkcode shutdownSocket} calls `shutdown(SHUT_RDWR)`
 *    on it, after which Deno's own task ends and the descriptor is released.
 *
 * Descriptors are found through src/sys/libc.ts (Deno does not expose them).
 *
 * @module
 */

import { connFd, forEachSocketFd, libc, libcUnavailable, sockPort } from "../sys/libc.ts";

const IPPROTO_TCP = 6;
const TCP_NODELAY = 1;
const SHUT_RDWR = 2;

/** Why these helpers cannot work here, or undefined when they can. */
export function socketFfiUnavailable(): string | undefined {
  return libcUnavailable();
}

/**
 * Sets `TCP_NODELAY` on the listening socket(s) bound to `listener`'s port, so that every
 * connection it accepts (TLS included) starts with Nagle off. Returns true when at least one
 * socket was set; false when the platform or permissions do not allow it. Never throws.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { setListenerNoDelay } from "./socket_ffi.ts";
 * const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * const done: boolean = setListenerNoDelay(listener); // true on Linux with --allow-ffi
 * assert.equal(typeof done, "boolean");
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
    let set = 0;
    // The listener was just opened: its descriptor is among the highest in use, but holes
    // below are filled first, so scan them all.
    forEachSocketFd(lib, (fd) => {
      // A listening socket has our port and no peer (sockets of other listeners on the same
      // port, e.g. 127.0.0.1:P and [::1]:P, get it too, which is what they want as well).
      if (sockPort(lib.getsockname, fd) !== addr.port || sockPort(lib.getpeername, fd) >= 0) return;
      if (lib.setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, one, 4) === 0) set++;
    });
    return set > 0;
  } catch {
    return false;
  }
}

/**
 * Shuts down (both directions) the TCP socket under `conn`, found by its local and remote
 * ports, so that closing it really closes it even mid-handshake. Returns true when it did.
 * Never throws.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { shutdownSocket } from "./socket_ffi.ts";
 * const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * const client = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
 * const conn = await listener.accept();
 * const done: boolean = shutdownSocket(conn); // true on Linux with --allow-ffi
 * assert.equal(typeof done, "boolean");
 * conn.close();
 * client.close();
 * listener.close();
 * ```
 */
export function shutdownSocket(conn: Deno.Conn): boolean {
  try {
    const local = conn.localAddr;
    const remote = conn.remoteAddr;
    if (local.transport !== "tcp" || remote.transport !== "tcp") return false;
    const lib = libc();
    if (!lib) return false;
    const fd = connFd(lib, local, remote);
    return fd !== null && lib.shutdown(fd, SHUT_RDWR) === 0;
  } catch {
    return false;
  }
}

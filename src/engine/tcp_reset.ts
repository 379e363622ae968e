/**
 * C `close()` semantics for Deno TCP connections, on Linux.
 *
 * When a C server (nginx) closes a socket whose receive queue still holds unread bytes, Linux
 * sends a reset instead of a FIN, and the client sees "connection reset by peer". Deno's
 * `conn.close()` always half-closes first (`shutdown(SHUT_WR)`), so the client sees a clean EOF
 * and the reset that follows is never noticed. {@linkcode resetIfUnread} restores the C
 * behaviour: it finds the connection's descriptor (probing `getpeername`/`getsockname`), asks
 * the kernel how much input is unread (`FIONREAD`) and, if any is, disconnects it with a reset
 * (`connect(AF_UNSPEC)`) before Deno closes it. It needs `--allow-ffi`; without it, or off
 * Linux, it does nothing and the close stays a plain one.
 *
 * @module
 */

import { connFd, libc } from "../sys/libc.ts";

const FIONREAD = 0x541b; // Linux
const AF_UNSPEC = 0;

/**
 * If the kernel holds input nobody read on `conn`, resets the connection (the client gets
 * ECONNRESET, as when a C program closes such a socket) and returns true. Otherwise, or when
 * the platform or permissions do not allow looking, returns false. Call it right before
 * `conn.close()`. Never throws.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { resetIfUnread } from "./tcp_reset.ts";
 * const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * const port = (listener.addr as Deno.NetAddr).port;
 * const client = await Deno.connect({ hostname: "127.0.0.1", port });
 * const conn = await listener.accept();
 * assert.equal(resetIfUnread(conn), false); // nothing unread
 * conn.close();
 * client.close();
 * listener.close();
 * ```
 */
export function resetIfUnread(conn: Deno.Conn): boolean {
  try {
    const local = conn.localAddr;
    const remote = conn.remoteAddr;
    if (local.transport !== "tcp" || remote.transport !== "tcp") return false;
    if (Deno.build.os !== "linux") return false;
    const lib = libc();
    if (!lib) return false;
    const fd = connFd(lib, local, remote);
    if (fd === null) return false;
    const pending = new Int32Array(1);
    if (lib.ioctl(fd, BigInt(FIONREAD), pending) !== 0 || pending[0] <= 0) return false;
    const unspec = new Uint8Array(16);
    new DataView(unspec.buffer).setUint16(0, AF_UNSPEC, true);
    return lib.connect(fd, unspec, unspec.byteLength) === 0;
  } catch {
    return false;
  }
}

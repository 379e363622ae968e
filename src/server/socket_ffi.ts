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
 * Deno does not expose descriptors, and wants `--allow-all` to list `/proc/self/fd`, so the
 * descriptor is found by asking `getsockname`/`getpeername` about descriptors 3, 4, ... until
 * the ports match (a closed descriptor costs one failing call; buffers are preallocated).
 *
 * @module
 */

const IPPROTO_TCP = 6;
const TCP_NODELAY = 1;
const AF_INET = 2;
/** AF_INET6 is 10 on Linux, 30 on macOS. */
const AF_INET6 = Deno.build.os === "darwin" ? 30 : 10;
/** The C library, per OS. */
const LIBC: Partial<Record<typeof Deno.build.os, string>> = {
  linux: "libc.so.6",
  darwin: "libSystem.B.dylib",
};

const SYMBOLS = {
  setsockopt: { parameters: ["i32", "i32", "i32", "buffer", "u32"], result: "i32" },
  getpeername: { parameters: ["i32", "buffer", "buffer"], result: "i32" },
  getsockname: { parameters: ["i32", "buffer", "buffer"], result: "i32" },
  shutdown: { parameters: ["i32", "i32"], result: "i32" },
} as const;

const SHUT_RDWR = 2;

type Libc = Deno.DynamicLibrary<typeof SYMBOLS>["symbols"];

let libc: Libc | null | undefined;

/** Why these helpers cannot work here, or undefined when they can. */
export function socketFfiUnavailable(): string | undefined {
  return load() ? undefined : unavailable;
}

let unavailable = "";

function load(): Libc | null {
  if (libc !== undefined) return libc;
  libc = null;
  const path = LIBC[Deno.build.os];
  if (path === undefined) {
    unavailable = `not supported on ${Deno.build.os}`;
    return libc;
  }
  try {
    const ffi = Deno.permissions.querySync({ name: "ffi" });
    if (ffi.state !== "granted") {
      unavailable = "needs --allow-ffi";
      return libc;
    }
    libc = Deno.dlopen(path, SYMBOLS).symbols;
  } catch (err) {
    unavailable = `libc not loadable: ${err instanceof Error ? err.message : String(err)}`;
    libc = null;
  }
  return libc;
}

const ADDR = new Uint8Array(128);
const ADDR_VIEW = new DataView(ADDR.buffer);
const ADDR_LEN = new Uint32Array(1);

/** The port in a sockaddr_in/sockaddr_in6 that `call` writes for `fd`, or -1. */
function sockPort(call: Libc["getpeername"], fd: number): number {
  ADDR_LEN[0] = ADDR.byteLength;
  if (call(fd, ADDR, ADDR_LEN) !== 0) return -1;
  // Linux: 16-bit sa_family; macOS: 8-bit sa_len, then 8-bit sa_family.
  const family = Deno.build.os === "darwin" ? ADDR_VIEW.getUint8(1) : ADDR_VIEW.getUint16(0, true);
  if (family !== AF_INET && family !== AF_INET6) return -1;
  return ADDR_VIEW.getUint16(2, false);
}

/** Never scan beyond this many descriptors. */
const SCAN_LIMIT = 65536;

/**
 * Sets `TCP_NODELAY` on the listening socket(s) bound to `listener`'s port, so that every
 * connection it accepts (TLS included) starts with Nagle off. Returns true when at least one
 * socket was set; false when the platform or permissions do not allow it. Never throws.
 *
 * @example
 * ```ts
 * import { setListenerNoDelay } from "./socket_ffi.ts";
 * const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * const done: boolean = setListenerNoDelay(listener); // true on Linux with --allow-ffi
 * console.assert(typeof done === "boolean");
 * listener.close();
 * ```
 */
export function setListenerNoDelay(listener: Deno.Listener): boolean {
  try {
    const addr = listener.addr;
    if (addr.transport !== "tcp") return false;
    const lib = load();
    if (!lib) return false;
    const one = new Int32Array([1]);
    let set = 0;
    // The listener was just opened: its descriptor is among the highest in use, but holes
    // below are filled first, so scan them all (a closed descriptor is one failing call).
    let misses = 0;
    for (let fd = 3; fd < SCAN_LIMIT && misses < 1024; fd++) {
      const port = sockPort(lib.getsockname, fd);
      if (port < 0) {
        misses++;
        continue;
      }
      misses = 0;
      // A listening socket has our port and no peer (sockets of other listeners on the same
      // port, e.g. 127.0.0.1:P and [::1]:P, get it too, which is what they want as well).
      if (port !== addr.port || sockPort(lib.getpeername, fd) >= 0) continue;
      if (lib.setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, one, 4) === 0) set++;
    }
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
 * import { shutdownSocket } from "./socket_ffi.ts";
 * const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * const client = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
 * const conn = await listener.accept();
 * const done: boolean = shutdownSocket(conn); // true on Linux with --allow-ffi
 * console.assert(typeof done === "boolean");
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
    const lib = load();
    if (!lib) return false;
    let misses = 0;
    for (let fd = 3; fd < SCAN_LIMIT && misses < 1024; fd++) {
      const peer = sockPort(lib.getpeername, fd);
      if (peer < 0) {
        misses = sockPort(lib.getsockname, fd) < 0 ? misses + 1 : 0;
        continue;
      }
      misses = 0;
      if (peer !== remote.port || sockPort(lib.getsockname, fd) !== local.port) continue;
      return lib.shutdown(fd, SHUT_RDWR) === 0;
    }
    return false;
  } catch {
    return false;
  }
}

/**
 * Turning Nagle's algorithm off on TLS connections, which Deno does not offer (`Deno.TlsConn`
 * has no `setNoDelay`).
 *
 * Why it matters: after a TLS 1.3 handshake the server sends its session ticket; with Nagle on,
 * the first reply bytes then wait for the client's delayed ACK (about 40 ms on Linux, up to
 * 200 ms elsewhere), and so does every later small write while one is unacknowledged. Measured
 * here with a Python client: first reply byte 40-45 ms after the handshake with Nagle on,
 * under 1 ms with it off.
 *
 * How: on Linux and macOS, with `--allow-ffi`, the connection's descriptor is found by asking
 * the C library's `getpeername`/`getsockname` about each descriptor in turn (Deno wants
 * `--allow-all` to list `/proc/self/fd`, so that is not used) until the local and remote ports
 * match, and `setsockopt(TCP_NODELAY)` is called on it. Elsewhere (Windows), or without the
 * permission, it does nothing and the server says so once.
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
} as const;

type Libc = Deno.DynamicLibrary<typeof SYMBOLS>["symbols"];

let libc: Libc | null | undefined;

/** Why {@linkcode setTlsNoDelay} cannot work here, or undefined when it can. */
export function tlsNoDelayUnavailable(): string | undefined {
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

function sockPort(call: Libc["getpeername"], fd: number): number {
  const addr = new Uint8Array(128);
  const len = new Uint32Array([addr.byteLength]);
  if (call(fd, addr, len) !== 0) return -1;
  const view = new DataView(addr.buffer);
  // Linux: 16-bit sa_family; macOS: 8-bit sa_len, then 8-bit sa_family.
  const family = Deno.build.os === "darwin" ? view.getUint8(1) : view.getUint16(0, true);
  if (family !== AF_INET && family !== AF_INET6) return -1;
  return view.getUint16(2, false);
}

/** Highest descriptor a socket was found at so far: the scan bound grows with it. */
let highest = 0;
/** Never scan beyond this many descriptors. */
const SCAN_LIMIT = 65536;

/**
 * The descriptor of the TCP socket with these local and remote ports, or -1. Scans upwards from
 * 3; a closed descriptor costs one failing `getpeername` call (well under a microsecond).
 */
function findSocketFd(lib: Libc, localPort: number, remotePort: number): number {
  const bound = Math.min(SCAN_LIMIT, Math.max(1024, highest * 2 + 64));
  // Usually found below the bound; if not (many descriptors opened since), look further once.
  for (const [from, to] of [[3, bound], [bound, SCAN_LIMIT]]) {
    for (let fd = from; fd < to; fd++) {
      if (sockPort(lib.getpeername, fd) !== remotePort) continue;
      if (sockPort(lib.getsockname, fd) !== localPort) continue;
      if (fd > highest) highest = fd;
      return fd;
    }
  }
  return -1;
}

/**
 * Sets `TCP_NODELAY` on the socket under a TLS (or TCP) connection. Returns true when it did;
 * false when the platform or permissions do not allow it. Never throws.
 *
 * @example
 * ```ts
 * import { setTlsNoDelay } from "./tls_nodelay.ts";
 * const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * const client = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
 * const conn = await listener.accept();
 * const done: boolean = setTlsNoDelay(conn); // true on Linux with --allow-ffi
 * console.assert(typeof done === "boolean");
 * conn.close();
 * client.close();
 * listener.close();
 * ```
 */
export function setTlsNoDelay(conn: Deno.Conn): boolean {
  try {
    const local = conn.localAddr;
    const remote = conn.remoteAddr;
    if (local.transport !== "tcp" || remote.transport !== "tcp") return false;
    const lib = load();
    if (!lib) return false;
    const fd = findSocketFd(lib, local.port, remote.port);
    if (fd < 0) return false;
    return lib.setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, new Int32Array([1]), 4) === 0;
  } catch {
    return false;
  }
}

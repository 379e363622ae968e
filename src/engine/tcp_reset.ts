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

const FIONREAD = 0x541b;
const AF_INET = 2;
const AF_INET6 = 10;
const AF_UNSPEC = 0;

const SYMBOLS = {
  ioctl: { parameters: ["i32", "u64", "buffer"], result: "i32" },
  connect: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  getpeername: { parameters: ["i32", "buffer", "buffer"], result: "i32" },
  getsockname: { parameters: ["i32", "buffer", "buffer"], result: "i32" },
} as const;

type Libc = Deno.DynamicLibrary<typeof SYMBOLS>["symbols"];

let libc: Libc | null | undefined;

function loadLibc(): Libc | null {
  if (libc !== undefined) return libc;
  libc = null;
  if (Deno.build.os !== "linux") return libc;
  try {
    if (Deno.permissions.querySync({ name: "ffi" }).state !== "granted") return libc;
    libc = Deno.dlopen("libc.so.6", SYMBOLS).symbols;
  } catch {
    libc = null;
  }
  return libc;
}

/** The port of a sockaddr_in/sockaddr_in6 written by getpeername/getsockname, or -1. */
function sockPort(call: Libc["getpeername"], fd: number): number {
  const addr = new Uint8Array(128);
  const len = new Uint32Array([addr.byteLength]);
  if (call(fd, addr, len) !== 0) return -1;
  const view = new DataView(addr.buffer);
  const family = view.getUint16(0, true);
  if (family !== AF_INET && family !== AF_INET6) return -1;
  return view.getUint16(2, false);
}

/** Highest descriptor probed, and how many non-sockets in a row end the scan. */
const SCAN_LIMIT = 1 << 20;
const SCAN_MISSES = 1024;

/**
 * Descriptors of the TCP connections seen by the last scan, by "localPort:remotePort". Entries
 * may be stale (the descriptor closed, its number reused): each use is verified first, and a miss
 * rescans, so a scan is paid once per batch of new connections, not per close.
 */
let index = new Map<string, number>();

function matches(lib: Libc, fd: number, local: Deno.NetAddr, remote: Deno.NetAddr): boolean {
  return sockPort(lib.getpeername, fd) === remote.port &&
    sockPort(lib.getsockname, fd) === local.port;
}

/**
 * Finds the descriptor of a TCP connection by its local and remote ports. Deno wants
 * `--allow-all` to list `/proc/self/fd`, so descriptors are probed in order (Linux hands out the
 * lowest free one, so open ones are dense) until 1024 in a row are not sockets.
 */
function findFd(lib: Libc, local: Deno.NetAddr, remote: Deno.NetAddr): number | null {
  const key = `${local.port}:${remote.port}`;
  const known = index.get(key);
  if (known !== undefined && matches(lib, known, local, remote)) return known;
  const fresh = new Map<string, number>();
  let misses = 0;
  for (let fd = 3; fd < SCAN_LIMIT && misses < SCAN_MISSES; fd++) {
    const peer = sockPort(lib.getpeername, fd);
    if (peer < 0) {
      misses = sockPort(lib.getsockname, fd) < 0 ? misses + 1 : 0;
      continue;
    }
    misses = 0;
    const own = sockPort(lib.getsockname, fd);
    if (own >= 0) fresh.set(`${own}:${peer}`, fd);
  }
  index = fresh;
  return fresh.get(key) ?? null;
}

/**
 * If the kernel holds input nobody read on `conn`, resets the connection (the client gets
 * ECONNRESET, as when a C program closes such a socket) and returns true. Otherwise, or when
 * the platform or permissions do not allow looking, returns false. Call it right before
 * `conn.close()`. Never throws.
 *
 * @example
 * ```ts
 * import { resetIfUnread } from "./tcp_reset.ts";
 * const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * const port = (listener.addr as Deno.NetAddr).port;
 * const client = await Deno.connect({ hostname: "127.0.0.1", port });
 * const conn = await listener.accept();
 * console.assert(resetIfUnread(conn) === false); // nothing unread
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
    const lib = loadLibc();
    if (!lib) return false;
    const fd = findFd(lib, local, remote);
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

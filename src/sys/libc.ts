/**
 * The few C library calls stream-echo needs for socket behaviour Deno does not offer (a reset on
 * close, Nagle off on TLS, shutting down a half-handshaken socket). One loader and one way of
 * finding a connection's descriptor, shared by src/engine/tcp_reset.ts and
 * src/server/socket_ffi.ts.
 *
 * Linux and macOS, with `--allow-ffi`; elsewhere or without the permission {@linkcode libc}
 * returns null and {@linkcode libcUnavailable} says why. Deno does not expose descriptors, and
 * wants `--allow-all` to list `/proc/self/fd`, so a descriptor is found by asking
 * `getsockname`/`getpeername` about descriptors 3, 4, ... (a closed one costs one failing call).
 *
 * @module
 */

const AF_INET = 2;
/** AF_INET6 is 10 on Linux, 30 on macOS. */
const AF_INET6 = Deno.build.os === "darwin" ? 30 : 10;
/** The C library, per OS. */
const LIBC: Partial<Record<typeof Deno.build.os, string>> = {
  linux: "libc.so.6",
  darwin: "libSystem.B.dylib",
};

const SYMBOLS = {
  ioctl: { parameters: ["i32", "u64", "buffer"], result: "i32" },
  connect: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  setsockopt: { parameters: ["i32", "i32", "i32", "buffer", "u32"], result: "i32" },
  getpeername: { parameters: ["i32", "buffer", "buffer"], result: "i32" },
  getsockname: { parameters: ["i32", "buffer", "buffer"], result: "i32" },
  shutdown: { parameters: ["i32", "i32"], result: "i32" },
} as const;

/** The loaded C library's functions used here. */
export type Libc = Deno.DynamicLibrary<typeof SYMBOLS>["symbols"];

let loaded: Libc | null | undefined;
let unavailable = "";

/**
 * The C library, loaded once; null when the platform or permissions do not allow it. Never
 * throws.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { libc } from "./libc.ts";
 * const lib = libc(); // null without --allow-ffi, or off Linux and macOS
 * assert.ok(lib === null || typeof lib.getsockname === "function");
 * ```
 */
export function libc(): Libc | null {
  if (loaded !== undefined) return loaded;
  loaded = null;
  const path = LIBC[Deno.build.os];
  if (path === undefined) {
    unavailable = `not supported on ${Deno.build.os}`;
    return loaded;
  }
  try {
    if (Deno.permissions.querySync({ name: "ffi" }).state !== "granted") {
      unavailable = "needs --allow-ffi";
      return loaded;
    }
    loaded = Deno.dlopen(path, SYMBOLS).symbols;
  } catch (err) {
    unavailable = `libc not loadable: ${err instanceof Error ? err.message : String(err)}`;
  }
  return loaded;
}

/** Why {@linkcode libc} is null here, or undefined when it loads. */
export function libcUnavailable(): string | undefined {
  return libc() ? undefined : unavailable;
}

const ADDR = new Uint8Array(128);
const ADDR_VIEW = new DataView(ADDR.buffer);
const ADDR_LEN = new Uint32Array(1);

/**
 * The port in the sockaddr_in/sockaddr_in6 that `call` (getsockname or getpeername) writes for
 * `fd`, or -1 when `fd` is not an open IPv4/IPv6 socket (or, for getpeername, not connected).
 */
export function sockPort(call: Libc["getpeername"], fd: number): number {
  ADDR_LEN[0] = ADDR.byteLength;
  if (call(fd, ADDR, ADDR_LEN) !== 0) return -1;
  // Linux: 16-bit sa_family; macOS: 8-bit sa_len, then 8-bit sa_family.
  const family = Deno.build.os === "darwin" ? ADDR_VIEW.getUint8(1) : ADDR_VIEW.getUint16(0, true);
  if (family !== AF_INET && family !== AF_INET6) return -1;
  return ADDR_VIEW.getUint16(2, false);
}

/**
 * The address `call` (getsockname or getpeername) writes for `fd` as a key
 * `"<address>|<port>"`, with IPv6 addresses as eight plain hex groups, or null when `fd` is not
 * an open IPv4/IPv6 socket (or, for getpeername, not connected).
 */
export function sockKey(call: Libc["getpeername"], fd: number): string | null {
  ADDR_LEN[0] = ADDR.byteLength;
  if (call(fd, ADDR, ADDR_LEN) !== 0) return null;
  const family = Deno.build.os === "darwin" ? ADDR_VIEW.getUint8(1) : ADDR_VIEW.getUint16(0, true);
  const port = ADDR_VIEW.getUint16(2, false);
  if (family === AF_INET) return `${ADDR.subarray(4, 8).join(".")}|${port}`;
  if (family !== AF_INET6) return null;
  const groups: string[] = [];
  for (let i = 0; i < 8; i++) groups.push(ADDR_VIEW.getUint16(8 + 2 * i, false).toString(16));
  return `${groups.join(":")}|${port}`;
}

/**
 * The key {@linkcode sockKey} gives for the socket address `addr`, or null for a hostname that
 * is not an IP address.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { netAddrKey } from "./libc.ts";
 * const key = netAddrKey({ transport: "tcp", hostname: "::ffff:127.0.0.1", port: 80 });
 * assert.equal(key, "0:0:0:0:0:ffff:7f00:1|80");
 * assert.equal(netAddrKey({ transport: "tcp", hostname: "127.0.0.1", port: 80 }), "127.0.0.1|80");
 * ```
 */
export function netAddrKey(addr: Deno.NetAddr): string | null {
  const host = addr.hostname.replace(/^\[|\]$/g, "").split("%")[0];
  if (/^\d+\.\d+\.\d+\.\d+$/.test(host)) return `${host}|${addr.port}`;
  if (!host.includes(":")) return null;
  // An IPv4 tail (::ffff:1.2.3.4) becomes two hex groups, then "::" expands to zero groups.
  const text = host.replace(
    /(\d+)\.(\d+)\.(\d+)\.(\d+)$/,
    (_, a, b, c, d) => `${((+a << 8) | +b).toString(16)}:${((+c << 8) | +d).toString(16)}`,
  );
  const [left, right, extra] = text.split("::");
  if (extra !== undefined) return null;
  const head = left ? left.split(":") : [];
  const tail = right ? right.split(":") : [];
  const zeros = right === undefined ? 0 : 8 - head.length - tail.length;
  if (zeros < 0) return null;
  const groups = [...head, ...Array(zeros).fill("0"), ...tail].map((g) => parseInt(g, 16));
  if (groups.length !== 8 || groups.some((g) => !(g >= 0 && g <= 0xffff))) return null;
  return `${groups.map((g) => g.toString(16)).join(":")}|${addr.port}`;
}

/** Never probe beyond this descriptor, and stop after this many non-sockets in a row. */
const SCAN_LIMIT = 1 << 20;
const SCAN_MISSES = 1024;

/**
 * Calls `visit(fd)` for each open IPv4/IPv6 socket descriptor, in order. Linux and macOS hand
 * out the lowest free descriptor, so open ones are dense and the scan stops after 1024
 * non-sockets in a row.
 */
export function forEachSocketFd(lib: Libc, visit: (fd: number) => void): void {
  let misses = 0;
  for (let fd = 3; fd < SCAN_LIMIT && misses < SCAN_MISSES; fd++) {
    if (sockPort(lib.getsockname, fd) < 0) {
      misses++;
      continue;
    }
    misses = 0;
    visit(fd);
  }
}

/**
 * Descriptors of the TCP connections seen by the last scan, by their full local and remote
 * addresses (-1 where two descriptors claimed the same pair, which a dual-stack listener could
 * show). Entries may be stale (the descriptor closed, its number reused): each use is verified
 * first, and a miss rescans, so a scan is paid once per batch of new connections, not per lookup.
 */
let index = new Map<string, number>();

function connKey(lib: Libc, fd: number): string | null {
  const peer = sockKey(lib.getpeername, fd);
  if (peer === null) return null;
  const own = sockKey(lib.getsockname, fd);
  return own === null ? null : `${own} ${peer}`;
}

/**
 * The descriptor of the TCP connection with these local and remote addresses, or null.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { connFd, libc } from "./libc.ts";
 * const lib = libc();
 * const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * const client = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
 * const conn = await listener.accept();
 * if (lib) {
 *   const local = conn.localAddr as Deno.NetAddr;
 *   const remote = conn.remoteAddr as Deno.NetAddr;
 *   assert.notEqual(connFd(lib, local, remote), null);
 * }
 * conn.close();
 * client.close();
 * listener.close();
 * ```
 */
export function connFd(lib: Libc, local: Deno.NetAddr, remote: Deno.NetAddr): number | null {
  const own = netAddrKey(local);
  const peer = netAddrKey(remote);
  if (own === null || peer === null) return null;
  const key = `${own} ${peer}`;
  const known = index.get(key);
  if (known !== undefined && known >= 0 && connKey(lib, known) === key) return known;
  const fresh = new Map<string, number>();
  forEachSocketFd(lib, (fd) => {
    const k = connKey(lib, fd);
    if (k !== null) fresh.set(k, fresh.has(k) ? -1 : fd);
  });
  index = fresh;
  const fd = fresh.get(key);
  return fd === undefined || fd < 0 ? null : fd; // never act on an ambiguous match
}

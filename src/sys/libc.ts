/**
 * The few C library calls stream-echo needs for socket behaviour Deno does not offer (a reset on
 * close, Nagle off on TLS, shutting down a half-handshaken socket). One loader and one way of
 * finding a socket's descriptor, used by src/server/socket_fd.ts and src/server/socket_ffi.ts.
 *
 * Linux and macOS, with `--allow-ffi`; elsewhere or without the permission {@linkcode libc}
 * returns null and {@linkcode libcUnavailable} says why. Deno does not expose descriptors, and
 * wants `--allow-all` to list `/proc/self/fd`, so a socket's descriptor is found when the socket
 * is new: the kernel gave it the lowest free number, so it is found among a few candidates
 * around the lowest free number now ({@linkcode findNewFd}), checked by their full addresses.
 * Descriptors are never scanned: the cost does not depend on how many are open.
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
  fcntl: { parameters: ["i32", "i32", "i32"], result: "i32" },
  close: { parameters: ["i32"], result: "i32" },
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

const F_DUPFD = 0;

/**
 * The lowest descriptor number free right now: the number the kernel gives the next socket or
 * file (POSIX: accept, socket and open return the lowest free descriptor). Found in two calls
 * (`fcntl(F_DUPFD)` on a standard descriptor, then `close` of that duplicate), whatever the
 * number of descriptors open. -1 when no standard descriptor is open to duplicate.
 */
export function lowestFreeFd(lib: Libc): number {
  for (let base = 0; base <= 2; base++) {
    const fd = lib.fcntl(base, F_DUPFD, 0);
    if (fd >= 0) {
      lib.close(fd);
      return fd;
    }
  }
  return -1;
}

/**
 * At most this many descriptors are asked about per search (a call each): below the lowest free
 * number, where the new socket most likely is, and above it.
 */
export const FIND_PROBES = { below: 48, above: 16 };
/** At most this many descriptors known to be someone else's are stepped over, each way. */
const FIND_SKIPS = 16384;

/**
 * The descriptor of a socket that was JUST opened (accepted, or bound as a listener), found
 * without scanning: the kernel gave it the lowest free number, so it lies right around the
 * lowest free number now. Candidates are tried nearest first (L-1, L+1, L-2, L+2, ... for the
 * lowest free L), stepping over descriptors `known` to belong to other sockets without a call,
 * and asking at most {@linkcode FIND_PROBES} others with `matches` (which must compare the full
 * addresses). Returns null when no candidate matched: the caller then does without the
 * descriptor; it never guesses. Cost: 2 calls plus at most 64 probes, whatever the number of
 * descriptors open (stepping over known ones is a set lookup, no call).
 */
export function findNewFd(
  lib: Libc,
  matches: (fd: number) => boolean,
  known?: { has(fd: number): boolean },
): number | null {
  const low = lowestFreeFd(lib);
  if (low < 0) return null;
  const walk = (from: number, step: number, budget: number) => {
    let fd = from;
    let probes = 0;
    let skips = 0;
    return (): number | null | undefined => {
      if (probes >= budget) return undefined; // this side is done
      while (fd >= 3 && known?.has(fd)) {
        if (++skips > FIND_SKIPS) return undefined;
        fd += step;
      }
      if (fd < 3) return undefined;
      probes++;
      const candidate = fd;
      fd += step;
      return matches(candidate) ? candidate : null;
    };
  };
  const below = walk(low - 1, -1, FIND_PROBES.below);
  const above = walk(low + 1, 1, FIND_PROBES.above);
  let belowDone = false;
  let aboveDone = false;
  while (!(belowDone && aboveDone)) {
    if (!belowDone) {
      const r = below();
      if (r === undefined) belowDone = true;
      else if (r !== null) return r;
    }
    if (!aboveDone) {
      const r = above();
      if (r === undefined) aboveDone = true;
      else if (r !== null) return r;
    }
  }
  return null;
}

/**
 * A socket address in the kernel's own form (family, port, address bytes), to compare with what
 * `getsockname`/`getpeername` write without building strings: one call and a few byte compares.
 */
export class RawAddr {
  readonly family: number;
  readonly port: number;
  readonly bytes: Uint8Array;

  constructor(family: number, port: number, bytes: Uint8Array) {
    this.family = family;
    this.port = port;
    this.bytes = bytes;
  }

  /** The raw form of `addr`, or null for a hostname that is not an IP address. */
  static from(addr: Deno.NetAddr): RawAddr | null {
    let host = HOSTS.get(addr.hostname);
    if (host === undefined) {
      host = parseHost(addr.hostname);
      if (HOSTS.size >= HOSTS_MAX) HOSTS.clear();
      HOSTS.set(addr.hostname, host);
    }
    return host && new RawAddr(host.family, addr.port, host.bytes);
  }

  /** Does `call` (getsockname or getpeername) report exactly this address for `fd`? */
  matches(call: Libc["getpeername"], fd: number): boolean {
    ADDR_LEN[0] = ADDR.byteLength;
    if (call(fd, ADDR, ADDR_LEN) !== 0) return false;
    const family = Deno.build.os === "darwin" ? ADDR[1] : ADDR_VIEW.getUint16(0, true);
    if (family !== this.family || ADDR_VIEW.getUint16(2, false) !== this.port) return false;
    const at = family === AF_INET ? 4 : 8;
    const bytes = this.bytes;
    for (let i = 0; i < bytes.length; i++) if (ADDR[at + i] !== bytes[i]) return false;
    return true;
  }
}

/** Parsed hosts (a server sees the same few addresses again and again), bounded. */
const HOSTS = new Map<string, { family: number; bytes: Uint8Array } | null>();
const HOSTS_MAX = 4096;

function parseHost(hostname: string): { family: number; bytes: Uint8Array } | null {
  const v4 = parseIpv4(hostname);
  if (v4) return { family: AF_INET, bytes: v4 };
  const key = netAddrKey({ transport: "tcp", hostname, port: 0 });
  if (key === null || key.indexOf(":") < 0) return null;
  const groups = key.slice(0, key.lastIndexOf("|")).split(":");
  const bytes = new Uint8Array(16);
  groups.forEach((g, i) => {
    const v = parseInt(g, 16);
    bytes[2 * i] = v >> 8;
    bytes[2 * i + 1] = v & 0xff;
  });
  return { family: AF_INET6, bytes };
}

/** The four bytes of a dotted IPv4 address, or null. */
function parseIpv4(host: string): Uint8Array | null {
  const out = new Uint8Array(4);
  let part = 0;
  let value = 0;
  let digits = 0;
  for (let i = 0; i < host.length; i++) {
    const c = host.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      value = value * 10 + c - 48;
      if (++digits > 3 || value > 255) return null;
    } else if (c === 46 && digits > 0 && part < 3) {
      out[part++] = value;
      value = 0;
      digits = 0;
    } else {
      return null;
    }
  }
  if (part !== 3 || digits === 0) return null;
  out[3] = value;
  return out;
}

/**
 * Is `fd` the TCP connection with exactly these local and remote addresses (full addresses and
 * ports)? A connected TCP socket is unique by this pair, so a match is never ambiguous (two
 * descriptors can match only as duplicates of one socket). One call when the remote differs,
 * which is the common miss.
 */
export function isConnFd(lib: Libc, fd: number, local: RawAddr, remote: RawAddr): boolean {
  return remote.matches(lib.getpeername, fd) && local.matches(lib.getsockname, fd);
}

/**
 * The descriptor of a TCP connection accepted just now (call it right after `accept()`
 * resolved, before anything else runs), found in O(1) calls with {@linkcode findNewFd}; null
 * when not found or not an IP connection.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { acceptedFd, libc, netAddrKey, sockKey } from "./libc.ts";
 * const lib = libc();
 * const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * const client = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
 * const conn = await listener.accept();
 * if (lib) {
 *   const fd = acceptedFd(lib, conn.localAddr as Deno.NetAddr, conn.remoteAddr as Deno.NetAddr);
 *   assert.ok(fd !== null);
 *   assert.equal(sockKey(lib.getpeername, fd), netAddrKey(conn.remoteAddr as Deno.NetAddr));
 * }
 * conn.close();
 * client.close();
 * listener.close();
 * ```
 */
export function acceptedFd(
  lib: Libc,
  local: RawAddr | Deno.NetAddr,
  remote: RawAddr | Deno.NetAddr,
  known?: { has(fd: number): boolean },
): number | null {
  const own = local instanceof RawAddr ? local : RawAddr.from(local);
  const peer = remote instanceof RawAddr ? remote : RawAddr.from(remote);
  if (own === null || peer === null) return null;
  return findNewFd(lib, (fd) => isConnFd(lib, fd, own, peer), known);
}

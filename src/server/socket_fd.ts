/**
 * A TCP connection's descriptor, found once when the connection is accepted, for the socket
 * operations Deno does not offer (through the C library, src/sys/libc.ts): an abortive reset,
 * the count of unread input, a shutdown under a half-handshaken TLS connection.
 *
 * Found in O(1) calls, never by scanning descriptors: the kernel gave the accepted socket the
 * lowest free number, so {@linkcode captureSocket} looks at a few candidates around the lowest
 * free number right after `accept()`, stepping over descriptors of other live connections it
 * captured before (kept in a set), and keeps the one whose full local and remote addresses are
 * the connection's. Each use checks those addresses again first, so a descriptor that was closed
 * and reused by another connection is never acted on.
 *
 * Linux with `--allow-ffi`; elsewhere, or when the descriptor was not found, the operations do
 * nothing and say so (false, or 0 unread bytes).
 *
 * @module
 */
import { acceptedFd, isConnFd, type Libc, libc, RawAddr } from "../sys/libc.ts";

const SOL_SOCKET = 1;
const SO_LINGER = 13;
const FIONREAD = 0x541b;
const AF_UNSPEC = 0;
const SHUT_RDWR = 2;

/**
 * A set of descriptors as one flag byte per number (descriptors are small, dense numbers): adding
 * and removing one allocates nothing, unlike a `Set`'s table.
 */
class FdSet {
  #flags = new Uint8Array(1024);
  size = 0;

  has(fd: number): boolean {
    return fd < this.#flags.length && this.#flags[fd] === 1;
  }

  add(fd: number): void {
    if (fd >= this.#flags.length) {
      const grown = new Uint8Array(Math.max(fd + 1, this.#flags.length * 2));
      grown.set(this.#flags);
      this.#flags = grown;
    }
    if (this.#flags[fd] === 1) return;
    this.#flags[fd] = 1;
    this.size++;
  }

  delete(fd: number): void {
    if (!this.has(fd)) return;
    this.#flags[fd] = 0;
    this.size--;
  }
}

/** Descriptors of the live connections captured so far: candidates to step over. */
const live = new FdSet();
/**
 * Descriptors our connections gave back, lowest first: the kernel hands out the lowest free
 * number, so the next accepted socket is most likely the first of these (or, if none, the
 * number after the highest seen). That guess is checked first (two calls); a wrong guess is
 * dropped and the search around the lowest free number runs instead.
 */
const freed: number[] = [];
const FREED_MAX = 1024;
let highest = 2;

function addFreed(fd: number): void {
  let i = freed.length;
  while (i > 0 && freed[i - 1] > fd) i--;
  if (freed[i - 1] === fd) return;
  freed.splice(i, 0, fd);
  if (freed.length > FREED_MAX) freed.pop();
}

function dropFreed(fd: number): void {
  const i = freed.indexOf(fd);
  if (i >= 0) freed.splice(i, 1);
}

/**
 * The kernel gave a new socket `fd`, the lowest free number: every remembered number below it is
 * in use now (by something else, e.g. the duplicate of a file descriptor Deno makes for each file
 * write), those above it are still free and stay remembered.
 */
function dropFreedBelow(fd: number): void {
  let n = 0;
  while (n < freed.length && freed[n] < fd) n++;
  if (n > 0) freed.splice(0, n);
}

/** Guesses that missed (a search ran instead): for tests. */
let misses = 0;

/** How many descriptors {@linkcode captureSocket} holds (for tests). */
export function capturedSockets(): number {
  return live.size;
}

/** How many times {@linkcode captureSocket}'s first guess missed and it searched (for tests). */
export function captureMisses(): number {
  return misses;
}

/** A captured descriptor with the operations stream-echo needs on it. */
export class SocketFd {
  readonly fd: number;
  #lib: Libc;
  #local: RawAddr;
  #remote: RawAddr;
  #released = false;

  constructor(lib: Libc, fd: number, local: RawAddr, remote: RawAddr) {
    this.#lib = lib;
    this.fd = fd;
    this.#local = local;
    this.#remote = remote;
    live.add(fd);
  }

  /** True while `fd` is still this connection (two calls). */
  valid(): boolean {
    return !this.#released && isConnFd(this.#lib, this.fd, this.#local, this.#remote);
  }

  /** Bytes the client sent that nobody read yet (FIONREAD); 0 when unknown. */
  unread(): number {
    if (!this.valid()) return 0;
    const pending = new Int32Array(1);
    return this.#lib.ioctl(this.fd, BigInt(FIONREAD), pending) === 0 ? pending[0] : 0;
  }

  /**
   * Abortive close, first half: sends the client a TCP reset now, whatever is queued or unread.
   * `SO_LINGER {1, 0}` alone is not enough under Deno, whose `close()` calls `shutdown(SHUT_WR)`
   * first (a FIN the client reads as a clean end before the reset), so the connection is also
   * disconnected with `connect(AF_UNSPEC)`, Linux's `tcp_disconnect`: a reset in every state
   * but a closed one. Returns true when the reset was sent. The caller then closes the
   * connection as usual (its shutdown then fails quietly: nothing is left to shut down).
   */
  reset(): boolean {
    if (!this.valid()) return false;
    const linger = new Int32Array([1, 0]);
    this.#lib.setsockopt(this.fd, SOL_SOCKET, SO_LINGER, new Uint8Array(linger.buffer), 8);
    const unspec = new Uint8Array(16); // sa_family AF_UNSPEC (0)
    unspec[0] = AF_UNSPEC;
    return this.#lib.connect(this.fd, unspec, unspec.byteLength) === 0;
  }

  /** `shutdown(SHUT_RDWR)`: ends both directions, even under a pending TLS handshake. */
  shutdown(): boolean {
    return this.valid() && this.#lib.shutdown(this.fd, SHUT_RDWR) === 0;
  }

  /** Forgets the descriptor (call it when closing the connection): no operation acts on it. */
  release(): void {
    if (this.#released) return;
    this.#released = true;
    live.delete(this.fd);
    addFreed(this.fd);
  }
}

/** The last local address seen, raw: a listener's connections share it (RawAddr is immutable). */
let lastLocal: RawAddr | null = null;
let lastLocalHost = "";
let lastLocalPort = -1;

function localRaw(addr: Deno.NetAddr): RawAddr | null {
  if (addr.port !== lastLocalPort || addr.hostname !== lastLocalHost) {
    lastLocal = RawAddr.from(addr);
    lastLocalHost = addr.hostname;
    lastLocalPort = addr.port;
  }
  return lastLocal;
}

/**
 * Finds the descriptor of `conn`, a TCP (or TLS over TCP) connection accepted JUST NOW: call it
 * right after `accept()` resolves, before awaiting anything. Null for other transports, off
 * Linux, without `--allow-ffi`, or when no candidate matched. Never throws.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { captureSocket } from "./socket_fd.ts";
 * const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * const client = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
 * const conn = await listener.accept();
 * const socket = captureSocket(conn); // null without --allow-ffi
 * assert.ok(socket === null || socket.valid());
 * socket?.release();
 * conn.close();
 * client.close();
 * listener.close();
 * ```
 */
export function captureSocket(conn: Deno.Conn): SocketFd | null {
  try {
    const local = conn.localAddr;
    const remote = conn.remoteAddr;
    if (local.transport !== "tcp" || remote.transport !== "tcp") return null;
    if (Deno.build.os !== "linux") return null;
    const lib = libc();
    if (!lib) return null;
    const own = localRaw(local);
    const peer = RawAddr.from(remote);
    if (own === null || peer === null) return null;
    const guess = freed.length > 0 ? freed[0] : highest + 1;
    let fd: number | null = guess;
    // The guess is checked by its peer only (one call): every later use checks both addresses
    // before acting, so even a wrong guess could never touch another connection.
    if (!peer.matches(lib.getpeername, guess)) {
      misses++;
      fd = acceptedFd(lib, own, peer, live);
      if (fd === null) {
        dropFreed(guess);
        return null;
      }
      // A guess above the socket's number is still free: dropping it (as this once did) left a
      // hole that made the next guess miss too, and the next, after every file write that
      // briefly held a freed number (a search per session on a recorded server).
      dropFreedBelow(fd);
    }
    dropFreed(fd);
    if (fd > highest) highest = fd;
    return new SocketFd(lib, fd, own, peer);
  } catch {
    return null;
  }
}

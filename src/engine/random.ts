/**
 * Random choices for fault steps (`echo_sleep MIN..MAX`, `echo_random_bytes`, `echo_split`,
 * `echo_chance`): a small seeded generator (sfc32), one per session, made on first use.
 *
 * With `echo_random_seed N` a server keeps one generator seeded with N, and each session that
 * makes a random choice forks its own from it, in the order sessions first need one: the same
 * clients, one after another, meet the same choices run after run. Without a seed each session
 * is seeded from `crypto.getRandomValues`. A session that makes no random choice pays nothing.
 *
 * @module
 */

const TWO_32 = 4294967296;

/**
 * sfc32 (Chris Doty-Humphrey's small fast counting generator): 128 bits of state, 32-bit
 * outputs, good statistical quality for its size, and no dependency.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Prng } from "./random.ts";
 * const a = Prng.fromSeed(42);
 * const b = Prng.fromSeed(42);
 * assert.deepEqual([a.u32(), a.u32()], [b.u32(), b.u32()]);
 * assert.ok(a.below(6) < 6);
 * ```
 */
export class Prng {
  #a: number;
  #b: number;
  #c: number;
  #d = 1;

  constructor(lo: number, hi: number) {
    this.#a = 0x9e3779b9;
    this.#b = lo | 0;
    this.#c = hi | 0;
    for (let i = 0; i < 15; i++) this.u32();
  }

  /** A generator for a non-negative safe integer seed. */
  static fromSeed(seed: number): Prng {
    return new Prng(seed % TWO_32, Math.floor(seed / TWO_32));
  }

  /** A generator seeded by the system's cryptographic source. */
  static fromEntropy(): Prng {
    const words = crypto.getRandomValues(new Uint32Array(2));
    return new Prng(words[0], words[1]);
  }

  /** The next 32-bit unsigned integer. */
  u32(): number {
    const a = this.#a, b = this.#b, c = this.#c, d = this.#d;
    const t = (((a + b) | 0) + d) | 0;
    this.#d = (d + 1) | 0;
    this.#a = b ^ (b >>> 9);
    this.#b = (c + (c << 3)) | 0;
    this.#c = (((c << 21) | (c >>> 11)) + t) | 0;
    return t >>> 0;
  }

  /** An integer in [0, n), for 0 < n <= 2^32 (multiply-shift, bias below 2^-32 * n). */
  below(n: number): number {
    return Math.floor((this.u32() / TWO_32) * n);
  }

  /** A new generator seeded from this one's next outputs (an independent stream). */
  fork(): Prng {
    return new Prng(this.u32(), this.u32());
  }

  /** Fills `buf` with random bytes. */
  fill(buf: Uint8Array): void {
    let i = 0;
    for (; i + 4 <= buf.length; i += 4) {
      const x = this.u32();
      buf[i] = x;
      buf[i + 1] = x >>> 8;
      buf[i + 2] = x >>> 16;
      buf[i + 3] = x >>> 24;
    }
    if (i < buf.length) {
      let x = this.u32();
      for (; i < buf.length; i++, x >>>= 8) buf[i] = x;
    }
  }
}

/** Per server (its settings object: one per server and config generation), the seeded stream. */
const streams = new WeakMap<object, Prng>();

/**
 * The generator of a new session: forked from the server's seeded stream when `seed` is set
 * (`owner` identifies the server: its settings object), else from system entropy.
 */
export function sessionPrng(owner: object, seed: number | undefined): Prng {
  if (seed === undefined) return Prng.fromEntropy();
  let stream = streams.get(owner);
  if (!stream) {
    stream = Prng.fromSeed(seed);
    streams.set(owner, stream);
  }
  return stream.fork();
}

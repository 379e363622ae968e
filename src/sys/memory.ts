/**
 * Giving memory back to the operating system after a burst of connections has closed.
 *
 * What holds it (measured with 10,000 idle connections, all closed, on Linux; details in the
 * README's "Memory" section): the JS heap is back to ~6 MB used after a collection, but V8 keeps
 * the 256 KB pages the sessions' objects lived on mapped and resident, for reuse (~240 MB here);
 * glibc's malloc keeps ~25 MB of freed native memory (Deno's and tokio's per-socket buffers) in
 * its heap. Neither is returned on its own while the process is idle (no allocation means no
 * collection), so RSS stayed at ~340 MB. A "last resort" collection releases V8's pooled pages
 * and `malloc_trim(0)` the rest: RSS falls to ~65 MB (from 47 MB at start).
 *
 * The collection is V8's own, reached without `--expose-gc`: the flag is set at run time through
 * `node:v8` and the `gc` function taken from a fresh `node:vm` context (the main context is not
 * changed: no global `gc` appears). `malloc_trim` needs Linux with glibc and `--allow-ffi`;
 * without it only the collection runs.
 *
 * @module
 */

/** What {@linkcode releaseMemory} did. */
export interface ReleaseReport {
  /** Resident set size before and after, in bytes. */
  rssBefore: number;
  rssAfter: number;
  /** Milliseconds the collection took (the event loop is blocked meanwhile). */
  gcMs: number;
  /** Milliseconds `malloc_trim(0)` took, or null when it is not available here. */
  trimMs: number | null;
}

type GcFunction = (options?: { type: string; execution: string; flavor: string }) => void;
type Trim = (pad: number | bigint) => number;

let gcFunction: GcFunction | null | undefined;
let trimFunction: Trim | null | undefined;

async function loadGc(): Promise<GcFunction | null> {
  if (gcFunction !== undefined) return gcFunction;
  try {
    const [v8, vm] = await Promise.all([import("node:v8"), import("node:vm")]);
    v8.setFlagsFromString("--expose-gc");
    const gc = vm.runInNewContext("gc");
    gcFunction = typeof gc === "function" ? gc as GcFunction : null;
  } catch {
    gcFunction = null;
  }
  return gcFunction;
}

function loadTrim(): Trim | null {
  if (trimFunction !== undefined) return trimFunction;
  trimFunction = null;
  if (Deno.build.os !== "linux") return null;
  try {
    if (Deno.permissions.querySync({ name: "ffi" }).state !== "granted") return null;
    const lib = Deno.dlopen("libc.so.6", {
      malloc_trim: { parameters: ["usize"], result: "i32" },
    });
    trimFunction = (pad) => lib.symbols.malloc_trim(BigInt(pad));
  } catch {
    // Not glibc (musl has no malloc_trim), or no libc.so.6: nothing to trim with.
  }
  return trimFunction;
}

/**
 * Runs a memory-reducing collection and, where available, `malloc_trim(0)`, and says what it
 * freed. Blocks the event loop for the collection (milliseconds with a small live heap): call it
 * when a burst is over, not per session.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { releaseMemory } from "./memory.ts";
 * const report = await releaseMemory();
 * assert.ok(report.rssAfter > 0 && report.gcMs >= 0);
 * ```
 */
export async function releaseMemory(): Promise<ReleaseReport> {
  const gc = await loadGc();
  const rssBefore = Deno.memoryUsage().rss;
  let t = performance.now();
  gc?.({ type: "major", execution: "sync", flavor: "last-resort" });
  const gcMs = performance.now() - t;
  const trim = loadTrim();
  let trimMs: number | null = null;
  if (trim) {
    t = performance.now();
    trim(0);
    trimMs = performance.now() - t;
  }
  return { rssBefore, rssAfter: Deno.memoryUsage().rss, gcMs, trimMs };
}

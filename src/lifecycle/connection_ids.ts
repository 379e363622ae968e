/**
 * Connection numbers (`*N` in log lines, `$connection`) of a process with worker threads: one
 * counter in shared memory that every thread takes its numbers from, so they stay unique
 * across workers and across restarted workers, however many connections a dead one had handled.
 *
 * @module
 */

/** A new counter (8 bytes of shared memory); the first number taken from it is 1. */
export function connectionCounter(): SharedArrayBuffer {
  return new SharedArrayBuffer(8);
}

/** Takes the next number from `counter` (shared by every thread it was posted to). */
export function connectionIds(counter: SharedArrayBuffer): () => number {
  const cell = new BigInt64Array(counter);
  return () => Number(Atomics.add(cell, 0, 1n)) + 1;
}

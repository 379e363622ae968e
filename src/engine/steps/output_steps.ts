/**
 * Output steps: `echo`, `echo_duplicate` (queue and return at once) and `echo_flush_wait`.
 *
 * @module
 */
import type { DuplicateStep, EchoStep } from "../../config/types.ts";
import type { StepContext } from "../step_context.ts";

/** Large streams are written in chunks of about this size (fewer writes, same flat memory). */
export const STREAM_CHUNK = 1 << 20;

/** Per compiled chunk, a larger chunk of whole repetitions, built once per process. */
const streamChunks = new WeakMap<Uint8Array, Uint8Array>();

function streamChunk(chunk: Uint8Array, unit: number, total: number): Uint8Array {
  if (chunk.byteLength >= STREAM_CHUNK / 2 || total < 4 * STREAM_CHUNK) return chunk;
  let big = streamChunks.get(chunk);
  if (!big) {
    const reps = Math.floor(STREAM_CHUNK / chunk.byteLength);
    big = new Uint8Array(chunk.byteLength * reps);
    big.set(chunk);
    for (let filled = chunk.byteLength; filled < big.byteLength; filled *= 2) {
      big.copyWithin(filled, 0, Math.min(filled, big.byteLength - filled));
    }
    streamChunks.set(chunk, big);
  }
  return big.byteLength % unit === 0 ? big : chunk;
}

/** `echo`: queues the precompiled bytes; does not wait for the socket. */
export function runEcho(ctx: StepContext, step: EchoStep): void {
  ctx.debug("stream echo running echo");
  ctx.output.push(step.data);
}

/**
 * `echo_duplicate`: queues `count` x `unit` as repetitions of the precompiled chunk, so memory
 * stays flat however large the count.
 */
export function runDuplicate(ctx: StepContext, step: DuplicateStep): void {
  ctx.debug("stream echo running echo");
  const unit = step.unit.byteLength;
  if (step.count <= 0 || unit === 0 || step.chunk.byteLength === 0) return;
  let chunk = step.chunk;
  if (chunk.byteLength % unit !== 0) {
    // Not whole repetitions: fall back to the unit itself (still no count x length buffer).
    chunk = step.unit;
  }
  const total = step.count * unit;
  ctx.output.pushRepeat(streamChunk(chunk, unit, total), total);
}

/** `echo_flush_wait`: waits until all queued output has been handed to the socket. */
export async function runFlushWait(ctx: StepContext): Promise<void> {
  ctx.debug(`stream echo running flush-wait (busy: ${ctx.output.idle ? 0 : 1})`);
  await ctx.until(ctx.output.drained());
}

/** `echo_flush`: sends what `postpone_output` holds, without waiting. */
export function runFlush(ctx: StepContext): void {
  ctx.debug("stream echo running flush");
  ctx.output.flush();
}

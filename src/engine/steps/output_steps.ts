/**
 * Output steps: `echo`, `echo_duplicate` (queue and return at once) and `echo_flush_wait`.
 *
 * @module
 */
import type { DuplicateStep, EchoStep } from "../../config/types.ts";
import type { StepContext } from "../step_context.ts";

/** `echo`: queues the precompiled bytes; does not wait for the socket. */
export function runEcho(ctx: StepContext, step: EchoStep): void {
  ctx.output.push(step.data);
}

/**
 * `echo_duplicate`: queues `count` x `unit` as repetitions of the precompiled chunk, so memory
 * stays flat however large the count.
 */
export function runDuplicate(ctx: StepContext, step: DuplicateStep): void {
  const unit = step.unit.byteLength;
  if (step.count <= 0 || unit === 0 || step.chunk.byteLength === 0) return;
  let chunk = step.chunk;
  if (chunk.byteLength % unit !== 0) {
    // Not whole repetitions: fall back to the unit itself (still no count x length buffer).
    chunk = step.unit;
  }
  ctx.output.pushRepeat(chunk, step.count * unit);
}

/** `echo_flush_wait`: waits until all queued output has been handed to the socket. */
export async function runFlushWait(ctx: StepContext): Promise<void> {
  await ctx.until(ctx.output.drained());
}

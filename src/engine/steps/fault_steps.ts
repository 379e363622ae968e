/**
 * Fault steps: `echo_close`, `echo_reset`, `echo_shutdown`, `echo_send_rate`,
 * `echo_send_chunk`, `echo_send_limit` and `echo_random_bytes`. Pacing, slicing and the limit
 * are output stages (src/engine/stages/), put in place by these steps only.
 *
 * @module
 */
import type {
  RandomBytesStep,
  ResetStep,
  SendChunkStep,
  SendLimitStep,
  SendRateStep,
  Step,
} from "../../config/types.ts";
import { ScriptEnd, SessionHalt } from "../halt.ts";
import { ChunkStage } from "../stages/chunk.ts";
import { LimitStage } from "../stages/limit.ts";
import { RateStage } from "../stages/rate.ts";
import type { StepContext } from "../step_context.ts";

const where = (step: Step) => `${step.pos.file}:${step.pos.line}`;

/** `echo_close`: ends the script here; the session then ends as after its last step. */
export function runClose(ctx: StepContext): never {
  ctx.debug("stream echo running close");
  throw new ScriptEnd();
}

/** `echo_reset`: ends the session with a TCP reset; queued output is dropped. */
export function runReset(ctx: StepContext, step: ResetStep): never {
  ctx.debug("stream echo running reset");
  ctx.setCloseMode("reset");
  throw new SessionHalt("reset", `reset by "echo_reset" in ${where(step)}`);
}

/** `echo_shutdown`: waits until queued output was sent, then half-closes (FIN). */
export async function runShutdown(ctx: StepContext): Promise<void> {
  ctx.debug(`stream echo running shutdown (busy: ${ctx.output.idle ? 0 : 1})`);
  if (ctx.output.closed) return;
  await ctx.until(ctx.output.close());
}

/**
 * True (after a `[warn]`) when output was half-closed by `echo_shutdown`: the output step
 * `step` then sends nothing.
 */
export function skippedAfterShutdown(ctx: StepContext, step: Step): boolean {
  if (!ctx.output.closed) return false;
  ctx.log(
    "warn",
    `stream echo: "${step.directive}" after "echo_shutdown" sends nothing in ${where(step)}`,
  );
  return true;
}

/** `echo_send_rate`: paces output queued from now on (0: no pacing). */
export function runSendRate(ctx: StepContext, step: SendRateStep): void {
  ctx.debug(`stream echo running send-rate (rate: ${step.rate})`);
  ctx.output.setStage("rate", step.rate > 0 ? new RateStage(step.rate) : null);
}

/** `echo_send_chunk`: slices output queued from now on (size 0: no slicing). */
export function runSendChunk(ctx: StepContext, step: SendChunkStep): void {
  ctx.debug(`stream echo running send-chunk (size: ${step.size}, delay: ${step.delayMs})`);
  ctx.output.setStage("chunk", step.size > 0 ? new ChunkStage(step.size, step.delayMs) : null);
}

/** `echo_send_limit`: after `size` more bytes (of output queued from now on), close or reset. */
export function runSendLimit(ctx: StepContext, step: SendLimitStep): void {
  ctx.debug(`stream echo running send-limit (size: ${step.size})`);
  const end = () => {
    // The last allowed byte was handed to the socket: the rest is dropped, the session ends.
    ctx.output.discardQueued();
    if (step.reset) ctx.setCloseMode("reset");
    ctx.halt(
      step.reset
        ? new SessionHalt("reset", `reset by "echo_send_limit" in ${where(step)}`)
        : new SessionHalt("eof", ""),
    );
  };
  ctx.output.setStage("limit", new LimitStage(step.size, end));
}

/**
 * `echo_random_bytes`: queues `size` random bytes, made on the way out from a generator forked
 * from the session's (the same bytes for the same seed, whatever the timing).
 */
export function runRandomBytes(ctx: StepContext, step: RandomBytesStep): void {
  ctx.debug(`stream echo running random-bytes (size: ${step.size})`);
  if (skippedAfterShutdown(ctx, step)) return;
  const prng = ctx.random().fork();
  ctx.output.pushMade(step.size, (max) => {
    const bytes = new Uint8Array(max);
    prng.fill(bytes);
    return bytes;
  });
}

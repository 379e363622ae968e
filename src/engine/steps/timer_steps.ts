/**
 * `echo_sleep`: a timer that never blocks other sessions and ends early when the session halts.
 *
 * @module
 */
import type { SleepStep } from "../../config/types.ts";
import type { StepContext } from "../step_context.ts";
import { sleep } from "../timers.ts";

/** `echo_sleep`: waits `ms` milliseconds (queued output keeps flowing meanwhile). */
export async function runSleep(ctx: StepContext, step: SleepStep): Promise<void> {
  ctx.debug(`stream echo running sleep (delay: ${step.ms})`);
  ctx.output.flush();
  if (step.ms <= 0) return;
  ctx.debugTimer(step.ms);
  await ctx.until(sleep(step.ms, ctx.signal));
  ctx.debug("stream echo sleep event handler");
}

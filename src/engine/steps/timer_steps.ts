/**
 * `echo_sleep`: a timer that never blocks other sessions and ends early when the session halts.
 *
 * @module
 */
import type { SleepStep } from "../../config/types.ts";
import type { StepContext } from "../step_context.ts";
import { sleep } from "../timers.ts";

/**
 * `echo_sleep`: waits `ms` milliseconds (queued output keeps flowing meanwhile); for a range
 * `MIN..MAX`, a whole number of ms in it, drawn from the session's random generator.
 */
export async function runSleep(ctx: StepContext, step: SleepStep): Promise<void> {
  const ms = step.maxMs === undefined
    ? step.ms
    : step.ms + ctx.random().below(step.maxMs - step.ms + 1);
  ctx.debug(`stream echo running sleep (delay: ${ms})`);
  ctx.output.flush();
  if (ms <= 0) return;
  ctx.debugTimer(ms);
  await ctx.until(sleep(ms, ctx.signal));
  ctx.debug("stream echo sleep event handler");
}

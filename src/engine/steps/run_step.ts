/**
 * Dispatch: one compiled step to the function of its family.
 *
 * @module
 */
import type { Step } from "../../config/types.ts";
import type { StepContext } from "../step_context.ts";
import { runDiscardRequest } from "./discard_step.ts";
import { runDuplicate, runEcho, runFlushWait } from "./output_steps.ts";
import { runReadBytes, runReadLine, runRequestData } from "./read_steps.ts";
import { runSleep } from "./timer_steps.ts";

/** Runs one step. Synchronous steps return undefined; waiting steps return a promise. */
export function runStep(ctx: StepContext, step: Step): Promise<void> | void {
  switch (step.op) {
    case "echo":
      return runEcho(ctx, step);
    case "duplicate":
      return runDuplicate(ctx, step);
    case "flush_wait":
      return runFlushWait(ctx);
    case "sleep":
      return runSleep(ctx, step);
    case "read_bytes":
      return runReadBytes(ctx, step);
    case "read_line":
      return runReadLine(ctx, step);
    case "request_data":
      return runRequestData(ctx);
    case "discard_request":
      return runDiscardRequest(ctx);
  }
}

/**
 * Dispatch: one compiled step to the function of its family. The switch is exhaustive: a step
 * kind without a case is a compile error.
 *
 * @module
 */
import type { Step } from "../../config/types.ts";
import type { StepContext } from "../step_context.ts";
import { runLoop, runMatch } from "./block_steps.ts";
import {
  runClearRequest,
  runReadCounted,
  runReadLength,
  runReadLiteral,
  runReadRegex,
  runReadUntil,
  runTestRequest,
} from "./conversation_reads.ts";
import { runDiscardRequest } from "./discard_step.ts";
import {
  runClose,
  runRandomBytes,
  runReset,
  runSendChunk,
  runSendLimit,
  runSendRate,
  runShutdown,
  skippedAfterShutdown,
} from "./fault_steps.ts";
import { BREAK, type Flow } from "./flow.ts";
import { runDuplicate, runEcho, runFlush, runFlushWait } from "./output_steps.ts";
import { runReadBytes, runReadLine, runRequestData } from "./read_steps.ts";
import { runSplit } from "./split_step.ts";
import { runDuplicateTemplate, runEchoTemplate } from "./template_steps.ts";
import { runSleep } from "./timer_steps.ts";

/** Fails to compile when a step kind has no case above it. */
function unreachable(step: never): never {
  throw new Error(`unknown step ${(step as { op: string }).op}`);
}

/**
 * Runs one step. Synchronous steps return undefined (or {@link BREAK}); waiting steps return a
 * promise.
 */
export function runStep(ctx: StepContext, step: Step): Promise<Flow> | Flow {
  switch (step.op) {
    case "echo":
      return skippedAfterShutdown(ctx, step) ? undefined : runEcho(ctx, step);
    case "duplicate":
      return skippedAfterShutdown(ctx, step) ? undefined : runDuplicate(ctx, step);
    case "flush_wait":
      return runFlushWait(ctx);
    case "sleep":
      return runSleep(ctx, step);
    case "read_bytes":
      return runReadBytes(ctx, step);
    case "read_line":
      return runReadLine(ctx, step);
    case "request_data":
      if (ctx.output.closed) skippedAfterShutdown(ctx, step); // the buffer is still cleared
      return runRequestData(ctx);
    case "discard_request":
      return runDiscardRequest(ctx);
    case "echo_template":
      return skippedAfterShutdown(ctx, step) ? undefined : runEchoTemplate(ctx, step);
    case "duplicate_template":
      return skippedAfterShutdown(ctx, step) ? undefined : runDuplicateTemplate(ctx, step);
    case "loop":
      return runLoop(ctx, step);
    case "break":
      return BREAK;
    case "match":
      return runMatch(ctx, step);
    case "clear_request":
      return runClearRequest(ctx);
    case "read_until":
      return runReadUntil(ctx, step);
    case "read_literal":
      return runReadLiteral(ctx, step);
    case "test_request":
      return runTestRequest(ctx, step);
    case "read_regex":
      return runReadRegex(ctx, step);
    case "read_counted":
      return runReadCounted(ctx, step);
    case "read_length":
      return runReadLength(ctx, step);
    case "flush":
      return runFlush(ctx);
    case "close":
      return runClose(ctx);
    case "reset":
      return runReset(ctx, step);
    case "shutdown":
      return runShutdown(ctx);
    case "send_rate":
      return runSendRate(ctx, step);
    case "send_chunk":
      return runSendChunk(ctx, step);
    case "send_limit":
      return runSendLimit(ctx, step);
    case "random_bytes":
      return runRandomBytes(ctx, step);
    case "split":
      return runSplit(ctx, step);
    default:
      return unreachable(step);
  }
}

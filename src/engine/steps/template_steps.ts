/**
 * `-v` output: `echo -v` and `echo_duplicate -v`, their variables filled in when they run.
 *
 * @module
 */
import type { DuplicateTemplateStep, EchoTemplateStep, TemplatePart } from "../../config/types.ts";
import type { StepContext } from "../step_context.ts";
import { captureValue, lastRead } from "./block_steps.ts";
import { argBytesInto } from "../../config/bytes.ts";

function partSize(ctx: StepContext, part: TemplatePart): number {
  switch (part.kind) {
    case "bytes":
      return part.bytes.length;
    case "group":
    case "named":
      return captureValue(ctx, part).length;
    case "last_read":
      return lastRead(ctx).length;
    case "request_data":
      return ctx.hasReader() ? ctx.reader().requestLength : 0;
  }
}

/** The template's bytes with the variables' current values (one allocation). */
export function fillTemplate(ctx: StepContext, parts: readonly TemplatePart[]): Uint8Array {
  let size = 0;
  for (const part of parts) size += partSize(ctx, part);
  const out = new Uint8Array(size);
  let off = 0;
  for (const part of parts) {
    switch (part.kind) {
      case "bytes":
        out.set(part.bytes, off);
        off += part.bytes.length;
        break;
      case "group":
      case "named":
        off = argBytesInto(captureValue(ctx, part), out, off);
        break;
      case "last_read": {
        const data = lastRead(ctx);
        out.set(data, off);
        off += data.length;
        break;
      }
      case "request_data": {
        if (!ctx.hasReader()) break;
        const data = ctx.reader().request();
        out.set(data, off);
        off += data.length;
        break;
      }
    }
  }
  return out;
}

/** `echo -v`: queues the filled-in template. */
export function runEchoTemplate(ctx: StepContext, step: EchoTemplateStep): void {
  ctx.debug("stream echo running echo");
  ctx.output.push(fillTemplate(ctx, step.parts));
}

/** Whole repetitions of a `-v` unit are written in chunks of about this many bytes. */
const CHUNK_BYTES = 64 * 1024;

/**
 * `echo_duplicate -v`: queues `count` copies of the filled-in template, written as chunks of
 * whole copies (at most about 64 KiB built per run), never count x length bytes.
 */
export function runDuplicateTemplate(ctx: StepContext, step: DuplicateTemplateStep): void {
  ctx.debug("stream echo running echo");
  const unit = fillTemplate(ctx, step.parts);
  if (step.count <= 0 || unit.length === 0) return;
  const reps = Math.min(step.count, Math.ceil(CHUNK_BYTES / unit.length));
  let chunk = unit;
  if (reps > 1) {
    chunk = new Uint8Array(unit.length * reps);
    chunk.set(unit);
    for (let filled = unit.length; filled < chunk.length; filled *= 2) {
      chunk.copyWithin(filled, 0, Math.min(filled, chunk.length - filled));
    }
  }
  ctx.output.pushRepeat(chunk, unit.length * step.count);
}

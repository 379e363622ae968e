/**
 * `echo_discard_request`: drop what is buffered and everything the client sends from now on.
 *
 * @module
 */
import type { StepContext } from "../step_context.ts";

/**
 * Starts discarding: buffered input is dropped, further input is read and dropped in the
 * background, and the session ends quietly at client EOF. Returns at once.
 */
export function runDiscardRequest(ctx: StepContext): void {
  if (ctx.discarding) return;
  ctx.debug("stream echo running discard-request");
  ctx.startDiscard();
}

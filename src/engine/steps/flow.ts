/**
 * Control flow between steps and the block runners: `echo_break`'s signal and the quiet end
 * of a loop at the client's EOF.
 *
 * @module
 */
import type { ByteReader } from "../byte_reader.ts";
import { SessionHalt } from "../halt.ts";
import type { StepContext } from "../step_context.ts";

/** What a step returns to make the innermost loop stop (`echo_break`). */
export const BREAK: unique symbol = Symbol("echo_break");

/** What running a step or a list of steps yields: nothing, or {@link BREAK}. */
export type Flow = void | typeof BREAK;

/**
 * Thrown by a read step meeting the client's EOF before any byte of the current loop
 * iteration arrived; the innermost loop catches it and ends quietly.
 */
export const LOOP_EOF: SessionHalt = new SessionHalt("eof", "");

/** True when a read at EOF should end the innermost loop quietly: nothing of its iteration came. */
export function eofBetweenRequests(ctx: StepContext, reader: ByteReader): boolean {
  return ctx.loopMark >= 0 && reader.claimed === ctx.loopMark && reader.unread === 0;
}

/**
 * `echo_split` and `echo_chance`: one draw from the session's random generator picks the
 * branch (by its share of 10,000), which runs through the block runner.
 *
 * @module
 */
import type { SplitStep } from "../../config/types.ts";
import type { StepContext } from "../step_context.ts";
import { runSteps } from "./block_steps.ts";
import type { Flow } from "./flow.ts";

/** Runs the branch the draw falls in, or nothing when it falls in the unclaimed rest. */
export function runSplit(ctx: StepContext, step: SplitStep): Promise<Flow> | Flow {
  let draw = ctx.random().below(10_000);
  for (const branch of step.branches) {
    if (draw < branch.share) {
      ctx.debug(`stream echo running split (branch at ${branch.pos.file}:${branch.pos.line})`);
      return runSteps(ctx, branch.body);
    }
    draw -= branch.share;
  }
  ctx.debug("stream echo running split (no branch)");
}

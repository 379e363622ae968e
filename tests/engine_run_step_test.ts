/**
 * The step dispatch is exhaustive (issue 8 item 9): a step kind without a case in
 * src/engine/steps/run_step.ts is a type error, and an unknown kind at run time throws instead
 * of silently doing nothing.
 */
import { ok as assert, throws as assertThrows } from "node:assert/strict";
import type { Step } from "../src/config/types.ts";
import type { StepContext } from "../src/engine/step_context.ts";
import { runStep } from "../src/engine/steps/run_step.ts";

const runStepFile = new URL("../src/engine/steps/run_step.ts", import.meta.url);

Deno.test("runStep throws on a step kind it does not know, never skips it", () => {
  const bogus = { op: "no_such_step", directive: "x", pos: { file: "x", line: 1 } };
  assertThrows(
    () => runStep({} as StepContext, bogus as unknown as Step),
    /unknown step no_such_step/,
  );
});

Deno.test("removing any one case from runStep's switch is a type error", async () => {
  const source = await Deno.readTextFile(runStepFile);
  const cases = [...source.matchAll(/^ {4}case "(\w+)":\n(?: {6}[^\n]*\n)+/gm)];
  assert(cases.length >= 20, `found ${cases.length} cases`);
  // one copy with the last case removed is enough to prove the mechanism; the file's own
  // `deno check` proves every case is present
  const [whole, op] = cases[cases.length - 1];
  const base = new URL(".", runStepFile).href;
  const mutated = source.replace(whole, "").replaceAll(
    /from "(\.\.?\/[^"]+)"/g,
    (_, path: string) => `from "${new URL(path, base).href}"`,
  );
  const dir = await Deno.makeTempDir();
  try {
    const file = `${dir}/run_step_without_${op}.ts`;
    await Deno.writeTextFile(file, mutated);
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["check", "--quiet", file],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(out.stderr);
    assert(!out.success, `deno check passed without case "${op}"`);
    assert(/not assignable to (parameter of )?type 'never'/.test(text), text);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

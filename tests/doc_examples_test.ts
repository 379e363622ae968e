/**
 * Doc examples are run by `deno task doc`; they only prove something when their checks throw.
 * `console.assert` merely prints, so an example using it passes whether it is right or wrong.
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../", import.meta.url));

function* sourceFiles(dir: string): Generator<string> {
  for (const entry of Deno.readDirSync(dir)) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory) yield* sourceFiles(path);
    else if (entry.name.endsWith(".ts")) yield path;
  }
}

Deno.test("no doc example or source file asserts with console.assert, which never throws", () => {
  const files = [`${ROOT}mod.ts`, `${ROOT}cli.ts`, ...sourceFiles(`${ROOT}src`)];
  const offenders: string[] = [];
  for (const file of files) {
    Deno.readTextFileSync(file).split("\n").forEach((line, i) => {
      if (line.includes("console.assert")) offenders.push(`${file.slice(ROOT.length)}:${i + 1}`);
    });
  }
  assert.deepEqual(offenders, []);
});

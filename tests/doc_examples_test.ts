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

/** Each fenced example in a JSDoc comment of `text`: its first line number and its lines. */
function docExamples(text: string): { line: number; fence: string; body: string }[] {
  const out: { line: number; fence: string; body: string }[] = [];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const open = /^\s*\*\s?```(.*)$/.exec(lines[i]);
    if (!open) continue;
    let j = i + 1;
    while (j < lines.length && !/^\s*\*\s?```\s*$/.test(lines[j])) j++;
    out.push({ line: i + 1, fence: open[1].trim(), body: lines.slice(i + 1, j).join("\n") });
    i = j;
  }
  return out;
}

Deno.test("every doc example in mod.ts and src/ checks what it shows with something that throws", () => {
  const files = [`${ROOT}mod.ts`, ...sourceFiles(`${ROOT}src`)];
  const offenders: string[] = [];
  for (const file of files) {
    for (const ex of docExamples(Deno.readTextFileSync(file))) {
      if (!/^(ts|typescript|js)\b/.test(ex.fence)) continue; // nginx configs, shell lines
      if (!/\bassert\b|\bassert\.|\bthrow\b/.test(ex.body)) {
        offenders.push(`${file.slice(ROOT.length)}:${ex.line}`);
      }
    }
  }
  assert.deepEqual(offenders, []);
});

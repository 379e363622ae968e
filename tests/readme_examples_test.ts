/**
 * Every `nginx` block of README.md loads as a reader would paste it: a whole `stream {}` as it
 * is, a `server {}` inside `stream {}`, and a fragment of steps inside a server that listens on
 * port 0. Blocks that name certificate files outside the repository are skipped.
 */
import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { parseConfig } from "../mod.ts";

const readme = await Deno.readTextFile(new URL("../README.md", import.meta.url));
const blocks = [...readme.matchAll(/```nginx\n([\s\S]*?)```/g)].map((m) => m[1]);

/** The block as a whole config, the way the README's examples are meant to be used. */
function asConfig(block: string): string {
  if (/^\s*stream\s*\{/m.test(block)) return block;
  if (/^\s*server\s*\{/m.test(block)) return `stream {\n${block}\n}\n`;
  return `stream {\n server {\n listen 127.0.0.1:0;\n${block}\n }\n}\n`;
}

Deno.test("every nginx example of the README loads as written", () => {
  const failures: string[] = [];
  let loaded = 0;
  for (const block of blocks) {
    if (block.includes("ssl_certificate")) continue;
    try {
      parseConfig(asConfig(block), { file: "README.md" });
      loaded++;
    } catch (err) {
      failures.push(`${(err as Error).message}\n${block}`);
    }
  }
  assertEquals(failures, []);
  assertEquals(loaded > 30, true, `only ${loaded} examples found`);
});

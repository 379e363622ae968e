import assert from "node:assert/strict";
import { expandGlob, hasGlob, segmentRegExp } from "../src/config/glob.ts";
import { memoryFs } from "./config_fixtures.ts";

const { listDir } = memoryFs({
  "/c/a.conf": "",
  "/c/b.conf": "",
  "/c/B.conf": "",
  "/c/ab.txt": "",
  "/c/.dot.conf": "",
  "/c/d/x.conf": "",
  "/c/e/x.conf": "",
  "/c/e/y.conf": "",
  "/c/f/z.conf": "",
});

Deno.test("hasGlob() is true for *, ? and [ only", () => {
  assert.deepEqual(["a*", "a?", "a[b]", "a.conf", "a{b}"].map(hasGlob), [
    true,
    true,
    true,
    false,
    false,
  ]);
});

const matchCases: [string, string, boolean][] = [
  ["*.conf", "a.conf", true],
  ["*.conf", "a.confx", false],
  ["?.conf", "ab.conf", false],
  ["[ab].conf", "b.conf", true],
  ["[!ab].conf", "b.conf", false],
  ["[!ab].conf", "c.conf", true],
  ["[a-c]x", "bx", true],
  ["a.b", "axb", false],
  ["a+(b)", "a+(b)", true],
  ["[unclosed", "[unclosed", true],
];

for (const [pattern, name, want] of matchCases) {
  Deno.test(`segmentRegExp(${pattern}) ${want ? "matches" : "does not match"} ${name}`, () => {
    assert.equal(segmentRegExp(pattern).test(name), want);
  });
}

const expandCases: [string, string[]][] = [
  ["/c/*.conf", ["/c/B.conf", "/c/a.conf", "/c/b.conf"]],
  ["/c/.*.conf", ["/c/.dot.conf"]],
  ["/c/*/x.conf", ["/c/d/x.conf", "/c/e/x.conf"]],
  ["/c/*/*.conf", ["/c/d/x.conf", "/c/e/x.conf", "/c/e/y.conf", "/c/f/z.conf"]],
  ["/c/*", ["/c/B.conf", "/c/a.conf", "/c/ab.txt", "/c/b.conf"]],
  ["/nowhere/*.conf", []],
  ["/c/*.none", []],
];

for (const [pattern, want] of expandCases) {
  Deno.test(`expandGlob(${pattern}) gives ${want.length} files in sorted order`, () => {
    assert.deepEqual(expandGlob(pattern, listDir), want);
  });
}

Deno.test("expandGlob() joins a relative pattern to a literal base, even one with [ in it", () => {
  const fs = memoryFs({ "/w/[x]/a.conf": "" });
  assert.deepEqual(expandGlob("*.conf", fs.listDir, "/w/[x]"), ["/w/[x]/a.conf"]);
});

import assert from "node:assert/strict";
import { describeError, openFailed } from "../src/config/os_error.ts";

Deno.test("describeError speaks nginx's words for the common file errors", () => {
  const cases: [unknown, string][] = [
    [new Deno.errors.NotFound("x"), "No such file or directory"],
    [new Deno.errors.PermissionDenied("x"), "Permission denied"],
    [new Deno.errors.IsADirectory("x"), "Is a directory"],
    [new Deno.errors.NotADirectory("x"), "Not a directory"],
    [new Error("Read-only file system (os error 30): open '/ro/x'"), "Read-only file system"],
    [new Error("something else"), "something else"],
    ["plain", "plain"],
  ];
  for (const [err, words] of cases) assert.equal(describeError(err), words);
});

Deno.test("openFailed never leaks Deno's '(os error N): call' suffix for a real failure", () => {
  let caught: unknown;
  try {
    Deno.readTextFileSync("/nonexistent-dir/se.conf");
  } catch (err) {
    caught = err;
  }
  assert.equal(
    openFailed("/nonexistent-dir/se.conf", caught),
    'open() "/nonexistent-dir/se.conf" failed (No such file or directory)',
  );
});

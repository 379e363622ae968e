import assert from "node:assert/strict";
import { splitEchoArgs } from "../src/config/echo_args.ts";

const cases: { name: string; args: string[]; opts: string[]; values: string[] }[] = [
  {
    name: "takes leading dashed words as options",
    args: ["-n", "-x", "a"],
    opts: ["n", "x"],
    values: ["a"],
  },
  { name: "ends options at --, which is dropped", args: ["--", "-n"], opts: [], values: ["-n"] },
  {
    name: "ends options at any word starting with --, which is dropped",
    args: ["--foo", "-n"],
    opts: [],
    values: ["-n"],
  },
  {
    name: "ends options at an empty word, which is kept",
    args: ["", "-n"],
    opts: [],
    values: ["", "-n"],
  },
  { name: "takes a lone - as a value", args: ["-", "-n"], opts: [], values: ["-", "-n"] },
  {
    name: "ends options at the first plain word",
    args: ["a", "-n"],
    opts: [],
    values: ["a", "-n"],
  },
  { name: "takes a negative number as an option", args: ["-1", "x"], opts: ["1"], values: ["x"] },
  { name: "gives nothing for no arguments", args: [], opts: [], values: [] },
  { name: "keeps a second -- as a value", args: ["-n", "--", "--"], opts: ["n"], values: ["--"] },
];

for (const c of cases) {
  Deno.test(`splitEchoArgs() ${c.name}`, () => {
    assert.deepEqual(splitEchoArgs(c.args), { opts: c.opts, values: c.values });
  });
}

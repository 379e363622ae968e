import assert from "node:assert/strict";
import { ConfigError } from "../src/config/errors.ts";
import { type Directive, parse } from "../src/config/parser.ts";

/** A directive tree without positions, for comparing shapes. */
function shape(ds: Directive[]): unknown[] {
  return ds.map((d) => d.block ? [d.name, d.args, shape(d.block)] : [d.name, d.args]);
}

const treeCases: { name: string; input: string; want: unknown[] }[] = [
  {
    name: "reads directives ended by ;",
    input: "a 1 2; b;",
    want: [["a", ["1", "2"]], ["b", []]],
  },
  {
    name: "nests blocks",
    input: "stream { server { listen 1; } }",
    want: [["stream", [], [["server", [], [["listen", ["1"]]]]]]],
  },
  {
    name: "keeps arguments of a block directive",
    input: "a x y { }",
    want: [["a", ["x", "y"], []]],
  },
  {
    name: "keeps empty quoted arguments",
    input: "echo \"\" '' a;",
    want: [["echo", ["", "", "a"]]],
  },
  {
    name: "takes a quoted directive name",
    input: '"echo" hi;',
    want: [["echo", ["hi"]]],
  },
  {
    name: "gives an empty list for an empty file",
    input: "# only a comment\n",
    want: [],
  },
];

for (const c of treeCases) {
  Deno.test(`parse() ${c.name}`, () => {
    assert.deepEqual(shape(parse(c.input)), c.want);
  });
}

Deno.test("parse() gives each directive the file and the line of its name", () => {
  const tree = parse("stream {\n  server\n  {\n    echo\n      hi;\n  }\n}\n", "se.conf");
  const server = tree[0].block![0];
  assert.deepEqual(tree[0].pos, { file: "se.conf", line: 1 });
  assert.deepEqual(server.pos, { file: "se.conf", line: 2 });
  assert.deepEqual(server.block![0].pos, { file: "se.conf", line: 4 });
});

Deno.test("parse() marks a directive ended by ; as having no block", () => {
  const [d] = parse("a;");
  assert.equal(d.block, undefined);
});

Deno.test("parse() handles blocks nested far deeper than the call stack", () => {
  const depth = 100_000;
  const tree = parse("a {".repeat(depth) + "}".repeat(depth));
  assert.equal(tree.length, 1);
});

const errorCases: { name: string; input: string; message: string }[] = [
  { name: "rejects a } with no open block", input: "a;\n}", message: 'unexpected "}" in t.conf:2' },
  {
    name: "rejects a } in the middle of a directive",
    input: "s { a b }",
    message: 'unexpected "}" in t.conf:1',
  },
  { name: "rejects a ; with no directive", input: "a;\n;", message: 'unexpected ";" in t.conf:2' },
  { name: "rejects a { with no directive", input: "{ }", message: 'unexpected "{" in t.conf:1' },
  {
    name: "rejects a directive cut off by the end of the file",
    input: "stream {\n  echo hi",
    message: 'unexpected end of file, expecting ";" or "}" in t.conf:2, ' +
      'the "echo" directive started in t.conf:2',
  },
  {
    name: "rejects a block left open at the end of the file",
    input: "stream {\n  server {\n  }\n",
    message: 'unexpected end of file, expecting "}" in t.conf:4, ' +
      'the "stream" block opened in t.conf:1',
  },
  {
    name: "rejects a word cut off by the end of the file after a comment",
    input: "a # comment",
    message: 'unexpected end of file, expecting ";" or "}" in t.conf:1, ' +
      'the "a" directive started in t.conf:1',
  },
];

for (const c of errorCases) {
  Deno.test(`parse() ${c.name}`, () => {
    assert.throws(() => parse(c.input, "t.conf"), (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.equal(err.message, c.message);
      return true;
    });
  });
}

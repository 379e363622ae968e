/**
 * The conversation directives at load: what they compile to, and every mistake reported with
 * its file and line (a `when` after `default`, a bad regex, a loop that would spin, nesting
 * past the depth, `echo_break` outside a loop, an unknown `-v` variable, ...).
 */
import assert from "node:assert/strict";
import { MAX_BLOCK_DEPTH } from "../src/config/block_steps.ts";
import type {
  EchoStep,
  EchoTemplateStep,
  LoopStep,
  MatchStep,
  ReadLengthStep,
  ReadUntilStep,
  Step,
} from "../src/config/types.ts";
import { configError, inServer, memoryFs, onlyServer } from "./config_fixtures.ts";

function steps(body: string, streamLevel = ""): Step[] {
  return onlyServer(inServer(body, streamLevel)).steps;
}

/** `body` on its own lines after a one-line header, so a mistake on body line N is on line N+1. */
function lines(body: string): string {
  return `stream { server { listen 0;\n${body}\n} }`;
}

const errorCases: { name: string; body: string; reason: string; line: number }[] = [
  {
    name: "a when after default",
    body: 'echo_match {\n default { }\n when = "x" { }\n}',
    reason: 'stream echo: "when" after "default" in "echo_match"',
    line: 4,
  },
  {
    name: "a second default",
    body: "echo_match {\n default { }\n default { }\n}",
    reason: '"default" directive is duplicate',
    line: 4,
  },
  {
    name: "a when with an unknown modifier",
    body: 'echo_match {\n when ~~ "x" { }\n}',
    reason: 'stream echo: invalid "when" modifier "~~": it must be "=", "^~", "~" or "~*"',
    line: 3,
  },
  {
    name: "a bad regex in when ~",
    body: 'echo_read_line;\necho_match {\n when ~ "(a" { }\n}',
    reason: 'stream echo sees bad regex "(a" in "when": Invalid regular expression: /(a/: ' +
      "Unterminated group",
    line: 4,
  },
  {
    name: "a bad regex in echo_read_regex",
    body: 'echo_read_regex "[z-a]";',
    reason: 'stream echo sees bad regex "[z-a]" in "echo_read_regex": Invalid regular ' +
      "expression: /[z-a]/: Range out of order in character class",
    line: 2,
  },
  {
    name: "an unbounded loop that never reads",
    body: "echo_loop {\n echo hi;\n}",
    reason: 'stream echo: "echo_loop" without a count must read on every path of its body ' +
      '(or leave it with "echo_break"), or it would spin',
    line: 2,
  },
  {
    name: "an unbounded loop that reads on one branch only",
    body: 'echo_loop {\n echo_match {\n when "a" { echo_read_line; }\n default { echo x; }\n }\n}',
    reason: 'stream echo: "echo_loop" without a count must read on every path of its body ' +
      '(or leave it with "echo_break"), or it would spin',
    line: 2,
  },
  {
    name: "an unbounded loop whose only read is zero bytes",
    body: "echo_loop {\n echo_read_bytes 0;\n}",
    reason: 'stream echo: "echo_loop" without a count must read on every path of its body ' +
      '(or leave it with "echo_break"), or it would spin',
    line: 2,
  },
  {
    name: "an unbounded loop whose inner loop may break before reading",
    body: "echo_loop {\n echo_loop 2 { echo_break; echo_read_line; }\n}",
    reason: 'stream echo: "echo_loop" without a count must read on every path of its body ' +
      '(or leave it with "echo_break"), or it would spin',
    line: 2,
  },
  {
    name: "an unbounded loop whose echo_split may run no branch",
    body: "echo_loop {\n echo_split { 50% { echo_read_line; } }\n}",
    reason: 'stream echo: "echo_loop" without a count must read on every path of its body ' +
      '(or leave it with "echo_break"), or it would spin',
    line: 2,
  },
  {
    name: "echo_break outside a loop",
    body: "echo_read_line;\necho_break;",
    reason: 'stream echo: "echo_break" outside of "echo_loop"',
    line: 3,
  },
  {
    name: "echo_break in a match outside a loop",
    body: "echo_read_line;\necho_match {\n default {\n echo_break;\n }\n}",
    reason: 'stream echo: "echo_break" outside of "echo_loop"',
    line: 5,
  },
  {
    name: "an unknown -v variable",
    body: 'echo_read_regex "(?<a>x)";\necho -v "$b";',
    reason: 'stream echo sees unknown variable "$b" in "echo" (known: $0..$9, ' +
      "$echo_last_read, $echo_request_data, and named groups of this server's regexes)",
    line: 3,
  },
  {
    name: "an unknown capture as a loop count",
    body: "echo_loop $n {\n echo x;\n}",
    reason: 'stream echo sees unknown variable "$n" in "echo_loop" (known: $0..$9, ' +
      "$echo_last_read, $echo_request_data, and named groups of this server's regexes)",
    line: 2,
  },
  {
    name: "a bad ${} variable",
    body: 'echo -v "${1x}";',
    reason: 'stream echo sees bad variable "${1x}" in "echo"',
    line: 2,
  },
  {
    name: "a bad -e escape",
    body: 'echo -e "\\x4";',
    reason: 'stream echo sees bad escape "\\x4" in "echo": "\\x" takes two hex digits',
    line: 2,
  },
  {
    name: "an unknown option",
    body: 'echo_read_until -x "a";',
    reason: 'stream echo sees unknown option "-x" in "echo_read_until"',
    line: 2,
  },
  {
    name: "-v on a read",
    body: 'echo_read_literal -v "a";',
    reason: 'stream echo sees unknown option "-v" in "echo_read_literal"',
    line: 2,
  },
  {
    name: "an empty delimiter",
    body: 'echo_read_until "";',
    reason: 'stream echo: empty delimiter in "echo_read_until"',
    line: 2,
  },
  {
    name: "two strings to echo_read_literal",
    body: "echo_read_literal a b;",
    reason: 'stream echo requires one value argument in "echo_read_literal" but got 2',
    line: 2,
  },
  {
    name: "a bad integer format",
    body: "echo_read_length u24;",
    reason: 'invalid value "u24" in "echo_read_length" directive, it must be ' +
      '"u8", "u16be", "u16le", "u32be" or "u32le"',
    line: 2,
  },
  {
    name: "a bad adjustment",
    body: "echo_read_length u8 4;",
    reason: 'stream echo sees bad adjustment "4" in "echo_read_length": it must be +N or -N',
    line: 2,
  },
  {
    name: "a bad loop count",
    body: "echo_loop 1x {\n echo x;\n}",
    reason: 'stream echo: bad count "1x" in "echo_loop": a number up to 2147483647, ' +
      'or a capture such as "$1"',
    line: 2,
  },
  {
    name: "a bad match subject",
    body: "echo_match first {\n}",
    reason: 'invalid value "first" in "echo_match" directive, it must be "last" or "buffer"',
    line: 2,
  },
  {
    name: "a bad echo_mismatch_action",
    body: "echo_mismatch_action drop;",
    reason: 'invalid value "drop" in "echo_mismatch_action" directive, it must be ' +
      '"close", "reset" or "continue"',
    line: 2,
  },
  {
    name: "a second echo_mismatch_action",
    body: "echo_mismatch_action close;\necho_mismatch_action reset;",
    reason: '"echo_mismatch_action" directive is duplicate',
    line: 3,
  },
  {
    name: "a bad postpone_output",
    body: "postpone_output lots;",
    reason: '"postpone_output" directive invalid value "lots"',
    line: 2,
  },
  {
    name: "a literal larger than the buffer",
    body: "echo_read_buffer_size 4;\necho_read_literal abcde;",
    reason: "stream echo: echo_read_buffer_size 4 (set in <config>:2) is too small for " +
      '"echo_read_literal" of 5 bytes',
    line: 3,
  },
  {
    name: "a delimiter larger than the buffer",
    body: 'echo_read_buffer_size 4;\necho_read_until "abcde";',
    reason: "stream echo: echo_read_buffer_size 4 (set in <config>:2) is too small for " +
      'the 5-byte delimiter of "echo_read_until"',
    line: 3,
  },
  {
    name: "listen inside a loop",
    body: "echo_loop 1 {\n listen 1;\n}",
    reason: '"listen" directive is not allowed here',
    line: 3,
  },
  {
    name: "a step directly inside echo_match",
    body: "echo_match {\n echo x;\n}",
    reason: '"echo" directive is not allowed here',
    line: 3,
  },
];

for (const c of errorCases) {
  Deno.test(`config: ${c.name} is an error with file and line`, () => {
    const err = configError(lines(c.body));
    assert.equal(err.reason, c.reason);
    assert.equal(err.line, c.line);
    assert.equal(err.file, "<config>");
  });
}

function nested(depth: number): string {
  return "echo_loop 1 { ".repeat(depth) + "echo x;" + " }".repeat(depth);
}

Deno.test(`config: blocks nest ${MAX_BLOCK_DEPTH} deep, not deeper`, () => {
  assert.equal(steps(nested(MAX_BLOCK_DEPTH)).length, 1);
  const err = configError(inServer(nested(MAX_BLOCK_DEPTH + 1)));
  assert.equal(
    err.reason,
    `stream echo: "echo_loop" is nested too deeply (at most ${MAX_BLOCK_DEPTH} levels of blocks)`,
  );
});

const spinFree: { name: string; body: string }[] = [
  { name: "a read first", body: "echo_loop { echo_read_line; echo x; }" },
  { name: "a read after output", body: "echo_loop { echo x; echo_read_bytes 1; }" },
  {
    name: "every branch reads or breaks",
    body: 'echo_loop { echo_match { when "a" { echo_break; } default { echo_read_line; } } }',
  },
  {
    name: "a read after a partial match",
    body: 'echo_loop { echo_match { when "a" { } } echo_read_line; }',
  },
  {
    name: "an inner bounded loop that reads",
    body: "echo_loop { echo_loop 2 { echo_read_line; } }",
  },
  { name: "a length-framed read", body: "echo_loop { echo_read_length u8; }" },
  {
    name: "an echo_split whose branches all read and make 100%",
    body: "echo_loop { echo_split { 50% { echo_read_line; } * { echo_read_bytes 1; } } }",
  },
];

for (const c of spinFree) {
  Deno.test(`config: an unbounded loop with ${c.name} is accepted`, () => {
    assert.equal(steps(c.body)[0].op, "loop");
  });
}

Deno.test("config: echo_loop and echo_match compile into nested step lists", () => {
  const [loop] = steps(
    'echo_loop 3 { echo_read_line; echo_match buffer { when = "a" { echo a; } ' +
      'when ~* "^b(?<x>.)" { echo b; } when -e "\\x00" { } default { echo d; } } }',
  ) as LoopStep[];
  assert.equal(loop.count, 3);
  assert.deepEqual(loop.body.map((s) => s.op), ["read_line", "match"]);
  const match = loop.body[1] as MatchStep;
  assert.equal(match.subject, "buffer");
  assert.deepEqual(match.branches.map((b) => b.kind), ["exact", "regex", "prefix"]);
  assert.ok(match.branches[1].regex?.flags.includes("i"));
  assert.deepEqual([...match.branches[2].bytes], [0]);
  assert.deepEqual(match.fallback?.map((s) => s.op), ["echo"]);
});

Deno.test("config: echo_loop takes a capture as its count", () => {
  const [, loop] = steps('echo_read_regex "(?<n>\\d+)"; echo_loop $n { echo x; }') as LoopStep[];
  assert.deepEqual(loop.count, { name: "n" });
  const [, loop1] = steps('echo_read_regex "(\\d+)"; echo_loop $1 { echo x; }') as LoopStep[];
  assert.deepEqual(loop1.count, { index: 1 });
});

Deno.test("config: echo_read_until keeps its delimiter and a KMP table", () => {
  const [step] = steps('echo_read_until -e "ab\\x00ab";') as ReadUntilStep[];
  assert.deepEqual([...step.delimiter], [0x61, 0x62, 0, 0x61, 0x62]);
  assert.deepEqual([...step.fail], [0, 0, 0, 1, 2]);
});

Deno.test("config: echo_read_length reads its width, byte order and adjustment", () => {
  const all = steps(
    "echo_read_length u8; echo_read_length u16le +2; echo_read_length u32be -4;",
  ) as ReadLengthStep[];
  assert.deepEqual(
    all.map((s) => [s.width, s.littleEndian, s.adjust]),
    [[1, false, 0], [2, true, 2], [4, false, -4]],
  );
});

Deno.test("config: existing configs compile as before: no -v, no -e, $3 and \\x41 as written", () => {
  const [a, b] = steps('echo "$3\\r\\nbar"; echo -n "\\x41";') as EchoStep[];
  assert.equal(new TextDecoder().decode(a.data), "$3\r\nbar\n");
  assert.equal(new TextDecoder().decode(b.data), "\\x41");
});

Deno.test("config: echo -e decodes escapes into bytes, in either option order", () => {
  for (const body of ['echo -e -n "\\x00\\xff\\e";', 'echo -n -e "\\x00\\xff\\e";']) {
    const [step] = steps(body) as EchoStep[];
    assert.deepEqual([...step.data], [0, 0xff, 0x1b]);
  }
});

Deno.test("config: echo -v compiles a template of bytes and variables", () => {
  const [, step] = steps(
    'echo_read_regex "(?<k>.)"; echo -v -n "a$1${k}$k$$ $echo_last_read$echo_request_data$";',
  ) as EchoTemplateStep[];
  assert.equal(step.op, "echo_template");
  assert.deepEqual(step.parts.map((p) => p.kind), [
    "bytes",
    "group",
    "named",
    "named",
    "bytes",
    "last_read",
    "request_data",
    "bytes",
  ]);
});

Deno.test("config: the settings default to close and no postponing, and are inherited", () => {
  const server = onlyServer(
    inServer("echo x;", "echo_mismatch_action continue; postpone_output 1k;"),
  );
  assert.equal(server.settings.mismatchAction, "continue");
  assert.equal(server.settings.postponeOutput, 1024);
  const plain = onlyServer(inServer("echo x;"));
  assert.equal(plain.settings.mismatchAction, undefined);
  assert.equal(plain.settings.postponeOutput, undefined);
});

Deno.test("config: include works inside a loop body", () => {
  const text = "stream { server { listen 0; echo_loop { include body.conf; } } }";
  const fs = memoryFs({ "/etc/body.conf": "echo_read_line; echo_request_data;" });
  const server = onlyServer(text, { file: "/etc/se.conf", ...fs });
  assert.deepEqual((server.steps[0] as LoopStep).body.map((s) => s.op), [
    "read_line",
    "request_data",
  ]);
});

Deno.test("config: echo -v without any variable compiles to a plain echo", () => {
  const [a, b] = steps('echo -v -n "no vars $$"; echo_duplicate -v 2 "x";');
  assert.equal(a.op, "echo");
  assert.deepEqual([...(a as EchoStep).data], [...new TextEncoder().encode("no vars $")]);
  assert.equal(b.op, "duplicate");
});

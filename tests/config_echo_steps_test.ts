import assert from "node:assert/strict";
import { parseConfig } from "../src/config/loader.ts";
import type { DuplicateStep, EchoStep, Step } from "../src/config/types.ts";
import { configError, inServer, noticesOf, onlyServer, text } from "./config_fixtures.ts";

function steps(body: string): Step[] {
  return onlyServer(inServer(body)).steps;
}

function echoed(body: string): string[] {
  return steps(body).map((s) => text((s as EchoStep).data));
}

const echoCases: { name: string; body: string; want: string[] }[] = [
  {
    name: "joins its arguments with spaces and adds LF",
    body: "echo Hi Kindy;",
    want: ["Hi Kindy\n"],
  },
  { name: "sends a lone LF without arguments", body: "echo;", want: ["\n"] },
  { name: "drops the LF with -n", body: 'echo -n "hello, ";', want: ["hello, "] },
  { name: "sends nothing for -n alone", body: "echo -n;", want: [""] },
  { name: "stops options at --", body: "echo -- -n -t -- hi;", want: ["-n -t -- hi\n"] },
  { name: "takes -n before --", body: "echo -n -- -n -t -- hi;", want: ["-n -t -- hi"] },
  { name: "keeps empty arguments as empty words", body: 'echo "" "" "" a;', want: ["   a\n"] },
  { name: "stops options at an empty argument", body: 'echo "" -n;', want: [" -n\n"] },
  { name: "takes a lone - as a value", body: "echo - a;", want: ["- a\n"] },
  {
    name: "drops any argument starting with -- as the end of options",
    body: "echo --x y;",
    want: ["y\n"],
  },
  { name: "takes later dashes as values", body: "echo a -n;", want: ["a -n\n"] },
  { name: "encodes text as UTF-8", body: "echo é;", want: ["é\n"] },
  { name: "keeps escapes from the lexer", body: 'echo "a\\tb";', want: ["a\tb\n"] },
];

for (const c of echoCases) {
  Deno.test(`echo ${c.name}`, () => {
    assert.deepEqual(echoed(c.body), c.want);
  });
}

Deno.test("echo steps carry their directive name, file and line", () => {
  const server = onlyServer("stream {\n server {\n  listen 0;\n  echo hi;\n }\n}", {
    file: "se.conf",
  });
  const [step] = server.steps;
  assert.equal(step.op, "echo");
  assert.equal(step.directive, "echo");
  assert.deepEqual(step.pos, { file: "se.conf", line: 4 });
});

Deno.test("steps keep the order of the directives", () => {
  const ops = steps(
    "echo a; echo_duplicate 1 b; echo_flush_wait; echo_sleep 1; echo_read_bytes 1; " +
      "echo_read_line; echo_request_data; echo_discard_request;",
  ).map((s) => s.op);
  assert.deepEqual(ops, [
    "echo",
    "duplicate",
    "flush_wait",
    "sleep",
    "read_bytes",
    "read_line",
    "request_data",
    "discard_request",
  ]);
});

const duplicateCases: { name: string; body: string; unit: string; count: number; chunk: number }[] =
  [
    {
      name: "repeats a string n times",
      body: "echo_duplicate 3 abc;",
      unit: "abc",
      count: 3,
      chunk: 9,
    },
    {
      name: "allows a zero count",
      body: "echo_duplicate 0 hello;",
      unit: "hello",
      count: 0,
      chunk: 0,
    },
    { name: "allows an empty string", body: 'echo_duplicate 3 "";', unit: "", count: 3, chunk: 0 },
    {
      name: "takes underscores in the count",
      body: "echo_duplicate 2_000 a;",
      unit: "a",
      count: 2000,
      chunk: 2000,
    },
    {
      name: "takes -- before the count",
      body: "echo_duplicate -- 2 hello;",
      unit: "hello",
      count: 2,
      chunk: 10,
    },
    {
      name: "takes a count of 1000_000_000 and builds only a 64 KiB chunk",
      body: 'echo_duplicate 1000_000_000 "hello, world";',
      unit: "hello, world",
      count: 1_000_000_000,
      chunk: 12 * Math.ceil(65536 / 12),
    },
  ];

for (const c of duplicateCases) {
  Deno.test(`echo_duplicate ${c.name}`, () => {
    const [step] = steps(c.body) as DuplicateStep[];
    assert.equal(step.op, "duplicate");
    assert.equal(text(step.unit), c.unit);
    assert.equal(step.count, c.count);
    assert.equal(step.chunk.length, c.chunk);
    assert.equal(text(step.chunk), c.unit.repeat(c.chunk / Math.max(1, c.unit.length)));
  });
}

Deno.test("echo_duplicate of one long unit uses the unit itself as its chunk", () => {
  const [step] = steps(`echo_duplicate 5 ${"z".repeat(70_000)};`) as DuplicateStep[];
  assert.equal(step.chunk, step.unit);
  assert.equal(step.chunk.length, 70_000);
});

Deno.test("echo_duplicate shares one chunk between servers that repeat the same string", () => {
  const config = "stream { server { listen 0; echo_duplicate 100000 ab; } " +
    "server { listen 0; echo_duplicate 200000 ab; } }";
  const [a, b] = parseConfig(config).servers.map((s) => s.steps[0] as DuplicateStep);
  assert.equal(a.chunk, b.chunk);
});

const sleepCases: [string, number][] = [["1", 1000], ["0.5", 500], ["1.234", 1234], [".1", 100], [
  "0",
  0,
]];
for (const [arg, ms] of sleepCases) {
  Deno.test(`echo_sleep ${arg} sleeps ${ms} ms`, () => {
    const [step] = steps(`echo_sleep ${arg};`);
    assert.deepEqual(step.op === "sleep" && step.ms, ms);
  });
}

Deno.test("echo_sleep keeps three decimals and says so", () => {
  const [step] = steps("echo_sleep 1.2345;");
  assert.equal(step.op === "sleep" && step.ms, 1234);
  assert.deepEqual(noticesOf(inServer("echo_sleep 1.2345;")), [
    '"echo_sleep 1.2345" keeps three decimals: sleeping 1.234 s',
  ]);
});

const readCases: [string, number][] = [["5", 5], ["1k", 1024], ["0", 0]];
for (const [arg, n] of readCases) {
  Deno.test(`echo_read_bytes ${arg} reads ${n} bytes`, () => {
    const [step] = steps(`echo_read_buffer_size 2k; echo_read_bytes ${arg};`);
    assert.equal(step.op === "read_bytes" && step.n, n);
  });
}

/** Every config-time error of the step directives: the module's messages, with a location. */
const errorCases: { name: string; body: string; message: string }[] = [
  {
    name: "echo rejects an unknown option after a valid one",
    body: "echo -n -t ok;",
    message: 'stream echo sees unknown option "-t" in "echo"',
  },
  {
    name: "echo rejects a doubled option letter",
    body: "echo -nn ok;",
    message: 'stream echo sees unknown option "-nn" in "echo"',
  },
  {
    name: "echo_duplicate rejects a negative count as an unknown option",
    body: "echo_duplicate -1 hello;",
    message: 'stream echo sees unknown option "-1" in "echo_duplicate"',
  },
  {
    name: "echo_duplicate rejects -n",
    body: "echo_duplicate -n 1 a;",
    message: 'stream echo sees unknown option "-n" in "echo_duplicate"',
  },
  {
    name: "echo_duplicate wants two values after --",
    body: "echo_duplicate -- 2;",
    message: 'stream echo requires two value arguments in "echo_duplicate" but got 1',
  },
  {
    name: "echo_duplicate wants no more than two values",
    body: "echo_duplicate 2 a bb;",
    message: 'stream echo requires two value arguments in "echo_duplicate" but got 3',
  },
  {
    name: "echo_duplicate rejects a count that is not a number",
    body: "echo_duplicate bc a;",
    message: 'stream echo: bad "n" argument, "bc", in "echo_duplicate"',
  },
  {
    name: "echo_duplicate rejects an empty count",
    body: 'echo_duplicate "" a;',
    message: 'stream echo: bad "n" argument, "", in "echo_duplicate"',
  },
  {
    name: "echo_duplicate rejects a count too large to hold exactly",
    body: "echo_duplicate 99999999999999999999 a;",
    message: 'stream echo: bad "n" argument, "99999999999999999999", in "echo_duplicate"',
  },
  {
    name: "echo_duplicate wants at least two arguments",
    body: "echo_duplicate 1;",
    message: 'invalid number of arguments in "echo_duplicate" directive',
  },
  {
    name: "echo_sleep wants one value",
    body: "echo_sleep 2 a;",
    message: 'stream echo requires one value argument in "echo_sleep" but got 2',
  },
  {
    name: "echo_sleep rejects a negative delay as an unknown option",
    body: "echo_sleep -1;",
    message: 'stream echo sees unknown option "-1" in "echo_sleep"',
  },
  {
    name: "echo_sleep rejects a delay that is not a number",
    body: "echo_sleep a;",
    message: 'stream echo: bad "delay" argument, "a", in "echo_sleep"',
  },
  {
    name: "echo_sleep rejects two dots",
    body: "echo_sleep 1.2.3;",
    message: 'stream echo: bad "delay" argument, "1.2.3", in "echo_sleep"',
  },
  {
    name: "echo_sleep rejects a lone dot",
    body: "echo_sleep .;",
    message: 'stream echo: bad "delay" argument, ".", in "echo_sleep"',
  },
  {
    name: "echo_sleep rejects 597 hours or more",
    body: "echo_sleep 2149200;",
    message: 'stream echo: bad "delay" argument, "2149200", in "echo_sleep": ' +
      "must be less than 597 hours (2147483.647 seconds at most)",
  },
  {
    name: "echo_sleep wants an argument",
    body: "echo_sleep;",
    message: 'invalid number of arguments in "echo_sleep" directive',
  },
  {
    name: "echo_read_bytes wants one value after --",
    body: "echo_read_bytes --;",
    message: 'stream echo requires one value argument in "echo_read_bytes" but got 0',
  },
  {
    name: "echo_read_bytes rejects an unknown option",
    body: "echo_read_bytes -t;",
    message: 'stream echo sees unknown option "-t" in "echo_read_bytes"',
  },
  {
    name: "echo_read_bytes rejects a size that is not a size",
    body: "echo_read_bytes abc;",
    message: 'stream echo sees bad size "abc" in "echo_read_bytes"',
  },
  {
    name: "echo_read_bytes takes exactly one argument",
    body: "echo_read_bytes 1 2;",
    message: 'invalid number of arguments in "echo_read_bytes" directive',
  },
  {
    name: "echo_flush_wait takes no argument",
    body: "echo_flush_wait 2;",
    message: 'invalid number of arguments in "echo_flush_wait" directive',
  },
  {
    name: "echo_read_line takes no argument",
    body: "echo_read_line 2;",
    message: 'invalid number of arguments in "echo_read_line" directive',
  },
  {
    name: "echo_request_data takes no argument",
    body: "echo_request_data 2;",
    message: 'invalid number of arguments in "echo_request_data" directive',
  },
  {
    name: "echo_discard_request takes no argument",
    body: "echo_discard_request 2;",
    message: 'invalid number of arguments in "echo_discard_request" directive',
  },
];

for (const c of errorCases) {
  Deno.test(`${c.name}, naming file and line`, () => {
    const err = configError(`stream {\n server {\n  listen 0;\n  ${c.body}\n }\n}`, {
      file: "/etc/se.conf",
    });
    assert.equal(err.message, `${c.message} in /etc/se.conf:4`);
    assert.equal(err.reason, c.message);
    assert.equal(err.file, "/etc/se.conf");
    assert.equal(err.line, 4);
  });
}

Deno.test("echo bytes of many servers stay exact across shared buffers", () => {
  const servers = Array.from(
    { length: 3000 },
    (_, i) => `server { listen 0; echo "server ${i} ${"é".repeat(i % 50)}"; }`,
  );
  const config = parseConfig(`stream { ${servers.join("\n")} }`);
  config.servers.forEach((server, i) => {
    const step = server.steps[0] as EchoStep;
    assert.equal(text(step.data), `server ${i} ${"é".repeat(i % 50)}\n`);
  });
});

Deno.test("a long echo text is encoded whole", () => {
  const long = "x".repeat(100_000);
  assert.deepEqual(echoed(`echo ${long};`), [`${long}\n`]);
});

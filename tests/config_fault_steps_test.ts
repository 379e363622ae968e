/**
 * The fault directives at load time: what each compiles to, and every bad value as an error
 * naming the file and line.
 */
import assert from "node:assert/strict";
import { parseConfig } from "../src/config/loader.ts";
import { configError, inServer, noticesOf, onlyServer } from "./config_fixtures.ts";

const steps = (body: string): Record<string, unknown>[] =>
  onlyServer(inServer(body)).steps.map(({ directive: _d, pos: _p, ...rest }) => rest);

const compiled: { name: string; body: string; want: unknown[] }[] = [
  { name: "echo_close", body: "echo_close;", want: [{ op: "close" }] },
  { name: "echo_reset", body: "echo_reset;", want: [{ op: "reset" }] },
  { name: "echo_shutdown", body: "echo_shutdown;", want: [{ op: "shutdown" }] },
  {
    name: "echo_send_rate takes a size",
    body: "echo_send_rate 20k;",
    want: [{ op: "send_rate", rate: 20480 }],
  },
  {
    name: "echo_send_rate 0 turns pacing off",
    body: "echo_send_rate 0;",
    want: [{ op: "send_rate", rate: 0 }],
  },
  {
    name: "echo_send_chunk without a delay",
    body: "echo_send_chunk 1k;",
    want: [{ op: "send_chunk", size: 1024, delayMs: 0 }],
  },
  {
    name: "echo_send_chunk with a delay in seconds",
    body: "echo_send_chunk 10 0.25;",
    want: [{ op: "send_chunk", size: 10, delayMs: 250 }],
  },
  {
    name: "echo_send_chunk with an nginx time",
    body: "echo_send_chunk 10 40ms;",
    want: [{ op: "send_chunk", size: 10, delayMs: 40 }],
  },
  {
    name: "echo_send_limit closes by default",
    body: "echo_send_limit 100;",
    want: [{ op: "send_limit", size: 100, reset: false }],
  },
  {
    name: "echo_send_limit reset",
    body: "echo_send_limit 1k reset;",
    want: [{ op: "send_limit", size: 1024, reset: true }],
  },
  {
    name: "echo_send_limit close",
    body: "echo_send_limit 0 close;",
    want: [{ op: "send_limit", size: 0, reset: false }],
  },
  {
    name: "echo_random_bytes",
    body: "echo_random_bytes 4k;",
    want: [{ op: "random_bytes", size: 4096 }],
  },
  {
    name: "echo_sleep MIN..MAX",
    body: "echo_sleep 0.1..0.5;",
    want: [{ op: "sleep", ms: 100, maxMs: 500 }],
  },
  {
    name: "echo_sleep MIN..MAX with equal ends",
    body: "echo_sleep 1..1;",
    want: [{ op: "sleep", ms: 1000, maxMs: 1000 }],
  },
  {
    name: "a plain echo_sleep has no range",
    body: "echo_sleep 0.1;",
    want: [{ op: "sleep", ms: 100 }],
  },
];

for (const c of compiled) {
  Deno.test(`config: ${c.name}`, () => {
    assert.deepEqual(steps(c.body), c.want);
  });
}

Deno.test("config: echo_random_seed is a setting of stream and server, inherited", () => {
  assert.equal(onlyServer(inServer("echo;", "echo_random_seed 42;")).settings.randomSeed, 42);
  assert.equal(onlyServer(inServer("echo_random_seed 7; echo;")).settings.randomSeed, 7);
  assert.equal(onlyServer(inServer("echo;")).settings.randomSeed, undefined);
});

const errors: { name: string; body: string; message: string }[] = [
  {
    name: "echo_send_rate rejects a size that is not a size",
    body: "echo_send_rate fast;",
    message: 'stream echo sees bad size "fast" in "echo_send_rate"',
  },
  {
    name: "echo_send_rate rejects a negative rate",
    body: "echo_send_rate -1;",
    message: 'stream echo sees bad size "-1" in "echo_send_rate"',
  },
  {
    name: "echo_send_rate takes one argument",
    body: "echo_send_rate 1 2;",
    message: 'invalid number of arguments in "echo_send_rate" directive',
  },
  {
    name: "echo_send_chunk rejects a bad size",
    body: "echo_send_chunk 1x 0.1;",
    message: 'stream echo sees bad size "1x" in "echo_send_chunk"',
  },
  {
    name: "echo_send_chunk rejects a bad delay",
    body: "echo_send_chunk 1 soon;",
    message: 'stream echo: bad "delay" argument, "soon", in "echo_send_chunk"',
  },
  {
    name: "echo_send_chunk rejects a delay past 597 hours",
    body: "echo_send_chunk 1 2149200;",
    message: 'stream echo: bad "delay" argument, "2149200", in "echo_send_chunk": ' +
      "must be less than 597 hours (2147483.647 seconds at most)",
  },
  {
    name: "echo_send_chunk takes at most two arguments",
    body: "echo_send_chunk 1 2 3;",
    message: 'invalid number of arguments in "echo_send_chunk" directive',
  },
  {
    name: "echo_send_limit rejects a bad size",
    body: "echo_send_limit lots;",
    message: 'stream echo sees bad size "lots" in "echo_send_limit"',
  },
  {
    name: "echo_send_limit knows only close and reset",
    body: "echo_send_limit 10 rst;",
    message: 'invalid value "rst" in "echo_send_limit" directive, it must be "close" or "reset"',
  },
  {
    name: "echo_random_bytes rejects a bad size",
    body: "echo_random_bytes 1.5k;",
    message: 'stream echo sees bad size "1.5k" in "echo_random_bytes"',
  },
  {
    name: "echo_random_bytes needs a size",
    body: "echo_random_bytes;",
    message: 'invalid number of arguments in "echo_random_bytes" directive',
  },
  {
    name: "echo_sleep MIN..MAX rejects MIN above MAX",
    body: "echo_sleep 2..1;",
    message: 'stream echo: bad "delay" argument, "2..1", in "echo_sleep": MIN is more than MAX',
  },
  {
    name: "echo_sleep MIN..MAX rejects a bad end",
    body: "echo_sleep 1..x;",
    message: 'stream echo: bad "delay" argument, "x", in "echo_sleep"',
  },
  {
    name: "echo_sleep MIN..MAX rejects an empty end",
    body: "echo_sleep ..1;",
    message: 'stream echo: bad "delay" argument, "", in "echo_sleep"',
  },
  {
    name: "echo_close takes no argument",
    body: "echo_close now;",
    message: 'invalid number of arguments in "echo_close" directive',
  },
  {
    name: "echo_reset takes no argument",
    body: "echo_reset 1;",
    message: 'invalid number of arguments in "echo_reset" directive',
  },
  {
    name: "echo_shutdown takes no argument",
    body: "echo_shutdown write;",
    message: 'invalid number of arguments in "echo_shutdown" directive',
  },
  {
    name: "echo_random_seed must be a whole number",
    body: "echo_random_seed -3;",
    message: '"echo_random_seed" directive invalid value "-3": must be a whole number',
  },
  {
    name: "echo_random_seed is set once per block",
    body: "echo_random_seed 1; echo_random_seed 2;",
    message: '"echo_random_seed" directive is duplicate',
  },
];

for (const c of errors) {
  Deno.test(`config: ${c.name}, naming file and line`, () => {
    const err = configError(`stream {\n server {\n  listen 0;\n  ${c.body}\n }\n}`, {
      file: "/etc/se.conf",
    });
    assert.equal(err.message, `${c.message} in /etc/se.conf:4`);
  });
}

Deno.test("config: fault steps are steps: not allowed at stream level", () => {
  const err = configError("stream { echo_reset; server { listen 0; echo; } }");
  assert.equal(err.reason, '"echo_reset" directive is not allowed here');
});

Deno.test("config: output after a top-level echo_shutdown is reported at load", () => {
  const notices = noticesOf(
    `stream {\nserver {\nlisten 0;\necho a;\necho_shutdown;\necho_read_line;\necho b;\n` +
      `echo_random_bytes 3;\n}\n}`,
    { file: "/etc/se.conf" },
  );
  assert.deepEqual(notices, [
    '"echo" after "echo_shutdown" (/etc/se.conf:5) sends nothing',
    '"echo_random_bytes" after "echo_shutdown" (/etc/se.conf:5) sends nothing',
  ]);
  assert.deepEqual(noticesOf(inServer("echo a; echo_shutdown; echo_read_line;")), []);
  const [notice] = parseConfig(inServer("echo_shutdown; echo b;")).notices;
  assert.equal(notice.level, "warn");
});

Deno.test("config: fault sizes are bounded at 1 TiB, with file and line", () => {
  const err = configError(`stream {\n server {\n  listen 0;\n  echo_random_bytes 1025g;\n }\n}`, {
    file: "/etc/se.conf",
  });
  assert.equal(
    err.message,
    '"echo_random_bytes" directive invalid value "1025g": must be at most 1024g in /etc/se.conf:4',
  );
  assert.equal(steps("echo_send_limit 1024g;")[0].size, 2 ** 40);
});

Deno.test("config: fault directives work inside loops and branches", () => {
  const s = onlyServer(inServer(
    'echo_loop 2 { echo_send_chunk 1; echo_read_line; echo_match { when "q" { echo_reset; } ' +
      "default { echo_sleep 0..0.1; echo_close; } } }",
  )).steps;
  assert.equal(s[0].op, "loop");
});

Deno.test("config: echo_split keeps its branches with shares in hundredths of a percent", () => {
  const [split] = onlyServer(
    inServer("echo_split { 20% { echo a; } 5.5% { echo_reset; } * { echo c; } }"),
  ).steps;
  assert.equal(split.op, "split");
  if (split.op !== "split") return;
  assert.deepEqual(split.branches.map((b) => b.share), [2000, 550, 7450]);
  assert.deepEqual(split.branches.map((b) => b.body.map((s) => s.op)), [
    ["echo"],
    ["reset"],
    ["echo"],
  ]);
});

Deno.test("config: echo_chance is a one-branch split", () => {
  const [split] = onlyServer(inServer("echo_chance 0.01% { echo_close; }")).steps;
  assert.ok(split.op === "split");
  assert.deepEqual(split.branches.map((b) => [b.share, b.body.length]), [[1, 1]]);
});

Deno.test("config: an unbounded loop over a split that reads on every branch is accepted", () => {
  onlyServer(
    inServer("echo_loop { echo_split { 50% { echo_read_line; } * { echo_read_bytes 1; } } }"),
  );
  const err = configError(
    inServer("echo_loop { echo_split { 50% { echo_read_line; } 50% { echo x; } } }"),
  );
  assert.match(err.message, /must read on every path/);
  const partial = configError(inServer("echo_loop { echo_chance 99% { echo_read_line; } }"));
  assert.match(partial.message, /must read on every path/);
});

const splitErrors: { name: string; body: string; message: string }[] = [
  {
    name: "a share that is not a percentage",
    body: "echo_split { 20 { echo a; } }",
    message: 'invalid percent value "20"',
  },
  {
    name: "a share above 100%",
    body: "echo_split { 101% { echo a; } }",
    message: 'invalid percent value "101%"',
  },
  {
    name: "a zero share",
    body: "echo_chance 0% { echo a; }",
    message: 'invalid percent value "0%"',
  },
  {
    name: "three decimals",
    body: "echo_chance 1.125% { echo a; }",
    message: 'invalid percent value "1.125%"',
  },
  {
    name: "shares over 100% together",
    body: "echo_split { 60% { echo a; } 50% { echo b; } }",
    message: "percent total is greater than 100%",
  },
  {
    name: "a branch after *",
    body: "echo_split { * { echo a; } 10% { echo b; } }",
    message: 'stream echo: "10%" after "*" in "echo_split"',
  },
  {
    name: "a branch without a block",
    body: "echo_split { 10%; }",
    message: 'stream echo: "10%" in "echo_split" needs a block "{ ... }"',
  },
  {
    name: "a branch with arguments",
    body: "echo_split { 10% x { echo a; } }",
    message: 'invalid number of arguments in "echo_split" branch "10%"',
  },
  {
    name: "an empty echo_split",
    body: "echo_split { }",
    message: 'stream echo: "echo_split" has no branch',
  },
  {
    name: "a bad step inside a branch",
    body: "echo_split { 10% { echo_send_rate x; } }",
    message: 'stream echo sees bad size "x" in "echo_send_rate"',
  },
  {
    name: "echo_chance without a block",
    body: "echo_chance 10%;",
    message: 'directive "echo_chance" has no opening "{"',
  },
];

for (const c of splitErrors) {
  Deno.test(`config: echo_split/echo_chance reject ${c.name}, naming file and line`, () => {
    const err = configError(`stream {\n server {\n  listen 0;\n  ${c.body}\n }\n}`, {
      file: "/etc/se.conf",
    });
    assert.equal(err.message, `${c.message} in /etc/se.conf:4`);
  });
}

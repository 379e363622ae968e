/**
 * Sizes, counts and times have documented upper bounds, checked at load time with file:line:
 * the largest allowed value loads, one more fails `check` with a clear message.
 */
import assert from "node:assert/strict";
import { ConfigError } from "../src/config/errors.ts";
import { parseConfig } from "../src/config/loader.ts";
import {
  MAX_BACKLOG,
  MAX_DUPLICATE_BYTES,
  MAX_POSTPONE_OUTPUT,
  MAX_READ_BUFFER_SIZE,
  MAX_RLIMIT_NOFILE,
  MAX_WORKER_CONNECTIONS,
  MAX_WORKER_PROCESSES,
} from "../src/config/limits.ts";
import { MAX_TIMER_MS } from "../src/config/units.ts";
import { oneServer, runCli, TempDir } from "./cli_harness.ts";

/** A config whose line 3 holds `line` in the context it needs. */
function at3(context: "main" | "events" | "stream" | "server", line: string): string {
  switch (context) {
    case "main":
      return `\n\n${line}\n`;
    case "events":
      return `events {\n\n${line}\n}\n`;
    case "stream":
      return `stream {\n\n${line}\nserver { listen 0; echo; } }\n`;
    case "server":
      return `stream { server {\nlisten 0;\n${line}\n} }\n`;
  }
}

const cases: {
  what: string;
  context: "main" | "events" | "stream" | "server";
  ok: string;
  bad: string;
  message: string;
}[] = [
  {
    what: "echo_read_buffer_size",
    context: "stream",
    ok: "echo_read_buffer_size 64m;",
    bad: "echo_read_buffer_size 2147483648k;",
    message: '"echo_read_buffer_size" directive invalid value "2147483648k": must be at most 64m',
  },
  {
    what: "echo_read_buffer_size one byte over",
    context: "server",
    ok: `echo_read_buffer_size ${MAX_READ_BUFFER_SIZE};`,
    bad: `echo_read_buffer_size ${MAX_READ_BUFFER_SIZE + 1};`,
    message: `"echo_read_buffer_size" directive invalid value "${
      MAX_READ_BUFFER_SIZE + 1
    }": must be at most 64m`,
  },
  {
    what: "postpone_output (held output stays in memory per session)",
    context: "server",
    ok: `postpone_output ${MAX_POSTPONE_OUTPUT};`,
    bad: "postpone_output 1024g;",
    message: '"postpone_output" directive invalid value "1024g": must be at most 64m',
  },
  {
    what: "echo_duplicate count x length",
    context: "server",
    ok: `echo_duplicate ${MAX_DUPLICATE_BYTES / 4} abcd;`,
    bad: `echo_duplicate ${MAX_DUPLICATE_BYTES / 4 + 1} abcd;`,
    message: `stream echo: bad "n" argument, "${
      MAX_DUPLICATE_BYTES / 4 + 1
    }", in "echo_duplicate": ${
      MAX_DUPLICATE_BYTES / 4 + 1
    } x 4 bytes is more than 1099511627776 bytes (1 TiB)`,
  },
  {
    what: "worker_connections",
    context: "events",
    ok: `worker_connections ${MAX_WORKER_CONNECTIONS};`,
    bad: `worker_connections ${MAX_WORKER_CONNECTIONS + 1};`,
    message: `"worker_connections" directive invalid value "${
      MAX_WORKER_CONNECTIONS + 1
    }": must be at most 1048576`,
  },
  {
    what: "worker_processes",
    context: "main",
    ok: `worker_processes ${MAX_WORKER_PROCESSES};`,
    bad: `worker_processes ${MAX_WORKER_PROCESSES + 1};`,
    message: '"worker_processes" directive invalid value "1025": must be at most 1024',
  },
  {
    what: "worker_rlimit_nofile",
    context: "main",
    ok: `worker_rlimit_nofile ${MAX_RLIMIT_NOFILE};`,
    bad: `worker_rlimit_nofile ${MAX_RLIMIT_NOFILE + 1};`,
    message: '"worker_rlimit_nofile" directive invalid value "2147483648": must be at most ' +
      "2147483647",
  },
  {
    what: "listen backlog",
    context: "server",
    ok: `listen 127.0.0.1:0 backlog=${MAX_BACKLOG}; echo;`,
    bad: `listen 127.0.0.1:0 backlog=${MAX_BACKLOG + 1}; echo;`,
    message: 'invalid backlog "backlog=65536": must be at most 65535',
  },
  {
    what: "echo_read_timeout",
    context: "stream",
    ok: `echo_read_timeout ${MAX_TIMER_MS}ms;`,
    bad: `echo_read_timeout ${MAX_TIMER_MS + 1}ms;`,
    message: '"echo_read_timeout" directive invalid value "2147483648ms": must be less than ' +
      "597 hours",
  },
  {
    what: "echo_sleep",
    context: "server",
    ok: "echo_sleep 2147483.647;",
    bad: "echo_sleep 2147483.648;",
    message: 'stream echo: bad "delay" argument, "2147483.648", in "echo_sleep": must be ' +
      "less than 597 hours (2147483.647 seconds at most)",
  },
];

for (const c of cases) {
  Deno.test(`${c.what}: the bound loads, one past it fails with file:line`, () => {
    parseConfig(at3(c.context, c.ok), { file: "se.conf" });
    assert.throws(() => parseConfig(at3(c.context, c.bad), { file: "se.conf" }), (err) => {
      assert.ok(err instanceof ConfigError);
      assert.equal(err.message, `${c.message} in se.conf:3`);
      return true;
    });
  });
}

Deno.test("check fails on echo_read_buffer_size 2147483648k with a clear message", async () => {
  using dir = new TempDir();
  const conf = dir.write("big.conf", oneServer("echo_read_buffer_size 2147483648k; echo;"));
  const r = await runCli(["check", "-c", conf], dir.path);
  assert.equal(r.code, 1);
  assert.ok(
    r.stderr.includes(
      '[emerg] "echo_read_buffer_size" directive invalid value "2147483648k": must be at most ' +
        `64m in ${conf}:4\n`,
    ),
    r.stderr,
  );
});

import assert from "node:assert/strict";
import { parseConfig } from "../src/config/loader.ts";
import { DEFAULT_LOG_FORMAT } from "../src/config/log_format.ts";
import type { Config } from "../src/config/types.ts";
import { configError, noticesOf } from "./config_fixtures.ts";

const opts = { file: "s.conf", baseDir: "/etc/se" };

function load(text: string): Config {
  return parseConfig(text, opts);
}

Deno.test("log_format compiles its strings into text and variables, joined without spaces", () => {
  const config = load(
    "stream {\n log_format t '$remote_addr:$remote_port ' '\"${echo_end}\"';\n" +
      " access_log /var/log/a.log t;\n server { listen 0; echo; }\n}",
  );
  const [target] = config.servers[0].accessLog!;
  assert.equal(target.path, "/var/log/a.log");
  assert.deepEqual(target.format, {
    name: "t",
    escape: "default",
    parts: [
      { variable: "remote_addr" },
      ":",
      { variable: "remote_port" },
      ' "',
      { variable: "echo_end" },
      '"',
    ],
  });
  assert.deepEqual(target.pos, { file: "s.conf", line: 3 });
});

Deno.test("log_format takes escape=default, json and none", () => {
  for (const escape of ["default", "json", "none"]) {
    const config = load(
      `stream { log_format t escape=${escape} $status; access_log x.log t; server { listen 0; echo; } }`,
    );
    assert.equal(config.servers[0].accessLog![0].format.escape, escape);
  }
});

Deno.test("access_log without a format uses nginx's basic format", () => {
  const config = load("stream { server { listen 0; echo; access_log a.log; } }");
  const [target] = config.servers[0].accessLog!;
  assert.equal(target.format, DEFAULT_LOG_FORMAT);
  assert.equal(target.path, "/etc/se/a.log", "relative paths are resolved against the config");
  assert.deepEqual(DEFAULT_LOG_FORMAT.parts.filter((p) => typeof p !== "string"), [
    { variable: "remote_addr" },
    { variable: "time_local" },
    { variable: "protocol" },
    { variable: "status" },
    { variable: "bytes_sent" },
    { variable: "bytes_received" },
    { variable: "session_time" },
  ]);
});

Deno.test("every variable the issue lists is known to log_format", () => {
  const names = [
    "remote_addr",
    "remote_port",
    "server_addr",
    "server_port",
    "protocol",
    "status",
    "bytes_sent",
    "bytes_received",
    "session_time",
    "connection",
    "time_local",
    "time_iso8601",
    "msec",
    "pid",
    "hostname",
    "echo_end",
  ];
  const format = names.map((n) => `$${n}`).join(" ");
  const config = load(
    `stream { log_format all '${format}'; server { listen 0; echo; access_log a.log all; } }`,
  );
  const vars = config.servers[0].accessLog![0].format.parts.filter((p) => typeof p !== "string");
  assert.deepEqual(vars, names.map((variable) => ({ variable })));
});

Deno.test("access_log is inherited from the stream level by servers that set none", () => {
  const config = load(
    "stream { access_log s.log; server { listen 0; echo; }\n" +
      "server { listen 0; echo; access_log own.log; access_log own2.log; }\n" +
      "server { listen 0; echo; access_log off; } }",
  );
  assert.deepEqual(config.servers.map((s) => s.accessLog?.map((t) => t.path)), [
    ["/etc/se/s.log"],
    ["/etc/se/own.log", "/etc/se/own2.log"],
    undefined,
  ]);
});

Deno.test("access_log off at the stream level turns logging off for servers that set none", () => {
  const config = load(
    "stream { access_log off; server { listen 0; echo; } server { listen 0; echo; access_log a.log; } }",
  );
  assert.deepEqual(config.servers.map((s) => s.accessLog?.length), [undefined, 1]);
});

Deno.test("no access_log anywhere means no access log", () => {
  assert.equal(load("stream { server { listen 0; echo; } }").servers[0].accessLog, undefined);
});

Deno.test("echo_record is inherited, and off in a server turns the stream's off", () => {
  const config = load(
    "stream { echo_record r.jsonl; server { listen 0; echo; }\n" +
      "server { listen 0; echo; echo_record off; }\nserver { listen 0; echo; echo_record /own; } }",
  );
  assert.deepEqual(config.servers.map((s) => s.record?.path), [
    "/etc/se/r.jsonl",
    undefined,
    "/own",
  ]);
  assert.deepEqual(config.servers[0].record?.pos, { file: "s.conf", line: 1 });
});

Deno.test("access_log takes if=, buffer= and flush= as nginx", () => {
  const text =
    "stream { server { listen 0; echo; access_log a.log buffer=32k flush=5s if=$status; } }";
  const [target] = load(text).servers[0].accessLog!;
  assert.deepEqual(target.condition, [{ variable: "status" }]);
  assert.equal(target.buffer, 32 * 1024);
  assert.equal(target.flush, 5000);
  assert.deepEqual(noticesOf(text, opts), []);
});

const errors: { name: string; config: string; message: string }[] = [
  {
    name: "an unknown variable in log_format",
    config: "stream {\nlog_format t '$remote_addr $request';\n}",
    message: 'unknown "request" variable in s.conf:2',
  },
  {
    name: "a $ without a name",
    config: "stream {\nlog_format t 'cost $ 5';\n}",
    message: 'invalid parameter "cost $ 5" in s.conf:2',
  },
  {
    name: "a ${ without its }",
    config: "stream {\nlog_format t '${status';\n}",
    message: 'the closing bracket in "status" variable is missing in s.conf:2',
  },
  {
    name: "an unknown escape mode",
    config: "stream {\nlog_format t escape=xml $status;\n}",
    message: 'unknown log format escaping "xml" in s.conf:2',
  },
  {
    name: "a format defined twice",
    config: "stream {\nlog_format t $status;\nlog_format t $pid;\n}",
    message: 'duplicate "log_format" name "t" in s.conf:3',
  },
  {
    name: "a format used before it is defined",
    config: "stream {\naccess_log a.log t;\nlog_format t $status;\n}",
    message: 'unknown log format "t" in s.conf:2',
  },
  {
    name: "log_format inside a server",
    config: "stream {\nserver { listen 0;\nlog_format t $status; }\n}",
    message: '"log_format" directive is not allowed here in s.conf:3, it belongs in "stream { }"',
  },
  {
    name: "log_format without a string",
    config: "stream {\nlog_format t;\n}",
    message: 'invalid number of arguments in "log_format" directive in s.conf:2',
  },
  {
    name: "log_format with an escape mode but no string",
    config: "stream {\nlog_format t escape=json;\n}",
    message: 'invalid number of arguments in "log_format" directive in s.conf:2',
  },
  {
    name: "access_log off with more",
    config: "stream {\naccess_log off t;\n}",
    message: 'invalid parameter "t" in s.conf:2',
  },
  {
    name: "access_log with gzip",
    config: "stream {\nlog_format t $status;\naccess_log a.log t gzip;\n}",
    message: '"access_log ... gzip" is not supported: stream-echo writes plain text in s.conf:3',
  },
  {
    name: "access_log to syslog",
    config: "stream {\naccess_log syslog:server=x;\n}",
    message: '"access_log syslog:server=x" is not supported (only files are) in s.conf:2',
  },
  {
    name: "an unknown access_log parameter",
    config: "stream {\nlog_format t $status;\naccess_log a.log t bogus;\n}",
    message: 'invalid parameter "bogus" in s.conf:3',
  },
  {
    name: "a bad buffer size",
    config: "stream {\naccess_log a.log buffer=lots;\n}",
    message: 'invalid buffer size "lots" in s.conf:2',
  },
  {
    name: "a zero flush time",
    config: "stream {\naccess_log a.log flush=0;\n}",
    message: 'invalid flush time "0" in s.conf:2',
  },
  {
    name: "an unknown variable in if=",
    config: "stream {\naccess_log a.log if=$loggable;\n}",
    message: 'unknown "loggable" variable in s.conf:2',
  },
  {
    name: "access_log in the main context",
    config: "access_log a.log;\n",
    message: '"access_log" directive is not allowed here in s.conf:1, ' +
      'it belongs in "stream { }" or "server { }"',
  },
  {
    name: "echo_record twice in a block",
    config: "stream {\necho_record a;\necho_record b;\n}",
    message: '"echo_record" directive is duplicate in s.conf:3',
  },
  {
    name: "echo_record with an empty path",
    config: "stream {\nserver { listen 0;\necho_record ''; }\n}",
    message: '"echo_record" directive invalid value "" in s.conf:3',
  },
];

for (const c of errors) {
  Deno.test(`config error: ${c.name}`, () => {
    assert.equal(configError(c.config, opts).message, c.message);
  });
}

Deno.test("log_format text is the config's bytes read as UTF-8; access_log paths too", () => {
  // Configs are read as bytes: "é" arrives as the two bytes C3 A9, one character each.
  const config = parseConfig(
    new TextEncoder().encode(
      "stream { log_format t 'é:' $status; server { listen 0; echo; access_log /tmp/é.log t; } }",
    ),
    opts,
  );
  const [target] = config.servers[0].accessLog!;
  assert.deepEqual(target.format.parts, ["é:", { variable: "status" }]);
  assert.equal(target.path, "/tmp/é.log");
});

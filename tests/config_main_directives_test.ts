import assert from "node:assert/strict";
import { parseConfig } from "../src/config/loader.ts";
import { configError, noticesOf } from "./config_fixtures.ts";

const opts = { file: "/etc/se/nginx.conf" };

Deno.test("an nginx.conf written for the module loads unchanged", () => {
  const config = parseConfig(
    `user nobody nogroup;
worker_processes auto;
worker_rlimit_nofile 4096;
error_log logs/error.log debug;
error_log stderr;
pid logs/nginx.pid;
daemon off;
master_process off;
worker_shutdown_timeout 10s;
env TZ;
load_module modules/ngx_stream_echo_module.so;
events {
    worker_connections 64;
    use epoll;
    multi_accept on;
    accept_mutex off;
    accept_mutex_delay 500ms;
}
stream {
    error_log logs/stream.log warn;
    server {
        listen 1234;
        echo hi;
    }
}
`,
    opts,
  );
  assert.deepEqual(config.main.workerProcesses, "auto");
  assert.equal(config.main.workerConnections, 64);
  assert.equal(config.main.workerShutdownTimeout, 10_000);
  assert.deepEqual(config.main.pid, {
    file: "/etc/se/logs/nginx.pid",
    pos: { file: opts.file, line: 6 },
  });
  assert.deepEqual(
    config.main.errorLog.map((e) => [e.target, e.level, e.pos.line]),
    [["/etc/se/logs/error.log", "debug", 4], ["stderr", "error", 5], [
      "/etc/se/logs/stream.log",
      "warn",
      20,
    ]],
  );
  const noted = config.notices.map((n) => n.message.split(" ")[0]);
  assert.deepEqual(noted, [
    '"user"',
    '"worker_rlimit_nofile"',
    '"daemon"',
    '"master_process"',
    '"env"',
    '"load_module"',
    '"use"',
    '"multi_accept"',
    '"accept_mutex"',
    '"accept_mutex_delay"',
  ]);
});

Deno.test("main settings have defaults", () => {
  const config = parseConfig("");
  assert.deepEqual(config.main, { workerProcesses: 1, errorLog: [], workerConnections: 512 });
});

Deno.test("worker_processes takes a number", () => {
  assert.equal(parseConfig("worker_processes 4;").main.workerProcesses, 4);
});

Deno.test("worker_processes N and auto are acted on, with no notice", () => {
  assert.deepEqual(parseConfig("worker_processes 4;").notices, []);
  assert.equal(parseConfig("worker_processes auto;").main.workerProcesses, "auto");
});

Deno.test("an absolute error_log path stays as written", () => {
  assert.equal(
    parseConfig("error_log /var/log/se.log;").main.errorLog[0].target,
    "/var/log/se.log",
  );
});

const noticeCases: [string, string][] = [
  [
    "daemon on;",
    '"daemon" directive is accepted but not acted on: stream-echo runs in the foreground under your supervisor',
  ],
  [
    "master_process off;",
    '"master_process" directive is accepted but not acted on: stream-echo has no master process',
  ],
  [
    "user www;",
    '"user" directive is accepted but not acted on: stream-echo runs as the user that starts it',
  ],
  [
    "worker_rlimit_nofile 1024;",
    '"worker_rlimit_nofile" directive is accepted but not acted on: stream-echo leaves file limits to the system',
  ],
  [
    "error_log syslog:server=127.0.0.1;",
    '"error_log syslog:server=127.0.0.1" is not supported (only files and stderr are); line ignored',
  ],
];

noticeCases.push([
  "stream { server { listen 0; echo; error_log stderr; } }",
  '"error_log" inside a server is ignored: stream-echo has one error log (set it at main or stream level)',
]);

for (const [config, message] of noticeCases) {
  Deno.test(`"${config}" is accepted with a notice that says so`, () => {
    assert.deepEqual(noticesOf(config), [message]);
  });
}

const errorCases: { name: string; config: string; message: string; line?: number }[] = [
  {
    name: "worker_processes 0 is an error",
    config: "worker_processes 0;",
    message: '"worker_processes" directive invalid value "0"',
  },
  {
    name: "worker_processes many is an error",
    config: "worker_processes many;",
    message: '"worker_processes" directive invalid value "many"',
  },
  {
    name: "worker_processes twice is an error",
    config: "worker_processes 1;\nworker_processes 2;",
    message: '"worker_processes" directive is duplicate',
  },
  {
    name: "an unknown error_log level is an error",
    config: "error_log stderr loud;",
    message: 'invalid log level "loud"',
  },
  {
    name: "error_log with three arguments is an error",
    config: "error_log a b c;",
    message: 'invalid number of arguments in "error_log" directive',
  },
  {
    name: "daemon maybe is an error",
    config: "daemon maybe;",
    message: 'invalid value "maybe" in "daemon" directive, it must be "on" or "off"',
  },
  {
    name: "pid twice is an error",
    config: "pid a;\npid b;",
    message: '"pid" directive is duplicate',
  },
  {
    name: "a bad worker_shutdown_timeout is an error",
    config: "worker_shutdown_timeout 1x;",
    message: '"worker_shutdown_timeout" directive invalid value "1x"',
  },
  {
    name: "worker_connections -1 is an error",
    config: "events { worker_connections -1; }",
    message: '"worker_connections" directive invalid value "-1"',
  },
  {
    name: "two events blocks are an error",
    config: "events { }\nevents { }",
    message: '"events" directive is duplicate',
  },
  {
    name: "two stream blocks are an error",
    config: "stream { }\nstream { }",
    message: '"stream" directive is duplicate',
  },
  {
    name: "an http block gets a clear error that only stream is served",
    config: "http {\n server { listen 80; }\n}",
    message: 'the "http" block is not supported: stream-echo serves only the "stream" subsystem',
    line: 1,
  },
  {
    name: "a mail block gets the same clear error",
    config: "mail { }",
    message: 'the "mail" block is not supported: stream-echo serves only the "stream" subsystem',
  },
];

for (const c of errorCases) {
  Deno.test(c.name, () => {
    const err = configError(c.config, { file: "m.conf" });
    assert.equal(err.reason, c.message);
    assert.equal(err.message, `${c.message} in m.conf:${err.line}`);
    assert.equal(err.line, c.line ?? c.config.split("\n").length);
  });
}

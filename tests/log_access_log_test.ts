import assert from "node:assert/strict";
import { compileFormat } from "../src/config/log_format.ts";
import type { LogEscape, LogFormat } from "../src/config/types.ts";
import { conditionHolds, lineFormatter } from "../src/log/access_log.ts";
import { escapeDefault, escapeJson } from "../src/log/escape.ts";
import {
  seconds,
  type SessionFacts,
  STATUS_BY_END,
  timeIso8601,
  timeLocal,
  variableGetter,
} from "../src/log/variables.ts";

const pos = { file: "t.conf", line: 1 };

/** What the `hostname` command says (the name `$hostname` must give). */
function hostnameCommand(): string {
  const out = new Deno.Command("hostname", { stdout: "piped" }).outputSync();
  return new TextDecoder().decode(out.stdout).trim();
}

const facts: SessionFacts = {
  connection: 12,
  remoteAddr: { transport: "tcp", hostname: "127.0.0.1", port: 50123 },
  localAddr: { transport: "tcp", hostname: "127.0.0.1", port: 1234 },
  end: "eof",
  bytesReceived: 9,
  bytesSent: 25,
  startedAt: Date.UTC(2026, 11, 2, 2, 30, 48, 100),
  endedAt: Date.UTC(2026, 11, 2, 2, 30, 49, 112),
};

function format(text: string, escape: LogEscape = "default"): LogFormat {
  return { name: "t", escape, parts: compileFormat([text], pos) };
}

Deno.test("the default escaping turns quote, backslash, controls and non-ASCII into \\xXX", () => {
  const cases: [string, string][] = [
    ["plain text 0-9 ~!", "plain text 0-9 ~!"],
    ['a"b', "a\\x22b"],
    ["a\\b", "a\\x5Cb"],
    ["tab\there\r\n", "tab\\x09here\\x0D\\x0A"],
    ["\x00\x1f\x7f", "\\x00\\x1F\\x7F"],
    ["é", "\\xC3\\xA9"],
    ["'single' {}", "'single' {}"],
  ];
  for (const [input, want] of cases) assert.equal(escapeDefault(input), want, input);
});

Deno.test("escape=json writes JSON escapes and keeps everything from 0x20 up", () => {
  const cases: [string, string][] = [
    ["plain", "plain"],
    ['a"b\\c', 'a\\"b\\\\c'],
    ["\n\r\t\b\f", "\\n\\r\\t\\b\\f"],
    ["\x00\x01\x1f", "\\u0000\\u0001\\u001F"],
    ["\x7fé€", "\x7fé€"],
  ];
  for (const [input, want] of cases) assert.equal(escapeJson(input), want, JSON.stringify(input));
});

Deno.test("variables read the session's facts in nginx's formats", () => {
  const want: Record<string, string> = {
    remote_addr: "127.0.0.1",
    remote_port: "50123",
    server_addr: "127.0.0.1",
    server_port: "1234",
    protocol: "TCP",
    status: "200",
    bytes_sent: "25",
    bytes_received: "9",
    session_time: "1.012",
    connection: "12",
    msec: `${Math.floor(facts.endedAt / 1000)}.112`,
    pid: String(Deno.pid),
    hostname: hostnameCommand(),
    echo_end: "eof",
    time_local: timeLocal(facts.endedAt),
    time_iso8601: timeIso8601(facts.endedAt),
  };
  for (const [name, value] of Object.entries(want)) {
    assert.equal(variableGetter(name)!(facts), value, name);
  }
});

Deno.test("time_local and time_iso8601 have nginx's shapes", () => {
  assert.match(timeLocal(facts.endedAt), /^\d\d\/Dec\/2026:\d\d:\d\d:\d\d [+-]\d{4}$/);
  assert.match(timeIso8601(facts.endedAt), /^2026-12-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d$/);
  // The local clock fields and the offset agree with the instant.
  const m = /^(\d+)-(\d+)-(\d+)T(\d+):(\d+):(\d+)([+-])(\d\d):(\d\d)$/.exec(
    timeIso8601(facts.endedAt),
  )!;
  const sign = m[7] === "-" ? -1 : 1;
  const local = Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]);
  const offset = sign * (+m[8] * 60 + +m[9]) * 60_000;
  assert.equal(local - offset, Math.floor(facts.endedAt / 1000) * 1000);
});

Deno.test("seconds are written with three decimals", () => {
  assert.deepEqual([seconds(0), seconds(5), seconds(1012), seconds(60_000)], [
    "0.000",
    "0.005",
    "1.012",
    "60.000",
  ]);
});

Deno.test("$status maps each way a session ends to nginx stream's codes", () => {
  assert.deepEqual(STATUS_BY_END, {
    eof: "200",
    shutdown: "200",
    reset: "400",
    timeout: "400",
    mismatch: "400",
    error: "500",
  });
  for (const [end, status] of Object.entries(STATUS_BY_END)) {
    assert.equal(variableGetter("status")!({ ...facts, end }), status);
  }
});

Deno.test("a Unix-socket session: remote_addr is unix:, the ports are empty", () => {
  const unix: SessionFacts = {
    ...facts,
    remoteAddr: { transport: "unix", path: "" },
    localAddr: { transport: "unix", path: "/tmp/se.sock" },
  };
  const line = lineFormatter(format("[$remote_addr][$remote_port][$server_addr][$server_port]"));
  assert.equal(line(unix), "[unix:][][unix:/tmp/se.sock][]");
});

Deno.test("a line is the format's text with each variable's value, escaped per the mode", () => {
  const odd: SessionFacts = { ...facts, localAddr: { transport: "unix", path: '/tmp/"x"' } };
  const text = '{"s":"$server_addr","n":$bytes_sent}';
  assert.equal(
    lineFormatter(format(text, "default"))(odd),
    '{"s":"unix:/tmp/\\x22x\\x22","n":25}',
  );
  const json = lineFormatter(format(text, "json"))(odd);
  assert.deepEqual(JSON.parse(json), { s: 'unix:/tmp/"x"', n: 25 });
  assert.equal(lineFormatter(format(text, "none"))(odd), '{"s":"unix:/tmp/"x"","n":25}');
});

Deno.test("a format is prepared once and shared", () => {
  const f = format("$status");
  assert.equal(lineFormatter(f), lineFormatter(f));
  assert.equal(lineFormatter(format("constant"))(facts), "constant");
});

Deno.test("if= skips the line when the condition is empty or 0", () => {
  const zero = compileFormat(["${bytes_received}"], pos);
  assert.equal(conditionHolds(zero, facts), true);
  assert.equal(conditionHolds(zero, { ...facts, bytesReceived: 0 }), false);
  assert.equal(
    conditionHolds(compileFormat(["$remote_port"], pos), {
      ...facts,
      remoteAddr: { transport: "unix", path: "" },
    }),
    false,
  );
});

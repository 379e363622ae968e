import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import {
  atLeast,
  createLogger,
  formatLogLine,
  LOG_LEVELS,
  quietLogger,
  teeLogger,
} from "../src/log/logger.ts";

const at = new Date(2026, 10, 24, 9, 5, 7);

Deno.test("formatLogLine writes nginx's error log line with the session context", () => {
  const line = formatLogLine(
    "info",
    "stream client read timed out",
    {
      connection: 5,
      client: "127.0.0.1",
      server: "127.0.0.1:1234",
      action: "running stream echo commands",
    },
    at,
    1234,
  );
  assertEquals(
    line,
    "2026/11/24 09:05:07 [info] 1234#0: *5 stream client read timed out while running stream " +
      "echo commands, client: 127.0.0.1, server: 127.0.0.1:1234",
  );
});

Deno.test("formatLogLine writes control bytes of the message and the context as \\xNN: one line", () => {
  assertEquals(
    formatLogLine(
      "info",
      'listening on unix:/tmp/a\nb.sock for "listen unix:/tmp/a\nb.sock"',
      { connection: 1, client: "unix:", server: "unix:/tmp/a\nb\tc\x7f.sock", action: "x\ry" },
      at,
      7,
    ),
    '2026/11/24 09:05:07 [info] 7#0: *1 listening on unix:/tmp/a\\x0Ab.sock for "listen ' +
      'unix:/tmp/a\\x0Ab.sock" while x\\x0Dy, client: unix:, server: unix:/tmp/a\\x0Ab\\x09c\\x7F.sock',
  );
  // Text is kept as it is: only control bytes are escaped.
  assertEquals(
    formatLogLine("info", "listening on unix:/tmp/café.sock", undefined, at, 7),
    "2026/11/24 09:05:07 [info] 7#0: listening on unix:/tmp/café.sock",
  );
});

Deno.test("formatLogLine leaves out what the context does not have", () => {
  assertEquals(
    formatLogLine("emerg", "bad", undefined, at, 7),
    "2026/11/24 09:05:07 [emerg] 7#0: bad",
  );
  assertEquals(
    formatLogLine("crit", "x", { client: "unix:" }, at, 7),
    "2026/11/24 09:05:07 [crit] 7#0: x, client: unix:",
  );
});

Deno.test("createLogger writes the threshold level and everything more severe", () => {
  const lines: string[] = [];
  const log = createLogger((l) => lines.push(l), { level: "warn", pid: 1, now: () => at });
  for (const level of LOG_LEVELS) log.log(level, level);
  assertEquals(lines.map((l) => l.split(" ")[2]), [
    "[warn]",
    "[error]",
    "[crit]",
    "[alert]",
    "[emerg]",
  ]);
  assert(lines.every((l) => l.endsWith("\n")));
  assert(log.enabled("error") && !log.enabled("info"));
});

Deno.test("atLeast follows nginx's level order", () => {
  assert(atLeast("error", "info"));
  assert(!atLeast("info", "error"));
  assert(atLeast("notice", "notice"));
});

Deno.test("teeLogger fans a line out to every logger", () => {
  const a: string[] = [];
  const b: string[] = [];
  const tee = teeLogger([
    createLogger((l) => a.push(l), { level: "info" }),
    createLogger((l) => b.push(l), { level: "error" }),
  ]);
  tee.log("info", "one");
  tee.log("error", "two");
  assertEquals([a.length, b.length], [2, 1]);
  assert(tee.enabled("info"));
});

Deno.test("quietLogger drops everything", () => {
  quietLogger.log("emerg", "nothing");
  assertEquals(quietLogger.enabled("emerg"), false);
});

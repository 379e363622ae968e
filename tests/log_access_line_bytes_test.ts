// The access log's byte encoder (lineEncoder) writes exactly the bytes of the string route
// (lineFormatter's line + "\n", UTF-8 encoded) for every variable, every escape mode and odd values.
import assert from "node:assert/strict";
import { compileFormat } from "../src/config/log_format.ts";
import type { LogEscape, LogFormat } from "../src/config/types.ts";
import { lineEncoder, lineFormatter } from "../src/log/access_log.ts";
import { LOG_ESCAPES } from "../src/log/escape.ts";
import { LOG_VARIABLES, type SessionFacts } from "../src/log/variables.ts";
import { LogSink } from "../src/log/sink.ts";

const pos = { file: "t.conf", line: 1 };
const encoder = new TextEncoder();

/** A format as the config gives it: its text's UTF-8 bytes, one character each (an argument). */
function format(text: string, escape: LogEscape): LogFormat {
  const arg = String.fromCharCode(...encoder.encode(text));
  return { name: "t", escape, parts: compileFormat([arg], pos) };
}

const tcp = (hostname: string, port: number): Deno.Addr => ({ transport: "tcp", hostname, port });

const base: SessionFacts = {
  connection: 12,
  remoteAddr: tcp("127.0.0.1", 50123),
  localAddr: tcp("127.0.0.1", 1234),
  end: "eof",
  bytesReceived: 9,
  bytesSent: 25,
  startedAt: Date.UTC(2026, 11, 2, 2, 30, 48, 100),
  endedAt: Date.UTC(2026, 11, 2, 2, 30, 49, 112),
};

/** Odd sessions: addresses with every kind of character, ends and numbers out of the usual. */
const odd: SessionFacts[] = [
  base,
  { ...base, remoteAddr: tcp("::1", 0), localAddr: tcp("fe80::1%eth0", 65535) },
  { ...base, remoteAddr: tcp('h"o\\st', 1), localAddr: tcp("bücher.example", 80) },
  { ...base, remoteAddr: tcp("a\x00b\x01\x1f\x7f\n\r\t\b\f", 2), localAddr: tcp("日本", 3) },
  { ...base, remoteAddr: tcp("emoji\u{1f600}", 4), localAddr: tcp("lone\ud800x", 5) },
  { ...base, remoteAddr: tcp("é\u0080\u00ff\u07ff\u0800\uffff", 6) },
  {
    ...base,
    remoteAddr: { transport: "unix", path: "" },
    localAddr: { transport: "unix", path: '/tmp/s "é"\\\x01.sock' },
  },
  { ...base, remoteAddr: { transport: "udp", hostname: "10.0.0.1", port: 53 } as Deno.Addr },
  { ...base, end: "reset", bytesReceived: 0, bytesSent: 0, startedAt: 0, endedAt: 0 },
  { ...base, end: "timeout", connection: 2 ** 31 - 1, bytesSent: 2 ** 31, bytesReceived: 1e21 },
  { ...base, end: "mismatch", bytesSent: 1.5, bytesReceived: -1, connection: NaN },
  { ...base, end: "error", startedAt: base.endedAt + 5 },
  { ...base, end: "shutdown", endedAt: base.endedAt + 999, startedAt: base.startedAt - 0.25 },
  { ...base, end: 'we"ird\\\x02é', endedAt: 9.5e15, startedAt: 1 },
  { ...base, end: "", endedAt: NaN },
  { ...base, endedAt: -1500 },
  { ...base, endedAt: 2 ** 31 * 1000 + 7 },
];

function encoded(f: LogFormat, facts: SessionFacts, at = 0): Uint8Array {
  const enc = lineEncoder(f);
  const bound = enc.bound(facts);
  const buf = new Uint8Array(at + bound).fill(0xaa);
  const end = enc.encodeInto(facts, buf, at);
  assert.ok(end - at <= bound, `wrote ${end - at} bytes, bound ${bound}`);
  assert.ok(buf.subarray(0, at).every((b) => b === 0xaa), "wrote before `at`");
  return buf.slice(at, end);
}

function expected(f: LogFormat, facts: SessionFacts): Uint8Array {
  return encoder.encode(lineFormatter(f)(facts) + "\n");
}

for (const escape of LOG_ESCAPES) {
  Deno.test(`escape=${escape}: each variable's bytes are the string line's, odd values too`, () => {
    for (const name of LOG_VARIABLES) {
      const f = format(`<$${name}>`, escape);
      for (const [i, facts] of odd.entries()) {
        assert.deepEqual(encoded(f, facts, i), expected(f, facts), `$${name}, case ${i}`);
      }
    }
  });

  Deno.test(`escape=${escape}: a format of every variable and non-ASCII text, twice in a second`, () => {
    const text = 'é "x"\\ ' + LOG_VARIABLES.map((n) => `$${n}`).join(" [ü] ") + " end\u{1f600}";
    const f = format(text, escape);
    for (const facts of [...odd, ...odd]) {
      assert.deepEqual(encoded(f, facts, 3), expected(f, facts));
    }
  });

  Deno.test(`escape=${escape}: variables side by side, in both orders, with and without text`, () => {
    const names = [...LOG_VARIABLES, "status", "protocol", "time_local", "pid"];
    for (const order of [names, [...names].reverse()]) {
      for (const text of [order.map((n) => `$${n}`).join(""), `é$${order.join("é$")}é`]) {
        const f = format(text, escape);
        for (const facts of odd) assert.deepEqual(encoded(f, facts, 1), expected(f, facts), text);
      }
    }
  });
}

Deno.test("the default format and a constant-only format encode as their lines", () => {
  const def = format(
    "$remote_addr [$time_local] $protocol $status $bytes_sent $bytes_received $session_time",
    "default",
  );
  for (const facts of odd) assert.deepEqual(encoded(def, facts), expected(def, facts));
  const constant = format("just text é", "json");
  assert.deepEqual(encoded(constant, base), encoder.encode("just text é\n"));
});

Deno.test("lines encoded through a sink arrive in order, as the string route writes them", async () => {
  const got: Uint8Array[] = [];
  const sink = new LogSink({
    write: (p) => {
      got.push(p.slice());
      return Promise.resolve(p.length);
    },
  });
  const f = format("$remote_addr $echo_end $bytes_sent $msec", "default");
  const enc = lineEncoder(f);
  let want = "";
  for (const facts of odd) {
    sink.writeEncoded({
      bound: () => enc.bound(facts),
      encodeInto: (buf, at) => enc.encodeInto(facts, buf, at),
    });
    want += lineFormatter(f)(facts) + "\n";
  }
  assert.ok(await sink.flush());
  const all = new Uint8Array(got.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of got) {
    all.set(p, at);
    at += p.length;
  }
  assert.deepEqual(all, encoder.encode(want));
});

/** SessionLogs' recording: the line a session's bytes make, whichever kind of sink takes it. */
import assert from "node:assert/strict";
import type { ServerConfig } from "../src/config/types.ts";
import { type Logger, quietLogger } from "../src/log/logger.ts";
import { type LineSink, SessionLogs } from "../src/log/session_logs.ts";
import { type EncodedLine, LogSink } from "../src/log/sink.ts";
import type { SessionInfo } from "../src/server/types.ts";
import type { DirectIO, SessionResult } from "../src/engine/types.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

/**
 * Runs one recorded session through `sink` (by default `ping\n` in, `pong \xff\n` out, each in
 * one chunk); its output.
 */
async function recordOne(
  sink: LineSink,
  out: () => string,
  logger: Logger = quietLogger,
  reads: Uint8Array[] = [enc.encode("ping\n")],
  writes: Uint8Array[] = [new Uint8Array([...enc.encode("pong "), 0xff, 10])],
  result: SessionResult = { end: "eof", bytesIn: 5, bytesOut: 7 },
): Promise<string> {
  const logs = new SessionLogs({
    openSink: () => sink,
    logger,
    record: "r.jsonl",
    hexdump: logger !== quietLogger,
  });
  const info: SessionInfo = {
    id: 7,
    remoteAddr: { transport: "tcp", hostname: "127.0.0.1", port: 40000 },
    localAddr: { transport: "tcp", hostname: "127.0.0.1", port: 8000 },
    serverIndex: 0,
    server: {} as ServerConfig,
  };
  const io = logs.observer.wrap!({
    readable: new ReadableStream({
      start(c) {
        for (const r of reads) c.enqueue(r);
        c.close();
      },
    }),
    writable: new WritableStream(),
    close() {},
  }, info);
  const reader = io.readable.getReader();
  while (!(await reader.read()).done) { /* read it all */ }
  const writer = io.writable.getWriter();
  for (const w of writes) await writer.write(w);
  logs.observer.ended!(info, result, 0, 1);
  await logs.close();
  return out();
}

Deno.test("a recorded session's line is the same through a sink of text lines and through the encoding sink", async () => {
  let viaText = "";
  const textOnly: LineSink = {
    write: (text) => (viaText += text, true),
    flush: () => Promise.resolve(true),
    close: () => Promise.resolve(true),
  };
  const a = await recordOne(textOnly, () => viaText);
  let written = "";
  const encoding = new LogSink({
    write: (p) => (written += dec.decode(p), Promise.resolve(p.length)),
  });
  let encodedLines = 0;
  const counting: LineSink = {
    write: (text) => encoding.write(text),
    writeEncoded: (line: EncodedLine) => (encodedLines++, encoding.writeEncoded(line)),
    flush: (ms) => encoding.flush(ms),
    close: (ms) => encoding.close(ms),
  };
  const b = await recordOne(counting, () => written);
  assert.equal(encodedLines, 1);
  assert.equal(a, b);
  assert.deepEqual(JSON.parse(a), {
    id: 7,
    serverIndex: 0,
    remoteAddr: { transport: "tcp", hostname: "127.0.0.1", port: 40000 },
    localAddr: { transport: "tcp", hostname: "127.0.0.1", port: 8000 },
    startedAt: "1970-01-01T00:00:00.000Z",
    endedAt: "1970-01-01T00:00:00.001Z",
    end: "eof",
    received: { text: "ping\n" },
    sent: { base64: btoa("pong \xff\n") },
    truncated: { received: false, sent: false },
    bytesReceived: 5,
    bytesSent: 7,
  });
});

Deno.test("a session that ended inside a write (part of it taken by the socket) is marked truncated.sent", async () => {
  let text = "";
  const sink: LineSink = {
    write: (t) => (text += t, true),
    flush: () => Promise.resolve(true),
    close: () => Promise.resolve(true),
  };
  // "hello" was written whole; the socket then took 1,000 bytes of a write that timed out.
  const line = JSON.parse(
    await recordOne(sink, () => text, quietLogger, [enc.encode("ping\n")], [enc.encode("hello")], {
      end: "timeout",
      reason: "stream client send timed out",
      bytesIn: 5,
      bytesOut: 1005,
    }),
  );
  assert.deepEqual(line.sent, { text: "hello" });
  assert.deepEqual(line.truncated, { received: false, sent: true });
  assert.equal(line.bytesSent, 1005);
});

Deno.test("--debug-hexdump with a recording: both see every chunk, and the line is the same", async () => {
  const lines: string[] = [];
  const debug: Logger = { enabled: () => true, log: (_level, message) => void lines.push(message) };
  let a = "";
  let b = "";
  const textSink = (add: (t: string) => void): LineSink => ({
    write: (text) => (add(text), true),
    flush: () => Promise.resolve(true),
    close: () => Promise.resolve(true),
  });
  await recordOne(textSink((t) => a += t), () => a);
  await recordOne(textSink((t) => b += t), () => b, debug);
  assert.equal(a, b);
  assert.deepEqual(lines.filter((l) => l.includes("bytes")), [
    "5 bytes from client:",
    "7 bytes to client:",
  ]);
});

Deno.test("a session's bytes in many chunks: one text, a character split between two chunks whole", async () => {
  let text = "";
  const sink = new LogSink({ write: (p) => (text += dec.decode(p), Promise.resolve(p.length)) });
  const bytes = (s: string) => enc.encode(s);
  const e = bytes("é"); // two bytes, split below
  await recordOne(
    sink,
    () => text,
    quietLogger,
    [bytes('say "hi"'), bytes("\t\\"), new Uint8Array([e[0]]), new Uint8Array([e[1], 10])],
    [bytes("a"), bytes("\x01"), bytes("€"), new Uint8Array([0xff])],
  );
  const o = JSON.parse(text);
  assert.deepEqual(o.received, { text: 'say "hi"\t\\é\n' });
  assert.deepEqual(o.sent, { base64: btoa("a\x01\xe2\x82\xac\xff") });
  const want = { text: 'say "hi"\t\\é\n' };
  assert.ok(
    text.includes(`"received":${JSON.stringify(want)}`),
    "the escapes are JSON.stringify's",
  );
});

/** Two sessions ended through SessionLogs with two access logs (one with `if=`): each file's text. */
async function accessLogged(sinkFor: (path: string) => LineSink): Promise<void> {
  const pos = { file: "t.conf", line: 1 };
  const json = {
    name: "j",
    escape: "json" as const,
    parts: ['{"a":"', { variable: "remote_addr" }, '","in":', { variable: "bytes_received" }, "}"],
  };
  const plain = {
    name: "",
    escape: "default" as const,
    parts: [{ variable: "remote_addr" }, " ", { variable: "status" }, " é ", {
      variable: "server_addr",
    }],
  };
  const server = {
    accessLog: [
      { path: "a.log", format: plain, pos },
      { path: "b.log", format: json, condition: [{ variable: "bytes_received" }], pos },
    ],
  } as unknown as ServerConfig;
  const logs = new SessionLogs({ openSink: sinkFor, logger: quietLogger });
  const hosts = ["1.2.3.4", 'h"é\\\x01'];
  for (const [i, hostname] of hosts.entries()) {
    const info: SessionInfo = {
      id: i + 1,
      remoteAddr: { transport: "tcp", hostname, port: 40000 },
      localAddr: { transport: "unix", path: "/tmp/s\u00ff.sock" },
      serverIndex: 0,
      server,
    };
    logs.observer.ended!(info, { end: i ? "reset" : "eof", bytesIn: i ? 0 : 5, bytesOut: 1 }, 0, 1);
  }
  await logs.close();
}

Deno.test("access-log lines are the same through a sink of text lines and through the encoding sink; if= still skips", async () => {
  const viaText = new Map<string, string>();
  await accessLogged((path) => ({
    write: (text) => (viaText.set(path, (viaText.get(path) ?? "") + text), true),
    flush: () => Promise.resolve(true),
    close: () => Promise.resolve(true),
  }));
  const viaBytes = new Map<string, string>();
  let encodedLines = 0;
  await accessLogged((path) => {
    const sink = new LogSink({
      write: (
        p,
      ) => (viaBytes.set(path, (viaBytes.get(path) ?? "") + dec.decode(p)),
        Promise.resolve(p.length)),
    });
    return {
      write: (text) => sink.write(text),
      writeEncoded: (line: EncodedLine) => (encodedLines++, sink.writeEncoded(line)),
      flush: (ms) => sink.flush(ms),
      close: (ms) => sink.close(ms),
    };
  });
  assert.equal(encodedLines, 3);
  assert.deepEqual(viaBytes, viaText);
  assert.equal(
    viaBytes.get("a.log"),
    "1.2.3.4 200 \u00e9 unix:/tmp/s\\xC3\\xBF.sock\n" +
      "h\\x22\\xC3\\xA9\\x5C\\x01 400 \u00e9 unix:/tmp/s\\xC3\\xBF.sock\n",
  );
  assert.equal(viaBytes.get("b.log"), '{"a":"1.2.3.4","in":5}\n');
});

Deno.test("an access-log line written while another session's line is being written: each keeps its own facts", async () => {
  let text = "";
  const sink = new LogSink({ write: (p) => (text += dec.decode(p), Promise.resolve(p.length)) });
  const format = { name: "", escape: "default" as const, parts: [{ variable: "connection" }] };
  const server = {
    accessLog: [{ path: "a.log", format, pos: { file: "t.conf", line: 1 } }],
  } as unknown as ServerConfig;
  const info = (id: number): SessionInfo => ({
    id,
    remoteAddr: { transport: "tcp", hostname: "1.2.3.4", port: 40000 },
    localAddr: { transport: "tcp", hostname: "1.2.3.4", port: 80 },
    serverIndex: 0,
    server,
  });
  let nested = false;
  const logs: SessionLogs = new SessionLogs({
    openSink: () => ({
      write: (t) => sink.write(t),
      writeEncoded: (line: EncodedLine) => {
        if (!nested) {
          nested = true; // a sink that ends another session first (the line is encoded after)
          logs.observer.ended!(info(2), { end: "eof", bytesIn: 0, bytesOut: 0 }, 0, 1);
        }
        return sink.writeEncoded(line);
      },
      flush: (ms) => sink.flush(ms),
      close: (ms) => sink.close(ms),
    }),
    logger: quietLogger,
  });
  logs.observer.ended!(info(1), { end: "eof", bytesIn: 0, bytesOut: 0 }, 0, 1);
  logs.observer.ended!(info(3), { end: "eof", bytesIn: 0, bytesOut: 0 }, 0, 1);
  await logs.close();
  assert.equal(text, "2\n1\n3\n");
});

Deno.test("recorded sessions whose chunks interleave, small and large, past the cap: each line has its own bytes", async () => {
  let text = "";
  const sink = new LogSink(
    { write: (p) => (text += dec.decode(p), Promise.resolve(p.length)) },
    { maxBytes: 64 << 20 },
  );
  const logs = new SessionLogs({ openSink: () => sink, logger: quietLogger, record: "r.jsonl" });
  let seed = 7; // mulberry32: the same draws on every run
  const random = (n: number) => {
    seed = (seed + 0x6d2b79f5) | 0;
    let x = Math.imul(seed ^ (seed >>> 15), seed | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) % n;
  };
  const none = () => Promise.resolve();
  const sessions = Array.from({ length: 40 }, (_, i) => {
    const info: SessionInfo = {
      id: i,
      remoteAddr: { transport: "tcp", hostname: "127.0.0.1", port: 40000 + i },
      localAddr: { transport: "tcp", hostname: "127.0.0.1", port: 8000 },
      serverIndex: 0,
      server: {} as ServerConfig,
    };
    const io = {
      readable: new ReadableStream<Uint8Array>(),
      writable: new WritableStream<Uint8Array>(),
      close() {},
      direct: undefined as unknown as DirectIO,
    };
    io.direct = {
      of: io,
      read: () => Promise.resolve(null),
      cancel: none,
      sink: { write: none, close: none, abort: none },
      highWaterMark: 16384,
    };
    const tapped = logs.observer.wrap!(io, info).direct!;
    // Some sessions send bytes that are not UTF-8 (recorded as base64), one late in the stream.
    return { info, tapped, read: [] as number[], written: [] as number[], binary: i % 5 === 0 };
  });
  const buffer = new Uint8Array(20000); // one buffer for every chunk, as a socket's reads reuse one
  for (let step = 0; step < 2000; step++) {
    const s = sessions[random(sessions.length)];
    const size = random(8) === 0 ? 1 + random(20000) : random(40);
    for (let i = 0; i < size; i++) buffer[i] = 0x20 + random(95);
    if (s.binary && random(20) === 0) buffer[random(size + 1)] = 0xff;
    const chunk = buffer.subarray(0, size);
    const into = random(2) ? s.read : s.written;
    into.push(...chunk.subarray(0, Math.max(0, 65536 - into.length)));
    if (into === s.read) s.tapped.onRead!(chunk);
    else s.tapped.sink.onWritten!(chunk);
    buffer.fill(0); // the recording copied what it keeps
  }
  for (const s of sessions) {
    logs.observer.ended!(s.info, { end: "eof", bytesIn: 0, bytesOut: 0 }, 0, 1);
  }
  await logs.close();
  const lines = text.trimEnd().split("\n").map((l) => JSON.parse(l));
  assert.equal(lines.length, sessions.length);
  const recorded = (bytes: number[]) => {
    const binary = String.fromCharCode(...bytes);
    return bytes.includes(0xff) ? { base64: btoa(binary) } : { text: binary };
  };
  for (const [i, s] of sessions.entries()) {
    assert.deepEqual(lines[i].received, recorded(s.read), `session ${i} received`);
    assert.deepEqual(lines[i].sent, recorded(s.written), `session ${i} sent`);
    assert.equal(lines[i].bytesReceived, s.read.length);
  }
  assert.ok(sessions.some((s) => s.read.length === 65536), "some session reached the cap");
  assert.ok(lines.some((l) => l.truncated.received), "and was marked truncated");
});

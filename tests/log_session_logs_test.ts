/** SessionLogs' recording: the line a session's bytes make, whichever kind of sink takes it. */
import assert from "node:assert/strict";
import type { ServerConfig } from "../src/config/types.ts";
import { type Logger, quietLogger } from "../src/log/logger.ts";
import { type LineSink, SessionLogs } from "../src/log/session_logs.ts";
import { type EncodedLine, LogSink } from "../src/log/sink.ts";
import type { SessionInfo } from "../src/server/types.ts";

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
  logs.observer.ended!(info, { end: "eof", bytesIn: 5, bytesOut: 7 }, 0, 1);
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

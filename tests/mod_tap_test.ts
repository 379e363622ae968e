import { DEFAULT_ECHO_SETTINGS } from "../src/config/settings.ts";
import assert from "node:assert/strict";
import { tapReadable, tapSession, tapWritable } from "../src/lib/tap.ts";
import { ByteReader } from "../src/engine/byte_reader.ts";
import { DirectWriter } from "../src/engine/direct_writer.ts";
import { ByteRecorder } from "../src/lib/byte_recorder.ts";
import { TranscriptLog } from "../src/lib/transcript.ts";
import type { SessionIO } from "../src/engine/types.ts";
import type { SessionInfo } from "../src/server/types.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

/** A default (non-byte) source that counts how often it was pulled. */
function countingSource(chunks: string[]) {
  const state = { pulls: 0, cancelled: undefined as unknown };
  const stream = new ReadableStream<Uint8Array>({
    pull(c) {
      state.pulls++;
      const next = chunks.shift();
      if (next === undefined) c.close();
      else c.enqueue(enc.encode(next));
    },
    cancel(reason) {
      state.cancelled = reason;
    },
  }, { highWaterMark: 0 });
  return { stream, state };
}

/** A byte source like a socket's: serves BYOB reads from `data`, counting pulls. */
function byteSource(data: Uint8Array) {
  const state = { pulls: 0, at: 0 };
  const stream = new ReadableStream({
    type: "bytes",
    pull(c) {
      state.pulls++;
      const req = c.byobRequest!;
      const view = new Uint8Array(req.view!.buffer, req.view!.byteOffset, req.view!.byteLength);
      const n = Math.min(view.byteLength, data.byteLength - state.at);
      if (n === 0) {
        c.close();
        req.respond(0);
        return;
      }
      view.set(data.subarray(state.at, state.at + n));
      state.at += n;
      req.respond(n);
    },
    autoAllocateChunkSize: 16,
  });
  return { stream, state };
}

Deno.test("tapReadable() passes chunks and EOF through and shows each chunk to the tap", async () => {
  const { stream } = countingSource(["get ", "foo\r\n"]);
  const seen: string[] = [];
  const out: string[] = [];
  for await (const c of tapReadable(stream, (c) => seen.push(dec.decode(c)))) {
    out.push(dec.decode(c));
  }
  assert.deepEqual(out, ["get ", "foo\r\n"]);
  assert.deepEqual(seen, out);
});

Deno.test("tapReadable() reads nothing from its source until its reader asks", async () => {
  const { stream, state } = countingSource(["a", "b", "c"]);
  const tapped = tapReadable(stream, () => {});
  await new Promise((r) => setTimeout(r, 5));
  assert.equal(state.pulls, 0);
  const reader = tapped.getReader();
  await reader.read();
  await new Promise((r) => setTimeout(r, 5));
  assert.equal(state.pulls, 1, "one read, one pull: no read-ahead");
  await reader.cancel();
});

Deno.test("tapReadable() keeps a byte source a byte source: a BYOB read takes only what fits", async () => {
  const { stream, state } = byteSource(enc.encode("hello world"));
  const seen: string[] = [];
  const reader = tapReadable(stream, (c) => seen.push(dec.decode(c))).getReader({ mode: "byob" });
  const first = await reader.read(new Uint8Array(5));
  assert.equal(dec.decode(first.value), "hello");
  assert.equal(state.at, 5, "the source gave out only the five bytes asked for");
  const rest = await reader.read(new Uint8Array(64));
  assert.equal(dec.decode(rest.value), " world");
  const end = await reader.read(new Uint8Array(8));
  assert.equal(end.done, true);
  assert.deepEqual(seen, ["hello", " world"]);
  assert.equal(state.pulls, 3);
});

Deno.test("tapReadable() serves default reads of a byte source too", async () => {
  const { stream } = byteSource(enc.encode("abc"));
  const chunks: string[] = [];
  for await (const c of tapReadable(stream, () => {})) chunks.push(dec.decode(c));
  assert.deepEqual(chunks.join(""), "abc");
});

Deno.test("tapReadable() passes a source error through as the same error", async () => {
  const boom = new Deno.errors.ConnectionReset("reset by peer");
  for (const type of ["default", "bytes"] as const) {
    const source = type === "bytes"
      ? new ReadableStream({ type: "bytes", pull: () => Promise.reject(boom) })
      : new ReadableStream<Uint8Array>({ pull: () => Promise.reject(boom) });
    const reader = tapReadable(source, () => {}).getReader();
    await assert.rejects(reader.read(), (e) => e === boom, type);
  }
});

Deno.test("tapReadable() passes cancel and its reason to the source", async () => {
  const { stream, state } = countingSource(["a"]);
  await tapReadable(stream, () => {}).cancel("done");
  assert.equal(state.cancelled, "done");
});

Deno.test("tapWritable() resolves a write only when the write underneath resolves", async () => {
  let release!: () => void;
  const written: string[] = [];
  const sink = new WritableStream<Uint8Array>({
    write(c) {
      written.push(dec.decode(c));
      return new Promise<void>((r) => release = r);
    },
  });
  const seen: string[] = [];
  const writer = tapWritable(sink, (c) => seen.push(dec.decode(c))).writable.getWriter();
  let settled = false;
  const p = writer.write(enc.encode("VALUE")).then(() => settled = true);
  await new Promise((r) => setTimeout(r, 5));
  assert.deepEqual(written, ["VALUE"]);
  assert.equal(settled, false, "still waiting for the socket");
  assert.deepEqual(seen, [], "not counted as sent before the socket took it");
  release();
  await p;
  assert.deepEqual(seen, ["VALUE"]);
  await writer.close();
});

Deno.test("tapWritable() fails a write as the write underneath fails", async () => {
  const boom = new Deno.errors.BrokenPipe("broken pipe");
  const sink = new WritableStream<Uint8Array>({ write: () => Promise.reject(boom) });
  const seen: Uint8Array[] = [];
  const writer = tapWritable(sink, (c) => seen.push(c)).writable.getWriter();
  await assert.rejects(writer.write(enc.encode("x")), (e) => e === boom);
  assert.equal(seen.length, 0);
});

Deno.test("tapWritable() passes close and abort through", async () => {
  const events: unknown[] = [];
  const make = () =>
    new WritableStream<Uint8Array>({
      close: () => void events.push("close"),
      abort: (r) => void events.push(["abort", r]),
    });
  await tapWritable(make(), () => {}).writable.close();
  await tapWritable(make(), () => {}).writable.abort("why");
  assert.deepEqual(events, ["close", ["abort", "why"]]);
});

Deno.test("tapWritable() shows a writer the same desiredSize as the sink would", async () => {
  const releases: (() => void)[] = [];
  const make = () =>
    new WritableStream<Uint8Array>(
      { write: () => new Promise<void>((r) => releases.push(r)) },
      new ByteLengthQueuingStrategy({ highWaterMark: 10 }),
    );
  const direct = make().getWriter();
  const tapped = tapWritable(make(), () => {}).writable.getWriter();
  const sizes: [number | null, number | null][] = [[direct.desiredSize, tapped.desiredSize]];
  for (const n of [4, 4, 4]) {
    direct.write(new Uint8Array(n));
    tapped.write(new Uint8Array(n));
    sizes.push([direct.desiredSize, tapped.desiredSize]);
  }
  assert.deepEqual(sizes, [[10, 10], [6, 6], [2, 2], [-2, -2]]);
  await new Promise((r) => setTimeout(r, 5));
  assert.equal(releases.length, 2, "each side has one write in flight");
  for (const release of releases) release();
  await new Promise((r) => setTimeout(r, 5));
  assert.deepEqual([direct.desiredSize, tapped.desiredSize], [2, 2]);
  while (releases.length > 0) {
    releases.shift()!();
    await new Promise((r) => setTimeout(r, 1));
  }
});

Deno.test("tapWritable().settled() waits for chunks still queued in the tap", async () => {
  let release!: () => void;
  const sink = new WritableStream<Uint8Array>({
    write: () => new Promise<void>((r) => release = r),
  });
  const tap = tapWritable(sink, () => {});
  const writer = tap.writable.getWriter();
  writer.write(new Uint8Array(1));
  writer.write(new Uint8Array(1));
  let settled = false;
  const waiting = tap.settled().then(() => settled = true);
  await new Promise((r) => setTimeout(r, 5));
  release();
  await new Promise((r) => setTimeout(r, 5));
  assert.equal(settled, false, "the second chunk is still on its way");
  release();
  await waiting;
  await tap.settled();
});

Deno.test("ByteRecorder keeps bytes up to its cap and then marks itself truncated", () => {
  const table: { cap: number; chunks: string[]; kept: string; truncated: boolean }[] = [
    { cap: 10, chunks: ["abc", "def"], kept: "abcdef", truncated: false },
    { cap: 4, chunks: ["abc", "def"], kept: "abcd", truncated: true },
    { cap: 3, chunks: ["abc", "def"], kept: "abc", truncated: true },
    { cap: 3, chunks: ["abc", ""], kept: "abc", truncated: false },
    { cap: 0, chunks: ["a"], kept: "", truncated: true },
  ];
  for (const { cap, chunks, kept, truncated } of table) {
    const r = new ByteRecorder(cap);
    for (const c of chunks) r.add(enc.encode(c));
    assert.equal(dec.decode(r.bytes()), kept, `cap ${cap}`);
    assert.equal(r.truncated, truncated, `cap ${cap}`);
  }
});

Deno.test("ByteRecorder copies, so the caller may reuse its buffer", () => {
  const r = new ByteRecorder(100);
  const buf = enc.encode("abc");
  r.add(buf);
  buf.fill(0);
  assert.equal(dec.decode(r.bytes()), "abc");
});

function memoryIO(input: string[]): { io: SessionIO; output: string[] } {
  const output: string[] = [];
  const io: SessionIO = {
    readable: countingSource(input).stream,
    writable: new WritableStream({ write: (c) => void output.push(dec.decode(c)) }),
    close() {},
  };
  return { io, output };
}

const info: SessionInfo = {
  id: 7,
  serverIndex: 0,
  remoteAddr: { transport: "tcp", hostname: "127.0.0.1", port: 5000 },
  localAddr: { transport: "tcp", hostname: "127.0.0.1", port: 6000 },
  server: { pos: { file: "t", line: 1 }, listen: [], steps: [], settings: DEFAULT_ECHO_SETTINGS },
};

Deno.test("TranscriptLog records both directions of a session and lists it when it ends", async () => {
  const log = new TranscriptLog({ maxBytes: 8 });
  const { io, output } = memoryIO(["get foo\r\n", "more"]);
  const wrapped = log.observer.wrap!(io, info);
  const reader = wrapped.readable.getReader();
  assert.equal(dec.decode((await reader.read()).value), "get foo\r\n");
  reader.releaseLock();
  const writer = wrapped.writable.getWriter();
  await writer.write(enc.encode("END\r\n"));
  assert.deepEqual(output, ["END\r\n"]);
  const waiting = log.whenCount(1).promise;
  assert.equal(log.inFlight, 1);
  const started = new Date(1000), ended = new Date(2000);
  log.observer.ended!(info, { end: "eof", bytesIn: 0, bytesOut: 0 }, 1000, 2000);
  const [t] = await waiting;
  assert.equal(dec.decode(t.received), "get foo\r", "capped at 8 bytes");
  assert.deepEqual(t.truncated, { received: true, sent: false });
  assert.equal(dec.decode(t.sent), "END\r\n");
  assert.equal(t.end, "eof");
  assert.equal(t.id, 7);
  assert.deepEqual(t.startedAt, started);
  assert.deepEqual(t.endedAt, ended);
  assert.equal(log.inFlight, 0);
  assert.deepEqual(log.list(), [t]);
});

Deno.test("TranscriptLog with record: false does not wrap the IO and keeps nothing, only counts", () => {
  const log = new TranscriptLog({ record: false });
  assert.equal(log.observer.wrap, undefined);
  log.observer.ended!(
    info,
    { end: "timeout", reason: "read timed out", bytesIn: 0, bytesOut: 0 },
    Date.now(),
    Date.now(),
  );
  assert.deepEqual(log.list(), []);
  assert.equal(log.count, 1);
  assert.equal(log.total, 1);
  assert.equal(log.dropped, 0);
});

Deno.test("TranscriptLog rejects a negative or fractional cap", () => {
  for (const maxBytes of [-1, 1.5, NaN]) {
    assert.throws(() => new TranscriptLog({ maxBytes }), RangeError);
  }
});

Deno.test("TranscriptLog's wrap changes nothing the io does: writes, closeWrite, reset and close keep their order", async () => {
  const script = async (wrap: (io: SessionIO) => SessionIO) => {
    const calls: string[] = [];
    let release!: () => void;
    const io: SessionIO = {
      readable: countingSource([]).stream,
      writable: new WritableStream({
        write: (c) =>
          new Promise<void>((r) => {
            calls.push(`write ${dec.decode(c)}`);
            release = r;
          }),
      }),
      close: () => void calls.push("close"),
      reset: () => void calls.push("reset"),
      closeWrite: () => {
        calls.push("closeWrite");
        return Promise.resolve();
      },
    };
    const wrapped = wrap(io);
    const writer = wrapped.writable.getWriter();
    const a = writer.write(enc.encode("a"));
    const b = writer.write(enc.encode("b"));
    const fin = wrapped.closeWrite!();
    await new Promise((r) => setTimeout(r, 5));
    release();
    await new Promise((r) => setTimeout(r, 5));
    release();
    await Promise.all([a, b, fin]);
    wrapped.reset!();
    wrapped.close();
    return calls;
  };
  const log = new TranscriptLog();
  const tapped = await script((io) => log.observer.wrap!(io, info));
  assert.deepEqual(tapped, await script((io) => io));
  assert.deepEqual(tapped.slice(-2), ["reset", "close"]);
  log.observer.ended!(info, { end: "eof", bytesIn: 0, bytesOut: 2 }, Date.now(), Date.now());
  assert.equal(dec.decode(log.list()[0].sent), "ab");
});

Deno.test("tapSession taps the direct path without building the streams", async () => {
  let built = 0;
  const written: string[] = [];
  const base: SessionIO = {
    get readable(): ReadableStream<Uint8Array> {
      built++;
      return new ReadableStream();
    },
    get writable(): WritableStream<Uint8Array> {
      built++;
      return new WritableStream();
    },
    close() {},
    unread: () => 3,
  };
  base.direct = {
    of: base,
    highWaterMark: 1024,
    read(buf) {
      buf.set(enc.encode("hey"));
      return Promise.resolve(3);
    },
    cancel: () => Promise.resolve(),
    sink: {
      write: (c) => Promise.resolve(void written.push(dec.decode(c))),
      close: () => Promise.resolve(),
      abort: () => Promise.resolve(),
    },
  };
  const seen: string[] = [];
  const io = tapSession(
    base,
    (c) => seen.push(`<${dec.decode(c)}`),
    (c) => seen.push(`>${dec.decode(c)}`),
  );
  assert.equal(io.direct?.of, io, "the engine takes the wrapper's direct path");
  assert.equal(io.unread?.(), 3, "other members pass through");
  // The engine's own reader and writer over the direct path show the chunks to the taps.
  const reader = new ByteReader(io.direct!, { size: 16 });
  assert.equal(await reader.fill(), 3);
  const writer = new DirectWriter(io.direct!.sink, io.direct!.highWaterMark);
  await writer.write(enc.encode("ok"));
  assert.deepEqual(seen, ["<hey", ">ok"]);
  assert.deepEqual(written, ["ok"]);
  assert.equal(built, 0, "no stream was built");
});

Deno.test("tapSession passes on an io's operations kept on its prototype, called on the io itself", () => {
  const calls: string[] = [];
  class ProtoIO implements SessionIO {
    readable = new ReadableStream<Uint8Array>();
    writable = new WritableStream<Uint8Array>();
    #name = "proto";
    close(): void {
      calls.push(`close ${this.#name}`);
    }
    reset(): void {
      calls.push(`reset ${this.#name}`);
    }
    unread(): number {
      return this.#name.length;
    }
    accepted(): number {
      return 7;
    }
  }
  const io = tapSession(new ProtoIO(), () => {}, () => {});
  assert.equal(io.unread?.(), 5);
  assert.equal(io.accepted?.(), 7);
  assert.equal(io.closeWrite, undefined, "a member the io lacks stays absent");
  io.reset!();
  io.close();
  assert.deepEqual(calls, ["reset proto", "close proto"]);
});

import { deepStrictEqual as assertEquals, ok as assert, rejects } from "node:assert/strict";
import { Output } from "../src/engine/output.ts";
import { ioTest, pathWriter, prng } from "./engine_harness.ts";

const enc = new TextEncoder();

function sink(log: number[], options: { delay?: number } = {}) {
  return new WritableStream<Uint8Array>({
    async write(chunk) {
      if (options.delay) await new Promise((r) => setTimeout(r, options.delay));
      log.push(chunk.byteLength);
    },
  }, new ByteLengthQueuingStrategy({ highWaterMark: 1024 }));
}

ioTest("Output: pushRepeat writes whole chunks then a prefix, by reference", async () => {
  const sizes: number[] = [];
  const out = new Output(pathWriter(sink(sizes)), { sendTimeout: 1000, onFail: () => {} });
  const chunk = enc.encode("ab".repeat(512));
  out.pushRepeat(chunk, 1024 * 3 + 10);
  await out.drained();
  assertEquals(sizes, [1024, 1024, 1024, 10]);
  assertEquals(out.written, 3082);
});

ioTest("Output: a repeat held by postpone_output is built whole, the last copy cut", async () => {
  const got: string[] = [];
  const writable = new WritableStream<Uint8Array>({
    write: (c) => void got.push(new TextDecoder().decode(c)),
  });
  const out = new Output(pathWriter(writable), {
    sendTimeout: 1000,
    onFail: () => {},
    postpone: 64,
  });
  out.pushRepeat(enc.encode("abc"), 10);
  out.push(enc.encode("!"));
  await out.drained();
  assertEquals(got, ["abcabcabca!"]);
});

ioTest(
  "Output: holding a repeat of one byte 64 MiB long takes milliseconds, not seconds",
  async () => {
    // It was built with one copy per repetition: 64 million copies froze the event loop ~4 s.
    let bytes = 0;
    let ok = true;
    const writable = new WritableStream<Uint8Array>({
      write(c) {
        bytes += c.byteLength;
        ok &&= c[0] === 0x78 && c[c.byteLength - 1] === 0x78;
      },
    });
    const size = 64 << 20;
    const out = new Output(pathWriter(writable), {
      sendTimeout: 10_000,
      onFail: () => {},
      postpone: size + 1,
    });
    const t0 = performance.now();
    out.pushRepeat(enc.encode("x"), size);
    const ms = performance.now() - t0;
    await out.drained();
    assertEquals(bytes, size);
    assert(ok);
    assert(ms < 1000, `holding it took ${ms.toFixed(0)} ms`);
  },
);

ioTest("Output: respects backpressure: never more than the high-water mark queued", async () => {
  const sizes: number[] = [];
  let maxQueued = 0;
  const writable = sink(sizes, { delay: 1 });
  const writer = pathWriter(writable);
  const out = new Output(writer, { sendTimeout: 1000, onFail: () => {} });
  out.pushRepeat(new Uint8Array(256), 256 * 40);
  const probe = setInterval(() => {
    maxQueued = Math.max(maxQueued, 1024 - (writer.desiredSize ?? 0));
  }, 0);
  await out.drained();
  clearInterval(probe);
  assertEquals(sizes.length, 40);
  assert(maxQueued <= 1024 + 256, `queued ${maxQueued}`);
});

ioTest("Output: the watchdog fails after the send timeout without progress", async () => {
  const causes: unknown[] = [];
  const writable = new WritableStream<Uint8Array>({ write: () => new Promise(() => {}) });
  const out = new Output(pathWriter(writable), {
    sendTimeout: 40,
    onFail: (cause) => causes.push(cause),
  });
  const t0 = performance.now();
  out.push(enc.encode("stuck"));
  await rejects(out.drained());
  const took = performance.now() - t0;
  assertEquals(causes, ["timeout"]);
  assert(took >= 35 && took < 1000, `took ${took}`);
  await out.abandon(10);
});

ioTest("Output: slow but steady progress does not time out", async () => {
  const sizes: number[] = [];
  let failed = false;
  const out = new Output(pathWriter(sink(sizes, { delay: 10 })), {
    sendTimeout: 40,
    onFail: () => failed = true,
  });
  out.pushRepeat(new Uint8Array(512), 512 * 12);
  await out.drained();
  assert(!failed);
  assertEquals(sizes.length, 12);
});

ioTest("Output: bytes the socket accepts inside one long write count as progress", async () => {
  // One write that takes 300 ms to complete while the socket keeps accepting parts of it.
  let accepted = 0;
  let failed = false;
  const writable = new WritableStream<Uint8Array>({
    async write(chunk) {
      for (let sent = 0; sent < chunk.byteLength; sent += 1024) {
        await new Promise((r) => setTimeout(r, 20));
        accepted += 1024;
      }
    },
  });
  const out = new Output(pathWriter(writable), {
    sendTimeout: 100,
    onFail: () => failed = true,
    progress: () => accepted,
  });
  out.push(new Uint8Array(15 * 1024));
  await out.drained();
  assert(!failed, "partial progress kept the send timer from firing");
  await out.abandon(10);
});

ioTest("Output: without partial progress the same long write times out", async () => {
  let failed = false;
  const writable = new WritableStream<Uint8Array>({
    write: () => new Promise((r) => setTimeout(r, 300)),
  });
  const out = new Output(pathWriter(writable), {
    sendTimeout: 100,
    onFail: () => failed = true,
    progress: () => 0,
  });
  out.push(new Uint8Array(15 * 1024));
  await rejects(out.drained());
  assert(failed);
  await out.abandon(400);
});

ioTest("Output: a write error fails once and rejects drained()", async () => {
  const causes: unknown[] = [];
  const writable = new WritableStream<Uint8Array>({
    write() {
      throw new Deno.errors.BrokenPipe("broken pipe");
    },
  });
  const out = new Output(pathWriter(writable), {
    sendTimeout: 1000,
    onFail: (cause) => causes.push(cause),
  });
  out.push(enc.encode("a"));
  out.push(enc.encode("b"));
  await rejects(out.drained(), Deno.errors.BrokenPipe);
  assertEquals(causes.length, 1);
});

ioTest("Output: close() drains then closes the writable (half-close)", async () => {
  let closed = false;
  const sizes: number[] = [];
  const writable = new WritableStream<Uint8Array>({
    write: (c) => void sizes.push(c.byteLength),
    close: () => void (closed = true),
  });
  const out = new Output(pathWriter(writable), { sendTimeout: 1000, onFail: () => {} });
  out.push(enc.encode("abc"));
  await out.close();
  assert(closed);
  assertEquals(sizes, [3]);
});

ioTest(
  "Output: random pushes interleaved with waits keep their order, and drained() means written",
  async () => {
    const random = prng(20261124);
    for (let trial = 0; trial < 400; trial++) {
      const got: number[] = [];
      const writable = new WritableStream<Uint8Array>({
        async write(chunk) {
          for (const b of chunk) got.push(b);
          if (random() < 0.5) await null;
          if (random() < 0.2) await new Promise((r) => setTimeout(r, 0));
        },
      }, new ByteLengthQueuingStrategy({ highWaterMark: 2 }));
      const out = new Output(pathWriter(writable), { sendTimeout: 10_000, onFail: () => {} });
      const expected: number[] = [];
      let next = 0;
      for (let i = 0; i < 20; i++) {
        const n = 1 + Math.floor(random() * 3);
        const data = new Uint8Array(n).map(() => next++ & 255);
        if (random() < 0.3) {
          out.pushRepeat(data, n * 2);
          expected.push(...data, ...data);
        } else {
          out.push(data);
          expected.push(...data);
        }
        for (let j = Math.floor(random() * 4); j > 0; j--) await null;
        if (random() < 0.2) {
          await out.drained();
          assertEquals(got.length, expected.length, `trial ${trial}: drained() before written`);
        }
      }
      await out.drained();
      assertEquals(got, expected, `trial ${trial}: bytes out of order`);
      await out.abandon(10);
    }
  },
);

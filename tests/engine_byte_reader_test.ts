import { deepStrictEqual as assertEquals, ok as assert, rejects } from "node:assert/strict";
import { ByteReader } from "../src/engine/byte_reader.ts";
import { ioTest, pathSource } from "./engine_harness.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

function chunks(...parts: string[]): ReadableStream<Uint8Array> {
  return ReadableStream.from(parts.map((p) => enc.encode(p)));
}

/** A byte stream that records how many bytes each read asked for. */
function byteStream(data: string, asked: number[]): ReadableStream<Uint8Array> {
  const bytes = enc.encode(data);
  let offset = 0;
  const source: UnderlyingByteSource = {
    type: "bytes",
    pull(controller) {
      const request = controller.byobRequest!;
      const view = request.view!;
      asked.push(view.byteLength);
      if (offset >= bytes.length) {
        controller.close();
        request.respond(0);
        return;
      }
      const n = Math.min(view.byteLength, bytes.length - offset);
      new Uint8Array(view.buffer, view.byteOffset, n).set(bytes.subarray(offset, offset + n));
      offset += n;
      request.respond(n);
    },
  };
  return new ReadableStream(source);
}

ioTest("ByteReader: a byte stream is never asked for more than the free space", async () => {
  const asked: number[] = [];
  const reader = new ByteReader(pathSource(byteStream("hello, world!", asked)), { size: 4 });
  assertEquals(await reader.fill(), 4);
  assertEquals(reader.claimBytes(3), 3);
  assertEquals(dec.decode(reader.request()), "hel");
  assertEquals(reader.unread, 1);
  reader.consumeRequest();
  assertEquals(await reader.fill(), 3);
  assertEquals(asked, [4, 3]);
});

// The side slot exists only over a stream that is not a byte stream (the direct path, like BYOB
// reads, never takes more than fits), so this test and the next have one path.
Deno.test("ByteReader: chunks larger than the buffer wait in a side slot", async () => {
  const reader = new ByteReader(chunks("abcdefgh"), { size: 3 });
  assertEquals(await reader.fill(), 3);
  assert(reader.full);
  assertEquals(reader.unread, 8);
  reader.claimBytes(3);
  reader.consumeRequest();
  assertEquals(reader.unread, 5, "consumeRequest refilled the buffer from the side slot");
  assertEquals(reader.claimBytes(5), 3);
  assertEquals(dec.decode(reader.request()), "def");
  reader.consumeRequest();
  assertEquals(reader.claimBytes(5), 2);
  assertEquals(await reader.fill(), null);
});

ioTest("ByteReader: claimLine stops after the LF, keeping CR", async () => {
  const reader = new ByteReader(pathSource(chunks("a\r\nb\nc")));
  await reader.fill();
  assert(reader.claimLine());
  assertEquals(dec.decode(reader.request()), "a\r\n");
  assert(reader.claimLine());
  assertEquals(dec.decode(reader.request()), "a\r\nb\n");
  assert(!reader.claimLine(), "no LF left: everything claimed");
  assertEquals(reader.unread, 0);
  assertEquals(await reader.fill(), null);
  assert(reader.eof);
});

ioTest("ByteReader: consumeRequest moves unread bytes to the front", async () => {
  const reader = new ByteReader(pathSource(chunks("line1\nline2\n")), { size: 16 });
  await reader.fill();
  reader.claimLine();
  reader.consumeRequest();
  assertEquals(reader.requestLength, 0);
  assert(reader.claimLine());
  assertEquals(dec.decode(reader.request()), "line2\n");
});

ioTest("ByteReader: fill on a full buffer rejects", async () => {
  const reader = new ByteReader(pathSource(chunks("abcd")), { size: 2 });
  await reader.fill();
  await rejects(reader.fill(), RangeError);
});

Deno.test("ByteReader: discard drops buffered bytes first, then reads", async () => {
  const reader = new ByteReader(chunks("abc", "defg"), { size: 2 });
  await reader.fill();
  assertEquals(await reader.discard(), 3, "two in the buffer, one in the side slot");
  assertEquals(await reader.discard(), 4);
  assertEquals(await reader.discard(), null);
});

ioTest("ByteReader: discard does not count bytes already claimed by a read step", async () => {
  const reader = new ByteReader(pathSource(chunks("get x\r\n")), { size: 16 });
  await reader.fill();
  assert(reader.claimLine());
  assertEquals(reader.unread, 0);
  assertEquals(await reader.discard(), null, "the claimed line is dropped, then EOF");
  assertEquals(reader.requestLength, 0);
});

ioTest("ByteReader: discard counts only what lies beyond the claimed request", async () => {
  const reader = new ByteReader(pathSource(chunks("ab\ncd")), { size: 16 });
  await reader.fill();
  assert(reader.claimLine());
  assertEquals(await reader.discard(), 2);
  assertEquals(await reader.discard(), null);
});

ioTest("ByteReader: discard reads into the empty buffer, then one reused scratch", async () => {
  const asked: number[] = [];
  const reader = new ByteReader(pathSource(byteStream("x".repeat(10_000), asked)), { size: 8 });
  let total = 0;
  for (;;) {
    const n = await reader.discard();
    if (n === null) break;
    total += n;
  }
  assertEquals(total, 10_000);
  assertEquals(asked[0], 8, "the first read uses the (empty) reading buffer");
  assert(asked.slice(1).every((n) => n === 4096), `asked ${asked}`);
});

ioTest("ByteReader: a stream error rejects fill", async () => {
  const readable = new ReadableStream<Uint8Array>({
    pull(c) {
      c.error(new Deno.errors.ConnectionReset("reset"));
    },
  });
  const reader = new ByteReader(pathSource(readable));
  await rejects(reader.fill(), Deno.errors.ConnectionReset);
});

ioTest("ByteReader: cancel ends a pending read", async () => {
  const reader = new ByteReader(pathSource(new ReadableStream<Uint8Array>()));
  const pending = reader.fill();
  await reader.cancel();
  assertEquals(await pending, null);
});

Deno.test("ByteReader: a recycled buffer of the direct path serves the next reader of its size", async () => {
  const source = {
    read: (b: Uint8Array) => Promise.resolve(b.byteLength > 0 ? 1 : null),
    cancel: () => Promise.resolve(),
  };
  const first = new ByteReader(source, { size: 777 });
  assertEquals(await first.fill(), 1);
  first.claimBytes(1);
  const buffer = first.request().buffer;
  await first.cancel();
  first.recycle();
  const second = new ByteReader(source, { size: 777 });
  assertEquals(second.capacity, 777);
  assertEquals(second.unread, 0, "a fresh reader, whatever the buffer held before");
  await second.fill();
  second.claimBytes(1);
  assert(second.request().buffer === buffer, "the same memory, not a new allocation");
  // Over a stream nothing is recycled (a BYOB read may still hold the transferred buffer).
  const streamed = new ByteReader(chunks("ab"), { size: 777 });
  await streamed.fill();
  await streamed.cancel();
  streamed.recycle();
  assertEquals(streamed.capacity, 777);
});

import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { type DirectSink, DirectWriter, type OutputWriter } from "../src/engine/direct_writer.ts";

/** A sink that records calls; writes of `failAt` bytes fail; each write takes a tick. */
function recordingSink(log: string[], failAt = -1): DirectSink {
  return {
    async write(chunk) {
      await new Promise((r) => setTimeout(r, 1));
      if (chunk.byteLength === failAt) throw new Error(`write ${chunk.byteLength} failed`);
      log.push(`write ${chunk.byteLength}`);
    },
    close() {
      log.push("close");
      return Promise.resolve();
    },
    abort() {
      log.push("abort");
      return Promise.resolve();
    },
  };
}

/** Both writers over the same kind of sink: the direct one must behave like the stream's. */
function both(failAt = -1): [string, OutputWriter, string[]][] {
  const a: string[] = [];
  const b: string[] = [];
  const stream = new WritableStream<Uint8Array>(
    recordingSink(a, failAt),
    new ByteLengthQueuingStrategy({ highWaterMark: 4 }),
  );
  return [
    ["stream", stream.getWriter(), a],
    ["direct", new DirectWriter(recordingSink(b, failAt), 4), b],
  ];
}

const settle = (p: Promise<unknown>) => p.then(() => "ok", (e) => `rejected: ${e?.message ?? e}`);

Deno.test("DirectWriter: writes in order, counts backpressure in bytes, closes after them", async () => {
  for (const [name, w, log] of both()) {
    const sizes: (number | null)[] = [w.desiredSize];
    const writes = [w.write(new Uint8Array(3)), w.write(new Uint8Array(2))];
    sizes.push(w.desiredSize);
    const closed = w.close();
    assertEquals(await Promise.all([...writes, closed].map(settle)), ["ok", "ok", "ok"], name);
    sizes.push(w.desiredSize);
    assertEquals({ name, sizes, log }, {
      name,
      sizes: [4, -1, 0],
      log: ["write 3", "write 2", "close"],
    });
  }
});

Deno.test("DirectWriter: ready waits while the queue is full", async () => {
  for (const [name, w] of both()) {
    const write = w.write(new Uint8Array(5));
    let ready = false;
    w.ready.then(() => ready = true);
    await Promise.resolve();
    assertEquals(ready, false, name);
    await write;
    await w.ready;
    assertEquals(w.desiredSize, 4, name);
    await w.close();
  }
});

Deno.test("DirectWriter: a failed write errors the writer; later writes, close and ready reject", async () => {
  for (const [name, w, log] of both(2)) {
    const results = await Promise.all(
      [w.write(new Uint8Array(1)), w.write(new Uint8Array(2)), w.write(new Uint8Array(3))].map(
        settle,
      ),
    );
    assertEquals({ name, results, size: w.desiredSize, log }, {
      name,
      results: ["ok", "rejected: write 2 failed", "rejected: write 2 failed"],
      size: null,
      log: ["write 1"],
    });
    assertEquals(await settle(w.close()), "rejected: Writable stream is closed or errored.", name);
    assertEquals(await settle(w.ready), "rejected: write 2 failed", name);
  }
});

Deno.test("DirectWriter: abort lets the write in flight finish, rejects the queued ones", async () => {
  for (const [name, w, log] of both()) {
    const first = settle(w.write(new Uint8Array(1)));
    const second = settle(w.write(new Uint8Array(2)));
    await Promise.resolve();
    const reason = new Error("abandoned");
    const aborted = settle(w.abort(reason));
    assertEquals(
      { name, results: [await first, await second, await aborted], log },
      { name, results: ["ok", "rejected: abandoned", "ok"], log: ["write 1", "abort"] },
    );
    assertEquals(await settle(w.write(new Uint8Array(1))), "rejected: abandoned", name);
  }
});

Deno.test("DirectWriter: abort after close does nothing", async () => {
  for (const [name, w, log] of both()) {
    await w.close();
    assertEquals(await settle(w.abort(new Error("late"))), "ok", name);
    assertEquals(log, ["close"], name);
  }
});

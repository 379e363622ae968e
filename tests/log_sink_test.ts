/** The non-blocking log sink: nothing lost when the writer keeps up, bounded when it does not. */
import assert from "node:assert/strict";
import { type EncodedLine, LogSink, type SinkWriter } from "../src/log/sink.ts";

const decoder = new TextDecoder();

/** A writer that collects text, optionally taking at most `step` bytes per call. */
function collector(step = Infinity): SinkWriter & { text: string; calls: number } {
  const w = {
    text: "",
    calls: 0,
    write(p: Uint8Array): Promise<number> {
      w.calls++;
      const n = Math.min(p.length, step);
      w.text += decoder.decode(p.subarray(0, n));
      return Promise.resolve(n);
    },
  };
  return w;
}

/** A writer whose writes wait until `open()` is called (a stalled pipe that drains later). */
function stalled(): SinkWriter & { text: string; open(): void } {
  let opened!: () => void;
  const gate = new Promise<void>((r) => opened = r);
  const w = {
    text: "",
    open: () => opened(),
    async write(p: Uint8Array): Promise<number> {
      await gate;
      w.text += decoder.decode(p);
      return p.length;
    },
  };
  return w;
}

const notice = (n: number) => `${n} log lines dropped\n`;

Deno.test("every line is written, in order, when the writer keeps up", async () => {
  for (const step of [Infinity, 7]) {
    const w = collector(step);
    const sink = new LogSink(w, { maxBytes: 1 << 20 });
    const want: string[] = [];
    for (let i = 0; i < 5000; i++) {
      want.push(`line ${i}\n`);
      assert.ok(sink.write(want[i]));
    }
    assert.ok(await sink.flush());
    assert.equal(w.text, want.join(""), `step ${step}`);
    assert.equal(sink.dropped, 0);
    assert.equal(sink.buffered, 0);
  }
});

Deno.test("lines are batched: one write in flight at a time, the rest in one write after it", async () => {
  const w = collector();
  const sink = new LogSink(w);
  for (let i = 0; i < 100; i++) sink.write(`${i}\n`);
  await sink.flush();
  assert.equal(w.calls, 2, "the first line, then the 99 queued behind it");
});

Deno.test("a stalled writer: memory stays at the bound, lines are dropped, counted and reported where the gap is", async () => {
  const w = stalled();
  const sink = new LogSink(w, { maxBytes: 100, dropNotice: notice });
  const accepted: string[] = [];
  for (let i = 0; i < 50; i++) {
    const line = `line ${String(i).padStart(3, "0")}\n`; // 9 bytes
    if (sink.write(line)) accepted.push(line);
    assert.ok(sink.buffered <= 100, `held ${sink.buffered} bytes`);
  }
  assert.equal(accepted.length, 11);
  assert.equal(sink.dropped, 39);
  assert.equal(await sink.flush(20), false, "a bounded flush gives up on a stalled writer");
  w.open();
  assert.ok(await sink.flush());
  assert.equal(w.text, accepted.join("") + notice(39));
  sink.write("after\n");
  await sink.flush();
  assert.ok(w.text.endsWith("39 log lines dropped\nafter\n"), "the notice is written only once");
});

Deno.test("the drop notice is written once the sink drains, after the lines held before the gap", async () => {
  const w = stalled();
  const sink = new LogSink(w, { maxBytes: 10, dropNotice: notice });
  sink.write("aaaa\n"); // in flight
  sink.write("bbbb\n"); // queued: 10 bytes held
  assert.equal(sink.write("cccc\n"), false);
  w.open();
  await sink.flush();
  assert.equal(w.text, "aaaa\nbbbb\n1 log lines dropped\n");
});

Deno.test("a failing writer loses those lines, says so once, and reports the count once it recovers", async () => {
  let fail = true;
  let text = "";
  const events: string[] = [];
  const sink = new LogSink({
    write(p) {
      if (fail) return Promise.reject(new Error("No space left on device"));
      text += decoder.decode(p);
      return Promise.resolve(p.length);
    },
  }, {
    dropNotice: notice,
    onWriteError: (err) => events.push(`error: ${(err as Error).message}`),
    onWriteRecovered: () => events.push("recovered"),
  });
  sink.write("lost 1\n");
  sink.write("lost 2\n");
  await sink.flush();
  sink.write("lost 3\n");
  await sink.flush();
  assert.equal(sink.dropped, 3);
  fail = false;
  sink.write("kept\n");
  await sink.flush();
  assert.deepEqual(events, ["error: No space left on device", "recovered"]);
  assert.equal(text, "3 log lines dropped\nkept\n");
});

Deno.test("close flushes, runs onClose once, and drops later lines", async () => {
  const w = collector();
  let closed = 0;
  const sink = new LogSink(w, { onClose: () => closed++ });
  sink.write("one\n");
  assert.ok(await sink.close());
  await sink.close();
  assert.equal(closed, 1);
  assert.equal(sink.write("two\n"), false);
  assert.equal(w.text, "one\n");
});

Deno.test("close gives up after its timeout on a stalled writer and still runs onClose", async () => {
  const w = stalled();
  let closed = false;
  const sink = new LogSink(w, { onClose: () => closed = true });
  sink.write("stuck\n");
  const t0 = performance.now();
  assert.equal(await sink.close(30), false);
  const ms = performance.now() - t0;
  assert.ok(ms >= 20 && ms < 1000, `close took ${ms.toFixed(0)} ms`);
  assert.ok(closed);
  w.open();
});

Deno.test("a real stderr pipe nobody reads: the event loop keeps running, and the drop count appears once it drains", async () => {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--no-prompt", new URL("./log_sink_child.ts", import.meta.url).pathname, "300"],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  // Read stdout only: stderr stays unread (the pipe fills up) until the child has reported.
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let out = "";
  const deadline = setTimeout(() => child.kill("SIGKILL"), 15_000);
  try {
    while (!out.includes("\n")) {
      const { value, done } = await reader.read();
      if (done) break;
      out += value;
    }
    const stderr = await new Response(child.stderr).text();
    await reader.cancel();
    const status = await child.status;
    assert.equal(status.code, 0, `child failed: ${stderr.slice(-500)}`);
    const report = JSON.parse(out) as {
      maxDelay: number;
      total: number;
      dropped: number;
      buffered: number;
    };
    assert.ok(report.maxDelay < 500, `a 10 ms timer fired up to ${report.maxDelay} ms late`);
    assert.ok(report.buffered <= 65536, `held ${report.buffered} bytes`);
    assert.ok(report.dropped > 0, "the pipe stalled: lines were dropped");
    const lines = stderr.split("\n").filter((l) => l !== "");
    const numbered = lines.filter((l) => l.startsWith("line "));
    assert.deepEqual(lines.slice(numbered.length), [`${report.dropped} log lines dropped`]);
    numbered.forEach((l, i) => assert.ok(l.startsWith(`line ${i} `), `line ${i}: ${l}`));
    assert.equal(numbered.length + report.dropped, report.total, "every line written or counted");
  } finally {
    clearTimeout(deadline);
  }
});

Deno.test("a coalescing sink writes at once when idle, and a busy one at most every coalesceMs", async () => {
  const w = collector();
  const sink = new LogSink(w, { coalesceMs: 60 });
  const t0 = performance.now();
  sink.write("first\n");
  await new Promise((r) => setTimeout(r, 0));
  assert.equal(w.calls, 1, "an idle sink does not wait");
  for (let i = 0; i < 20; i++) sink.write(`${i}\n`);
  await new Promise((r) => setTimeout(r, 0));
  assert.equal(w.calls, 1, "lines soon after a write wait to share the next one");
  while (w.calls < 2 && performance.now() - t0 < 2000) {
    await new Promise((r) => setTimeout(r, 5));
  }
  const waited = performance.now() - t0;
  assert.equal(w.calls, 2, "then they go in one write");
  assert.ok(waited >= 55 && waited < 2000, `the second write came after ${waited} ms`);
  assert.equal(w.text, "first\n" + Array.from({ length: 20 }, (_, i) => `${i}\n`).join(""));
});

Deno.test("flush and close do not wait for a coalescing delay", async () => {
  const w = collector();
  const sink = new LogSink(w, { coalesceMs: 10_000 });
  sink.write("a\n");
  sink.write("b\n");
  const t0 = performance.now();
  assert.ok(await sink.flush());
  sink.write("c\n");
  await sink.close();
  assert.ok(performance.now() - t0 < 1000, `took ${performance.now() - t0} ms`);
  assert.equal(w.text, "a\nb\nc\n");
});

Deno.test("a coalescing sink writes at once when coalesceBytes wait", async () => {
  const w = collector();
  const sink = new LogSink(w, { coalesceMs: 10_000, coalesceBytes: 10 });
  sink.write("first\n");
  await new Promise((r) => setTimeout(r, 0));
  sink.write("12345\n");
  await new Promise((r) => setTimeout(r, 5));
  assert.equal(w.calls, 1, "6 bytes wait");
  sink.write("67890\n");
  await new Promise((r) => setTimeout(r, 5));
  assert.equal(w.calls, 2, "12 bytes go at once");
  assert.equal(w.text, "first\n12345\n67890\n");
  await sink.close();
});

Deno.test("the bound counts UTF-8 bytes: non-ASCII lines are held and written exactly", async () => {
  const w = stalled();
  const sink = new LogSink(w, { maxBytes: 14, dropNotice: notice });
  assert.ok(sink.write("é€😀\n"), "2 + 3 + 4 + 1 bytes fit");
  assert.equal(sink.buffered, 10);
  assert.ok(sink.write("\ud800\n"), "a lone surrogate is written as U+FFFD: 3 + 1 bytes");
  assert.equal(sink.buffered, 14);
  assert.ok(!sink.write("x\n"), "2 more bytes do not fit");
  w.open();
  assert.ok(await sink.flush());
  assert.equal(w.text.split("\n")[0], "é€😀");
  assert.equal(w.text.split("\n")[1], "\ufffd");
  assert.equal(w.text, "é€😀\n\ufffd\n" + notice(1), "the two lines, then the drop notice");
  assert.equal(sink.buffered, 0);
});

/** An encoded line of `text` (ASCII or not), as a recording's lines write themselves. */
function encoded(text: string): EncodedLine {
  const bytes = new TextEncoder().encode(text);
  return {
    bound: () => bytes.length + 8, // a bound above the size, as a real one is
    encodeInto(buf, at) {
      buf.set(bytes, at);
      return at + bytes.length;
    },
  };
}

Deno.test("encoded lines and text lines are written in the order they came, each exactly", async () => {
  for (const step of [Infinity, 5]) {
    const w = collector(step);
    const sink = new LogSink(w, { maxBytes: 1 << 20 });
    const want: string[] = [];
    for (let i = 0; i < 3000; i++) {
      // (The collector decodes each write alone: a short write must not split a character.)
      const [a, b] = step === Infinity ? ["é", "ü"] : ["e", "u"];
      const line = i % 7 === 3 ? `text ${i} ${a}\n` : `encoded ${i} ${b}\n`;
      want.push(line);
      assert.ok(i % 7 === 3 ? sink.write(line) : sink.writeEncoded(encoded(line)));
      if (i % 500 === 0) await sink.flush(); // some runs start on an idle sink
    }
    assert.ok(await sink.flush());
    assert.equal(w.text, want.join(""), `step ${step}`);
    assert.equal(sink.dropped, 0);
    assert.equal(sink.buffered, 0);
  }
});

Deno.test("an encoded line bigger than the sink's buffer gets one of its own; lines after it follow", async () => {
  const w = collector();
  const sink = new LogSink(w, { maxBytes: 1 << 20 });
  const big = "x".repeat(200_000) + "\n";
  sink.writeEncoded(encoded("one\n"));
  sink.writeEncoded(encoded(big));
  sink.writeEncoded(encoded("two\n"));
  sink.writeEncoded(encoded("three\n"));
  assert.ok(await sink.flush());
  assert.equal(w.text, "one\n" + big + "two\nthree\n");
});

Deno.test("encoded lines: a stalled writer drops and counts them at the bound, and the notice comes where the gap is", async () => {
  const w = stalled();
  const sink = new LogSink(w, { maxBytes: 100, dropNotice: notice });
  const accepted: string[] = [];
  for (let i = 0; i < 50; i++) {
    const line = `line ${String(i).padStart(3, "0")}\n`; // 9 bytes
    if (sink.writeEncoded(encoded(line))) accepted.push(line);
    assert.ok(sink.buffered <= 100, `held ${sink.buffered} bytes`);
  }
  assert.equal(accepted.length, 11);
  assert.equal(sink.dropped, 39);
  w.open();
  assert.ok(await sink.flush());
  assert.equal(w.text, accepted.join("") + notice(39));
  sink.writeEncoded(encoded("after\n"));
  sink.close();
  assert.equal(sink.writeEncoded(encoded("closed\n")), false);
  await sink.flush();
  assert.ok(w.text.endsWith("39 log lines dropped\nafter\n"));
  assert.equal(sink.dropped, 40, "a line after close is dropped and counted");
});

Deno.test("encoded lines over many buffers, written while more come: each buffer reused only once written", async () => {
  for (const pause of [0, 1]) {
    let text = "";
    let writes = 0;
    const sink = new LogSink({
      async write(p) {
        writes++;
        await new Promise((r) => setTimeout(r, pause));
        text += decoder.decode(p);
        return p.length;
      },
    }, { maxBytes: 64 << 20 });
    const want: string[] = [];
    for (let i = 0; i < 4000; i++) {
      const line = `${i} ${String.fromCharCode(97 + i % 26).repeat(400 + i % 500)}\n`;
      want.push(line);
      assert.ok(sink.writeEncoded(encoded(line)));
      if (i % 97 === 0) await new Promise((r) => setTimeout(r, 0)); // let writes complete
    }
    assert.ok(await sink.flush());
    assert.ok(writes > 1);
    assert.equal(text, want.join(""), `pause ${pause}`);
  }
});

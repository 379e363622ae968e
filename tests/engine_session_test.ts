import {
  deepStrictEqual as assertEquals,
  match as assertMatch,
  ok as assert,
} from "node:assert/strict";
import { runSession } from "../src/engine/session.ts";
import { STREAM_CHUNK } from "../src/engine/steps/output_steps.ts";
import { quietLogger } from "../src/log/logger.ts";
import { captureLogger, endOf, ioTest, runMemory, script } from "./engine_harness.ts";

const off = "echo_lingering_close off;";

// ---------------------------------------------------------------------------------------------
// output directives

const outputCases: { name: string; body: string; want: string }[] = [
  {
    name: "echo sends its arguments joined by spaces plus LF",
    body: "echo Hi Kindy;",
    want: "Hi Kindy\n",
  },
  { name: "echo -n sends no LF", body: 'echo -n "hello, "; echo world;', want: "hello, world\n" },
  { name: "echo without arguments sends a LF", body: "echo a; echo; echo b;", want: "a\n\nb\n" },
  { name: "echo_duplicate repeats its string", body: "echo_duplicate 3 abc;", want: "abcabcabc" },
  { name: "echo_duplicate 0 sends nothing", body: "echo_duplicate 0 abc; echo x;", want: "x\n" },
  {
    name: "echo_duplicate of an empty string sends nothing",
    body: 'echo_duplicate 5 ""; echo x;',
    want: "x\n",
  },
  {
    name: "output steps keep their order",
    body: "echo_duplicate 10 a; echo; echo_duplicate 5 b; echo -n c; echo_flush_wait; echo d;",
    want: "aaaaaaaaaa\nbbbbbcd\n",
  },
];

for (const c of outputCases) {
  ioTest(`runSession: ${c.name}`, async () => {
    const { conn, done } = runMemory(script(`${off} ${c.body}`));
    assertEquals(endOf(await done), { end: "eof" });
    assertEquals(conn.text(), c.want);
    assert(conn.closed, "the connection is closed at the end");
  });
}

ioTest(
  "runSession: echo_duplicate streams a large count in chunks, never count x length",
  async () => {
    const s = script(`${off} echo_duplicate 1000_000 "hello, world";`);
    const { conn, done } = runMemory(s);
    assertEquals(endOf(await done), { end: "eof" });
    assertEquals(conn.bytes(), 12_000_000);
    const biggest = Math.max(...conn.chunkSizes);
    assert(biggest <= STREAM_CHUNK, `largest write ${biggest} bytes`);
    assert(conn.chunkSizes.length >= 10);
  },
);

ioTest("runSession: echo returns without waiting for the socket, flush_wait waits", async () => {
  let release!: () => void;
  let writes = 0;
  const held = new Promise<void>((r) => release = r);
  const writable = new WritableStream<Uint8Array>({
    async write() {
      writes++;
      if (writes === 1) await held;
    },
  });
  const s = script(`${off} echo a; echo b; echo_flush_wait; echo c;`);
  let finished = false;
  const done = runSession(s, {
    readable: new ReadableStream({ start: (c) => c.close() }),
    writable,
    close: () => {},
  }, { logger: quietLogger }).then((r) => {
    finished = true;
    return r;
  });
  await new Promise((r) => setTimeout(r, 30));
  assertEquals(writes, 1, "the first write is in flight, the rest queued");
  assert(!finished, "flush_wait holds the script");
  release();
  assertEquals(endOf(await done), { end: "eof" });
  assertEquals(writes, 3);
});

ioTest("runSession: echo_sleep waits about its time", async () => {
  const t0 = performance.now();
  const { conn, done } = runMemory(script(`${off} echo a; echo_sleep 0.05; echo b;`));
  assertEquals(endOf(await done), { end: "eof" });
  const took = performance.now() - t0;
  assert(took >= 45 && took < 1000, `took ${took} ms`);
  assertEquals(conn.text(), "a\nb\n");
});

ioTest("runSession: a server with no echo directives closes at once", async () => {
  const { conn, done } = runMemory({ steps: [], settings: script("echo;").settings });
  assertEquals(endOf(await done), { end: "eof" });
  assert(conn.closed);
  assertEquals(conn.text(), "");
});

// ---------------------------------------------------------------------------------------------
// reading directives

const readCases: { name: string; body: string; input: string[]; eof?: boolean; want: string }[] = [
  {
    name: "echo_read_bytes reads exactly N bytes",
    body: "echo_read_bytes 3; echo_request_data;",
    input: ["hello"],
    want: "hel",
  },
  {
    name: "echo_read_bytes gathers bytes across packets",
    body: "echo_read_bytes 5; echo_request_data;",
    input: ["he", "l", "lo!"],
    want: "hello",
  },
  {
    name: "pipelined input stays for the next read step",
    body: "echo_read_bytes 3; echo_request_data; echo; echo_read_bytes 3; echo_request_data;",
    input: ["hello!"],
    want: "hel\nlo!",
  },
  {
    name: "a full buffer is reused after echo_request_data",
    body:
      "echo_read_buffer_size 3; echo_read_bytes 3; echo_request_data; echo; echo_read_bytes 3; echo_request_data;",
    input: ["hel", "lo!"],
    want: "hel\nlo!",
  },
  {
    name: "echo_read_line keeps the LF and any CR",
    body: "echo_read_line; echo -n 'got: '; echo_request_data;",
    input: ["hello\r\nrest"],
    want: "got: hello\r\n",
  },
  {
    name: "two read steps accumulate before echo_request_data",
    body: "echo_read_line; echo_read_line; echo_request_data;",
    input: ["one\ntwo\nthree\n"],
    want: "one\ntwo\n",
  },
  {
    name: "echo_read_line then echo_read_bytes share the buffer",
    body: "echo_read_line; echo_read_bytes 3; echo -n 'I got: '; echo_request_data;",
    input: ["hello, world!\nab", "c"],
    want: "I got: hello, world!\nabc",
  },
  {
    name: "EOF ends a line",
    body: "echo_read_line; echo_request_data;",
    input: ["partial"],
    eof: true,
    want: "partial",
  },
  {
    name: "echo_request_data with nothing read sends nothing",
    body: "echo_request_data; echo x;",
    input: [],
    want: "x\n",
  },
  {
    name: "echo_read_bytes 0 reads nothing",
    body: "echo_read_bytes 0; echo_request_data; echo x;",
    input: [],
    want: "x\n",
  },
];

for (const c of readCases) {
  ioTest(`runSession: ${c.name}`, async () => {
    const { conn, done } = runMemory(script(`${off} ${c.body}`));
    for (const part of c.input) conn.send(part);
    if (c.eof) conn.end();
    assertEquals(endOf(await done), { end: "eof" });
    assertEquals(conn.text(), c.want);
  });
}

ioTest("runSession: the reading buffer takes no more than echo_read_buffer_size", async () => {
  const { conn, done } = runMemory(
    script(`${off} echo_read_buffer_size 4; echo_read_bytes 3; echo_request_data;`),
  );
  conn.send("hello, world!");
  assertEquals(endOf(await done), { end: "eof" });
  assertEquals(conn.text(), "hel");
});

// ---------------------------------------------------------------------------------------------
// echo_discard_request

ioTest("runSession: echo_discard_request drops buffered and later input", async () => {
  const { conn, done } = runMemory(
    script(
      `${off} echo_read_bytes 2; echo_request_data; echo; echo_discard_request; echo_request_data; echo ok;`,
    ),
  );
  conn.send("Hey, server!");
  assertEquals(endOf(await done), { end: "eof" });
  assertEquals(conn.text(), "He\nok\n");
});

ioTest("runSession: a discarding session ends quietly at client EOF", async () => {
  const { conn, logger, done } = runMemory(
    script("echo_discard_request; echo bye; echo_sleep 3600;"),
  );
  conn.send("x".repeat(10_000));
  await new Promise((r) => setTimeout(r, 20));
  conn.end();
  assertEquals(endOf(await done), { end: "eof" });
  assertEquals(conn.text(), "bye\n");
  assertEquals(logger.lines, []);
});

for (const directive of ["echo_read_bytes 2", "echo_read_line"]) {
  const name = directive.split(" ")[0];
  ioTest(`runSession: ${name} after echo_discard_request is a [crit] error`, async () => {
    const { conn, logger, done } = runMemory(
      script(`echo_discard_request; ${directive}; echo never;`),
    );
    conn.send("Hey, server!\n");
    setTimeout(() => conn.end(), 20);
    const result = await done;
    assertEquals(result.end, "error");
    assertEquals(conn.text(), "");
    assertEquals(logger.lines.length, 1);
    assertMatch(
      logger.lines[0],
      new RegExp(
        `\\[crit\\] 4242#0: \\*7 stream echo: ${name} not allowed after echo_discard_request`,
      ),
    );
    assert(conn.halfClosed, "closes without a reset: half-close, then discard to EOF");
  });
}

// ---------------------------------------------------------------------------------------------
// failure paths

ioTest("runSession: read timeout logs at the client error log level and closes", async () => {
  const t0 = performance.now();
  const { conn, logger, done } = runMemory(
    script("echo_read_timeout 60ms; echo_read_bytes 2; echo_request_data;"),
  );
  const result = await done;
  const took = performance.now() - t0;
  assertEquals(endOf(result), { end: "timeout", reason: "stream client read timed out" });
  assert(took >= 55 && took < 1000, `took ${took} ms`);
  assert(conn.closed);
  assertEquals(logger.lines.length, 1);
  assertMatch(
    logger.lines[0],
    /^\d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d \[info\] 4242#0: \*7 stream client read timed out while running stream echo commands, client: 127\.0\.0\.1, server: 127\.0\.0\.1:1234\n$/,
  );
});

ioTest("runSession: echo_client_error_log_level raises client errors to [error]", async () => {
  const { logger, done } = runMemory(
    script("echo_client_error_log_level error; echo_read_timeout 20ms; echo_read_bytes 1k;"),
  );
  assertEquals((await done).end, "timeout");
  assertMatch(logger.lines[0], /\[error\] .* stream client read timed out/);
});

ioTest("runSession: EOF before echo_read_bytes got its bytes is a premature close", async () => {
  const { conn, logger, done } = runMemory(
    script("echo_client_error_log_level warn; echo_read_bytes 5; echo_request_data;"),
  );
  conn.send("ab");
  conn.end();
  assertEquals(endOf(await done), {
    end: "reset",
    reason: "stream client prematurely closed connection",
  });
  assertEquals(conn.text(), "");
  assertMatch(logger.lines[0], /\[warn\] .* stream client prematurely closed connection while/);
});

ioTest("runSession: a line longer than the buffer is an [error]", async () => {
  const { conn, logger, done } = runMemory(
    script("echo_read_buffer_size 5; echo_read_line; echo_request_data;"),
  );
  conn.send("hello, world!\n");
  assertEquals((await done).end, "error");
  assertEquals(conn.text(), "");
  assertMatch(
    logger.lines[0],
    /\[error\] 4242#0: \*7 stream echo: echo_buffer_size is too small for the request while/,
  );
});

ioTest("runSession: read steps needing more than the buffer holds are an [error]", async () => {
  // The compiler rejects such scripts; the engine still checks at run time.
  const s = script("echo_read_buffer_size 4; echo_read_bytes 2;");
  const { conn, logger, done } = runMemory({
    settings: s.settings,
    steps: [...s.steps, {
      op: "read_bytes",
      n: 3,
      directive: "echo_read_bytes",
      pos: s.steps[0].pos,
    }],
  });
  conn.send("12345678");
  assertEquals((await done).end, "error");
  assertMatch(logger.lines[0], /echo_buffer_size is too small for the request/);
});

ioTest("runSession: a client reset while reading ends the session as reset", async () => {
  const { conn, logger, done } = runMemory(script("echo_read_line; echo_request_data;"));
  conn.send("par");
  setTimeout(() => conn.reset(), 10);
  assertEquals(endOf(await done), {
    end: "reset",
    reason: "recv() failed (104: Connection reset by peer)",
  });
  assertMatch(logger.lines[0], /\[info\] .* recv\(\) failed \(104: Connection reset by peer\)/);
});

ioTest("runSession: send timeout fires while output is blocked", async () => {
  const t0 = performance.now();
  const { logger, done } = runMemory(script("echo_send_timeout 50ms; echo hello;"), {
    sink: "stall",
  });
  assertEquals(endOf(await done), { end: "timeout", reason: "stream client send timed out" });
  const took = performance.now() - t0;
  assert(took >= 45 && took < 1500, `took ${took} ms`);
  assertMatch(logger.lines[0], /\[info\] .* stream client send timed out while running/);
});

// bytesOut is what the socket accepted, partial writes included, however the session ended.
ioTest(
  "runSession: bytesOut counts the part of a write the socket took before the send timeout",
  async () => {
    const { done } = runMemory(script("echo_send_timeout 50ms; echo_duplicate 1000 ab;"), {
      sink: "stall",
      partial: 700,
    });
    const result = await done;
    assertEquals([result.end, result.bytesOut], ["timeout", 700]);
  },
);

ioTest("runSession: bytesOut counts a partial write cut by a client reset", async () => {
  const { conn, done } = runMemory(script("echo_duplicate 1000 ab; echo_read_line;"), {
    sink: "stall",
    partial: 123,
  });
  setTimeout(() => conn.reset(), 20);
  const result = await done;
  assertEquals([result.end, result.bytesOut], ["reset", 123]);
});

ioTest("runSession: bytesOut counts a partial write cut by a shutdown", async () => {
  const ac = new AbortController();
  const { done } = runMemory(script("echo_duplicate 1000 ab; echo_sleep 10;"), {
    sink: "stall",
    partial: 1500,
    signal: ac.signal,
  });
  setTimeout(() => ac.abort(), 20);
  const result = await done;
  assertEquals([result.end, result.bytesOut], ["shutdown", 1500]);
});

ioTest("runSession: bytesOut is the socket's count when every write completes", async () => {
  const { conn, done } = runMemory(script("echo hello; echo_duplicate 3000 ab;"), { partial: 0 });
  const result = await done;
  assertEquals([result.end, result.bytesOut, conn.bytes()], ["eof", 6006, 6006]);
});

ioTest("runSession: send timeout also fires during a sleep", async () => {
  const { done } = runMemory(script("echo_send_timeout 30ms; echo hi; echo_sleep 5;"), {
    sink: "stall",
  });
  assertEquals((await done).end, "timeout");
});

ioTest("runSession: a failing write ends the session as reset", async () => {
  const { logger, done } = runMemory(script("echo hi; echo_sleep 5;"), { sink: "reset" });
  assertEquals(endOf(await done), {
    end: "reset",
    reason: "writev() failed (104: Connection reset by peer)",
  });
  assertEquals(logger.lines.length, 1);
});

ioTest("runSession: aborting the signal ends the session as shutdown", async () => {
  const ac = new AbortController();
  const { logger, done } = runMemory(script("echo hi; echo_sleep 10;"), { signal: ac.signal });
  setTimeout(() => ac.abort(), 20);
  const t0 = performance.now();
  assertEquals((await done).end, "shutdown");
  assert(performance.now() - t0 < 1000);
  assertEquals(logger.lines, [], "a shutdown is not a client error");
});

ioTest("runSession: an already aborted signal ends the session at once", async () => {
  const ac = new AbortController();
  ac.abort();
  const { conn, done } = runMemory(script("echo hi;"), { signal: ac.signal });
  assertEquals((await done).end, "shutdown");
  assert(conn.closed);
});

ioTest("runSession: a normal exchange logs nothing", async () => {
  const { conn, logger, done } = runMemory(script("echo_read_line; echo_request_data;"));
  conn.send("hello\n");
  assertEquals(endOf(await done), { end: "eof" });
  assertEquals(logger.lines, []);
});

// ---------------------------------------------------------------------------------------------
// lingering close

ioTest("runSession: lingering close off closes without reading unread input", async () => {
  const { conn, done } = runMemory(script(`${off} echo_read_bytes 1; echo_request_data;`));
  conn.send("abc");
  assertEquals(endOf(await done), { end: "eof" });
  assert(!conn.halfClosed, "no half-close before closing");
  assert(conn.closed);
});

ioTest("runSession: lingering close on half-closes, then discards to client EOF", async () => {
  const { conn, done } = runMemory(script("echo_read_bytes 1; echo_request_data;"));
  conn.send("abc");
  let finished = false;
  done.then(() => finished = true);
  await new Promise((r) => setTimeout(r, 100));
  assert(conn.halfClosed, "the reply is complete (FIN) while the session lingers");
  assert(!finished, "still lingering: unread input was buffered");
  conn.send("more");
  conn.end();
  assertEquals(endOf(await done), { end: "eof" });
  assertEquals(conn.text(), "a");
});

ioTest("runSession: lingering close always lingers with nothing unread", async () => {
  const { conn, done } = runMemory(script("echo_lingering_close always; echo hi;"));
  let finished = false;
  done.then(() => finished = true);
  await new Promise((r) => setTimeout(r, 100));
  assert(conn.halfClosed && !finished);
  conn.end();
  assertEquals(endOf(await done), { end: "eof" });
});

ioTest("runSession: echo_lingering_timeout bounds the wait for more data", async () => {
  const t0 = performance.now();
  const { conn, done } = runMemory(
    script("echo_lingering_close always; echo_lingering_timeout 60ms; echo hi;"),
  );
  assertEquals(endOf(await done), { end: "eof" });
  const took = performance.now() - t0;
  assert(took >= 55 && took < 1000, `took ${took} ms`);
  assert(conn.closed);
});

ioTest("runSession: echo_lingering_time bounds lingering even while data flows", async () => {
  const t0 = performance.now();
  const { conn, done } = runMemory(
    script(
      "echo_lingering_close always; echo_lingering_time 150ms; echo_lingering_timeout 1s; echo hi;",
    ),
  );
  const feeder = setInterval(() => conn.send("x"), 10);
  try {
    assertEquals(endOf(await done), { end: "eof" });
  } finally {
    clearInterval(feeder);
  }
  const took = performance.now() - t0;
  assert(took >= 140 && took < 1000, `took ${took} ms`);
});

ioTest("runSession: lingering on with nothing unread closes after a short probe", async () => {
  const t0 = performance.now();
  const { conn, done } = runMemory(script("echo hi;"));
  assertEquals(endOf(await done), { end: "eof" });
  assert(performance.now() - t0 < 1000);
  assert(conn.halfClosed && conn.closed);
});

ioTest("runSession: never rejects, even when the writable throws synchronously", async () => {
  const logger = captureLogger();
  const result = await runSession(script("echo hi;"), {
    readable: new ReadableStream(),
    writable: new WritableStream({
      write() {
        throw new TypeError("boom");
      },
    }),
    close: () => {},
  }, { logger });
  assertEquals(result.end, "reset");
  assertMatch(logger.lines[0], /writev\(\) failed \(boom\)/);
});

ioTest("runSession: at debug level, steps and timers are logged in nginx's words", async () => {
  const logger = captureLogger("debug");
  const s = script(`${off} echo hi; echo_flush_wait; echo_sleep 0.043;`);
  const result = await runSession(s, {
    readable: new ReadableStream({ start: (c) => c.close() }),
    writable: new WritableStream(),
    close: () => {},
  }, { logger, context: { connection: 3 } });
  assertEquals(endOf(result), { end: "eof" });
  const text = logger.lines.join("");
  for (
    const want of [
      "[debug] 4242#0: *3 stream echo running echo while running stream echo commands",
      "stream echo running flush-wait (busy: ",
      "stream echo writer handler",
      "stream echo running sleep (delay: 43)",
      "event timer add: 3: 43:",
      "event timer add: 3: 60000:",
      "stream echo sleep event handler",
    ]
  ) assert(text.includes(want), `no ${JSON.stringify(want)} in\n${text}`);
});

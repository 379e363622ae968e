import {
  deepStrictEqual as assertEquals,
  match as assertMatch,
  ok as assert,
} from "node:assert/strict";
import { connIO } from "../src/server/transport.ts";
import { tapSession } from "../src/lib/tap.ts";
import { runSession } from "../src/engine/session.ts";
import { quietLogger } from "../src/log/logger.ts";
import {
  dec,
  enc,
  endOf,
  ffiGranted,
  ioTest,
  readAll,
  script,
  scriptServer,
} from "./engine_harness.ts";

async function connect(port: number): Promise<Deno.TcpConn> {
  return await Deno.connect({ hostname: "127.0.0.1", port });
}

ioTest("connIO: a session's reply arrives whole over TCP, then EOF", async () => {
  await using server = scriptServer(script('echo "Hello, stream echo!"; echo_duplicate 3 ab;'));
  const client = await connect(server.port);
  try {
    assertEquals(await readAll(client), "Hello, stream echo!\nababab");
  } finally {
    client.close();
  }
  assertEquals(endOf(await server.nextResult()), { end: "eof" });
  assertEquals(server.logger.lines, []);
});

ioTest("connIO: output after two large duplicates keeps its order (C then D, last)", async () => {
  await using server = scriptServer(
    script("echo_duplicate 200000 a; echo_duplicate 200000 b; echo -n C; echo -n D;"),
  );
  for (let i = 0; i < 3; i++) {
    const client = await connect(server.port);
    try {
      const text = await readAll(client);
      assertEquals(text.length, 400_002);
      assertEquals(text.slice(-4), "bbCD");
      assertEquals(text.indexOf("b"), 200_000);
    } finally {
      client.close();
    }
    assertEquals(endOf(await server.nextResult()), { end: "eof" });
  }
});

ioTest("connIO: pipelined lines are answered one by one", async () => {
  await using server = scriptServer(
    script(
      "echo_read_line; echo -n '1: '; echo_request_data; echo_read_line; echo -n '2: '; echo_request_data;",
    ),
  );
  const client = await connect(server.port);
  try {
    await client.write(enc.encode("first\nsecond\n"));
    assertEquals(await readAll(client), "1: first\n2: second\n");
  } finally {
    client.close();
  }
  assertEquals((await server.nextResult()).end, "eof");
});

ioTest("connIO: the client may half-close and still get the reply", async () => {
  await using server = scriptServer(
    script("echo_read_bytes 4; echo_sleep 0.02; echo_request_data;"),
  );
  const client = await connect(server.port);
  try {
    await client.write(enc.encode("ping"));
    await client.closeWrite();
    assertEquals(await readAll(client), "ping");
  } finally {
    client.close();
  }
});

ioTest("connIO: read timeout closes the connection and logs", async () => {
  await using server = scriptServer(script("echo_read_timeout 50ms; echo_read_bytes 2;"));
  const client = await connect(server.port);
  const t0 = performance.now();
  try {
    assertEquals(await readAll(client), "");
  } finally {
    client.close();
  }
  const took = performance.now() - t0;
  assert(took >= 45 && took < 2000, `took ${took} ms`);
  assertEquals((await server.nextResult()).end, "timeout");
  assertMatch(server.logger.lines[0], /\[info\] .* stream client read timed out while running/);
});

ioTest("connIO: a premature close is logged at the client error log level", async () => {
  await using server = scriptServer(
    script("echo_client_error_log_level notice; echo_read_bytes 10; echo_request_data;"),
  );
  const client = await connect(server.port);
  try {
    await client.write(enc.encode("abc"));
    await client.closeWrite();
    assertEquals(await readAll(client), "");
  } finally {
    client.close();
  }
  assertEquals((await server.nextResult()).end, "reset");
  assertMatch(server.logger.lines[0], /\[notice\] .* stream client prematurely closed connection/);
});

ioTest("connIO: an oversize line ends with [error] (a reset when the rest is unread)", async () => {
  await using server = scriptServer(
    script("echo_read_buffer_size 5; echo_read_line; echo_request_data;"),
  );
  const client = await connect(server.port);
  let got: string;
  try {
    await client.write(enc.encode("hello, world!\n"));
    got = await readAll(client);
  } finally {
    client.close();
  }
  // With FFI the close is C's close(): unread input turns it into a reset, as nginx does.
  assertEquals(got, ffiGranted ? "RESET" : "");
  assertEquals((await server.nextResult()).end, "error");
  assertMatch(
    server.logger.lines[0],
    /\[error\] .* stream echo: echo_buffer_size is too small for the request/,
  );
});

ioTest("connIO: reading after echo_discard_request is [crit], closed without a reset", async () => {
  await using server = scriptServer(script("echo_discard_request; echo_read_line; echo never;"));
  const client = await connect(server.port);
  try {
    await client.write(enc.encode("Hey, server!\nHalo\n".repeat(100)));
    assertEquals(await readAll(client), "");
  } finally {
    client.close();
  }
  assertEquals((await server.nextResult()).end, "error");
  assertMatch(
    server.logger.lines[0],
    /\[crit\] .* stream echo: echo_read_line not allowed after echo_discard_request/,
  );
});

ioTest("connIO: discarding swallows a large upload and ends at client EOF", async () => {
  await using server = scriptServer(script("echo_discard_request; echo ok; echo_sleep 60;"));
  const client = await connect(server.port);
  try {
    const chunk = new Uint8Array(64 * 1024);
    for (let i = 0; i < 32; i++) await client.write(chunk);
    await client.closeWrite();
    assertEquals(await readAll(client), "ok\n");
  } finally {
    client.close();
  }
  assertEquals(endOf(await server.nextResult()), { end: "eof" });
});

ioTest("connIO: a client reset mid-write ends the session as reset", async () => {
  await using server = scriptServer(script('echo_duplicate 1000_000_000 "hello, world";'));
  const client = await connect(server.port);
  const buf = new Uint8Array(65536);
  let got = 0;
  while (got < 1_000_000) got += (await client.read(buf)) ?? 0;
  client.close(); // unread data in the client's socket: Linux resets the connection
  const result = await server.nextResult();
  assertEquals(result.end, "reset");
  assertMatch(
    result.reason ?? "",
    /writev\(\) failed \((104: Connection reset by peer|32: Broken pipe)\)/,
  );
});

ioTest("connIO: send timeout fires when the client stops reading", async () => {
  await using server = scriptServer(
    script('echo_send_timeout 100ms; echo_duplicate 100_000_000 "hello, world";'),
  );
  const client = await connect(server.port);
  const t0 = performance.now();
  try {
    const result = await server.nextResult();
    assertEquals(endOf(result), { end: "timeout", reason: "stream client send timed out" });
    const took = performance.now() - t0;
    assert(took >= 95 && took < 5000, `took ${took} ms`);
  } finally {
    client.close();
  }
});

ioTest("connIO: lingering close keeps the reply safe from unread input", async () => {
  await using server = scriptServer(script("echo_read_bytes 1; echo_request_data; echo done;"));
  const client = await connect(server.port);
  try {
    // Far more than the script reads: without lingering, the close would reset the reply.
    await client.write(new Uint8Array(200_000).fill(0x61));
    assertEquals(await readAll(client), "adone\n");
  } finally {
    client.close();
  }
  assertEquals((await server.nextResult()).end, "eof");
});

ioTest("connIO: lingering close off resets when input is left unread (C close())", async () => {
  await using server = scriptServer(
    script(
      "echo_lingering_close off; echo_read_buffer_size 4; echo_read_bytes 3; echo_request_data;",
    ),
  );
  const client = await connect(server.port);
  try {
    await client.write(enc.encode("hello, world!\n"));
    await new Promise((r) => setTimeout(r, 20));
    const got = await readAll(client);
    assert(got === (ffiGranted ? "helRESET" : "hel") || got === "RESET", `got ${got}`);
  } finally {
    client.close();
  }
});

ioTest("connIO: works over a Unix domain socket", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/se.sock`;
  const listener = Deno.listen({ transport: "unix", path });
  try {
    const accepted = listener.accept();
    const client = await Deno.connect({ transport: "unix", path });
    const conn = await accepted;
    const done = runSession(script("echo_read_line; echo_request_data;"), connIO(conn), {
      logger: quietLogger,
    });
    await client.write(enc.encode("over unix\n"));
    const buf = new Uint8Array(64);
    let text = "";
    for (;;) {
      const n = await client.read(buf);
      if (n === null) break;
      text += dec.decode(buf.subarray(0, n));
    }
    client.close();
    assertEquals(text, "over unix\n");
    assertEquals((await done).end, "eof");
  } finally {
    listener.close();
    await Deno.remove(dir, { recursive: true });
  }
});

ioTest("connIO: closing the writable half-closes; the read side stays open", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const client = await connect((listener.addr as Deno.NetAddr).port);
  const io = connIO(await listener.accept());
  try {
    const writer = io.writable.getWriter();
    await writer.write(enc.encode("bye"));
    await writer.close();
    assertEquals(await readAll(client), "bye");
    await client.write(enc.encode("still open"));
    const reader = io.readable.getReader({ mode: "byob" });
    const { value } = await reader.read(new Uint8Array(32));
    assertEquals(dec.decode(value), "still open");
    await client.closeWrite();
    assertEquals((await reader.read(new Uint8Array(8))).done, true);
    reader.releaseLock();
  } finally {
    io.close();
    client.close();
    listener.close();
  }
});

ioTest("connIO: every script x client behaviour combination ends cleanly", async () => {
  const bodies = [
    "echo_read_timeout 200ms; echo_read_line; echo_request_data; echo_read_bytes 3; echo_request_data;",
    "echo_discard_request; echo hi; echo_sleep 0.05;",
    'echo_read_timeout 200ms; echo_duplicate 100_000 "abc"; echo_read_line; echo_request_data;',
    "echo_read_timeout 30ms; echo_read_bytes 10;",
    "echo_send_timeout 30ms; echo_duplicate 10_000_000 x;",
    "echo_lingering_close off; echo_read_timeout 200ms; echo_read_bytes 1; echo_request_data;",
    "echo_lingering_close always; echo_lingering_timeout 30ms; echo hi;",
    "echo_read_timeout 200ms; echo_read_buffer_size 4; echo_read_line;",
  ];
  type Behaviour = (c: Deno.TcpConn) => Promise<void>;
  const request = enc.encode("hello\nworld\n");
  const drain = async (c: Deno.TcpConn, limit = Infinity) => {
    const buf = new Uint8Array(65536);
    let got = 0;
    while (got < limit) {
      const n = await c.read(buf);
      if (n === null) break;
      got += n;
    }
  };
  const behaviours: Behaviour[] = [
    (c) => drain(c), // silent reader
    async (c) => (await c.write(request), await drain(c)), // request, then read
    async (c) => (await c.write(request), await c.closeWrite(), await drain(c)), // half-close
    async (c) => void (await c.write(request)), // send and vanish
    async (c) => (await c.write(request), await drain(c, 100)), // reads a little, then closes
    () => Promise.resolve(), // connects and closes at once
  ];
  for (const body of bodies) {
    await using server = scriptServer(script(body));
    for (const behave of behaviours) {
      const client = await connect(server.port);
      const killer = setTimeout(() => client.close(), 500);
      try {
        await behave(client);
      } catch { /* resets are part of the game */ }
      clearTimeout(killer);
      try {
        client.close();
      } catch { /* closed by the killer */ }
      const result = await server.nextResult();
      assert(["eof", "reset", "timeout", "error"].includes(result.end), JSON.stringify(result));
    }
    assertEquals(server.results.length, behaviours.length);
  }
});

ioTest("connIO: reset() always sends a TCP reset, even with nothing unread", async () => {
  if (!ffiGranted) return console.log("skipped: needs --allow-ffi (the reset goes through libc)");
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const client = await connect(listener.addr.port);
  const io = connIO(await listener.accept());
  try {
    const writer = io.writable.getWriter();
    await writer.write(enc.encode("bye"));
    assertEquals(io.unread!(), 0);
    io.reset!();
    assertEquals(await readAll(client), "byeRESET");
  } finally {
    client.close();
    listener.close();
  }
});

ioTest("connIO: unread() counts input waiting in the socket; close() is a clean EOF", async () => {
  if (!ffiGranted) return console.log("skipped: needs --allow-ffi (FIONREAD goes through libc)");
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const client = await connect(listener.addr.port);
  const io = connIO(await listener.accept());
  try {
    await client.write(enc.encode("12345"));
    const deadline = performance.now() + 2000;
    while (io.unread!() < 5 && performance.now() < deadline) {
      await new Promise((r) => setTimeout(r, 5));
    }
    assertEquals(io.unread!(), 5);
    await io.closeWrite!();
    assertEquals(await readAll(client), "");
    io.close();
    assertEquals(io.unread!(), 0);
  } finally {
    client.close();
    listener.close();
  }
});

ioTest(
  "connIO: an abortive close costs the same with 2,000 idle connections open, and resets only its own",
  async () => {
    if (!ffiGranted) return console.log("skipped: needs --allow-ffi (the reset goes through libc)");
    // Unread input at an abrupt end: the close is a reset (C close()), which needs the descriptor.
    await using server = scriptServer(
      script("echo_lingering_close off; echo_read_buffer_size 4; echo_read_bytes 3;"),
    );
    const closeLatency = async (rounds: number): Promise<number> => {
      const times: number[] = [];
      for (let i = 0; i < rounds; i++) {
        const client = await connect(server.port);
        try {
          const t0 = performance.now();
          await client.write(enc.encode("hello, world!\n"));
          assertEquals(await readAll(client), "RESET");
          times.push(performance.now() - t0);
        } finally {
          client.close();
        }
      }
      times.sort((a, b) => a - b);
      return times[Math.floor(times.length / 2)];
    };
    await closeLatency(10); // warm-up
    const before = await closeLatency(30);
    // 2,000 idle connections (4,000 descriptors in this process: both ends).
    const idleListener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const idle: [Deno.TcpConn, Deno.TcpConn][] = [];
    try {
      for (let i = 0; i < 2000; i++) {
        const accepted = idleListener.accept();
        const c = await connect(idleListener.addr.port);
        idle.push([c, await accepted]);
      }
      const after = await closeLatency(30);
      assert(
        after <= before * 3 + 1,
        `median abortive close ${after.toFixed(2)} ms with 2,000 idle vs ${before.toFixed(2)} ms`,
      );
      // No idle connection was hit: each still carries bytes both ways.
      for (const [c, s] of [idle[0], idle[999], idle[1999]]) {
        await s.write(enc.encode("ok"));
        const buf = new Uint8Array(2);
        assertEquals(await c.read(buf), 2);
        await c.write(buf);
        assertEquals(await s.read(buf), 2);
      }
    } finally {
      for (const [c, s] of idle) {
        c.close();
        s.close();
      }
      idleListener.close();
    }
  },
);

ioTest(
  "connIO: a tapped io (the recording observers' wrapper) still resets, counts and closes",
  async () => {
    if (!ffiGranted) return console.log("skipped: needs --allow-ffi (the reset goes through libc)");
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const client = await connect(listener.addr.port);
    const io = tapSession(connIO(await listener.accept()), () => {}, () => {});
    try {
      const writer = io.writable.getWriter();
      await writer.write(enc.encode("bye"));
      assertEquals(io.accepted!(), 3);
      assertEquals(io.unread!(), 0);
      io.reset!();
      io.close(); // idempotent
      assertEquals(await readAll(client), "byeRESET");
    } finally {
      client.close();
      listener.close();
    }
  },
);

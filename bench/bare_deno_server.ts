/**
 * The bare Deno floor for bench/engine_bench.ts: the least a Deno TCP server can do per
 * connection, with `conn.read` into a 1 KiB buffer and `conn.write`, and nothing else.
 *
 *     deno run --allow-net bench/bare_deno_server.ts MODE PORT [BYTES]
 *
 * MODE: `reply` (write the reply, half-close, read to EOF, close: what stream-echo's
 * `echo "Hello, world!";` does with its default lingering close), `rr` (read until a LF, write the
 * reply, read to EOF, close), `idle` (read until a LF, pending: a connection waiting in a read),
 * `stream` (write BYTES of "hello, world" repeated, in 1 MiB writes, then close).
 *
 * @module
 */
const [mode, portText, bytesText] = Deno.args;
const listener = Deno.listen({ hostname: "127.0.0.1", port: Number(portText), tcpBacklog: 4096 });
const reply = new TextEncoder().encode("Hello, world!\n");
const unit = new TextEncoder().encode("hello, world");
const chunk = new Uint8Array(unit.length * Math.floor((1 << 20) / unit.length));
for (let i = 0; i < chunk.length; i += unit.length) chunk.set(unit, i);

async function toEof(conn: Deno.Conn, buf: Uint8Array): Promise<void> {
  while ((await conn.read(buf)) !== null) { /* to EOF */ }
}

async function serve(conn: Deno.TcpConn): Promise<void> {
  const buf = new Uint8Array(1024);
  if (mode === "reply") {
    await conn.write(reply);
    await conn.closeWrite();
    await toEof(conn, buf);
  } else if (mode === "rr" || mode === "idle") {
    for (;;) {
      const n = await conn.read(buf);
      if (n === null) return;
      if (buf.subarray(0, n).includes(10)) break;
    }
    await conn.write(reply);
    await conn.closeWrite();
    await toEof(conn, buf);
  } else {
    let left = Number(bytesText);
    while (left > 0) {
      left -= await conn.write(left >= chunk.length ? chunk : chunk.subarray(0, left));
    }
  }
}

for (;;) {
  let conn: Deno.TcpConn;
  try {
    conn = await listener.accept();
  } catch {
    continue;
  }
  conn.setNoDelay(true);
  serve(conn).catch(() => {}).finally(() => {
    try {
      conn.close();
    } catch { /* closed */ }
  });
}

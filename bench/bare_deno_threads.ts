/**
 * The bare Deno floor with N threads, the peer of bench/workers_bench.ts: the main thread and N-1
 * Deno Workers (this module again) each listen on PORT with `reusePort` and serve every
 * connection the least a Deno server can (`conn.write` of the reply, half-close, read to EOF,
 * close: what stream-echo's `echo "Hello, world!";` does with its default lingering close).
 *
 *     deno run --allow-net --allow-read --unstable-net bench/bare_deno_threads.ts PORT THREADS
 *
 * @module
 */
const inWorker = typeof (globalThis as { WorkerGlobalScope?: unknown }).WorkerGlobalScope !==
  "undefined";
const reply = new TextEncoder().encode("Hello, world!\n");

async function serve(conn: Deno.TcpConn): Promise<void> {
  const buf = new Uint8Array(1024);
  try {
    await conn.write(reply);
    await conn.closeWrite();
    while ((await conn.read(buf)) !== null) { /* to EOF */ }
  } catch { /* the client went away */ }
  try {
    conn.close();
  } catch { /* closed */ }
}

async function listen(port: number): Promise<void> {
  const listener = Deno.listen({ hostname: "127.0.0.1", port, tcpBacklog: 4096, reusePort: true });
  for await (const conn of listener) void serve(conn);
}

if (inWorker) {
  (globalThis as unknown as { onmessage: (e: MessageEvent<number>) => void }).onmessage = (e) =>
    void listen(e.data);
} else {
  const port = Number(Deno.args[0]);
  const threads = Number(Deno.args[1] ?? 1);
  for (let i = 1; i < threads; i++) {
    new Worker(import.meta.url, { type: "module", name: `bare-${i}` }).postMessage(port);
  }
  await listen(port);
}

/**
 * Run by tests/server_burst_release_test.ts: a server in this process gets N idle connections
 * (from this process too), they all close, and the probe prints RSS at start, with the
 * connections open, and 2 s after they closed, as JSON (bytes), plus the server's info lines
 * about returned memory.
 *
 *     deno run -A tests/burst_probe.ts [N]
 */
import { parseConfig } from "../src/config/loader.ts";
import { createLogger } from "../src/log/logger.ts";
import { startServer } from "../src/server/server.ts";

const N = Number(Deno.args[0] ?? 3000);
const lines: string[] = [];
let started = 0;
let ended = 0;
await using server = await startServer(
  parseConfig(
    `events { worker_connections ${N + 100}; }
     stream { server { listen 127.0.0.1:0 backlog=4096; echo_read_line; echo ok; } }`,
  ),
  {
    logger: createLogger((l) => void (l.includes("memory") && lines.push(l)), { level: "info" }),
    observer: {
      wrap: (io) => {
        started++;
        return io;
      },
      ended: () => void ended++,
    },
  },
);
const port = (server.addrs[0] as Deno.NetAddr).port;
const rss = () => Deno.memoryUsage().rss;
const start = rss();
const conns: Deno.Conn[] = [];
for (let i = 0; i < N; i += 200) {
  const batch = Array.from(
    { length: Math.min(200, N - i) },
    () => Deno.connect({ hostname: "127.0.0.1", port }),
  );
  conns.push(...await Promise.all(batch));
}
const deadline = Date.now() + 10_000;
while (started < N && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
const open = rss();
for (const c of conns) c.close();
conns.length = 0;
while (ended < N && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
const closed = rss();
await new Promise((r) => setTimeout(r, 2000));
console.log(JSON.stringify({ start, open, closed, after: rss(), ended, lines }));

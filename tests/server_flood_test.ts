/**
 * A client that connects and closes as fast as it can (in its own process, as an attacker or a
 * broken health check would) must not fill the server's connection table: each such session
 * ends and frees its slot at once, no `worker_connections are not enough` alert is logged, and
 * a normal client served meanwhile gets every reply.
 */
import assert from "node:assert/strict";
import { parseConfig } from "../src/config/loader.ts";
import { createLogger } from "../src/log/logger.ts";
import { startServer } from "../src/server/server.ts";

const FLOOD_MS = 2000;

/** The flood client, run in its own process (see its header). */
const FLOOD_CLIENT = new URL("./flood_client.ts", import.meta.url).pathname;

async function fetchText(port: number, timeoutMs: number): Promise<string> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const timer = setTimeout(() => conn.close(), timeoutMs);
  try {
    return await new Response(conn.readable).text();
  } catch (err) {
    return `failed: ${err}`;
  } finally {
    clearTimeout(timer);
  }
}

Deno.test("a connect-and-close flood frees every slot: no alert, and a normal client is served", async () => {
  const alerts: string[] = [];
  await using server = await startServer(
    parseConfig('stream { server { listen 127.0.0.1:0; echo "Hello"; } }', { file: "t.conf" }),
    {
      logger: createLogger((l) => void (l.includes("[alert]") && alerts.push(l)), {
        level: "warn",
      }),
    },
  );
  const port = (server.addrs[0] as Deno.NetAddr).port;
  const flood = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-net", FLOOD_CLIENT, String(port), String(FLOOD_MS)],
    stdout: "piped",
    stderr: "inherit",
  }).output();
  // The normal client: one short session after another while the flood runs.
  const replies: string[] = [];
  let flooding = true;
  flood.finally(() => flooding = false);
  while (flooding) replies.push(await fetchText(port, 5000));
  const floodCount = Number(new TextDecoder().decode((await flood).stdout));

  assert.ok(floodCount > 500, `the flood made only ${floodCount} connections`);
  assert.deepEqual(alerts.slice(0, 3), [], `${alerts.length} alerts`);
  assert.ok(replies.length > 0);
  assert.deepEqual(replies.filter((r) => r !== "Hello\n"), []);
});

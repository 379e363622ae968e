/**
 * The library never prints and never exits: a program that serves, meets client errors
 * (timeouts, a reset, a bad reload) and stops writes nothing to stdout or stderr by default.
 */
import assert from "node:assert/strict";

const MOD = new URL("../mod.ts", import.meta.url).href;

const PROGRAM = `
import { serve } from "${MOD}";
const server = await serve({ server: "echo_read_timeout 20ms; echo_read_line; echo ok;" });
const port = server.addrs[0].port;
const silent = await Deno.connect({ hostname: "127.0.0.1", port }); // times out
const gone = await Deno.connect({ hostname: "127.0.0.1", port });
await gone.write(new TextEncoder().encode("half"));
gone.close(); // leaves mid-line
await server.reload({ server: "bogus;" }).catch(() => {});
await server.waitForSessions(2);
silent.close();
await server.close();
const [a, b] = server.transcripts().map((t) => t.end).sort();
if (a === undefined || b === undefined) throw new Error("sessions missing");
`;

Deno.test("a program using the library prints nothing and exits on its own", async () => {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--quiet", PROGRAM],
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  const dec = new TextDecoder();
  assert.equal(dec.decode(stderr), "");
  assert.equal(dec.decode(stdout), "");
  assert.equal(code, 0);
});

/**
 * The accept loop under pressure, through the CLI: running out of file descriptors (EMFILE)
 * is logged and survived, and a client that resets before being accepted harms nobody.
 */
import assert from "node:assert/strict";
import { CliProcess, exchange, oneServer, TempDir } from "./cli_harness.ts";

Deno.test({
  name: "out of file descriptors: accept() errors are logged at crit and serving resumes",
  ignore: Deno.build.os === "windows",
  async fn() {
    using dir = new TempDir();
    const conf = dir.write("hold.conf", oneServer("echo_read_line; echo ok;"));
    await using p = new CliProcess(["serve", "-c", conf], { cwd: dir.path, maxOpenFiles: 48 });
    const port = await p.port();
    const held: Deno.Conn[] = [];
    for (let i = 0; i < 48; i++) held.push(await Deno.connect({ hostname: "127.0.0.1", port }));
    await p.waitFor(/\[crit\] \d+#0: accept\(\) failed \(24: Too many open files\)/);
    for (const c of held) c.close();
    // Once descriptors are free again the server accepts and serves as before.
    let reply = "";
    for (let i = 0; i < 50 && reply !== "ok\n"; i++) {
      reply = await exchange({ port }, "x\n").catch(() => "");
      if (reply !== "ok\n") await new Promise((r) => setTimeout(r, 20));
    }
    assert.equal(reply, "ok\n");
    p.kill("SIGTERM");
    assert.equal((await p.exited()).code, 0);
    assert.doesNotMatch(p.stderr, /unhandled|Uncaught/);
  },
});

Deno.test("clients that reset right after connecting do not disturb the server", async () => {
  using dir = new TempDir();
  const conf = dir.write("a.conf", oneServer('echo_read_line; echo "ok";'));
  await using p = new CliProcess(["serve", "-c", conf], { cwd: dir.path });
  const port = await p.port();
  const script = `
import socket, struct
for i in range(200):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.connect(("127.0.0.1", ${port}))
    s.close()
`;
  const out = await new Deno.Command("python3", { args: ["-c", script], stderr: "piped" }).output();
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
  assert.equal(await exchange({ port }, "x\n"), "ok\n");
  p.kill("SIGTERM");
  assert.equal((await p.exited()).code, 0);
  assert.doesNotMatch(p.stderr, /\[(error|alert|emerg)\]|unhandled|Uncaught/);
});

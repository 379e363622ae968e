/** The library writes a config's access_log and echo_record files too, as the CLI does. */
import assert from "node:assert/strict";
import { ConfigError, LogFileOpenError, serve } from "../mod.ts";

const enc = new TextEncoder();

async function exchange(port: number, text: string): Promise<{ port: number; reply: string }> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const local = (conn.localAddr as Deno.NetAddr).port;
  await conn.write(enc.encode(text));
  const reply = await new Response(conn.readable).text();
  return { port: local, reply };
}

Deno.test("serve() writes the access log and the recording a config names, closed when it stops", async () => {
  const dir = Deno.makeTempDirSync();
  try {
    const server = await serve({
      config: `stream {
        log_format p '$remote_port $status $echo_end $bytes_received $bytes_sent';
        server {
          listen 127.0.0.1:0;
          access_log ${dir}/a.log p;
          echo_record ${dir}/r.jsonl;
          echo_read_line;
          echo_request_data;
        }
      }`,
    });
    const { port } = server.addrs[0] as Deno.NetAddr;
    const a = await exchange(port, "hello\n");
    await server.waitForSessions(1);
    await server.shutdown();
    assert.equal(a.reply, "hello\n");
    assert.equal(Deno.readTextFileSync(`${dir}/a.log`), `${a.port} 200 eof 6 6\n`);
    const record = JSON.parse(Deno.readTextFileSync(`${dir}/r.jsonl`));
    assert.deepEqual([record.received, record.sent], [{ text: "hello\n" }, { text: "hello\n" }]);
    assert.equal(record.remoteAddr.port, a.port);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("serve() reload() switches to the access log the new config names", async () => {
  const dir = Deno.makeTempDirSync();
  const conf = (file: string) =>
    `stream { log_format p $remote_port; server { listen 127.0.0.1:0; access_log ${dir}/${file} p; echo hi; } }`;
  try {
    await using server = await serve({ config: conf("one.log") });
    const { port } = server.addrs[0] as Deno.NetAddr;
    const first = await exchange(port, "");
    await server.waitForSessions(1);
    await server.reload({ config: conf("two.log") });
    const { port: port2 } = server.addrs[0] as Deno.NetAddr;
    const second = await exchange(port2, "");
    await server.waitForSessions(2);
    await server.close();
    assert.equal(Deno.readTextFileSync(`${dir}/one.log`), `${first.port}\n`);
    assert.equal(Deno.readTextFileSync(`${dir}/two.log`), `${second.port}\n`);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("serve() rejects a config whose access log cannot be opened, naming the directive", async () => {
  const err = await serve({
    config:
      "stream {\n server {\n listen 127.0.0.1:0;\n access_log /no/such/dir/a.log;\n echo; }\n}",
    file: "lib.conf",
  }).catch((e) => e);
  assert.ok(err instanceof LogFileOpenError, String(err));
  assert.ok(!(err instanceof ConfigError));
  assert.equal(err.name, "LogFileOpenError");
  assert.deepEqual([err.path, err.file, err.line], ["/no/such/dir/a.log", "lib.conf", 4]);
  assert.ok(err.cause instanceof Deno.errors.NotFound);
  assert.match(
    err.message,
    /^open\(\) "\/no\/such\/dir\/a\.log" failed \(No such file or directory\) for "access_log" in lib\.conf:4$/,
  );
});

Deno.test("reload() rejects with LogFileOpenError when a new echo_record file cannot be opened; the old config serves on", async () => {
  await using server = await serve({ server: "echo old;" });
  const err = await server.reload({
    config:
      "stream {\n echo_record /no/such/dir/r.jsonl;\n server { listen 127.0.0.1:0; echo new; }\n}",
    file: "lib.conf",
  }).catch((e) => e);
  assert.ok(err instanceof LogFileOpenError, String(err));
  assert.deepEqual([err.path, err.file, err.line], ["/no/such/dir/r.jsonl", "lib.conf", 2]);
  assert.match(err.message, /for "echo_record" in lib\.conf:2$/);
  const { reply } = await exchange(server.addrs[0].port, "");
  assert.equal(reply, "old\n");
});

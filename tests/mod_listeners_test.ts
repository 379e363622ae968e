/** Transcripts over every kind of listener a full config can have: Unix sockets and TLS. */
import assert from "node:assert/strict";
import { serve } from "../mod.ts";

const enc = new TextEncoder();
const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

Deno.test("a full config with a Unix socket: addrs names the path and the transcript its address", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/mock.sock`;
  try {
    {
      await using server = await serve({
        config: `stream { server { listen unix:${path}; echo_read_line; echo -n "+OK\\r\\n"; } }`,
      });
      const [addr] = server.addrs;
      assert.equal(addr.transport, "unix");
      assert.equal((addr as Deno.UnixAddr).path, path);
      const conn = await Deno.connect({ transport: "unix", path });
      await conn.write(enc.encode("PING\r\n"));
      assert.equal(await new Response(conn.readable).text(), "+OK\r\n");
      const [t] = await server.waitForSessions(1);
      assert.equal(text(t.received), "PING\r\n");
      assert.equal(t.localAddr.transport, "unix");
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

async function openssl(args: string[]): Promise<void> {
  const { success, stderr } = await new Deno.Command("openssl", {
    args,
    stdout: "null",
    stderr: "piped",
  }).output();
  if (!success) throw new Error(new TextDecoder().decode(stderr));
}

/** A throwaway CA and a localhost certificate it signed; returns the CA's PEM for the client. */
async function makeCerts(dir: string): Promise<string> {
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  await openssl([
    "req",
    "-x509",
    ...ec,
    "-keyout",
    `${dir}/ca.key`,
    "-out",
    `${dir}/ca.pem`,
    "-days",
    "1",
    "-subj",
    "/CN=stream-echo test CA",
  ]);
  await openssl([
    "req",
    ...ec,
    "-keyout",
    `${dir}/key.pem`,
    "-out",
    `${dir}/leaf.csr`,
    "-subj",
    "/CN=localhost",
  ]);
  await Deno.writeTextFile(`${dir}/leaf.ext`, "subjectAltName=DNS:localhost,IP:127.0.0.1\n");
  await openssl([
    "x509",
    "-req",
    "-in",
    `${dir}/leaf.csr`,
    "-CA",
    `${dir}/ca.pem`,
    "-CAkey",
    `${dir}/ca.key`,
    "-CAcreateserial",
    "-out",
    `${dir}/cert.pem`,
    "-days",
    "1",
    "-extfile",
    `${dir}/leaf.ext`,
  ]);
  return await Deno.readTextFile(`${dir}/ca.pem`);
}

Deno.test("over TLS the transcript holds the plaintext the client sent and got", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const ca = await makeCerts(dir);
    await using server = await serve({
      config: `
        stream {
          server {
            listen 127.0.0.1:0 ssl;
            ssl_certificate cert.pem;
            ssl_certificate_key key.pem;
            echo_read_line;
            echo -n "VALUE k 0 1\\r\\nv\\r\\nEND\\r\\n";
          }
        }`,
      file: `${dir}/tls.conf`,
    });
    const port = (server.addrs[0] as Deno.NetAddr).port;
    const conn = await Deno.connectTls({ hostname: "localhost", port, caCerts: [ca] });
    await conn.write(enc.encode("get k\r\n"));
    assert.equal(await new Response(conn.readable).text(), "VALUE k 0 1\r\nv\r\nEND\r\n");
    const [t] = await server.waitForSessions(1);
    assert.equal(text(t.received), "get k\r\n");
    assert.equal(text(t.sent), "VALUE k 0 1\r\nv\r\nEND\r\n");
    assert.equal(t.end, "eof");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

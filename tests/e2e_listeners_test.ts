/**
 * Every kind of listener, through the CLI: TLS with a certificate generated here, Unix sockets
 * (stale file replaced, live socket refused, file removed at exit), IPv6, and the TCP options
 * (backlog, so_keepalive, reuseport).
 */
import assert from "node:assert/strict";
import { CliProcess, exchange, oneServer, portOf, runCli, TempDir } from "./cli_harness.ts";
import { hasOpenssl, makeCertificates } from "./tls_certificates.ts";

const hasIPv6 = (() => {
  try {
    Deno.listen({ hostname: "::1", port: 0 }).close();
    return true;
  } catch {
    return false;
  }
})();

/** Reads a TLS connection to EOF, sending `line` once `trigger` has arrived. */
async function tlsTalk(conn: Deno.TlsConn, trigger: string, line: string) {
  const decoder = new TextDecoder();
  let got = "";
  let sent = false;
  const buf = new Uint8Array(4096);
  for (;;) {
    const n = await conn.read(buf);
    if (n === null) break;
    got += decoder.decode(buf.subarray(0, n));
    if (!sent && got.includes(trigger)) {
      sent = true;
      await conn.write(new TextEncoder().encode(line));
    }
  }
  conn.close();
  return got;
}

Deno.test({
  name: "listen ... ssl runs the steps over TLS with the configured certificate",
  ignore: !hasOpenssl,
  async fn() {
    using dir = new TempDir();
    const { ca } = makeCertificates(dir);
    const conf = dir.write(
      "tls.conf",
      `stream {
    ssl_certificate cert.pem;
    server {
        listen 127.0.0.1:0 ssl;
        ssl_certificate_key key.pem;
        echo one; echo two; echo three;
        echo_read_line;
        echo -n "got: "; echo_request_data;
        echo four; echo five;
    }
}
`,
    );
    await using p = new CliProcess(["serve", "-c", conf], { cwd: dir.path });
    const port = await p.port();
    const caCerts = [Deno.readTextFileSync(ca)];
    for (const hostname of ["localhost", "127.0.0.1"]) {
      const conn = await Deno.connectTls({ hostname, port, caCerts });
      assert.equal(
        await tlsTalk(conn, "three\n", "hello\n"),
        "one\ntwo\nthree\ngot: hello\nfour\nfive\n",
      );
    }
    // A client that does not trust the certificate fails its handshake; the server goes on.
    const untrusting = await Deno.connectTls({ hostname: "localhost", port });
    await assert.rejects(() => untrusting.read(new Uint8Array(10)));
    untrusting.close();
    const again = await Deno.connectTls({ hostname: "localhost", port, caCerts });
    assert.match(await tlsTalk(again, "three\n", "x\n"), /^one\n/);
    p.kill("SIGTERM");
    assert.equal((await p.exited()).code, 0);
    assert.doesNotMatch(p.stderr, /\[(error|alert|emerg)\]/);
  },
});

Deno.test({
  name: "a TLS reply of several steps does not stall on Nagle (each reply within 30 ms)",
  ignore: !hasOpenssl || Deno.build.os !== "linux",
  async fn() {
    using dir = new TempDir();
    makeCertificates(dir);
    const conf = dir.write(
      "tls.conf",
      oneServer(
        "ssl_certificate cert.pem; ssl_certificate_key key.pem; echo a; echo b; echo c; " +
          "echo_read_line; echo_request_data; echo d; echo e;",
        "listen 127.0.0.1:0 ssl;",
      ),
    );
    await using p = new CliProcess(["serve", "-c", conf], { cwd: dir.path });
    const port = await p.port();
    // Python's ssl client (Deno's own TLS client delays its first read by itself).
    const script = `
import socket, ssl, sys, time
ctx = ssl.create_default_context(cafile="ca.pem")
worst = 0
for i in range(5):
    s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", ${port})), server_hostname="localhost")
    t0 = time.monotonic(); got = b""; sent = False
    while True:
        d = s.recv(100)
        if not d: break
        got += d
        if not sent and got.endswith(b"c\\n"):
            worst = max(worst, time.monotonic() - t0)
            t0 = time.monotonic(); sent = True
            s.sendall(b"x\\n")
    worst = max(worst, time.monotonic() - t0)
    s.close()
    assert got == b"a\\nb\\nc\\nx\\nd\\ne\\n", got
print(int(worst * 1000))
`;
    const out = await new Deno.Command("python3", {
      args: ["-c", script],
      cwd: dir.path,
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.ok(out.success, new TextDecoder().decode(out.stderr));
    const worst = Number(new TextDecoder().decode(out.stdout).trim());
    assert.ok(
      worst < 30,
      `slowest reply (after the handshake, or after a request) took ${worst} ms`,
    );
    p.kill("SIGTERM");
    await p.exited();
  },
});

Deno.test("a unix socket listener serves, replaces a stale file, refuses a live one, and is removed at exit", async () => {
  using dir = new TempDir();
  const sock = dir.file("se.sock");
  const conf = dir.write(
    "unix.conf",
    oneServer("echo_read_line; echo_request_data; echo bye;", `listen unix:${sock};`),
  );

  // A process killed with SIGKILL leaves its socket file behind.
  {
    await using dead = new CliProcess(["serve", "-c", conf], { cwd: dir.path });
    assert.deepEqual(await dead.listening(1), [`unix:${sock}`]);
    dead.kill("SIGKILL");
    await dead.exited();
  }
  assert.ok(Deno.lstatSync(sock).isSocket, "the stale file is there");

  await using p = new CliProcess(["serve", "-c", conf], { cwd: dir.path });
  assert.deepEqual(await p.listening(1), [`unix:${sock}`]);
  assert.equal(await exchange({ transport: "unix", path: sock }, "hi\n"), "hi\nbye\n");
  await p.waitFor(/client unix: connected to unix:.*se\.sock/);

  // A second server on the same path finds the live socket and refuses to start.
  const second = await runCli(["serve", "-c", conf], dir.path);
  assert.equal(second.code, 1);
  assert.match(
    second.stderr,
    new RegExp(`\\[emerg\\] .*unix:${sock}.*a live socket answers there.* in ${conf}:3`),
  );
  assert.equal(await exchange({ transport: "unix", path: sock }, "still\n"), "still\nbye\n");

  p.kill("SIGTERM");
  assert.equal((await p.exited()).code, 0);
  assert.throws(() => Deno.lstatSync(sock), Deno.errors.NotFound);
});

Deno.test("a unix listener refuses to replace a file that is not a socket", async () => {
  using dir = new TempDir();
  const path = dir.write("plain.txt", "not a socket");
  const conf = dir.write("unix.conf", oneServer("echo hi;", `listen unix:${path};`));
  const r = await runCli(["serve", "-c", conf], dir.path);
  assert.equal(r.code, 1);
  assert.match(r.stderr, new RegExp(`bind\\(\\) to unix:${path} failed .* in ${conf}:3`));
  assert.equal(Deno.readTextFileSync(path), "not a socket");
});

Deno.test({
  name: "IPv6 listeners serve on [::1] and [::]",
  ignore: !hasIPv6,
  async fn() {
    using dir = new TempDir();
    const conf = dir.write(
      "v6.conf",
      oneServer('echo "six";', "listen [::1]:0; listen [::]:0;"),
    );
    await using p = new CliProcess(["serve", "-c", conf], { cwd: dir.path });
    const [loop, any] = await p.listening(2);
    assert.match(loop, /^\[::1\]:\d+$/);
    assert.match(any, /^\[::\]:\d+$/);
    assert.equal(await exchange({ hostname: "::1", port: portOf(loop) }), "six\n");
    assert.equal(await exchange({ hostname: "::1", port: portOf(any) }), "six\n");
    p.kill("SIGTERM");
    assert.equal((await p.exited()).code, 0);
  },
});

Deno.test("backlog, so_keepalive and reuseport are applied; two servers can share a reuseport port", async () => {
  using dir = new TempDir();
  const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = probe.addr.port;
  probe.close();
  const conf = dir.write(
    "opts.conf",
    oneServer("echo shared;", `listen 127.0.0.1:${port} backlog=16 so_keepalive=on reuseport;`),
  );
  await using a = new CliProcess(["serve", "-c", conf], { cwd: dir.path });
  await a.listening(1);
  await using b = new CliProcess(["serve", "-c", conf], { cwd: dir.path });
  await b.listening(1);
  assert.doesNotMatch(a.stderr + b.stderr, /reuseport" needs/);
  for (let i = 0; i < 4; i++) assert.equal(await exchange({ port }), "shared\n");
  a.kill("SIGTERM");
  assert.equal((await a.exited()).code, 0);
  assert.equal(await exchange({ port }), "shared\n", "the other process still serves");
  b.kill("SIGTERM");
  assert.equal((await b.exited()).code, 0);
});

Deno.test({
  name:
    "failed TLS handshakes are logged as nginx does, at the client error level, and harm nobody",
  ignore: !hasOpenssl,
  async fn() {
    using dir = new TempDir();
    const { ca } = makeCertificates(dir);
    const conf = dir.write(
      "tls.conf",
      oneServer(
        "ssl_certificate cert.pem; ssl_certificate_key key.pem; echo_read_timeout 300ms; echo hi;",
        "listen 127.0.0.1:0 ssl;",
      ),
    );
    await using p = new CliProcess(["serve", "-c", conf], { cwd: dir.path });
    const port = await p.port();
    // Plain text where a ClientHello is expected.
    const plain = await Deno.connect({ hostname: "127.0.0.1", port });
    await plain.write(new TextEncoder().encode("GET / HTTP/1.0\r\n\r\n"));
    await new Response(plain.readable).arrayBuffer().catch(() => {});
    await p.waitFor(
      /\[info\] \d+#0: \*1 SSL_do_handshake\(\) failed \(.+\) while SSL handshaking, client: 127\.0\.0\.1, server: 127\.0\.0\.1:\d+/,
    );
    // A client that connects and says nothing: the handshake times out (echo_read_timeout).
    const t0 = performance.now();
    const silent = await Deno.connect({ hostname: "127.0.0.1", port });
    const eof = new Response(silent.readable).arrayBuffer().then(() => "eof", () => "eof");
    let guard: ReturnType<typeof setTimeout> | undefined;
    const outcome = await Promise.race([
      eof,
      new Promise<string>((r) => guard = setTimeout(() => r("still open after 5 s"), 5000)),
    ]);
    clearTimeout(guard);
    if (outcome !== "eof") silent.close();
    assert.equal(outcome, "eof", "the server closes a client that never completes the handshake");
    const ms = performance.now() - t0;
    assert.ok(ms >= 250 && ms < 2000, `silent client closed after ${ms.toFixed(0)} ms`);
    await p.waitFor(/\*2 client timed out \(110: Connection timed out\) while SSL handshaking/);
    // A client that goes away in the middle.
    (await Deno.connect({ hostname: "127.0.0.1", port })).close();
    await p.waitFor(/\*3 peer closed connection in SSL handshake .*while SSL handshaking/);
    // And a proper client is served.
    const conn = await Deno.connectTls({
      hostname: "localhost",
      port,
      caCerts: [Deno.readTextFileSync(ca)],
    });
    assert.equal(await new Response(conn.readable).text(), "hi\n");
    p.kill("SIGTERM");
    assert.equal((await p.exited()).code, 0);
    assert.doesNotMatch(p.stderr, /\[(error|crit|alert|emerg)\]/);
  },
});

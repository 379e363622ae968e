/** listeners.ts helpers: reload keys, address formatting, OS error wording, opening errors. */
import assert from "node:assert/strict";
import type { Listen, TlsSettings } from "../src/config/types.ts";
import {
  formatAddr,
  listenerKey,
  openListener,
  osReason,
  sameTls,
} from "../src/server/listeners.ts";
import { ListenError } from "../src/server/listen_error.ts";
import { captureSocket } from "../src/server/socket_fd.ts";

const pos = { file: "t.conf", line: 7 };
const tcp = (over: Partial<Listen & { kind: "tcp" }> = {}): Listen => ({
  kind: "tcp",
  address: "127.0.0.1:0",
  hostname: "127.0.0.1",
  port: 0,
  ssl: false,
  reusePort: false,
  pos,
  ...over,
});

Deno.test("listenerKey is equal exactly when a socket can be kept across a reload", () => {
  const base = listenerKey(tcp());
  assert.equal(listenerKey(tcp({ pos: { file: "other.conf", line: 1 } })), base);
  assert.equal(listenerKey(tcp({ keepAlive: true })), base, "keepalive is per connection");
  for (
    const changed of [
      tcp({ port: 1 }),
      tcp({ hostname: "0.0.0.0" }),
      tcp({ ssl: true }),
      tcp({ reusePort: true }),
      tcp({ backlog: 16 }),
    ]
  ) {
    assert.notEqual(listenerKey(changed), base);
  }
  const unix: Listen = { kind: "unix", address: "unix:/a", path: "/a", ssl: false, pos };
  assert.notEqual(listenerKey(unix), listenerKey({ ...unix, path: "/b" }));
});

Deno.test("sameTls compares certificate and key text, not file names", () => {
  const t = (cert: string, key: string): TlsSettings => ({
    certFile: "c.pem",
    keyFile: "k.pem",
    cert,
    key,
    pos,
  });
  assert.ok(sameTls(undefined, undefined));
  assert.ok(sameTls(t("C", "K"), { ...t("C", "K"), certFile: "elsewhere.pem" }));
  assert.ok(!sameTls(t("C", "K"), t("C2", "K")));
  assert.ok(!sameTls(t("C", "K"), t("C", "K2")));
  assert.ok(!sameTls(t("C", "K"), undefined));
});

Deno.test("formatAddr writes addresses as nginx logs them", () => {
  assert.equal(formatAddr({ transport: "tcp", hostname: "127.0.0.1", port: 80 }), "127.0.0.1:80");
  assert.equal(formatAddr({ transport: "tcp", hostname: "::1", port: 80 }), "[::1]:80");
  assert.equal(formatAddr({ transport: "unix", path: "/run/s.sock" }), "unix:/run/s.sock");
});

Deno.test("osReason turns Deno's '(os error N)' into nginx's 'N: reason'", () => {
  assert.equal(
    osReason(new Error("Address already in use (os error 98)")),
    "98: Address already in use",
  );
  assert.equal(osReason(new Error("something else")), "something else");
  assert.equal(osReason("plain"), "plain");
});

Deno.test("openListener binds port 0, and a taken port is a ListenError naming the directive", async () => {
  const bound = await openListener(tcp());
  try {
    const port = (bound.addr as Deno.NetAddr).port;
    assert.notEqual(port, 0);
    await assert.rejects(
      () => openListener(tcp({ port, address: `127.0.0.1:${port}` })),
      (e: unknown) => {
        assert.ok(e instanceof ListenError);
        assert.equal(e.file, "t.conf");
        assert.equal(e.line, 7);
        assert.equal(e.reason, "98: Address already in use");
        return true;
      },
    );
  } finally {
    bound.close();
    bound.close(); // idempotent
  }
});

Deno.test("openListener refuses ssl without a certificate and ssl on a unix socket", async () => {
  await assert.rejects(() => openListener(tcp({ ssl: true })), ListenError);
  const tls: TlsSettings = { certFile: "c", keyFile: "k", cert: "", key: "", pos };
  await assert.rejects(
    () =>
      openListener({
        kind: "unix",
        address: "unix:/tmp/x.sock",
        path: "/tmp/x.sock",
        ssl: true,
        pos,
      }, {
        tls,
      }),
    /ssl is not supported on unix sockets/,
  );
});

Deno.test("a plain TCP listener has TCP_NODELAY, and the connections it accepts inherit it", async () => {
  const ffi = Deno.permissions.querySync({ name: "ffi" }).state === "granted";
  if (!ffi || Deno.build.os !== "linux") return console.log("skipped: needs --allow-ffi on Linux");
  const lib = Deno.dlopen("libc.so.6", {
    getsockopt: { parameters: ["i32", "i32", "i32", "buffer", "buffer"], result: "i32" },
  });
  const bound = await openListener(tcp());
  try {
    assert.equal(bound.noDelay, true);
    const port = (bound.addr as Deno.NetAddr).port;
    const client = await Deno.connect({ hostname: "127.0.0.1", port });
    const conn = await bound.listener.accept();
    const socket = captureSocket(conn);
    assert.ok(socket);
    const value = new Int32Array(1);
    const len = new Uint32Array([4]);
    assert.equal(lib.symbols.getsockopt(socket.fd, 6, 1, value, len), 0); // IPPROTO_TCP, TCP_NODELAY
    assert.notEqual(value[0], 0, "the accepted socket has Nagle off without setNoDelay");
    socket.release();
    conn.close();
    client.close();
  } finally {
    bound.close();
    lib.close();
  }
  // Under reuseport another listening socket of this process may hold the port: not relied on.
  const shared = await openListener(tcp({ reusePort: true }));
  shared.close();
  assert.equal(shared.noDelay, false);
});

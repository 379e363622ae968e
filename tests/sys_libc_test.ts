import assert from "node:assert/strict";
import { connFd, libc, netAddrKey, sockKey } from "../src/sys/libc.ts";

const tcp = (hostname: string, port: number): Deno.NetAddr => ({
  transport: "tcp",
  hostname,
  port,
});

Deno.test("netAddrKey writes IPv4 as is and IPv6 as eight plain hex groups", () => {
  const cases: [string, string | null][] = [
    ["127.0.0.1", "127.0.0.1|80"],
    ["::1", "0:0:0:0:0:0:0:1|80"],
    ["[::1]", "0:0:0:0:0:0:0:1|80"],
    ["::", "0:0:0:0:0:0:0:0|80"],
    ["fe80::1%eth0", "fe80:0:0:0:0:0:0:1|80"],
    ["2001:db8:0:0:1:0:0:1", "2001:db8:0:0:1:0:0:1|80"],
    ["2001:DB8::0001", "2001:db8:0:0:0:0:0:1|80"],
    ["::ffff:127.0.0.1", "0:0:0:0:0:ffff:7f00:1|80"],
    ["localhost", null],
    ["1::2::3", null],
    ["1:2:3:4:5:6:7:8:9", null],
  ];
  for (const [host, key] of cases) assert.equal(netAddrKey(tcp(host, 80)), key, host);
});

Deno.test("connFd finds a connection by its full addresses, and no other", async () => {
  const lib = libc();
  if (lib === null) return; // needs --allow-ffi on Linux or macOS
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const client = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
  const conn = await listener.accept();
  try {
    const local = conn.localAddr as Deno.NetAddr;
    const remote = conn.remoteAddr as Deno.NetAddr;
    const fd = connFd(lib, local, remote);
    assert.ok(fd !== null);
    assert.equal(sockKey(lib.getsockname, fd), netAddrKey(local));
    assert.equal(sockKey(lib.getpeername, fd), netAddrKey(remote));
    // Same ports, another client address: not this socket.
    assert.equal(connFd(lib, local, { ...remote, hostname: "127.0.0.2" }), null);
  } finally {
    conn.close();
    client.close();
    listener.close();
  }
});

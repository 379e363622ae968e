import assert from "node:assert/strict";
import { acceptedFd, findNewFd, libc, lowestFreeFd, netAddrKey, sockKey } from "../src/sys/libc.ts";

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

Deno.test("acceptedFd finds a just-accepted connection by its full addresses, and no other", async () => {
  const lib = libc();
  if (lib === null) return; // needs --allow-ffi on Linux or macOS
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const client = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
  const conn = await listener.accept();
  try {
    const local = conn.localAddr as Deno.NetAddr;
    const remote = conn.remoteAddr as Deno.NetAddr;
    const fd = acceptedFd(lib, local, remote);
    assert.ok(fd !== null);
    assert.equal(sockKey(lib.getsockname, fd), netAddrKey(local));
    assert.equal(sockKey(lib.getpeername, fd), netAddrKey(remote));
    // Same ports, another client address: not this socket.
    assert.equal(acceptedFd(lib, local, { ...remote, hostname: "127.0.0.2" }), null);
  } finally {
    conn.close();
    client.close();
    listener.close();
  }
});

Deno.test("lowestFreeFd is the number the next descriptor gets", () => {
  const lib = libc();
  if (lib === null) return;
  const low = lowestFreeFd(lib);
  const file = Deno.openSync(Deno.execPath());
  try {
    assert.notEqual(lowestFreeFd(lib), low); // the file took it
    assert.ok(findNewFd(lib, (fd) => fd === low) === low);
  } finally {
    file.close();
  }
});

Deno.test("findNewFd asks a bounded number of candidates, however many are open", () => {
  const lib = libc();
  if (lib === null) return;
  let asked = 0;
  assert.equal(findNewFd(lib, () => (asked++, false)), null);
  assert.ok(asked <= 32, `asked ${asked}`);
  // Descriptors known to be others' are stepped over without asking.
  const low = lowestFreeFd(lib);
  const known = new Set<number>();
  for (let fd = 3; fd < low - 1; fd++) known.add(fd);
  asked = 0;
  assert.equal(findNewFd(lib, (fd) => (asked++, fd === 3), known), null);
  assert.ok(asked <= 32);
});

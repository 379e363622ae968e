import assert from "node:assert/strict";
import {
  acceptedFd,
  findNewFd,
  libc,
  lowestFreeFd,
  netAddrKey,
  RawAddr,
  sockKey,
} from "../src/sys/libc.ts";

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
  assert.ok(asked <= 64, `asked ${asked}`);
  // Descriptors known to be others' are stepped over without asking.
  const low = lowestFreeFd(lib);
  const known = new Set<number>();
  for (let fd = 3; fd < low - 1; fd++) known.add(fd);
  asked = 0;
  assert.equal(findNewFd(lib, (fd) => (asked++, fd === 3), known), null);
  assert.ok(asked <= 64);
});

Deno.test("RawAddr holds an address as the kernel writes it, and nothing for a name", () => {
  const cases: [string, number[] | null][] = [
    ["127.0.0.1", [127, 0, 0, 1]],
    ["10.1.255.0", [10, 1, 255, 0]],
    ["::1", [...Array(15).fill(0), 1]],
    ["::ffff:127.0.0.1", [...Array(10).fill(0), 255, 255, 127, 0, 0, 1]],
    ["256.1.1.1", null],
    ["1.2.3", null],
    ["localhost", null],
  ];
  for (const [host, bytes] of cases) {
    const raw = RawAddr.from(tcp(host, 80));
    assert.deepEqual(raw ? [...raw.bytes] : null, bytes, host);
    if (raw) assert.equal(raw.port, 80);
  }
});

Deno.test("acceptedFd finds IPv4 and IPv6 connections, with other connections open", async () => {
  const lib = libc();
  if (lib === null) return;
  for (const hostname of ["127.0.0.1", "::1"]) {
    let listener: Deno.TcpListener;
    try {
      listener = Deno.listen({ hostname, port: 0 });
    } catch {
      console.log(`skipped ${hostname}: cannot listen there`);
      continue;
    }
    const open: Deno.Conn[] = [];
    try {
      for (let i = 0; i < 5; i++) {
        const client = await Deno.connect({ hostname, port: listener.addr.port });
        const conn = await listener.accept();
        open.push(client, conn);
        const fd = acceptedFd(lib, conn.localAddr as Deno.NetAddr, conn.remoteAddr as Deno.NetAddr);
        assert.ok(fd !== null, hostname);
        assert.equal(sockKey(lib.getpeername, fd), netAddrKey(conn.remoteAddr as Deno.NetAddr));
      }
    } finally {
      for (const c of open) c.close();
      listener.close();
    }
  }
});

Deno.test("findNewFd reaches a new socket 30 descriptors below the lowest free one", () => {
  const lib = libc();
  if (lib === null) return;
  // Descriptors above the new socket that are someone else's (not known to be ours) each cost
  // a probe: most of the budget goes below the lowest free number, where the socket was put.
  const files = Array.from({ length: 40 }, () => Deno.openSync(Deno.execPath()));
  try {
    const target = lowestFreeFd(lib) - 30;
    assert.equal(findNewFd(lib, (fd) => fd === target), target);
  } finally {
    for (const f of files) f.close();
  }
});

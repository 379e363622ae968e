import assert from "node:assert/strict";
import { ConfigError } from "../src/config/errors.ts";
import { listenKey, parseListen } from "../src/config/listen.ts";
import type { Listen } from "../src/config/types.ts";

const pos = { file: "l.conf", line: 7 };

function listen(...args: string[]): Listen {
  return parseListen(args, pos).listen;
}

const addressCases: { name: string; args: string[]; want: Partial<Listen> }[] = [
  {
    name: "a bare port listens on all IPv4 addresses",
    args: ["1234"],
    want: { kind: "tcp", hostname: "0.0.0.0", port: 1234 },
  },
  {
    name: "ADDR:PORT listens on that address",
    args: ["127.0.0.1:80"],
    want: { hostname: "127.0.0.1", port: 80 },
  },
  {
    name: "*:PORT listens on all IPv4 addresses",
    args: ["*:8080"],
    want: { hostname: "0.0.0.0", port: 8080 },
  },
  {
    name: "[IPv6]:PORT listens on that IPv6 address",
    args: ["[::1]:9000"],
    want: { hostname: "::1", port: 9000 },
  },
  {
    name: "[::]:PORT listens on all IPv6 addresses",
    args: ["[::]:9000"],
    want: { hostname: "::", port: 9000 },
  },
  {
    name: "localhost:PORT listens on 127.0.0.1",
    args: ["localhost:1"],
    want: { hostname: "127.0.0.1", port: 1 },
  },
  {
    name: "a host name is kept in lower case",
    args: ["Example.COM:5"],
    want: { hostname: "example.com", port: 5 },
  },
  { name: "port 0 is allowed", args: ["127.0.0.1:0"], want: { port: 0 } },
  { name: "port 65535 is allowed", args: ["65535"], want: { port: 65535 } },
  {
    name: "unix:/path listens on a unix socket",
    args: ["unix:/tmp/se.sock"],
    want: { kind: "unix", path: "/tmp/se.sock" },
  },
  { name: "the address is kept as written", args: ["*:8080"], want: { address: "*:8080" } },
  { name: "listens without ssl by default", args: ["1"], want: { ssl: false, reusePort: false } },
  { name: "ssl turns TLS on", args: ["1", "ssl"], want: { ssl: true } },
  { name: "backlog=N sets the backlog", args: ["1", "backlog=511"], want: { backlog: 511 } },
  { name: "reuseport sets SO_REUSEPORT", args: ["1", "reuseport"], want: { reusePort: true } },
  {
    name: "so_keepalive=on turns keepalive on",
    args: ["1", "so_keepalive=on"],
    want: { keepAlive: true },
  },
  {
    name: "so_keepalive=off turns keepalive off",
    args: ["1", "so_keepalive=off"],
    want: { keepAlive: false },
  },
  {
    name: "ssl works on unix sockets",
    args: ["unix:/s", "ssl", "backlog=5"],
    want: { kind: "unix", ssl: true, backlog: 5 },
  },
  { name: "the listen keeps its position", args: ["1"], want: { pos } },
];

for (const c of addressCases) {
  Deno.test(`listen: ${c.name}`, () => {
    const got = listen(...c.args) as unknown as Record<string, unknown>;
    for (const [k, v] of Object.entries(c.want)) assert.deepEqual(got[k], v, k);
  });
}

const noticeCases: [string[], string][] = [
  [["1", "bind"], '"listen" parameter "bind" is accepted but has no effect in stream-echo'],
  [
    ["1", "rcvbuf=1k"],
    '"listen" parameter "rcvbuf=1k" is accepted but has no effect in stream-echo',
  ],
  [
    ["1", "so_keepalive=30m::10"],
    '"listen" parameter "so_keepalive=30m::10": keepalive timings are not applied, only keepalive itself is turned on',
  ],
  [["unix:/s", "reuseport"], '"reuseport" and "so_keepalive" have no effect on "unix:/s"'],
];

for (const [args, message] of noticeCases) {
  Deno.test(`listen ${args.join(" ")} is accepted with a notice`, () => {
    assert.deepEqual(parseListen(args, pos).notices, [message]);
  });
}

const errorCases: [string[], string][] = [
  [["65536"], 'invalid port in "65536" of the "listen" directive'],
  [["1.2.3.4:99999"], 'invalid port in "1.2.3.4:99999" of the "listen" directive'],
  [["-1"], 'invalid port in "-1" of the "listen" directive'],
  [["127.0.0.1:x"], 'invalid port in "127.0.0.1:x" of the "listen" directive'],
  [["127.0.0.1:"], 'invalid port in "127.0.0.1:" of the "listen" directive'],
  [["127.0.0.1"], 'no port in "127.0.0.1" of the "listen" directive'],
  [["localhost"], 'no port in "localhost" of the "listen" directive'],
  [["[::1]"], 'no port in "[::1]" of the "listen" directive'],
  [["[::1]80"], 'invalid port in "[::1]80" of the "listen" directive'],
  [["[zz]:80"], 'invalid IPv6 address in "[zz]:80" of the "listen" directive'],
  [["[::1:80"], 'invalid IPv6 address in "[::1:80" of the "listen" directive'],
  [["999.1.1.1:80"], 'invalid host in "999.1.1.1:80" of the "listen" directive'],
  [["bad_host:80"], 'invalid host in "bad_host:80" of the "listen" directive'],
  [[":80"], 'invalid host in ":80" of the "listen" directive'],
  [["unix:"], 'no path in the unix domain socket in "unix:" of the "listen" directive'],
  [["1", "backlog=x"], 'invalid backlog "backlog=x"'],
  [["1", "backlog=0"], 'invalid backlog "backlog=0"'],
  [["1", "so_keepalive=maybe"], 'invalid so_keepalive value: "maybe"'],
  [["1", "http2"], 'the invalid "http2" parameter'],
  [["1", "udp"], 'the "udp" parameter of the "listen" directive is not supported by stream-echo'],
  [
    ["1", "proxy_protocol"],
    'the "proxy_protocol" parameter of the "listen" directive is not supported by stream-echo',
  ],
];

for (const [args, message] of errorCases) {
  Deno.test(`listen ${args.join(" ")} is an error: ${message}`, () => {
    assert.throws(() => parseListen(args, pos), (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.equal(err.message, `${message} in l.conf:7`);
      return true;
    });
  });
}

const keyCases: [string, string | null][] = [
  ["80", "0.0.0.0:80"],
  ["*:80", "0.0.0.0:80"],
  ["localhost:80", "127.0.0.1:80"],
  ["[::1]:80", "[::1]:80"],
  ["unix:/s", "unix:/s"],
  ["127.0.0.1:0", null],
];

for (const [address, key] of keyCases) {
  Deno.test(`listenKey() of ${address} is ${key}`, () => {
    assert.equal(listenKey(listen(address)), key);
  });
}

Deno.test("a listen address is kept as written, its bytes decoded as UTF-8", () => {
  // Config text is a binary string: "é" arrives as its two UTF-8 bytes.
  const { listen } = parseListen(["unix:/tmp/caf\xc3\xa9.sock"], { file: "se.conf", line: 1 });
  assert.equal(listen.address, "unix:/tmp/café.sock");
  assert.ok(listen.kind === "unix" && listen.path === "/tmp/café.sock");
});

/** The reload decision (wanted vs open listeners -> keep, open, close), as a table. */
import assert from "node:assert/strict";
import type { Listen, TlsSettings } from "../src/config/types.ts";
import { openFacts, planReload, type ReloadPlan, wantedFacts } from "../src/server/reload_plan.ts";

const pos = { file: "se.conf", line: 1 };

/** `listen HOST:PORT [ssl] [reuseport]`. */
function tcp(address: string, flags: { ssl?: boolean; reusePort?: boolean } = {}): Listen {
  const i = address.lastIndexOf(":");
  return {
    kind: "tcp",
    address,
    hostname: address.slice(0, i).replace(/^\[|\]$/g, "") || "0.0.0.0",
    port: Number(address.slice(i + 1)),
    ssl: flags.ssl ?? false,
    reusePort: flags.reusePort ?? false,
    pos,
  };
}

/** `listen unix:PATH`. */
function unix(path: string): Listen {
  return { kind: "unix", address: `unix:${path}`, path, ssl: false, pos };
}

function cert(name: string): TlsSettings {
  return { certFile: `${name}.pem`, keyFile: `${name}.key`, cert: name, key: name, pos };
}

/** An open listener: the listen line it was opened for and the port it got. */
function opened(listen: Listen, port?: number, tls?: TlsSettings) {
  const addr: Deno.Addr = listen.kind === "unix"
    ? { transport: "unix", path: listen.path }
    : { transport: "tcp", hostname: listen.hostname, port: port ?? listen.port };
  return openFacts(listen, addr, tls);
}

const cases: {
  name: string;
  open: ReturnType<typeof opened>[];
  wanted: [Listen, TlsSettings?][];
  plan: ReloadPlan;
}[] = [
  {
    name: "a first start opens everything",
    open: [],
    wanted: [[tcp("127.0.0.1:1000")], [unix("/tmp/a.sock")]],
    plan: {
      keep: [],
      open: [{ wanted: 0, closeFirst: [] }, { wanted: 1, closeFirst: [] }],
      close: [],
    },
  },
  {
    name: "unchanged listeners are kept, whatever their order in the new config",
    open: [opened(tcp("127.0.0.1:1000")), opened(tcp("127.0.0.1:2000"))],
    wanted: [[tcp("127.0.0.1:2000")], [tcp("127.0.0.1:1000")]],
    plan: { keep: [{ wanted: 0, open: 1 }, { wanted: 1, open: 0 }], open: [], close: [] },
  },
  {
    name: "a removed listener is closed, an added one opened",
    open: [opened(tcp("127.0.0.1:1000")), opened(tcp("127.0.0.1:2000"))],
    wanted: [[tcp("127.0.0.1:1000")], [tcp("127.0.0.1:3000")]],
    plan: { keep: [{ wanted: 0, open: 0 }], open: [{ wanted: 1, closeFirst: [] }], close: [1] },
  },
  {
    name: "several port-0 lines are matched up in order",
    open: [opened(tcp("127.0.0.1:0"), 40001), opened(tcp("127.0.0.1:0"), 40002)],
    wanted: [[tcp("127.0.0.1:0")], [tcp("127.0.0.1:0")]],
    plan: { keep: [{ wanted: 0, open: 0 }, { wanted: 1, open: 1 }], open: [], close: [] },
  },
  {
    name: "a port-0 line rewritten as the port it got keeps its socket",
    open: [opened(tcp("127.0.0.1:0"), 40001), opened(tcp("127.0.0.1:0"), 40002)],
    wanted: [[tcp("127.0.0.1:40002")]],
    plan: { keep: [{ wanted: 0, open: 1 }], open: [], close: [0] },
  },
  {
    name: "a new port-0 line never waits for an old listener",
    open: [opened(tcp("127.0.0.1:1000"))],
    wanted: [[tcp("127.0.0.1:0", { reusePort: true })]],
    plan: { keep: [], open: [{ wanted: 0, closeFirst: [] }], close: [0] },
  },
  {
    name: "a changed certificate reopens the listener after closing the old one",
    open: [opened(tcp("127.0.0.1:1000", { ssl: true }), 1000, cert("old"))],
    wanted: [[tcp("127.0.0.1:1000", { ssl: true }), cert("new")]],
    plan: { keep: [], open: [{ wanted: 0, closeFirst: [0] }], close: [0] },
  },
  {
    name: "the same certificate keeps the TLS listener",
    open: [opened(tcp("127.0.0.1:1000", { ssl: true }), 1000, cert("a"))],
    wanted: [[tcp("127.0.0.1:1000", { ssl: true }), cert("a")]],
    plan: { keep: [{ wanted: 0, open: 0 }], open: [], close: [] },
  },
  {
    name: "127.0.0.1:80 becoming *:80 closes the old one first",
    open: [opened(tcp("127.0.0.1:80"))],
    wanted: [[tcp("*:80")]],
    plan: { keep: [], open: [{ wanted: 0, closeFirst: [0] }], close: [0] },
  },
  {
    name: "a changed socket option (reuseport) reopens on the same port",
    open: [opened(tcp("127.0.0.1:1000"))],
    wanted: [[tcp("127.0.0.1:1000", { reusePort: true })]],
    plan: { keep: [], open: [{ wanted: 0, closeFirst: [0] }], close: [0] },
  },
  {
    name: "listeners that clash with nothing are opened before those that close an old one",
    open: [opened(tcp("127.0.0.1:80"))],
    wanted: [[tcp("*:80")], [tcp("127.0.0.1:81")]],
    plan: {
      keep: [],
      open: [{ wanted: 1, closeFirst: [] }, { wanted: 0, closeFirst: [0] }],
      close: [0],
    },
  },
  {
    name: "a Unix socket is kept by path; a new path opens beside the old",
    open: [opened(unix("/tmp/a.sock")), opened(unix("/tmp/b.sock"))],
    wanted: [[unix("/tmp/b.sock")], [unix("/tmp/c.sock")]],
    plan: { keep: [{ wanted: 0, open: 1 }], open: [{ wanted: 1, closeFirst: [] }], close: [0] },
  },
  {
    name: "TCP and Unix listeners never clash",
    open: [opened(unix("/tmp/a.sock"))],
    wanted: [[tcp("127.0.0.1:1000")]],
    plan: { keep: [], open: [{ wanted: 0, closeFirst: [] }], close: [0] },
  },
  {
    name: "an empty config closes everything",
    open: [opened(tcp("127.0.0.1:1000")), opened(unix("/tmp/a.sock"))],
    wanted: [],
    plan: { keep: [], open: [], close: [0, 1] },
  },
];

for (const c of cases) {
  Deno.test(`planReload: ${c.name}`, () => {
    const wanted = c.wanted.map(([listen, tls]) => wantedFacts(listen, tls));
    assert.deepEqual(planReload(c.open, wanted), c.plan);
  });
}

Deno.test("planReload is pure: same input, same plan, inputs untouched", () => {
  const open = [opened(tcp("127.0.0.1:0"), 40001)];
  const wanted = [wantedFacts(tcp("127.0.0.1:40001"))];
  const before = structuredClone({ open, wanted });
  assert.deepEqual(planReload(open, wanted), planReload(open, wanted));
  assert.deepEqual({ open, wanted }, before);
});

/** The worker group's pure parts: how many workers, and the config each one serves. */
import assert from "node:assert/strict";
import { parseConfig } from "../src/config/loader.ts";
import { createLogger } from "../src/log/logger.ts";
import {
  chooseWorkers,
  lowestLevel,
  MAX_WORKERS,
  reusePortMissing,
  sharedPorts,
  workerConfig,
  workerCount,
} from "../src/lifecycle/workers.ts";
import { isWorkerThread } from "../src/lifecycle/worker_protocol.ts";

Deno.test("workerCount: a number is kept, auto is the CPU count, both bounded", () => {
  const cases: [number | "auto", number, number][] = [
    [1, 8, 1],
    [4, 8, 4],
    ["auto", 8, 8],
    ["auto", 0, 1],
    [1000, 8, MAX_WORKERS],
  ];
  for (const [setting, cpus, want] of cases) {
    assert.equal(workerCount(setting, cpus), want, `${setting} with ${cpus} CPUs`);
  }
});

Deno.test("reusePortMissing: only Linux spreads connections over sockets", () => {
  assert.match(reusePortMissing("darwin")!, /only on Linux/);
  assert.match(reusePortMissing("windows")!, /only on Linux/);
});

const config = parseConfig(`stream {
    server { listen 127.0.0.1:0; listen unix:/tmp/x.sock; echo a; }
    server { listen 127.0.0.1:7000 reuseport; listen [::1]:0; echo b; }
}`);

Deno.test("sharedPorts: every TCP listener gets reusePort, Unix ones are left alone", () => {
  const listens = sharedPorts(config).servers.flatMap((s) => s.listen);
  assert.deepEqual(
    listens.map((l) => l.kind === "tcp" ? l.reusePort : "unix"),
    [true, "unix", true, true],
  );
  assert.equal(
    config.servers[0].listen[0].kind === "tcp" && config.servers[0].listen[0].reusePort,
    false,
    "the input is not changed",
  );
});

Deno.test("workerConfig: ports are the main thread's bound ones, Unix listeners stay with the main thread", () => {
  const bound: Deno.Addr[] = [
    { transport: "tcp", hostname: "127.0.0.1", port: 40001 },
    { transport: "unix", path: "/tmp/x.sock" },
    { transport: "tcp", hostname: "127.0.0.1", port: 7000 },
    { transport: "tcp", hostname: "::1", port: 40002 },
  ];
  const w = workerConfig(sharedPorts(config), bound);
  assert.deepEqual(
    w.servers.map((s) =>
      s.listen.map((l) => l.kind === "tcp" ? `${l.hostname}:${l.port}` : l.path)
    ),
    [["127.0.0.1:40001"], ["127.0.0.1:7000", "::1:40002"]],
  );
  assert.deepEqual(structuredClone(w), w, "a worker's config is plain, cloneable data");
});

Deno.test("lowestLevel: the least severe level the error log writes", () => {
  assert.equal(lowestLevel(createLogger(() => {}, { level: "notice" })), "notice");
  assert.equal(lowestLevel(createLogger(() => {}, { level: "debug" })), "debug");
});

Deno.test("isWorkerThread is false on the main thread", () => {
  assert.equal(isWorkerThread(), false);
});

Deno.test("chooseWorkers: worker_processes, or one worker and a notice saying why", () => {
  const cases: { conf: string; missing?: string; count: number; notices: RegExp[] }[] = [
    { conf: "stream { server { listen 127.0.0.1:0; echo a; } }", count: 1, notices: [] },
    {
      conf: "worker_processes 3; stream { server { listen 127.0.0.1:0; } }",
      count: 3,
      notices: [],
    },
    {
      conf: "worker_processes 3; stream { server { listen 127.0.0.1:0; } }",
      missing: "reusePort needs Deno's --unstable-net flag",
      count: 1,
      notices: [/"worker_processes" is 3, but reusePort needs .*: one worker serves/],
    },
    {
      conf: "worker_processes 2; stream { server { listen unix:/tmp/a.sock; } }",
      count: 1,
      notices: [/"worker_processes" is 2, but no TCP listener can be shared: one worker serves/],
    },
    {
      conf:
        "worker_processes 2; stream { server { listen 127.0.0.1:0; listen unix:/tmp/a.sock; } }",
      count: 2,
      notices: [/"listen unix:\/tmp\/a\.sock" is served by one worker .* in t\.conf:1/],
    },
    {
      conf: "worker_processes 100; stream { server { listen 127.0.0.1:0; } }",
      count: MAX_WORKERS,
      notices: [/"worker_processes" is 100: 64 workers serve, the most there can be/],
    },
  ];
  for (const c of cases) {
    const got = chooseWorkers(parseConfig(c.conf, { file: "t.conf" }), () => c.missing);
    assert.equal(got.count, c.count, c.conf);
    assert.equal(got.notices.length, c.notices.length, `${c.conf}: ${got.notices}`);
    c.notices.forEach((re, i) => assert.match(got.notices[i], re));
  }
});

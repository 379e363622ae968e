/**
 * What the CLI writes about sessions, read back from the files it writes and checked against the
 * client's own view of each exchange: the bytes it sent and received, its own address and port.
 * Access logs (each escape mode), recordings, the ready file, hex dumps, the per-session info
 * line, JSON error logs and --exit-after.
 */
import assert from "node:assert/strict";
import { CliProcess, readToEnd, TempDir } from "./cli_harness.ts";
import { hasOpenssl, makeCertificates } from "./tls_certificates.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

/** What one client saw of its exchange. */
interface ClientView {
  /** Its own address (the server's remote address). */
  local: Deno.Addr;
  sent: Uint8Array;
  received: Uint8Array;
}

/** Connects, sends `data`, half-closes when asked, reads to EOF. */
async function client(
  target: Deno.ConnectOptions | Deno.UnixConnectOptions,
  data: Uint8Array,
  options: { closeWrite?: boolean } = {},
): Promise<ClientView> {
  const conn = await Deno.connect(target as Deno.ConnectOptions);
  const local = conn.localAddr;
  let off = 0;
  while (off < data.length) off += await conn.write(data.subarray(off));
  if (options.closeWrite) await conn.closeWrite();
  return { local, sent: data, received: await readToEnd(conn) };
}

/** Reads a file once it has `n` lines (the server writes asynchronously), within `timeout`. */
async function lines(path: string, n: number, timeout = 5000): Promise<string[]> {
  const deadline = Date.now() + timeout;
  for (;;) {
    let text = "";
    try {
      text = Deno.readTextFileSync(path);
    } catch { /* not there yet */ }
    const got = text.split("\n").filter((l) => l !== "");
    if (got.length >= n) return got;
    if (Date.now() > deadline) {
      throw new Error(`${path}: wanted ${n} lines within ${timeout} ms, got:\n${text}`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Waits for the ready file and returns it parsed. */
/** `serve -c se.conf` in `dir`, writing ready.json, exiting after one session. */
function serveOnce(dir: TempDir): CliProcess {
  return new CliProcess(
    ["serve", "-c", "se.conf", "--ready-file", "ready.json", "--exit-after", "1"],
    { cwd: dir.path },
  );
}

async function ready(path: string, proc: CliProcess, timeout = 10_000) {
  const deadline = Date.now() + timeout;
  for (;;) {
    try {
      return JSON.parse(Deno.readTextFileSync(path));
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
    }
    if (Date.now() > deadline) throw new Error(`no ready file; stderr:\n${proc.stderr}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function port(addr: Deno.Addr): number {
  return (addr as Deno.NetAddr).port;
}

Deno.test("the access log in each escape mode holds the client's address, port and byte counts", async () => {
  using dir = new TempDir();
  // A Unix socket path with a quote in it: the one value that each escape mode writes differently.
  const sock = dir.file('s"q.sock');
  dir.write(
    "se.conf",
    `stream {
    log_format plain '$remote_addr|$remote_port|$server_addr|$server_port|$protocol|$status|' '$bytes_received|$bytes_sent|$connection|$echo_end';
    log_format j escape=json '{"a":"$remote_addr","p":"$remote_port","s":"$server_addr",' '"in":$bytes_received,"out":$bytes_sent,"status":$status,"end":"$echo_end","t":$session_time}';
    log_format raw escape=none '$server_addr';
    access_log default.log plain;
    access_log json.log j;
    access_log none.log raw;
    access_log basic.log;
    server {
        listen 127.0.0.1:0;
        listen unix:${sock};
        echo_read_line;
        echo -n "you said: ";
        echo_request_data;
        echo_duplicate 3 "ab";
    }
}
`,
  );
  await using proc = new CliProcess(
    ["serve", "-c", "se.conf", "--ready-file", "ready.json", "--exit-after", "2"],
    { cwd: dir.path },
  );
  const { listeners } = await ready(dir.file("ready.json"), proc);
  const tcp = await client(
    { hostname: "127.0.0.1", port: listeners[0].port },
    enc.encode("hello\nrest"),
  );
  assert.equal(dec.decode(tcp.received), "you said: hello\nababab");
  const unix = await client({ transport: "unix", path: sock }, enc.encode("x\n"));
  assert.equal((await proc.exited()).code, 0);

  const local = tcp.local as Deno.NetAddr;
  const defaults = await lines(dir.file("default.log"), 2);
  // The server reads in buffer-sized chunks: what it received is at least the line it needed
  // and at most what the client sent.
  const tcpLine = defaults.find((l) => l.startsWith(`${local.hostname}|`))!.split("|");
  assert.deepEqual(tcpLine.slice(0, 6), [
    local.hostname,
    String(local.port),
    "127.0.0.1",
    String(listeners[0].port),
    "TCP",
    "200",
  ]);
  const [bytesIn, bytesOut] = tcpLine.slice(6, 8).map(Number);
  assert.ok(bytesIn >= 6 && bytesIn <= tcp.sent.length, `bytes_received ${bytesIn}`);
  assert.equal(bytesOut, tcp.received.length);
  assert.deepEqual(tcpLine.slice(9), ["eof"]);
  const unixLine = defaults.find((l) => l.startsWith("unix:|"))!.split("|");
  assert.deepEqual(unixLine.slice(0, 4), ["unix:", "", `unix:${sock.replace('"', "\\x22")}`, ""]);
  assert.equal(Number(unixLine[7]), unix.received.length);

  const json = (await lines(dir.file("json.log"), 2)).map((l) => JSON.parse(l));
  const tcpJson = json.find((o) => o.p === String(local.port));
  assert.equal(tcpJson.a, local.hostname);
  assert.equal(tcpJson.out, tcp.received.length);
  assert.equal(tcpJson.in, bytesIn);
  assert.deepEqual([tcpJson.status, tcpJson.end], [200, "eof"]);
  assert.ok(tcpJson.t >= 0 && tcpJson.t < 5, `session_time ${tcpJson.t}`);
  const unixJson = json.find((o) => o.a === "unix:");
  assert.equal(unixJson.s, `unix:${sock}`, "the JSON escape round-trips the quote");
  assert.equal(unixJson.out, unix.received.length);

  const none = await lines(dir.file("none.log"), 2);
  assert.ok(none.includes(`unix:${sock}`), "escape=none writes the quote as it is");

  const basic = await lines(dir.file("basic.log"), 2);
  const re =
    /^(\S+) \[(\d\d\/\w{3}\/\d{4}:\d\d:\d\d:\d\d [+-]\d{4})\] TCP 200 (\d+) (\d+) (\d+\.\d{3})$/;
  const tcpBasic = basic.map((l) => re.exec(l)).find((m) => m?.[1] === local.hostname);
  assert.ok(tcpBasic, `basic format lines: ${basic.join("\n")}`);
  assert.deepEqual([Number(tcpBasic[3]), Number(tcpBasic[4])], [tcp.received.length, bytesIn]);
});

Deno.test("$status and $echo_end say how a session ended: a read timeout is 400 timeout", async () => {
  using dir = new TempDir();
  dir.write(
    "se.conf",
    `stream {
    log_format e '$remote_port $status $echo_end $bytes_received';
    server {
        listen 127.0.0.1:0;
        access_log e.log e;
        echo_read_timeout 100ms;
        echo_read_bytes 10;
        echo never;
    }
}
`,
  );
  await using proc = serveOnce(dir);
  const { listeners } = await ready(dir.file("ready.json"), proc);
  const view = await client({ hostname: "127.0.0.1", port: listeners[0].port }, enc.encode("abc"));
  assert.equal(view.received.length, 0);
  assert.equal((await proc.exited()).code, 0);
  const [line] = await lines(dir.file("e.log"), 1);
  assert.equal(line, `${port(view.local)} 400 timeout 3`);
  // The session that reached the count has ended: the stop waits for none.
  assert.match(proc.stderr, /: 1 session finished \(--exit-after 1\), gracefully shutting down\n/);
  assert.doesNotMatch(proc.stderr, /waiting for/);
});

Deno.test("a request data mismatch is $status 400, $echo_end mismatch", async () => {
  using dir = new TempDir();
  dir.write(
    "se.conf",
    `stream {
    log_format e '$remote_port $status $echo_end $bytes_received $bytes_sent';
    server {
        listen 127.0.0.1:0;
        access_log e.log e;
        echo -n "> ";
        echo_read_literal "PING";
        echo PONG;
    }
}
`,
  );
  await using proc = serveOnce(dir);
  const { listeners } = await ready(dir.file("ready.json"), proc);
  const view = await client({ hostname: "127.0.0.1", port: listeners[0].port }, enc.encode("PONG"));
  assert.equal(dec.decode(view.received), "> ");
  assert.equal((await proc.exited()).code, 0);
  const [line] = await lines(dir.file("e.log"), 1);
  assert.equal(line, `${port(view.local)} 400 mismatch 4 2`);
});

Deno.test("echo_record writes one JSON line per session: text, base64, truncation and totals", async () => {
  using dir = new TempDir();
  dir.write(
    "se.conf",
    `stream {
    echo_record rec.jsonl;
    server {
        listen 127.0.0.1:0;
        echo_read_buffer_size 128k;
        echo_read_bytes 70000;
        echo_request_data;
    }
    server {
        listen 127.0.0.1:0;
        echo_read_line;
        echo_request_data;
        echo -n -e "\\xff";
    }
}
`,
  );
  await using proc = new CliProcess(
    ["serve", "-c", "se.conf", "--ready-file", "ready.json", "--exit-after", "3"],
    { cwd: dir.path },
  );
  const { listeners } = await ready(dir.file("ready.json"), proc);
  const big = new Uint8Array(70000).fill(0x61);
  const views = [
    await client({ hostname: "127.0.0.1", port: listeners[0].port }, big),
    await client({ hostname: "127.0.0.1", port: listeners[1].port }, enc.encode("héllo\n")),
    await client({ hostname: "127.0.0.1", port: listeners[1].port }, new Uint8Array([0, 0xfe, 10])),
  ];
  assert.equal((await proc.exited()).code, 0);
  const records = (await lines(dir.file("rec.jsonl"), 3)).map((l) => JSON.parse(l));
  const byPort = (v: ClientView) => records.find((r) => r.remoteAddr.port === port(v.local));

  const truncated = byPort(views[0]);
  assert.equal(truncated.serverIndex, 0);
  assert.equal(truncated.received.text.length, 64 * 1024, "capped at 64 KiB per direction");
  assert.deepEqual(truncated.truncated, { received: true, sent: true });
  assert.equal(truncated.bytesReceived, big.length);
  assert.equal(truncated.bytesSent, views[0].received.length);
  assert.equal(truncated.end, "eof");

  const text = byPort(views[1]);
  assert.equal(text.serverIndex, 1);
  assert.deepEqual(text.received, { text: "héllo\n" });
  // The reply ends with a lone 0xff byte: not UTF-8, so it is recorded as base64.
  assert.deepEqual(
    Uint8Array.from(atob(text.sent.base64), (c) => c.charCodeAt(0)),
    views[1].received,
  );
  assert.deepEqual(text.localAddr, {
    transport: "tcp",
    hostname: "127.0.0.1",
    port: listeners[1].port,
  });
  assert.ok(Date.parse(text.endedAt) >= Date.parse(text.startedAt));

  const binary = byPort(views[2]);
  assert.equal(binary.received.base64, "AP4K");
  assert.deepEqual(binary.truncated, { received: false, sent: false });
});

Deno.test("a recording cut by the cap inside a UTF-8 character stays text, without the character's start", async () => {
  using dir = new TempDir();
  dir.write(
    "se.conf",
    `stream {
    echo_record rec.jsonl;
    server {
        listen 127.0.0.1:0;
        echo_read_buffer_size 128k;
        echo_read_bytes 65538;
        echo ok;
    }
}
`,
  );
  await using proc = serveOnce(dir);
  const { listeners } = await ready(dir.file("ready.json"), proc);
  // 65,535 bytes of "A", then "é" (two bytes) and LF: the 64 KiB cap falls inside the "é".
  const sent = enc.encode("A".repeat(65535) + "é\n");
  const view = await client({ hostname: "127.0.0.1", port: listeners[0].port }, sent);
  assert.equal(dec.decode(view.received), "ok\n");
  assert.equal((await proc.exited()).code, 0);
  const [record] = (await lines(dir.file("rec.jsonl"), 1)).map((l) => JSON.parse(l));
  assert.deepEqual(record.received, { text: "A".repeat(65535) });
  assert.deepEqual(record.truncated, { received: true, sent: false });
  assert.equal(record.bytesReceived, sent.length);
  assert.deepEqual(record.sent, { text: "ok\n" });
});

Deno.test("serve --record records every server, whatever echo_record says", async () => {
  using dir = new TempDir();
  dir.write(
    "se.conf",
    `stream { server { listen 127.0.0.1:0; echo_record off; echo_read_line; echo_request_data; } }\n`,
  );
  await using proc = new CliProcess(
    [
      "serve",
      "-c",
      "se.conf",
      "--ready-file",
      "r.json",
      "--exit-after",
      "1",
      "--record",
      "all.jsonl",
    ],
    { cwd: dir.path },
  );
  const { listeners } = await ready(dir.file("r.json"), proc);
  const view = await client(
    { hostname: "127.0.0.1", port: listeners[0].port },
    enc.encode("ping\n"),
  );
  assert.equal((await proc.exited()).code, 0);
  const [record] = (await lines(dir.file("all.jsonl"), 1)).map((l) => JSON.parse(l));
  assert.deepEqual(record.received, { text: "ping\n" });
  assert.deepEqual(record.sent, { text: dec.decode(view.received) });
  assert.equal(record.remoteAddr.port, port(view.local));
});

Deno.test("the ready file lists TCP and Unix listeners with port 0 resolved, and goes at exit", async () => {
  using dir = new TempDir();
  const sock = dir.file("se.sock");
  dir.write(
    "se.conf",
    `stream {
    server { listen 127.0.0.1:0; listen unix:${sock}; echo a; }
    server { listen 127.0.0.1:0; echo b; }
}
`,
  );
  await using proc = new CliProcess(
    ["serve", "-c", "se.conf", "--ready-file", "ready.json"],
    { cwd: dir.path },
  );
  const content = await ready(dir.file("ready.json"), proc);
  assert.equal(content.pid, proc.pid);
  assert.equal(content.listeners.length, 3);
  const [a, u, b] = content.listeners;
  assert.deepEqual(u, { transport: "unix", path: sock, listen: `unix:${sock}` });
  for (const l of [a, b]) {
    assert.equal(l.transport, "tcp");
    assert.equal(l.hostname, "127.0.0.1");
    assert.ok(l.port > 0);
  }
  // The ports are the ones the log names, and they answer.
  assert.deepEqual(await proc.listening(3), [
    `127.0.0.1:${a.port}`,
    `unix:${sock}`,
    `127.0.0.1:${b.port}`,
  ]);
  const view = await client({ hostname: "127.0.0.1", port: b.port }, new Uint8Array(0));
  assert.equal(dec.decode(view.received), "b\n");
  assert.deepEqual(
    [...Deno.readDirSync(dir.path)].map((e) => e.name).filter((n) => n.includes(".tmp")),
    [],
    "no temporary file is left beside it",
  );
  proc.kill("SIGTERM");
  assert.equal((await proc.exited()).code, 0);
  assert.throws(() => Deno.statSync(dir.file("ready.json")), Deno.errors.NotFound);
});

Deno.test("a listen address is shown as written (UTF-8) in the ready file and the start-up line", async () => {
  using dir = new TempDir();
  const sock = dir.file("café.sock");
  dir.write("se.conf", `stream {\n    server { listen unix:${sock}; echo a; }\n}\n`);
  await using proc = new CliProcess(
    ["serve", "-c", "se.conf", "--ready-file", "ready.json"],
    { cwd: dir.path },
  );
  const content = await ready(dir.file("ready.json"), proc);
  assert.deepEqual(content.listeners, [{ transport: "unix", path: sock, listen: `unix:${sock}` }]);
  await proc.waitFor(/listening on /);
  assert.ok(
    proc.stderr.includes(`listening on unix:${sock} for "listen unix:${sock}" in se.conf:2\n`),
    proc.stderr,
  );
  const view = await client({ transport: "unix", path: sock }, new Uint8Array(0));
  assert.equal(dec.decode(view.received), "a\n");
});

Deno.test("control bytes of a socket path are escaped in every error-log line: each stays one line", async () => {
  using dir = new TempDir();
  const sock = dir.file("a\nb\tc.sock");
  const shown = sock.replace("\n", "\\x0A").replace("\t", "\\x09");
  dir.write(
    "se.conf",
    `stream {\n    server { listen "unix:${dir.path}/a\\nb\\tc.sock"; echo a; }\n}\n`,
  );
  await using proc = serveOnce(dir);
  const content = await ready(dir.file("ready.json"), proc);
  assert.deepEqual(content.listeners, [{ transport: "unix", path: sock, listen: `unix:${sock}` }]);
  const view = await client({ transport: "unix", path: sock }, new Uint8Array(0));
  assert.equal(dec.decode(view.received), "a\n");
  assert.equal((await proc.exited()).code, 0);
  const lines = proc.stderr.split("\n").filter((l) => l !== "");
  for (const line of lines) {
    assert.match(
      line,
      /^\d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d \[\w+\] \d+#0: /,
      `one line each:\n${proc.stderr}`,
    );
    assert.doesNotMatch(line, /\t/);
  }
  const naming = lines.filter((l) => l.includes(shown));
  assert.ok(
    naming.some((l) => l.includes(`listening on unix:${shown} for "listen unix:${shown}"`)),
  );
  assert.ok(naming.some((l) => / client unix: connected to unix:/.test(l)));
  assert.ok(naming.some((l) => /stream session ended: eof, .*, server: unix:/.test(l)));
});

Deno.test("--exit-after N exits 0 once N sessions have finished", async () => {
  using dir = new TempDir();
  dir.write("se.conf", `stream { server { listen 127.0.0.1:0; echo hi; } }\n`);
  await using proc = new CliProcess(
    ["serve", "-c", "se.conf", "--exit-after", "3"],
    { cwd: dir.path },
  );
  const p = await proc.port();
  for (let i = 0; i < 2; i++) await client({ hostname: "127.0.0.1", port: p }, new Uint8Array(0));
  await proc.waitFor(/\*2 stream session ended/);
  assert.doesNotMatch(proc.stderr, /exit-after/, "still serving after 2 of 3");
  await client({ hostname: "127.0.0.1", port: p }, new Uint8Array(0));
  const status = await proc.exited();
  assert.equal(status.code, 0);
  assert.match(proc.stderr, /3 sessions finished \(--exit-after 3\), gracefully shutting down/);
});

Deno.test("at info, one line per finished session gives the bytes from/to the client, time and end", async () => {
  using dir = new TempDir();
  dir.write(
    "se.conf",
    `stream { server { listen 127.0.0.1:0; echo_read_bytes 4; echo_request_data; echo ok; } }\n`,
  );
  await using proc = new CliProcess(["serve", "-c", "se.conf"], { cwd: dir.path });
  const p = await proc.port();
  const view = await client({ hostname: "127.0.0.1", port: p }, enc.encode("abcd"));
  const m = await proc.waitFor(
    /\[info\] \d+#0: \*1 stream session ended: (\w+), bytes from\/to client:(\d+)\/(\d+), session time:(\d+\.\d{3}), client: 127\.0\.0\.1, server: 127\.0\.0\.1:(\d+)/,
  );
  assert.deepEqual(m.slice(1, 4), ["eof", "4", String(view.received.length)]);
  assert.ok(Number(m[4]) < 5);
  assert.equal(Number(m[5]), p);
});

Deno.test("a send timeout counts what the socket took, partial write included: access log, recording, error log", async () => {
  using dir = new TempDir();
  dir.write(
    "se.conf",
    `stream {
    log_format t '$remote_port $echo_end $status $bytes_sent';
    access_log acc.log t;
    echo_record rec.jsonl;
    server {
        listen 127.0.0.1:0;
        echo_send_timeout 1s;
        echo_duplicate 50000000 z;
    }
}
`,
  );
  await using proc = serveOnce(dir);
  const { listeners } = await ready(dir.file("ready.json"), proc);
  // A slow reader: reads nothing for 2 s (the send timer fires after 1 s without progress,
  // in the middle of a write the socket took only part of), then reads what arrived to EOF.
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: listeners[0].port });
  const local = conn.localAddr as Deno.NetAddr;
  await new Promise((r) => setTimeout(r, 2000));
  const received = (await readToEnd(conn)).length;
  assert.equal((await proc.exited()).code, 0);
  assert.ok(received > 0 && received < 50_000_000, `received ${received}`);
  const [line] = await lines(dir.file("acc.log"), 1);
  assert.equal(line, `${local.port} timeout 400 ${received}`);
  const [record] = (await lines(dir.file("rec.jsonl"), 1)).map((l) => JSON.parse(l));
  assert.deepEqual([record.end, record.bytesSent], ["timeout", received]);
  assert.match(
    proc.stderr,
    new RegExp(`stream session ended: timeout, bytes from/to client:0/${received},`),
  );
});

Deno.test("--debug-hexdump shows each read and write in hex and ASCII at debug", async () => {
  using dir = new TempDir();
  dir.write(
    "se.conf",
    `stream { server { listen 127.0.0.1:0; echo_read_line; echo_request_data; echo_duplicate 20 "z"; } }\n`,
  );
  await using proc = new CliProcess(
    ["serve", "-c", "se.conf", "--debug-hexdump", "--log-level", "debug", "--exit-after", "1"],
    { cwd: dir.path },
  );
  const p = await proc.port();
  await client({ hostname: "127.0.0.1", port: p }, enc.encode("Hi!\r\n"));
  assert.equal((await proc.exited()).code, 0);
  const err = proc.stderr;
  assert.match(err, /\[debug\] \d+#0: \*1 5 bytes from client:\n/);
  const row = (text: string) => assert.ok(err.includes(`: *1 ${text}\n`), `no row "${text}"`);
  row(`[0000]   48 69 21 0D 0A${" ".repeat(38)}Hi!..`);
  assert.match(err, /\*1 5 bytes to client:\n/);
  assert.match(err, /\*1 20 bytes to client:\n/);
  row(`[0000]   ${"7A ".repeat(8)}  ${"7A ".repeat(8)}  ${"z".repeat(16)}`);
  row(`[0010]   7A 7A 7A 7A${" ".repeat(38 + 3)}zzzz`);
});

Deno.test("--debug-hexdump without a debug error log says it shows nothing", async () => {
  using dir = new TempDir();
  dir.write("se.conf", `stream { server { listen 127.0.0.1:0; echo hi; } }\n`);
  await using proc = new CliProcess(["serve", "-c", "se.conf", "--debug-hexdump"], {
    cwd: dir.path,
  });
  await proc.waitFor(/\[warn\].*--debug-hexdump shows nothing: no error log is at level debug/);
});

Deno.test("--log-format json writes one JSON object per line with level, time, connection, client and message", async () => {
  using dir = new TempDir();
  dir.write("se.conf", `stream { server { listen 127.0.0.1:0; echo hi; } }\n`);
  await using proc = new CliProcess(
    ["serve", "-c", "se.conf", "--log-format", "json", "--exit-after", "1"],
    { cwd: dir.path },
  );
  await proc.waitFor(/"message":"listening on 127\.0\.0\.1:\d+/);
  const p = Number(/listening on 127\.0\.0\.1:(\d+)/.exec(proc.stderr)![1]);
  const view = await client({ hostname: "127.0.0.1", port: p }, new Uint8Array(0));
  assert.equal((await proc.exited()).code, 0);
  const objects = proc.stderr.trim().split("\n").map((l) => JSON.parse(l));
  for (const o of objects) {
    assert.ok(typeof o.level === "string" && typeof o.message === "string");
    assert.ok(!Number.isNaN(Date.parse(o.time)), o.time);
    assert.equal(o.pid, proc.pid);
  }
  const ended = objects.find((o) => o.message.startsWith("stream session ended"));
  assert.deepEqual(
    [ended.level, ended.connection, ended.client, ended.server],
    ["info", 1, "127.0.0.1", `127.0.0.1:${p}`],
  );
  assert.match(ended.message, new RegExp(`bytes from/to client:0/${view.received.length}`));
});

Deno.test("a config error is a JSON line too with --log-format json", async () => {
  using dir = new TempDir();
  dir.write("se.conf", `stream {\n log_format t $nope;\n}\n`);
  await using proc = new CliProcess(["serve", "-c", "se.conf", "--log-format", "json"], {
    cwd: dir.path,
  });
  assert.equal((await proc.exited()).code, 1);
  const o = JSON.parse(proc.stderr.trim());
  assert.equal(o.level, "emerg");
  assert.equal(o.message, 'unknown "nope" variable in se.conf:2');
});

Deno.test("an access log that cannot be opened stops the start, naming the directive", async () => {
  using dir = new TempDir();
  dir.write(
    "se.conf",
    `stream {\n server {\n listen 127.0.0.1:0;\n access_log no/such/dir/a.log;\n echo; } }\n`,
  );
  await using proc = new CliProcess(["serve", "-c", "se.conf"], { cwd: dir.path });
  assert.equal((await proc.exited()).code, 1);
  assert.match(
    proc.stderr,
    /\[emerg\] \d+#0: open\(\) "(\S+\/)?no\/such\/dir\/a\.log" failed \(No such file or directory\) for "access_log" in se\.conf:4/,
  );
});

Deno.test("SIGUSR1 reopens the access log; SIGHUP switches to the new config's file", async () => {
  using dir = new TempDir();
  const conf = (file: string) =>
    `stream { log_format p $remote_port; server { listen 127.0.0.1:0; access_log ${file} p; echo hi; } }\n`;
  dir.write("se.conf", conf("a.log"));
  await using proc = new CliProcess(["serve", "-c", "se.conf"], { cwd: dir.path });
  const p = await proc.port();
  const first = await client({ hostname: "127.0.0.1", port: p }, new Uint8Array(0));
  await lines(dir.file("a.log"), 1);
  Deno.renameSync(dir.file("a.log"), dir.file("a.log.1"));
  proc.kill("SIGUSR1");
  await proc.waitFor(/logs reopened/);
  const second = await client({ hostname: "127.0.0.1", port: p }, new Uint8Array(0));
  assert.deepEqual(await lines(dir.file("a.log"), 1), [String(port(second.local))]);
  assert.deepEqual(await lines(dir.file("a.log.1"), 1), [String(port(first.local))]);

  dir.write("se.conf", conf("b.log"));
  proc.kill("SIGHUP");
  await proc.waitFor(/configuration reloaded/);
  const p2 = Number(/listening on 127\.0\.0\.1:(\d+)/g.exec(proc.stderr.split("reloaded")[0])![1]);
  const third = await client({ hostname: "127.0.0.1", port: p2 }, new Uint8Array(0));
  assert.deepEqual(await lines(dir.file("b.log"), 1), [String(port(third.local))]);
  proc.kill("SIGTERM");
  assert.equal((await proc.exited()).code, 0);
  assert.equal((await lines(dir.file("a.log"), 1)).length, 1, "nothing more in the old file");
});

Deno.test({
  name: "worker_processes 2: every session of both workers is in the access log and the recording",
  ignore: Deno.build.os !== "linux",
  async fn() {
    using dir = new TempDir();
    dir.write(
      "se.conf",
      `worker_processes 2;
stream {
    log_format p '$connection $remote_port $bytes_received $bytes_sent';
    server {
        listen 127.0.0.1:0;
        access_log a.log p;
        echo_record r.jsonl;
        echo_read_line;
        echo_request_data;
    }
}
`,
    );
    const n = 40;
    await using proc = new CliProcess(
      ["serve", "-c", "se.conf", "--ready-file", "ready.json", "--exit-after", String(n)],
      { cwd: dir.path },
    );
    const { listeners } = await ready(dir.file("ready.json"), proc);
    const views: ClientView[] = [];
    for (let i = 0; i < n; i++) {
      views.push(
        await client({ hostname: "127.0.0.1", port: listeners[0].port }, enc.encode(`${i}\n`)),
      );
    }
    assert.equal((await proc.exited()).code, 0, "--exit-after counts both workers' sessions");
    const access = (await lines(dir.file("a.log"), n)).map((l) => l.split(" ").map(Number));
    const records = (await lines(dir.file("r.jsonl"), n)).map((l) => JSON.parse(l));
    assert.equal(access.length, n);
    assert.equal(records.length, n);
    const ids = new Set(access.map(([id]) => id));
    assert.ok(
      [...ids].some((id) => id % 2 === 0) && [...ids].some((id) => id % 2 === 1),
      "both workers served",
    );
    for (const v of views) {
      const a = access.find(([, p]) => p === port(v.local))!;
      assert.deepEqual(a.slice(2), [v.sent.length, v.received.length]);
      const r = records.find((r) => r.remoteAddr.port === port(v.local));
      assert.deepEqual(r.received, { text: dec.decode(v.sent) });
      assert.equal(r.id, a[0]);
    }
  },
});

Deno.test({
  name: "the ready file says tls for a TCP listener with ssl, and the client's TLS port answers",
  ignore: !hasOpenssl,
  async fn() {
    using dir = new TempDir();
    const { ca } = makeCertificates(dir);
    const sock = dir.file("plain.sock");
    dir.write(
      "se.conf",
      `stream {
    ssl_certificate cert.pem;
    ssl_certificate_key key.pem;
    server { listen 127.0.0.1:0 ssl; echo secure; }
    server { listen unix:${sock}; listen 127.0.0.1:0; echo plain; }
}
`,
    );
    await using proc = new CliProcess(
      ["serve", "-c", "se.conf", "--ready-file", "ready.json"],
      { cwd: dir.path },
    );
    const { listeners } = await ready(dir.file("ready.json"), proc);
    assert.deepEqual(listeners.map((l: { transport: string }) => l.transport), [
      "tls",
      "unix",
      "tcp",
    ]);
    assert.deepEqual(listeners[1], {
      transport: "unix",
      path: sock,
      listen: `unix:${sock}`,
    });
    const conn = await Deno.connectTls({
      hostname: "localhost",
      port: listeners[0].port,
      caCerts: [Deno.readTextFileSync(ca)],
    });
    assert.equal(await new Response(conn.readable).text(), "secure\n");
    proc.kill("SIGTERM");
    assert.equal((await proc.exited()).code, 0);
  },
});

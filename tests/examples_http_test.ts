/**
 * examples/http.conf driven by curl and Python's http.client: keep-alive with several requests
 * per connection, Content-Length bodies, and replies that depend on the path.
 */
import assert from "node:assert/strict";
import { clientTest, runClient, runPython, serveExample } from "./real_clients.ts";

clientTest("curl fetches several URLs over one kept-alive connection", ["curl"], async (bin) => {
  await using ex = await serveExample("http.conf");
  const url = (path: string) => `http://127.0.0.1:${ex.port}${path}`;
  // options hold per --next group, so each group repeats -w
  const w = ["-sS", "--max-time", "10", "-w", "|%{http_code} %{num_connects}\n"];
  const out = await runClient(bin.curl, [
    ...w,
    url("/health"),
    url("/missing"),
    url("/"),
    "--next",
    ...w,
    "--data-binary",
    "ping\r\n\r\npong",
    url("/echo"),
    "--next",
    ...w,
    url("/health"),
  ]);
  assert.equal(out.code, 0, out.stderr);
  assert.deepEqual(out.stdout.split("\n").slice(0, -1), [
    '{"status":"ok"}|200 1', // the only connect
    "not found",
    "|404 0",
    "stream-echo HTTP mock",
    "|200 0",
    "ping\r", // the body came back, \r\n\r\n inside it included
    "\r",
    "pong|200 0",
    '{"status":"ok"}|200 0',
  ]);
  assert.equal((await ex.sessions()).length, 1, ex.logs.join(""));
});

// Prints one JSON line per request: status, body, and whether the socket was reused.
const HTTP_CLIENT = String.raw`
import http.client, json, sys
c = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]), timeout=5)
first = None
for spec in sys.argv[2:]:
    method, path, body = (spec.split(" ", 2) + [None])[:3]
    c.request(method, path, body=body.encode() if body is not None else None)
    r = c.getresponse()
    data = r.read().decode()
    first = first or c.sock
    print(json.dumps([r.status, r.getheader("Content-Type"), data, c.sock is first]))
c.close()
`;

const plans: { name: string; requests: string[]; replies: unknown[][] }[] = [
  {
    name: "GET, POST, 404, GET",
    requests: ["GET /health", "POST /echo hello world", "GET /nope", "GET /"],
    replies: [
      [200, "application/json", '{"status":"ok"}', true],
      [200, "text/plain", "hello world", true],
      [404, "text/plain", "not found\n", true],
      [200, "text/plain", "stream-echo HTTP mock\n", true],
    ],
  },
  {
    name: "POSTs first, an empty body, a body larger than a segment",
    requests: ["POST /echo ", "POST /echo " + "x".repeat(20000), "POST /nope abc", "GET /health"],
    replies: [
      [200, "text/plain", "", true],
      [200, "text/plain", "x".repeat(20000), true],
      [404, "text/plain", "not found\n", true],
      [200, "application/json", '{"status":"ok"}', true],
    ],
  },
];

for (const { name, requests, replies } of plans) {
  clientTest(`http.client keeps one connection for ${name}`, ["python3"], async (bin) => {
    await using ex = await serveExample("http.conf");
    const out = await runPython(bin.python3, HTTP_CLIENT, [String(ex.port), ...requests]);
    assert.equal(out.code, 0, out.stderr);
    assert.deepEqual(out.stdout.trim().split("\n").map((l) => JSON.parse(l)), replies);
    const [t, ...more] = await ex.sessions();
    assert.equal(more.length, 0);
    assert.equal(t.end, "eof", ex.logs.join(""));
  });
}

for (
  const { how, flags } of [
    { how: "Connection: close", flags: ["-H", "Connection: close"] },
    { how: "HTTP/1.0", flags: ["--http1.0"] },
  ]
) {
  clientTest(`curl with ${how} gets its reply, then the mock closes`, ["curl"], async (bin) => {
    await using ex = await serveExample("http.conf");
    const url = `http://127.0.0.1:${ex.port}/health`;
    const out = await runClient(bin.curl, [
      ...["-sS", "--max-time", "10", ...flags, "-w", "|%{num_connects}\n", url, url],
    ]);
    assert.equal(out.code, 0, out.stderr);
    assert.equal(out.stdout, '{"status":"ok"}|1\n{"status":"ok"}|1\n');
    assert.equal((await ex.sessions()).length, 2, "a connection per URL");
  });
}

clientTest("curl -I (HEAD) gets headers without a body and keeps the connection", [
  "curl",
], async (bin) => {
  await using ex = await serveExample("http.conf");
  const url = (path: string) => `http://127.0.0.1:${ex.port}${path}`;
  const out = await runClient(bin.curl, [
    "-sS",
    "-I",
    "--max-time",
    "10",
    "-w",
    "%{http_code} %{num_connects}\n",
    url("/health"),
    url("/nope"),
    url("/"),
  ]);
  assert.equal(out.code, 0, out.stderr);
  const codes = out.stdout.split("\n").filter((l) => /^\d{3} \d$/.test(l));
  assert.deepEqual(codes, ["200 1", "404 0", "200 0"]);
  assert.match(out.stdout, /^Content-Type: application\/json\r$/m);
  assert.equal((await ex.sessions()).length, 1);
});

clientTest("curl's Expect: 100-continue gets its 100 before the body is echoed", [
  "curl",
], async (bin) => {
  await using ex = await serveExample("http.conf");
  const body = "0123456789".repeat(300); // curl asks before sending a body over 1 KiB
  const out = await runClient(bin.curl, [
    "-sS",
    "--max-time",
    "10",
    "-H",
    "Expect: 100-continue",
    "--data-binary",
    body,
    `http://127.0.0.1:${ex.port}/echo`,
  ]);
  assert.equal(out.code, 0, out.stderr);
  assert.equal(out.stdout, body);
  const [t] = await ex.sessions();
  const sent = new TextDecoder().decode(t.sent);
  assert.ok(sent.startsWith("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n"), sent.slice(0, 80));
});

clientTest("curl requests with fewer and more headers are read up to the blank line", [
  "curl",
], async (bin) => {
  await using ex = await serveExample("http.conf");
  const url = `http://127.0.0.1:${ex.port}/`;
  const w = ["-sS", "--max-time", "10", "-w", "|%{num_connects}\n"];
  const out = await runClient(bin.curl, [
    ...w,
    "-H",
    "Accept:", // curl drops a header given without a value
    "-H",
    "User-Agent:",
    url,
    "--next",
    ...w,
    ...Array.from({ length: 40 }, (_, i) => ["-H", `X-Extra-${i}: ${"v".repeat(i)}`]).flat(),
    url,
  ]);
  assert.equal(out.code, 0, out.stderr);
  assert.equal(out.stdout, "stream-echo HTTP mock\n|1\nstream-echo HTTP mock\n|0\n");
  const [t] = await ex.sessions();
  const received = new TextDecoder().decode(t.received);
  assert.match(received, /^GET \/ HTTP\/1\.1\r\nHost: [^\r]+\r\n\r\nGET \/ HTTP\/1\.1\r\n/);
  assert.match(received, /X-Extra-39: v{39}\r\n\r\n$/);
});

for (
  const request of [
    "GET /health HTTP/1.0\r\n\r\n",
    "GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
  ]
) {
  Deno.test(`http.conf closes the connection itself after ${JSON.stringify(request)}`, async () => {
    await using ex = await serveExample("http.conf");
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: ex.port });
    await conn.write(new TextEncoder().encode(request));
    // reading to EOF only ends if the server closes; the client never does (but gives up)
    let gaveUp = false;
    const timer = setTimeout(() => {
      gaveUp = true;
      conn.close();
    }, 3000);
    let reply = "";
    try {
      reply = await new Response(conn.readable).text();
    } catch {
      // closed by the timer
    } finally {
      clearTimeout(timer);
    }
    assert.equal(gaveUp, false, "the mock kept the connection open");
    assert.ok(reply.startsWith("HTTP/1.1 200 OK\r\n"), reply);
    assert.ok(reply.endsWith('\r\n\r\n{"status":"ok"}'), reply);
  });
}

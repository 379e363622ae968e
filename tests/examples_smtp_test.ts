/**
 * examples/smtp.conf driven by Python's smtplib (and swaks): several messages per connection,
 * several recipients, RSET and NOOP between them, and bodies of any length.
 */
import assert from "node:assert/strict";
import { clientTest, runClient, runPython, serveExample } from "./real_clients.ts";

const text = (b: Uint8Array) => new TextDecoder().decode(b);

// Prints one JSON line: every reply code smtplib saw, in order.
const SMTPLIB = String.raw`
import json, smtplib, sys
port, lines = int(sys.argv[1]), int(sys.argv[2])
s = smtplib.SMTP("127.0.0.1", port, timeout=5)
log = [s.ehlo()[0], s.has_extn("8bitmime"), s.has_extn("size")]
body = "Subject: first\r\n\r\n" + "".join("line %d .\r\n.leading dot\r\n" % i for i in range(lines))
log.append(s.sendmail("a@example.org", ["b@example.org", "c@example.org", "d@example.org"], body))
log.append(s.rset()[0])
log.append(s.noop()[0])
log.append(s.sendmail("a@example.org", ["e@example.org"], "Subject: second\r\n\r\nshort"))
log.append(s.docmd("VRFY", "someone")[0])
log.append(s.helo()[0])
log.append(s.quit()[0])
print(json.dumps(log))
`;

for (const lines of [0, 3, 5000]) {
  clientTest(
    `smtplib sends two messages (${lines * 2} body lines in the first) over one connection`,
    ["python3"],
    async (bin) => {
      await using ex = await serveExample("smtp.conf");
      const out = await runPython(bin.python3, SMTPLIB, [String(ex.port), String(lines)]);
      assert.equal(out.code, 0, out.stderr);
      // sendmail returns {} when every recipient was accepted; VRFY is not a known command
      assert.deepEqual(JSON.parse(out.stdout), [250, true, true, {}, 250, 250, {}, 502, 250, 221]);

      const [t, ...more] = await ex.sessions();
      assert.equal(more.length, 0);
      assert.equal(t.end, "eof", ex.logs.join(""));
      const sent = text(t.sent);
      assert.ok(sent.startsWith("220 mock.example ESMTP stream-echo\r\n"));
      assert.equal(sent.match(/^250 2\.0\.0 Ok: queued\r\n/gm)?.length, 2);
      assert.equal(sent.match(/^250 2\.1\.5 Ok\r\n/gm)?.length, 4, "one per RCPT");
      assert.ok(text(t.received).includes("\r\n..leading dot\r\n") === lines > 0);
    },
  );
}

for (const extra of [[], ["--pipeline"]]) {
  clientTest(`swaks ${extra.join(" ") || "(one command at a time)"} delivers a message`, [
    "swaks",
  ], async (bin) => {
    await using ex = await serveExample("smtp.conf");
    const out = await runClient(bin.swaks, [
      "--server",
      `127.0.0.1:${ex.port}`,
      "--from",
      "a@example.org",
      "--to",
      "b@example.org,c@example.org",
      "--body",
      "hello from swaks",
      "--timeout",
      "5",
      ...extra,
    ]);
    assert.equal(out.code, 0, out.stdout + out.stderr);
    assert.match(out.stdout, /^<- {2}250 2\.0\.0 Ok: queued$/m);
    assert.match(out.stdout, /^<- {2}221 2\.0\.0 Bye$/m);
    const [t, ...more] = await ex.sessions();
    assert.equal(more.length, 0, "one connection");
    assert.match(
      text(t.received),
      /^EHLO \S+\r\nMAIL FROM:<a@example\.org>\r\nRCPT TO:<b@example\.org>\r\nRCPT TO:<c@example\.org>\r\nDATA\r\n/,
    );
    assert.equal(t.end, "eof", ex.logs.join(""));
  });
}

clientTest("smtplib logs in (AUTH PLAIN) and then sends", ["python3"], async (bin) => {
  await using ex = await serveExample("smtp.conf");
  const script = String.raw`
import json, smtplib, sys
s = smtplib.SMTP("127.0.0.1", int(sys.argv[1]), timeout=5)
out = [s.login("user", "secret")[0], s.sendmail("a@example.org", ["b@example.org"], "hi"), s.quit()[0]]
print(json.dumps(out))
`;
  const out = await runPython(bin.python3, script, [String(ex.port)]);
  assert.equal(out.code, 0, out.stderr);
  assert.deepEqual(JSON.parse(out.stdout), [235, {}, 221]);
  const [t] = await ex.sessions();
  assert.match(text(t.received), /\r\nAUTH PLAIN AHVzZXIAc2VjcmV0\r\nmail FROM:/);
});

for (const auth of ["PLAIN", "LOGIN"]) {
  clientTest(`swaks logs in with AUTH ${auth} and delivers`, ["swaks"], async (bin) => {
    await using ex = await serveExample("smtp.conf");
    const out = await runClient(bin.swaks, [
      ...["--server", `127.0.0.1:${ex.port}`, "--timeout", "5"],
      ...["--from", "a@example.org", "--to", "b@example.org"],
      ...["--auth", auth, "--auth-user", "user", "--auth-password", "secret"],
    ]);
    assert.equal(out.code, 0, out.stdout + out.stderr);
    assert.match(out.stdout, /^<- {2}235 2\.7\.0 Authentication successful$/m);
    assert.match(out.stdout, /^<- {2}250 2\.0\.0 Ok: queued$/m);
    const [t] = await ex.sessions();
    // PLAIN: "\0user\0secret" on the AUTH line; LOGIN: user and password, each after a 334
    const sent = auth === "PLAIN"
      ? "\r\nAUTH PLAIN AHVzZXIAc2VjcmV0\r\nMAIL"
      : "\r\nAUTH LOGIN\r\ndXNlcg==\r\nc2VjcmV0\r\nMAIL";
    assert.ok(text(t.received).includes(sent), text(t.received));
  });
}

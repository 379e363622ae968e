/** Every config in examples/ passes `stream-echo check` exactly as shipped (the file a user copies). */
import assert from "node:assert/strict";
import { CliProcess, runCli, TempDir } from "./cli_harness.ts";
import { clientTest, exampleNames, runClient } from "./real_clients.ts";

const EXAMPLES = new URL("../examples/", import.meta.url).pathname;

Deno.test("examples/ holds the five protocol mocks the README describes", () => {
  for (const name of ["http.conf", "memcached.conf", "postgres.conf", "redis.conf", "smtp.conf"]) {
    assert.ok(exampleNames().includes(name), `examples/${name}`);
  }
});

for (const name of exampleNames()) {
  Deno.test(`stream-echo check accepts examples/${name} as shipped`, async () => {
    using dir = new TempDir();
    const conf = `${EXAMPLES}${name}`;
    const r = await runCli(["check", "-c", conf], dir.path);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /test is successful\n$/);
  });
}

/** One exchange per example with its real client, against the CLI (the binary, under bundle_e2e). */
const viaCli: {
  name: string;
  client: string;
  args: (port: number) => string[];
  stdin?: string;
  stdout: string;
}[] = [
  {
    name: "redis.conf",
    client: "redis-cli",
    args: (port) => ["-p", String(port)],
    stdin: "PING\nGET foo\nGET nope\n",
    stdout: "PONG\nbar\n\n",
  },
  {
    name: "memcached.conf",
    client: "memccat",
    args: (port) => [`--servers=127.0.0.1:${port}`, "foo", "user:1"],
    stdout: "bar\nalice\n",
  },
  {
    name: "smtp.conf",
    client: "python3",
    args: (port) => [
      "-c",
      "import smtplib, sys\n" +
      "s = smtplib.SMTP('127.0.0.1', int(sys.argv[1]), timeout=5)\n" +
      "print(s.sendmail('a@example.org', ['b@example.org'], 'Subject: x\\r\\n\\r\\nhi\\r\\n'))\n" +
      "print(s.quit()[0])",
      String(port),
    ],
    stdout: "{}\n221\n",
  },
  {
    name: "http.conf",
    client: "curl",
    args: (port) => [
      "-sS",
      "--max-time",
      "10",
      "-w",
      " %{num_connects}\n",
      `http://127.0.0.1:${port}/health`,
      `http://127.0.0.1:${port}/health`,
    ],
    stdout: '{"status":"ok"} 1\n{"status":"ok"} 0\n',
  },
  {
    name: "postgres.conf",
    client: "psql",
    args: (port) => [
      `host=127.0.0.1 port=${port} user=app sslmode=prefer connect_timeout=5`,
      "-X",
      "-w",
      "-At",
      "-c",
      "select 1",
      "-c",
      "select * from users",
    ],
    stdout: "1\n1|alice\n2|bob\n",
  },
];

for (const { name, client, args, stdin, stdout } of viaCli) {
  clientTest(`stream-echo serve runs examples/${name} for ${client}`, [client], async (bin) => {
    using dir = new TempDir();
    const text = Deno.readTextFileSync(`${EXAMPLES}${name}`);
    const conf = dir.write(name, text.replace(/^(\s*listen\s+)[^;]*;/gm, "$1127.0.0.1:0;"));
    await using p = new CliProcess(["serve", "-c", conf], { cwd: dir.path });
    const port = await p.port();
    const out = await runClient(bin[client], args(port), stdin === undefined ? {} : { stdin });
    assert.equal(out.stdout, stdout, out.stderr + p.stderr);
    assert.doesNotMatch(p.stderr, /\[(error|crit|alert|emerg)\]/);
  });
}

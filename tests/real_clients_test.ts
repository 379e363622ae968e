/** The real-client helper: a missing client skips its test locally and fails it under CI. */
import assert from "node:assert/strict";
import { CLIENT_PACKAGES, clientTest, findClient, isCI, runClient } from "./real_clients.ts";

const HELPER = new URL("./real_clients.ts", import.meta.url).href;

/** Runs `deno test` on a file that registers one clientTest needing `client`, with env CI. */
async function runProbe(client: string, ci: string | undefined) {
  const dir = Deno.makeTempDirSync({ prefix: "stream-echo-clients-" });
  try {
    const file = `${dir}/probe_test.ts`;
    Deno.writeTextFileSync(
      file,
      `import { clientTest } from ${JSON.stringify(HELPER)};\n` +
        `clientTest("probe", [${JSON.stringify(client)}], async (bin) => {\n` +
        `  if (!bin[${JSON.stringify(client)}]) throw new Error("no path");\n` +
        `});\n`,
    );
    const env: Record<string, string> = { NO_COLOR: "1" };
    if (ci !== undefined) env.CI = ci;
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["test", "--no-check", "--allow-env", "--allow-read", "--allow-run", file],
      env,
      clearEnv: false,
      stdout: "piped",
      stderr: "piped",
      cwd: dir,
    }).output();
    const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
    return { code: out.code, text };
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
}

Deno.test("a missing client is skipped with a printed reason when CI is not set", async () => {
  const { code, text } = await runProbe("no-such-client-for-stream-echo", "");
  assert.equal(code, 0, text);
  assert.match(text, /skipping "probe": no-such-client-for-stream-echo not found on PATH/);
  assert.match(text, /probe \.\.\. ignored/);
});

for (const ci of ["true", "1"]) {
  Deno.test(`a missing client fails its test with CI=${ci}`, async () => {
    const { code, text } = await runProbe("no-such-client-for-stream-echo", ci);
    assert.equal(code, 1, text);
    assert.match(text, /no-such-client-for-stream-echo not found on PATH, and CI=true needs/);
  });
}

Deno.test("a client that is present runs its test, given the client's full path", async () => {
  const { code, text } = await runProbe("sh", "true");
  assert.equal(code, 0, text);
  assert.match(text, /probe \.\.\. ok/);
});

Deno.test("findClient finds executables on PATH only", () => {
  assert.match(findClient("sh") ?? "", /\/sh$/);
  assert.equal(findClient("no-such-client-for-stream-echo"), undefined);
  assert.equal(typeof isCI(), "boolean");
});

Deno.test("runClient passes stdin and kills a client that overruns its timeout", async () => {
  const sh = findClient("sh")!;
  const cat = await runClient(sh, ["-c", "cat; echo done >&2; exit 3"], { stdin: "a\nb" });
  assert.deepEqual(cat, { code: 3, stdout: "a\nb", stderr: "done\n" });
  const start = performance.now();
  await assert.rejects(
    () => runClient(sh, ["-c", "exec sleep 5"], { timeout: 200 }),
    /did not finish within 200 ms/,
  );
  assert.ok(performance.now() - start < 3000);
});

// clientTest is what the examples' tests use; it must be importable without side effects.
assert.equal(typeof clientTest, "function");

Deno.test("findClient names a python3 that can import a module, or none", () => {
  const py = findClient("python3:json");
  assert.ok(py === undefined || py.endsWith("/python3"), py);
  if (findClient("python3")) assert.ok(py, "every python3 has json");
  assert.equal(findClient("python3:no_such_module_for_stream_echo"), undefined);
  assert.equal(findClient("python3:os; import sys"), undefined, "not a module name");
});

Deno.test(".ci/run installs the package of every client the tests may ask for", () => {
  const ciRun = Deno.readTextFileSync(new URL("../.ci/run", import.meta.url));
  for (const [client, pkg] of Object.entries(CLIENT_PACKAGES)) {
    const [program, module] = client.includes(":") ? client.split(":") : [client, undefined];
    const check = module === undefined ? `${program}:${pkg}` : `${module}:${pkg}`;
    assert.ok(ciRun.includes(check), `.ci/run does not check ${client} (${check})`);
  }
});

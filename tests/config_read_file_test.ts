/**
 * Only regular files are read (a device, FIFO or directory is refused before any read, and a
 * FIFO never blocks), and all files one load reads are bounded together.
 */
import assert from "node:assert/strict";
import { ConfigError } from "../src/config/errors.ts";
import { loadConfig, parseConfig } from "../src/config/loader.ts";
import {
  ConfigFileError,
  MAX_CONFIG_BYTES,
  ReadBudget,
  readConfigBytes,
} from "../src/config/read_file.ts";

function withTempDir(run: (dir: string) => void): void {
  const dir = Deno.makeTempDirSync({ prefix: "se-readfile-" });
  try {
    run(dir);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
}

function mkfifo(path: string): void {
  const r = new Deno.Command("mkfifo", { args: [path] }).outputSync();
  assert.equal(r.code, 0, "mkfifo failed");
}

function configErrorOf(run: () => unknown): ConfigError {
  try {
    run();
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  assert.fail("expected a ConfigError");
}

const included: { name: string; target: (dir: string) => string; why: string }[] = [
  {
    name: "/dev/zero",
    target: () => "/dev/zero",
    why: "is not a regular file (a character device)",
  },
  {
    name: "/dev/urandom",
    target: () => "/dev/urandom",
    why: "is not a regular file (a character device)",
  },
  {
    name: "a FIFO (without blocking)",
    target: (dir) => {
      mkfifo(`${dir}/fifo`);
      return `${dir}/fifo`;
    },
    why: "is not a regular file (a FIFO)",
  },
  { name: "a directory", target: (dir) => dir, why: "is a directory, not a file" },
];

for (const c of included) {
  Deno.test(`include of ${c.name} is refused with [emerg]-ready file:line, nothing read`, () => {
    withTempDir((dir) => {
      const target = c.target(dir);
      Deno.writeTextFileSync(`${dir}/main.conf`, `stream {\n  include ${target};\n}\n`);
      const t0 = performance.now();
      const err = configErrorOf(() => loadConfig(`${dir}/main.conf`));
      assert.equal(err.message, `"${target}" ${c.why} in ${dir}/main.conf:2`);
      assert.ok(performance.now() - t0 < 2000, "refused at once");
    });
  });
}

Deno.test("a certificate that is /dev/zero is refused too", () => {
  withTempDir((dir) => {
    Deno.writeTextFileSync(
      `${dir}/main.conf`,
      "stream { server { listen 0 ssl;\nssl_certificate /dev/zero; ssl_certificate_key /dev/zero; echo; } }",
    );
    const err = configErrorOf(() => loadConfig(`${dir}/main.conf`));
    assert.equal(
      err.message,
      'cannot load certificate "/dev/zero": "/dev/zero" is not a regular file ' +
        `(a character device) in ${dir}/main.conf:2`,
    );
  });
});

Deno.test("a main config that is a directory is a ConfigFileError saying so, with no line", () => {
  withTempDir((dir) => {
    assert.throws(() => loadConfig(dir), (err: unknown) => {
      assert.ok(err instanceof ConfigFileError);
      assert.equal(err.message, `"${dir}" is a directory, not a file`);
      return true;
    });
  });
});

Deno.test("an include larger than the bound is refused from its size, before reading", () => {
  withTempDir((dir) => {
    using f = Deno.openSync(`${dir}/huge.conf`, { create: true, write: true });
    f.truncateSync(MAX_CONFIG_BYTES + 1); // sparse: nothing to read, only a size
    Deno.writeTextFileSync(`${dir}/main.conf`, "stream {\n\n  include huge.conf;\n}\n");
    const err = configErrorOf(() => loadConfig(`${dir}/main.conf`));
    assert.equal(
      err.message,
      `"${dir}/huge.conf" is too large: a config and the files it reads may hold 64 MiB ` +
        `together in ${dir}/main.conf:3`,
    );
  });
});

Deno.test("the bound counts all included files together", () => {
  const big = "#".repeat(40 * 1024 * 1024);
  const err = configErrorOf(() =>
    parseConfig("include a.conf;\ninclude b.conf;\n", {
      file: "/se/main.conf",
      readFile: () => big,
    })
  );
  assert.equal(
    err.message,
    '"/se/b.conf" is too large: a config and the files it reads may hold 64 MiB together ' +
      "in /se/main.conf:2",
  );
});

Deno.test("readConfigBytes() reads up to the budget exactly, and not one byte more", () => {
  withTempDir((dir) => {
    Deno.writeTextFileSync(`${dir}/ten`, "0123456789");
    assert.equal(readConfigBytes(`${dir}/ten`, new ReadBudget(10)).length, 10);
    const budget = new ReadBudget(15);
    readConfigBytes(`${dir}/ten`, budget);
    assert.equal(budget.left, 5);
    assert.throws(() => readConfigBytes(`${dir}/ten`, budget), /is too large/);
  });
});

Deno.test("readConfigBytes() names the OS error of a missing file", () => {
  assert.throws(
    () => readConfigBytes("/nonexistent/x.conf", new ReadBudget()),
    (err: unknown) => {
      assert.ok(err instanceof ConfigFileError);
      assert.equal(err.message, 'open() "/nonexistent/x.conf" failed (No such file or directory)');
      return true;
    },
  );
});

import assert from "node:assert/strict";
import { ConfigError } from "../src/config/errors.ts";
import { loadConfig, parseConfig } from "../src/config/loader.ts";
import { ConfigFileError } from "../src/config/read_file.ts";
import { configError, memoryFs } from "./config_fixtures.ts";

Deno.test("parseConfig() names text configs <config> by default", () => {
  const config = parseConfig("stream { server { listen 0; echo; } }");
  assert.equal(config.file, "<config>");
  assert.equal(config.servers[0].pos.file, "<config>");
  assert.equal(
    configError("ech;").message,
    'unknown directive "ech" in <config>:1, did you mean "echo"?',
  );
});

Deno.test("parseConfig() resolves includes against baseDir when given", () => {
  const fs = memoryFs({ "/base/inc.conf": "server { listen 0; echo; }" });
  const config = parseConfig("stream { include inc.conf; }", {
    file: "/x/se.conf",
    baseDir: "/base",
    ...fs,
  });
  assert.equal(config.servers[0].pos.file, "/base/inc.conf");
});

Deno.test("parseConfig() resolves includes against the file's folder by default", () => {
  const fs = memoryFs({ "/x/inc.conf": "server { listen 0; echo; }" });
  const config = parseConfig("stream { include inc.conf; }", { file: "/x/se.conf", ...fs });
  assert.equal(config.servers[0].pos.file, "/x/inc.conf");
});

Deno.test("parseConfig() turns any failure of readFile into a ConfigError at the include", () => {
  const err = configError("\ninclude a.conf;", {
    file: "/x/se.conf",
    readFile: () => {
      throw new TypeError("disk on fire");
    },
  });
  assert.equal(err.message, 'open() "/x/a.conf" failed (disk on fire) in /x/se.conf:2');
});

Deno.test("loadConfig() reads a file and resolves includes against its folder, not the working directory", () => {
  const dir = Deno.makeTempDirSync({ prefix: "se-load-" });
  try {
    Deno.writeTextFileSync(`${dir}/se.conf`, "stream {\n  include servers.conf;\n}\n");
    Deno.writeTextFileSync(`${dir}/servers.conf`, "server { listen 0; echo loaded; }\n");
    const config = loadConfig(`${dir}/se.conf`);
    assert.equal(config.file, `${dir}/se.conf`);
    assert.equal(config.servers[0].pos.file, `${dir}/servers.conf`);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("loadConfig() reports a missing file as a ConfigFileError, with no line", () => {
  assert.throws(() => loadConfig("/nonexistent/se.conf"), (err: unknown) => {
    assert.ok(err instanceof ConfigFileError);
    assert.equal(err.message, 'open() "/nonexistent/se.conf" failed (No such file or directory)');
    return true;
  });
});

Deno.test("loadConfig() reports bad text with the file's path and line", () => {
  const dir = Deno.makeTempDirSync({ prefix: "se-load-" });
  try {
    Deno.writeTextFileSync(
      `${dir}/se.conf`,
      "stream {\n  server {\n    listen 0;\n    echo -t;\n  }\n}\n",
    );
    assert.throws(() => loadConfig(`${dir}/se.conf`), (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.equal(
        err.message,
        `stream echo sees unknown option "-t" in "echo" in ${dir}/se.conf:4`,
      );
      return true;
    });
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

/** The module README's synopsis examples, as written there. */
const readmeExamples: { name: string; config: string; ops: string[] }[] = [
  {
    name: "example 1 (echo with a send timeout)",
    config: `stream {
    server {
        listen 1234;

        echo_send_timeout   10s;    # default to 60s

        echo "Hello, world!";
        echo I really like doing downstream TCP;
    }
}`,
    ops: ["echo", "echo"],
  },
  {
    name: "example 2 (flush, sleep, duplicate)",
    config: `stream {
    server {
        listen 1234;

        echo "before sleep...";
        echo_flush_wait;    # ensure that any pending output is flushed

        echo_sleep 3.1;     # sleep for 3.1 sec

        echo "after sleep...";
        echo_duplicate 3 " hello";  # repeat " hello" for 3 times
        echo;   # just to ouput a new line
    }
}`,
    ops: ["echo", "flush_wait", "sleep", "echo", "duplicate", "echo"],
  },
  {
    name: "example 3 (reading the request)",
    config: `stream {
    server {
        listen 1234;

        echo_read_buffer_size 2k;
        echo_read_timeout 60s;

        echo_read_bytes 2;
        echo -n 'Got prompt: ';
        echo_request_data;
        echo;

        echo_read_line;
        echo -n "Got command: ";
        echo_request_data;
    }
}`,
    ops: [
      "read_bytes",
      "echo",
      "request_data",
      "echo",
      "read_line",
      "echo",
      "request_data",
    ],
  },
  {
    name: "example 4 (a black hole)",
    config: `stream {
    server {
        listen 1999;
        echo_discard_request;
        echo_sleep 3600;    # in sec
    }
}`,
    ops: ["discard_request", "sleep"],
  },
];

for (const c of readmeExamples) {
  Deno.test(`the module README's ${c.name} loads unchanged`, () => {
    const config = parseConfig(c.config, { file: "readme.conf" });
    assert.deepEqual(config.servers[0].steps.map((s) => s.op), c.ops);
    assert.deepEqual(config.notices, []);
  });
}

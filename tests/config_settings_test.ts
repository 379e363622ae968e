import assert from "node:assert/strict";
import { DEFAULT_ECHO_SETTINGS } from "../src/config/settings.ts";
import type { EchoSettings } from "../src/config/types.ts";
import { configError, inServer, onlyServer } from "./config_fixtures.ts";
import { parseConfig } from "../src/config/loader.ts";

Deno.test("a server without echo settings gets the module's defaults", () => {
  assert.deepEqual(onlyServer(inServer("echo hi;")).settings, {
    readTimeout: 60_000,
    sendTimeout: 60_000,
    readBufferSize: 1024,
    clientErrorLogLevel: "info",
    lingeringClose: "on",
    lingeringTime: 30_000,
    lingeringTimeout: 5_000,
  });
});

const valueCases: { name: string; directive: string; key: keyof EchoSettings; value: unknown }[] = [
  {
    name: "takes a time with units",
    directive: "echo_read_timeout 1m30s",
    key: "readTimeout",
    value: 90_000,
  },
  {
    name: "takes a bare number as seconds",
    directive: "echo_send_timeout 10",
    key: "sendTimeout",
    value: 10_000,
  },
  {
    name: "takes milliseconds",
    directive: "echo_lingering_timeout 321ms",
    key: "lingeringTimeout",
    value: 321,
  },
  {
    name: "takes hours",
    directive: "echo_lingering_time 2h",
    key: "lingeringTime",
    value: 7_200_000,
  },
  {
    name: "takes a size in k",
    directive: "echo_read_buffer_size 2k",
    key: "readBufferSize",
    value: 2048,
  },
  {
    name: "takes a size in upper-case M",
    directive: "echo_read_buffer_size 1M",
    key: "readBufferSize",
    value: 1_048_576,
  },
  {
    name: "takes a log level",
    directive: "echo_client_error_log_level warn",
    key: "clientErrorLogLevel",
    value: "warn",
  },
  {
    name: "takes a log level in any case",
    directive: "echo_client_error_log_level ERROR",
    key: "clientErrorLogLevel",
    value: "error",
  },
  {
    name: "takes lingering close always",
    directive: "echo_lingering_close always",
    key: "lingeringClose",
    value: "always",
  },
  {
    name: "takes lingering close off",
    directive: "echo_lingering_close off",
    key: "lingeringClose",
    value: "off",
  },
];

for (const c of valueCases) {
  Deno.test(`${c.directive.split(" ")[0]} ${c.name}`, () => {
    assert.equal(onlyServer(inServer(`echo hi; ${c.directive};`)).settings[c.key], c.value);
  });
}

Deno.test("stream-level settings are inherited by every server that does not set them", () => {
  const config = parseConfig(`stream {
    echo_read_timeout 5s;
    echo_lingering_close off;
    server { listen 0; echo a; }
    server { listen 0; echo b; echo_read_timeout 7s; }
  }`);
  const [a, b] = config.servers;
  assert.equal(a.settings.readTimeout, 5000);
  assert.equal(b.settings.readTimeout, 7000);
  assert.equal(a.settings.lingeringClose, "off");
  assert.equal(b.settings.lingeringClose, "off");
  assert.equal(b.settings.sendTimeout, DEFAULT_ECHO_SETTINGS.sendTimeout);
});

Deno.test("stream-level settings written after the servers are inherited too", () => {
  const config = parseConfig("stream { server { listen 0; echo a; } echo_send_timeout 3s; }");
  assert.equal(config.servers[0].settings.sendTimeout, 3000);
});

const errorCases: { name: string; body: string; message: string }[] = [
  {
    name: "a time that is not a time is an error",
    body: "echo_read_timeout abc;",
    message: '"echo_read_timeout" directive invalid value "abc"',
  },
  {
    name: "a time of 597 hours is an error",
    body: "echo_send_timeout 597h;",
    message: '"echo_send_timeout" directive invalid value "597h": must be less than 597 hours',
  },
  {
    name: "a time of a year is an error",
    body: "echo_lingering_time 1y;",
    message: '"echo_lingering_time" directive invalid value "1y": must be less than 597 hours',
  },
  {
    name: "a size that is not a size is an error",
    body: "echo_read_buffer_size 4x;",
    message: '"echo_read_buffer_size" directive invalid value "4x"',
  },
  {
    name: "a read buffer of 0 bytes is an error",
    body: "echo_read_buffer_size 0;",
    message: '"echo_read_buffer_size" directive invalid value "0": must be at least 1',
  },
  {
    name: "an unknown log level is an error",
    body: "echo_client_error_log_level debug;",
    message: 'invalid value "debug" in "echo_client_error_log_level" directive, ' +
      'it must be "info", "notice", "warn" or "error"',
  },
  {
    name: "an unknown lingering close value is an error",
    body: "echo_lingering_close maybe;",
    message: 'invalid value "maybe" in "echo_lingering_close" directive, ' +
      'it must be "off", "on" or "always"',
  },
  {
    name: "the same setting twice in a server is an error",
    body: "echo_read_timeout 1s; echo_read_timeout 2s;",
    message: '"echo_read_timeout" directive is duplicate',
  },
  {
    name: "a setting without a value is an error",
    body: "echo_read_timeout;",
    message: 'invalid number of arguments in "echo_read_timeout" directive',
  },
];

for (const c of errorCases) {
  Deno.test(`${c.name}`, () => {
    assert.equal(
      configError(inServer(c.body), { file: "s.conf" }).message,
      `${c.message} in s.conf:1`,
    );
  });
}

Deno.test("the same setting twice at stream level is an error", () => {
  const err = configError("stream {\necho_read_timeout 1s;\necho_read_timeout 1s;\n}", {
    file: "s.conf",
  });
  assert.equal(err.message, '"echo_read_timeout" directive is duplicate in s.conf:3');
});

Deno.test("a setting at stream level and in a server is not a duplicate", () => {
  const server = onlyServer(
    "stream { echo_read_timeout 1s; server { listen 0; echo_read_timeout 2s; echo; } }",
  );
  assert.equal(server.settings.readTimeout, 2000);
});

const bufferCases: { name: string; config: string; message?: string }[] = [
  {
    name: "echo_read_bytes larger than the default buffer is an error",
    config: "stream {\nserver {\nlisten 0;\necho_read_bytes 2k;\n}\n}",
    message:
      'stream echo: echo_read_buffer_size 1024 (the default) is too small for "echo_read_bytes 2048" in s.conf:4',
  },
  {
    name: "echo_read_bytes larger than a buffer size set after it in the server is an error",
    config: "stream {\nserver {\nlisten 0;\necho_read_bytes 5;\necho_read_buffer_size 4;\n}\n}",
    message:
      'stream echo: echo_read_buffer_size 4 (set in s.conf:5) is too small for "echo_read_bytes 5" in s.conf:4',
  },
  {
    name: "echo_read_bytes larger than a stream-level buffer size is an error",
    config: "stream {\nserver {\nlisten 0;\necho_read_bytes 5;\n}\necho_read_buffer_size 4;\n}",
    message:
      'stream echo: echo_read_buffer_size 4 (set in s.conf:6) is too small for "echo_read_bytes 5" in s.conf:4',
  },
  {
    name: "reads that together overflow the buffer before echo_request_data are an error",
    config:
      "stream {\nserver {\nlisten 0;\necho_read_buffer_size 4;\necho_read_bytes 3;\necho_read_bytes 3;\n}\n}",
    message:
      'stream echo: echo_read_buffer_size 4 (set in s.conf:4) is too small for "echo_read_bytes 3", ' +
      "which brings the unsent reading buffer to 6 bytes in s.conf:6",
  },
  {
    name: "echo_read_bytes equal to the buffer size is fine",
    config:
      "stream { server { listen 0; echo_read_bytes 3; echo_request_data; echo_read_buffer_size 3; } }",
  },
  {
    name: "echo_request_data empties the buffer between reads",
    config:
      "stream { server { listen 0; echo_read_buffer_size 4; echo_read_bytes 3; echo_request_data; echo_read_bytes 3; } }",
  },
  {
    name: "a server buffer size overrides a smaller stream-level one",
    config:
      "stream { echo_read_buffer_size 2; server { listen 0; echo_read_bytes 3; echo_read_buffer_size 3; } }",
  },
];

for (const c of bufferCases) {
  Deno.test(c.name, () => {
    if (c.message === undefined) {
      parseConfig(c.config, { file: "s.conf" });
    } else {
      assert.equal(configError(c.config, { file: "s.conf" }).message, c.message);
    }
  });
}

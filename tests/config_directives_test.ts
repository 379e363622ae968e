import assert from "node:assert/strict";
import { DIRECTIVES } from "../src/config/directives.ts";
import type { ContextName } from "../src/config/scope.ts";
import { configError } from "./config_fixtures.ts";

const CONTEXTS: ContextName[] = ["main", "events", "stream", "server", "loop", "branch", "match"];

/** Places one directive line in a context. */
function placed(context: ContextName, line: string): string {
  switch (context) {
    case "main":
      return line;
    case "events":
      return `events { ${line} }`;
    case "stream":
      return `stream { ${line} }`;
    case "server":
      return `stream { server { listen 0; ${line} } }`;
    case "loop":
      return `stream { server { listen 0; echo_loop 1 { ${line} } } }`;
    case "branch":
      return `stream { server { listen 0; echo_match { default { ${line} } } } }`;
    case "match":
      return `stream { server { listen 0; echo_match { ${line} } } }`;
  }
}

function line(name: string, args: number, block: boolean): string {
  const words = [name, ...Array.from({ length: args }, (_, i) => `a${i}`)].join(" ");
  return block ? `${words} { }` : `${words};`;
}

Deno.test("every table entry names at least one context and a sane argument range", () => {
  for (const [name, spec] of DIRECTIVES) {
    assert.ok(spec.contexts.length > 0, name);
    assert.ok(spec.args[0] >= 0 && spec.args[0] <= spec.args[1], name);
    assert.equal(typeof spec.compile, "function", name);
  }
});

Deno.test("the table holds every directive of the module", () => {
  const module = [
    "echo",
    "echo_duplicate",
    "echo_sleep",
    "echo_flush_wait",
    "echo_read_bytes",
    "echo_read_line",
    "echo_request_data",
    "echo_discard_request",
    "echo_send_timeout",
    "echo_read_timeout",
    "echo_read_buffer_size",
    "echo_client_error_log_level",
    "echo_lingering_close",
    "echo_lingering_time",
    "echo_lingering_timeout",
  ];
  for (const name of module) assert.ok(DIRECTIVES.has(name), name);
});

for (const [name, spec] of DIRECTIVES) {
  const minArgs = spec.args[0];
  for (const context of CONTEXTS.filter((c) => !spec.contexts.includes(c))) {
    Deno.test(`"${name}" in ${context} context is not allowed here`, () => {
      const err = configError(placed(context, line(name, minArgs, spec.block)));
      assert.equal(err.reason, `"${name}" directive is not allowed here`);
    });
  }
  const home = spec.contexts[spec.contexts.length - 1];
  if (spec.args[1] !== Infinity) {
    Deno.test(`"${name}" with ${spec.args[1] + 1} arguments has an invalid number of arguments`, () => {
      const err = configError(placed(home, line(name, spec.args[1] + 1, spec.block)));
      assert.equal(err.reason, `invalid number of arguments in "${name}" directive`);
    });
  }
  if (minArgs > 0) {
    Deno.test(`"${name}" with ${minArgs - 1} arguments has an invalid number of arguments`, () => {
      const err = configError(placed(home, line(name, minArgs - 1, spec.block)));
      assert.equal(err.reason, `invalid number of arguments in "${name}" directive`);
    });
  }
  if (spec.block) {
    Deno.test(`"${name}" ended by ; has no opening {`, () => {
      const err = configError(placed(home, line(name, minArgs, false)));
      assert.equal(err.reason, `directive "${name}" has no opening "{"`);
    });
  } else {
    Deno.test(`"${name}" followed by a block is not terminated by ;`, () => {
      const err = configError(placed(home, line(name, minArgs, true)));
      assert.equal(err.reason, `directive "${name}" is not terminated by ";"`);
    });
  }
}

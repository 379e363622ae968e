/** parseArgs(): every accepted shape, and the mistakes that are usage errors (exit 2). */
import assert from "node:assert/strict";
import { type Invocation, parseArgs, UsageError } from "../src/cli/args.ts";

const accepted: [string[], Invocation][] = [
  [["serve"], { command: "serve" }],
  [["serve", "--config", "a.conf"], { command: "serve", config: "a.conf" }],
  [["serve", "--config=a.conf"], { command: "serve", config: "a.conf" }],
  [["serve", "-c", "a.conf"], { command: "serve", config: "a.conf" }],
  [["serve", "-ca.conf"], { command: "serve", config: "a.conf" }],
  [["-c", "a.conf", "serve"], { command: "serve", config: "a.conf" }],
  [
    ["serve", "-c", "a", "--error-log", "stderr", "--log-level", "warn", "--pid", "p"],
    { command: "serve", config: "a", errorLog: "stderr", logLevel: "warn", pid: "p" },
  ],
  [["check", "-c", "a.conf"], { command: "check", config: "a.conf" }],
  [["-t", "-c", "a.conf"], { command: "check", config: "a.conf" }],
  [["-tc", "a.conf"], { command: "check", config: "a.conf" }],
  [["-tq", "-c", "a.conf"], { command: "check", config: "a.conf", quiet: true }],
  [["check", "-t"], { command: "check" }],
  [["--version"], { command: "version" }],
  [["-v"], { command: "version" }],
  [["-V"], { command: "version" }],
  [["version"], { command: "version" }],
  [["--help"], { command: "help" }],
  [["-h"], { command: "help" }],
  [["-?"], { command: "help" }],
  [["help", "serve"], { command: "help", topic: "serve" }],
];

for (const [args, want] of accepted) {
  Deno.test(`parseArgs accepts ${JSON.stringify(args)}`, () => {
    assert.deepEqual(parseArgs(args), want);
  });
}

const rejected: [string[], RegExp][] = [
  [[], /no command given/],
  [["bogus"], /unknown command "bogus"/],
  [["serve", "--bogus"], /unknown flag "--bogus"/],
  [["serve", "-z"], /unknown flag "-z"/],
  [["serve", "-c"], /flag "-c" needs a value/],
  [["serve", "--config="], /flag "--config" needs a value/],
  [["serve", "--log-level", "chatty"], /invalid log level "chatty"/],
  [["check", "--error-log", "x"], /"--error-log" is not valid for "check"/],
  [["version", "-c", "x"], /"--config" is not valid for "version"/],
  [["serve", "check"], /unexpected argument "check"/],
  [["-t", "serve"], /unknown command|cannot be combined|unexpected argument/],
  [["--version", "serve"], /unexpected argument "serve"|cannot be combined/],
  [["help", "nope"], /unknown command "nope"/],
  [["serve", "--quiet=1"], /takes no value/],
  [["serve", "--"], /unexpected "--"/],
];

for (const [args, message] of rejected) {
  Deno.test(`parseArgs rejects ${JSON.stringify(args)} as a usage error`, () => {
    assert.throws(() => parseArgs(args), (e: unknown) => {
      assert.ok(e instanceof UsageError);
      assert.match(e.message, message);
      return true;
    });
  });
}

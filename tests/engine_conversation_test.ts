/**
 * Conversation steps over in-memory connections: every read directive on a match, a
 * mismatch under each `echo_mismatch_action`, EOF, oversize input, one byte per segment and
 * delimiters split across segments; loops, `echo_match`, captures, `-e`, `-v`, length framing
 * and `postpone_output`.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { bytesToBinary as latin1 } from "../src/config/bytes.ts";
import type { SessionEnd } from "../src/engine/types.ts";
import { ioTest, prng, runMemory, script } from "./engine_harness.ts";

const off = "echo_lingering_close off;";

/** A latin1 string as bytes (one byte per char), for binary client input. */
function bin(text: string): Uint8Array {
  return Uint8Array.from(text, (c) => c.charCodeAt(0));
}

interface Case {
  name: string;
  /** The server body (lingering close is turned off). */
  body: string;
  /** Directives at stream level. */
  stream?: string;
  /** What the client sends, segment by segment (latin1). */
  input: string[];
  /** Client EOF after the input. @default true */
  eof?: boolean;
  /** Everything the client receives (latin1). */
  want: string;
  /** How the session ends. @default "eof" */
  end?: SessionEnd;
  /** Substrings of the log lines, in order; without it the log must stay empty. */
  log?: string[];
  /** True when the session must close with a reset. */
  reset?: boolean;
}

async function play(c: Case, segments: string[]): Promise<void> {
  const { conn, done, logger } = runMemory(script(`${off} ${c.body}`, c.stream ?? ""), {
    withReset: true,
  });
  for (const s of segments) conn.send(bin(s));
  if (c.eof ?? true) conn.end();
  const result = await done;
  assertEquals(result.end, c.end ?? "eof", `${c.name}: end (${result.reason})`);
  if (!c.reset) assertEquals(latin1(conn.raw()), c.want, `${c.name}: output`);
  // (a close that leaves input unread may reset too, as C's close() does: only checked one way)
  if (c.reset) assert(conn.wasReset, `${c.name}: reset`);
  const log = c.log ?? [];
  assertEquals(logger.lines.length, log.length, `${c.name}: log ${logger.lines.join("\n")}`);
  log.forEach((want, i) => assert(logger.lines[i].includes(want), `${logger.lines[i]} ~ ${want}`));
}

const ACTIONS = ["close", "reset", "continue"] as const;

/**
 * Runs `cases` as sent, and again with every byte in a segment of its own. With `actions`
 * (directives that compare nothing), each case also runs under every `echo_mismatch_action`
 * and must behave the same: the setting only concerns comparisons.
 */
function table(family: string, cases: Case[], options: { actions?: boolean } = {}): void {
  for (const c of cases) {
    ioTest(`${family}: ${c.name}`, () => play(c, c.input));
    ioTest(`${family}: ${c.name} (one byte per segment)`, () => {
      return play(c, c.input.join("").split(""));
    });
    if (!options.actions || c.stream?.includes("echo_mismatch_action")) continue;
    ioTest(`${family}: ${c.name} (the same under every echo_mismatch_action)`, async () => {
      for (const action of ACTIONS) {
        const stream = `${c.stream ?? ""} echo_mismatch_action ${action};`;
        await play({ ...c, name: `${c.name} [${action}]`, stream }, c.input);
      }
    });
  }
}

const TOO_SMALL = "[error] 4242#0: *7 stream echo: echo_buffer_size is too small for the request";
const PREMATURE = "stream client prematurely closed connection";

/** The three `echo_mismatch_action`s on one mismatching step (`echo ok` runs after it). */
function mismatchCases(step: string, input: string, expected: string, got: string): Case[] {
  const line = `[error] 4242#0: *7 stream echo: request data mismatch: ` +
    `expected "${expected}", got "${got}"`;
  return [
    {
      name: "a mismatch closes the connection after sending what was queued (default close)",
      body: `echo -n before,; ${step} echo ok;`,
      input: [input],
      want: "before,",
      end: "mismatch",
      log: [line],
    },
    {
      name: "a mismatch with echo_mismatch_action close is the default",
      stream: "echo_mismatch_action close;",
      body: `${step} echo ok;`,
      input: [input],
      want: "",
      end: "mismatch",
      log: [line],
    },
    {
      name: "a mismatch with echo_mismatch_action reset resets the connection",
      stream: "echo_mismatch_action reset;",
      body: `${step} echo ok;`,
      input: [input],
      want: "",
      end: "mismatch",
      log: [line],
      reset: true,
    },
    {
      name: "a mismatch with echo_mismatch_action continue only logs",
      stream: "echo_mismatch_action continue;",
      body: `${step} echo ok;`,
      input: [input],
      want: "ok\n",
      log: [line],
    },
  ];
}

table("echo_read_until", [
  {
    name: "reads through the delimiter and keeps it, the rest stays buffered",
    body: String
      .raw`echo_read_until "\r\n.\r\n"; echo_request_data; echo_read_line; echo_request_data;`,
    input: ["a\r\nb\r\n.\r\nrest\n"],
    want: "a\r\nb\r\n.\r\nrest\n",
  },
  {
    name: "finds a delimiter split across segments",
    body: String.raw`echo_read_until "\r\n.\r\n"; echo -n [; echo_request_data; echo -n ];`,
    input: ["body\r\n.", "\r", "\nafter"],
    want: "[body\r\n.\r\n]",
  },
  {
    name: "finds a delimiter after a partial match that restarts inside itself",
    body: String.raw`echo_read_until aab; echo_request_data;`,
    input: ["xaa", "aab", "tail"],
    want: "xaaaab",
  },
  {
    name: "at EOF before the delimiter takes what arrived (like echo_read_line)",
    body: String.raw`echo_read_until "\r\n"; echo -n [; echo_request_data; echo -n ];`,
    input: ["partial"],
    want: "[partial]",
  },
  {
    name: "without the delimiter within the buffer is the oversize error",
    stream: "echo_read_buffer_size 8;",
    body: String.raw`echo -n x; echo_read_until "\r\n"; echo never;`,
    input: ["0123456789\r\n"],
    eof: false,
    want: "x",
    end: "error",
    log: [TOO_SMALL],
  },
  {
    name: "with -e finds a binary delimiter",
    body: String.raw`echo_read_until -e "\x00\xff"; echo_request_data;`,
    input: ["ab\x00c\x00\xffz"],
    want: "ab\x00c\x00\xff",
  },
  {
    name: "mismatch actions do not apply: it only reads (echo_mismatch_action reset)",
    stream: "echo_mismatch_action reset;",
    body: String.raw`echo_read_until "\n"; echo_request_data;`,
    input: ["line\n"],
    want: "line\n",
  },
], { actions: true });

table("echo_read_literal", [
  {
    name: "reads the literal's length and matches",
    body: String.raw`echo_read_literal "PING\r\n"; echo -n +PONG; echo_request_data;`,
    input: ["PING\r\nPING"],
    want: "+PONGPING\r\n",
  },
  {
    name: "with -e matches binary bytes",
    body: String.raw`echo_read_literal -e "\x00\x01\x80"; echo ok;`,
    input: ["\x00\x01\x80"],
    want: "ok\n",
  },
  ...mismatchCases(
    String.raw`echo_read_literal "PING\r\n";`,
    "PONG\r\n",
    "PING\\r\\n",
    "PONG\\r\\n",
  ),
  {
    name: "EOF before the literal is complete is a premature close",
    body: String.raw`echo -n x; echo_read_literal "PING\r\n"; echo never;`,
    input: ["PI"],
    want: "x",
    end: "reset",
    log: [PREMATURE],
  },
  {
    name: "oversize input (a second literal that does not fit) is the oversize error",
    stream: "echo_read_buffer_size 8;",
    body: String.raw`echo_loop 2 { echo_read_literal abcde; } echo never;`,
    input: ["abcdeabcde"],
    eof: false,
    want: "",
    end: "error",
    log: [TOO_SMALL],
  },
  {
    name: "a mismatch log is escaped and shortened",
    body: String.raw`echo_read_literal -e "${"x".repeat(70)}\x00";`,
    input: ['"\\' + "y".repeat(69)],
    want: "",
    end: "mismatch",
    log: [`expected "${"x".repeat(64)}...", got "\\"\\\\${"y".repeat(62)}..."`],
  },
]);

table("echo_test_request_data", [
  {
    name: "matches the whole reading buffer",
    body: String.raw`echo_read_line; echo_read_line; echo_test_request_data "a\nb\n"; echo ok;`,
    input: ["a\nb\n"],
    want: "ok\n",
  },
  {
    name: "compares an empty buffer before any read with the empty string",
    body: String.raw`echo_test_request_data ""; echo ok;`,
    input: [],
    want: "ok\n",
  },
  ...mismatchCases(
    String.raw`echo_read_line; echo_test_request_data -e "\x01\n";`,
    "\x02\n",
    "\\x01\\n",
    "\\x02\\n",
  ),
  {
    name: "after EOF compares what arrived",
    body: String.raw`echo_read_line; echo_test_request_data "abc"; echo ok;`,
    input: ["abc"],
    want: "ok\n",
  },
  {
    name: "oversize input is the reading step's error, before any compare",
    stream: "echo_read_buffer_size 4;",
    body: String.raw`echo_read_line; echo_test_request_data "abcdef\n";`,
    input: ["abcdef\n"],
    eof: false,
    want: "",
    end: "error",
    log: [TOO_SMALL],
  },
]);

table("echo_read_regex", [
  {
    name: "reads through the match, sets the captures, leaves the rest buffered",
    body: String.raw`echo_read_regex "^GET (\S+) HTTP/1\.[01]\r\n"; echo -v -n "[$1]"; ` +
      String
        .raw`echo_request_data; echo_clear_request_data; echo_read_line; echo -v -n "{$echo_last_read}";`,
    input: ["GET /a/b HTTP/1.1\r\nHost: x\r\n"],
    want: "[/a/b]GET /a/b HTTP/1.1\r\n{Host: x\r\n}",
  },
  {
    name: "matches across segments",
    body: String.raw`echo_read_regex "(?<n>\d+);"; echo -v "n=$n ${"$"}{n}";`,
    input: ["12", "34", ";x"],
    want: "n=1234 1234\n",
  },
  {
    name: "anchors ^ at the end of the previous read",
    body: String.raw`echo_read_line; echo_read_regex "^b+c"; echo -v -n "$0";`,
    input: ["a\nbbbc"],
    want: "bbbc",
  },
  {
    name: "matches bytes above 0x7f as latin1 chars",
    body: String.raw`echo_read_regex -e "\xff(.)"; echo -v -n "$1";`,
    input: ["a\xff\x80"],
    want: "\x80",
  },
  {
    name: "EOF before a match is a premature close",
    body: String.raw`echo -n x; echo_read_regex "\r\n"; echo never;`,
    input: ["abc"],
    want: "x",
    end: "reset",
    log: [PREMATURE],
  },
  {
    name: "no match within the buffer is the oversize error",
    stream: "echo_read_buffer_size 8;",
    body: String.raw`echo_read_regex "\r\n"; echo never;`,
    input: ["0123456789"],
    eof: false,
    want: "",
    end: "error",
    log: [TOO_SMALL],
  },
  {
    name: "mismatch actions do not apply: it reads until a match (echo_mismatch_action continue)",
    stream: "echo_mismatch_action continue;",
    body: String.raw`echo_read_regex "b"; echo_request_data;`,
    input: ["aab"],
    want: "aab",
  },
], { actions: true });

table("echo_read_bytes $N", [
  {
    name: "reads a RESP bulk string by its $5 length plus the CRLF",
    body: String
      .raw`echo_read_regex "^\$(\d+)\r\n"; echo_read_bytes $1 +2; echo -v -n "<$echo_last_read>";`,
    input: ["$5\r\nhello\r\n$3"],
    want: "<hello\r\n>",
  },
  {
    name: "reads a Content-Length body by a named capture",
    body:
      String.raw`echo_read_regex "(?i)content-length: (?<len>\d+)\r\n\r\n";`.replace("(?i)", "") +
      String.raw` echo_read_bytes $len; echo -v -n "[$echo_last_read]";`,
    input: ["POST / HTTP/1.1\r\ncontent-length: 3\r\n\r\nabcNEXT"],
    want: "[abc]",
  },
  {
    name: "a capture that is not a number is an error",
    body: String.raw`echo_read_regex "^(\w+)\n"; echo_read_bytes $1; echo never;`,
    input: ["abc\n"],
    want: "",
    end: "error",
    log: [`stream echo: bad length in "echo_read_bytes": $1 is "abc", not a decimal number`],
  },
  {
    name: "a capture that is not a number is logged escaped: its CR LF forge no log line",
    body: String.raw`echo_read_regex "^([^:]*):"; echo_read_bytes $1; echo never;`,
    input: ["1\r\n2026/01/01 [emerg] forged\x01\xff:"],
    want: "",
    end: "error",
    log: [
      String.raw`$1 is "1\r\n2026/01/01 [emerg] forged\x01\xff", not a decimal number`,
    ],
  },
  {
    name: "a negative adjusted length is an error",
    body: String.raw`echo_read_regex "^(\d+)\n"; echo_read_bytes $1 -4; echo never;`,
    input: ["2\n"],
    want: "",
    end: "error",
    log: [`stream echo: bad length in "echo_read_bytes": 2 - 4 is negative`],
  },
  {
    name: "EOF before the length is read is a premature close",
    body: String.raw`echo_read_regex "^(\d+)\n"; echo_read_bytes $1;`,
    input: ["5\nab"],
    want: "",
    end: "reset",
    log: [PREMATURE],
  },
  {
    name: "a length beyond the buffer is the oversize error at once",
    stream: "echo_read_buffer_size 16;",
    body: String.raw`echo_read_regex "^(\d+)\n"; echo_read_bytes $1; echo never;`,
    input: ["100\nabc"],
    eof: false,
    want: "",
    end: "error",
    log: [TOO_SMALL],
  },
], { actions: true });

table("echo_read_length", [
  {
    name: "reads a Postgres message: type byte, u32be length that counts itself (-4)",
    body: String
      .raw`echo_read_literal Q; echo_read_length u32be -4; echo -v -n "[$echo_last_read]";`,
    input: ["Q\x00\x00\x00\x09hello!"],
    want: "[\x00\x00\x00\x09hello]",
  },
  {
    name: "reads u8, u16le, u16be and u32le lengths",
    body: String.raw`echo_read_length u8; echo_read_length u16le; echo_read_length u16be; ` +
      String.raw`echo_read_length u32le +1; echo_request_data;`,
    input: ["\x01a\x02\x00bc\x00\x01d\x01\x00\x00\x00ef"],
    want: "\x01a\x02\x00bc\x00\x01d\x01\x00\x00\x00ef",
  },
  {
    name: "a negative adjusted length is an error",
    body: String.raw`echo_read_length u32be -4; echo never;`,
    input: ["\x00\x00\x00\x02"],
    want: "",
    end: "error",
    log: [`stream echo: bad length in "echo_read_length": 2 - 4 is negative`],
  },
  {
    name: "EOF inside the body is a premature close",
    body: String.raw`echo_read_length u16be;`,
    input: ["\x00\x05abc"],
    want: "",
    end: "reset",
    log: [PREMATURE],
  },
  {
    name: "a length beyond the buffer is the oversize error at once",
    stream: "echo_read_buffer_size 64;",
    body: String.raw`echo_read_length u32be; echo never;`,
    input: ["\x7f\xff\xff\xffabc"],
    eof: false,
    want: "",
    end: "error",
    log: [TOO_SMALL],
  },
], { actions: true });

table("echo_clear_request_data", [
  {
    name: "empties the reading buffer without sending it; pipelined input stays",
    stream: "echo_read_buffer_size 8;",
    body: String
      .raw`echo_loop 3 { echo_read_line; echo_clear_request_data; } echo_read_line; echo_request_data;`,
    input: ["abcdef\n", "abcdef\nabcdef\nlast\n"],
    want: "last\n",
  },
  {
    name: "before any read does nothing",
    body: String.raw`echo_clear_request_data; echo_read_line; echo_request_data;`,
    input: ["a\n"],
    want: "a\n",
  },
  {
    name: "empties $echo_last_read and $echo_request_data",
    body: String
      .raw`echo_read_line; echo_clear_request_data; echo -v -n "[$echo_last_read|$echo_request_data]";`,
    input: ["a\n"],
    want: "[|]",
  },
  {
    name: "is what keeps a long dialogue within the buffer (EOF between requests ends it)",
    stream: "echo_read_buffer_size 4;",
    body: String.raw`echo_loop { echo_read_line; echo_request_data; echo_clear_request_data; }`,
    input: ["ab\n".repeat(20)],
    want: "ab\n".repeat(20),
  },
  {
    name: "without it the same dialogue overflows the buffer",
    stream: "echo_read_buffer_size 4;",
    body: String.raw`echo_loop { echo_read_line; echo_match { when "x" { } } }`,
    input: ["ab\nab\n"],
    eof: false,
    want: "",
    end: "error",
    log: [TOO_SMALL],
  },
], { actions: true });

table("echo_loop", [
  {
    name: "runs its body N times",
    body: String.raw`echo_loop 3 { echo_read_line; echo -n >; echo_request_data; }`,
    input: ["a\nb\nc\nd\n"],
    want: ">a\n>b\n>c\n",
  },
  {
    name: "without a count ends quietly at EOF between requests, then runs the steps after it",
    body: String.raw`echo_loop { echo_read_line; echo -n >; echo_request_data; } echo -n bye;`,
    input: ["a\nb\n"],
    want: ">a\n>b\nbye",
  },
  {
    name: "ends quietly at EOF between requests for every kind of read",
    body:
      String.raw`echo_loop { echo_read_literal ab; echo_read_until "!"; echo_read_regex "^."; ` +
      String
        .raw`echo_read_bytes 1; echo_read_length u8; echo_clear_request_data; echo -n +; } echo -n end;`,
    input: ["abx!yz\x01q", "abx!yz\x00"],
    want: "++end",
  },
  {
    name: "a request cut by EOF is still a premature close",
    body: String.raw`echo_loop { echo_read_bytes 4; echo_clear_request_data; }`,
    input: ["abcdef"],
    want: "",
    end: "reset",
    log: [PREMATURE],
  },
  {
    name: "echo_break leaves the innermost loop",
    body: String.raw`echo_loop { echo_read_line; echo_match { when = "q\n" { echo_break; } } ` +
      String.raw`echo_loop 5 { echo -n i; echo_break; } echo_clear_request_data; } echo -n done;`,
    input: ["a\nb\nq\nz\n"],
    want: "iidone",
  },
  {
    name: "takes its count from a capture",
    body: String
      .raw`echo_read_regex "^\*(\d+)\r\n"; echo_loop $1 { echo_read_line; echo -n .; } echo -n end;`,
    input: ["*3\r\na\nb\nc\n"],
    want: "...end",
  },
  {
    name: "a capture count that is not a number is an error",
    body: String.raw`echo_read_regex "^\*(\S+)\r\n"; echo_loop $1 { echo_read_line; }`,
    input: ["*x\r\n"],
    want: "",
    end: "error",
    log: [`stream echo: "echo_loop" count $1 is "x", not a number from 0 to 1000000`],
  },
  {
    name: "a capture count that is not a number is logged escaped, at most 32 bytes",
    body: String.raw`echo_read_regex "^\*([^;]*);"; echo_loop $1 { echo_read_line; }`,
    input: ["*" + "\n".repeat(40) + ";"],
    want: "",
    end: "error",
    log: [`count $1 is "${"\\n".repeat(32)}...", not a number from 0 to 1000000`],
  },
  {
    name: "EOF that ends an inner loop ends the outer ones after their iteration",
    body: String
      .raw`echo_loop { echo_read_line; echo_loop { echo_read_line; echo -n i; } echo -n o; } echo -n end;`,
    input: ["a\nb\nc\n"],
    want: "iioend",
  },
  {
    name: "an unbounded loop whose iteration reads nothing stops with an error",
    body: String.raw`echo_loop { echo_read_regex "x*"; }`,
    input: ["abc"],
    want: "",
    end: "error",
    log: [`"echo_loop" (<config>:3) read nothing in one iteration`],
  },
  {
    name: "a large bounded loop without reads streams its output",
    body: String.raw`echo_loop 5000 { echo -n ab; } echo -n !;`,
    input: [],
    want: "ab".repeat(5000) + "!",
  },
], { actions: true });

table("echo_match", [
  {
    name: "runs the first branch that matches (exact, prefix, regex, default)",
    body: String.raw`echo_loop { echo_read_line; echo_match {
        when = "PING\n" { echo -n PONG,; }
        when "PI" { echo -n prefix,; }
        when ^~ "SET " { echo -n set,; }
        when ~ "^GET (\w+)" { echo -v -n "get:$1,"; }
        when ~* "^quit" { echo -n bye,; echo_break; }
        default { echo -n "?,"; }
      } echo_clear_request_data; }`,
    input: ["PING\nPINGX\nSET a\nGET key\nnope\nQuIt\nPING\n"],
    want: "PONG,prefix,set,get:key,?,bye,",
  },
  {
    name: "folds Latin-1 letters under ~* (subjects are bytes read as Latin-1), as JavaScript does",
    body: String.raw`echo_loop { echo_read_line; echo_match {
        when ~ "^[Cc][Aa][Ff]\xC9\n" { echo -n ascii-only,; }
        when ~* "^CAF\xC9\n" { echo -n folded,; }
        default { echo -n "?,"; }
      } echo_clear_request_data; }`,
    input: ["cAf\xC9\ncaf\xE9\n"],
    want: "ascii-only,folded,",
  },
  {
    name: "matches 0xA0 with \\s, and not CR with ., as JavaScript does (ASCII classes: portable)",
    body: String.raw`echo_loop { echo_read_line; echo_match {
        when ~ "^a[ \t\r\n]b" { echo -n ascii-space,; }
        when ~ "^a\sb" { echo -n js-space,; }
        when ~ "^x.y" { echo -n dot,; }
        when ~ "^x[^\n]y" { echo -n not-lf,; }
        default { echo -n "?,"; }
      } echo_clear_request_data; }`,
    input: ["a b\na\xA0b\nx\x85y\nx\ry\n"],
    want: "ascii-space,js-space,dot,not-lf,",
  },
  {
    name: "without a default and no match runs nothing",
    body: String.raw`echo_read_line; echo_match { when = "x\n" { echo x; } } echo -n after;`,
    input: ["y\n"],
    want: "after",
  },
  {
    name: "matches the whole buffer with 'buffer', the last read by default",
    body: String.raw`echo_read_line; echo_read_line;
      echo_match buffer { when = "a\nb\n" { echo -n whole,; } }
      echo_match { when = "b\n" { echo -n last,; } }
      echo_match last { when = "a\nb\n" { echo -n never; } }`,
    input: ["a\nb\n"],
    want: "whole,last,",
  },
  {
    name: "matches -e binary patterns",
    body: String.raw`echo_read_bytes 2; echo_match { when -e = "\x00\x01" { echo -n bin; } }`,
    input: ["\x00\x01"],
    want: "bin",
  },
  {
    name: "a regex branch's captures stay for the steps after the match",
    body: String
      .raw`echo_read_line; echo_match { when ~ "^(?<k>\w+)=(\w+)" { } } echo -v -n "$k:$2 $$1";`,
    input: ["key=val\n"],
    want: "key:val $1",
  },
], { actions: true });

table("-v and -e output", [
  {
    name: "-v fills $0..$9, named groups, $echo_last_read and $echo_request_data; $$ is $",
    body: String.raw`echo_read_line; echo_read_regex "(a)(b)?(?<c>c)"; ` +
      String
        .raw`echo -v -n "[$0|$1|$2|$3|$c|${"$"}{c}|$echo_last_read|$$|$9]"; echo -v -n -- "-$echo_request_data";`,
    input: ["L\nxac"],
    want: "[ac|a||c|c|c|xac|$|]-L\nxac",
  },
  {
    name: "without -v a $1 is sent as written",
    body: String.raw`echo_read_regex "(a)"; echo -n "$1 $echo_last_read";`,
    input: ["a"],
    want: "$1 $echo_last_read",
  },
  {
    name: "-e sends binary bytes, with -n in either order",
    body: String.raw`echo -e -n "\x00\xff\e\a\b\f\v\0\\\\x"; echo -n -e "\x41";`,
    input: [],
    want: "\x00\xff\x1b\x07\x08\x0c\x0b\x00\\xA",
  },
  {
    name: "echo_duplicate takes -e and -v",
    body: String.raw`echo_read_regex "(..)"; echo_duplicate -v 3 "$1"; echo_duplicate -e 2 "\x01";`,
    input: ["ab"],
    want: "ababab\x01\x01",
  },
  {
    name: "-v with -e decodes escapes in the literal parts only",
    body: String.raw`echo_read_regex "(.)"; echo -v -e -n "\x24$1\x24";`,
    input: ["z"],
    want: "$z$",
  },
], { actions: true });

const postponeCases: { name: string; body: string; input?: string; chunks: number[] }[] = [
  {
    name: "echo_sleep sends what is held before it sleeps",
    body: "echo -n ab; echo_sleep 0.01; echo -n cd;",
    chunks: [2, 2],
  },
  {
    name: "echo_flush_wait sends what is held and waits",
    body: "echo -n ab; echo -n c; echo_flush_wait; echo -n d;",
    chunks: [3, 1],
  },
  {
    name: "a read that fills the buffer sends what is held first; echo_request_data sends at once",
    body: "echo -n '> '; echo_read_line; echo_request_data; echo -n x;",
    input: "hello\n",
    chunks: [2, 6, 1],
  },
  {
    name: "a small echo_duplicate is held, a large one sends what is held first",
    body: "echo -n a; echo_duplicate 3 b; echo_duplicate 200 c; echo -n d;",
    chunks: [4, 200, 1],
  },
  {
    name: "the end of the script sends what is held",
    body: "echo -n a; echo -n b;",
    chunks: [2],
  },
];

for (const c of postponeCases) {
  ioTest(`postpone_output: ${c.name}`, async () => {
    const { conn, done } = runMemory(script(`${off} ${c.body}`, "postpone_output 100;"));
    if (c.input) conn.send(c.input);
    conn.end();
    assertEquals((await done).end, "eof");
    assertEquals(conn.chunkSizes, c.chunks);
  });
}

ioTest("postpone_output holds output until it reaches the size, echo_flush sends it", async () => {
  const s = script(
    `${off} echo -n a; echo -n b; echo_flush; echo -n c; echo -n d; echo -n e; echo -n f; ` +
      `echo_read_line; echo -n g;`,
    "postpone_output 3;",
  );
  const { conn, done } = runMemory(s);
  conn.send("x\n");
  conn.end();
  assertEquals((await done).end, "eof");
  assertEquals(conn.text(), "abcdefg");
  assertEquals(conn.chunkSizes, [2, 3, 1, 1]);
});

ioTest("postpone_output sends what it holds before a read waits for the client", async () => {
  const s = script(`${off} echo -n hi; echo_read_line; echo_request_data;`, "postpone_output 1k;");
  const { conn, done } = runMemory(s);
  await new Promise((r) => setTimeout(r, 20));
  assertEquals(conn.text(), "hi", "the greeting is not held while the server waits");
  conn.send("x\n");
  conn.end();
  assertEquals((await done).end, "eof");
  assertEquals(conn.text(), "hix\n");
});

ioTest("without postpone_output every echo is its own write", async () => {
  const { conn, done } = runMemory(script(`${off} echo -n a; echo -n b; echo_flush;`));
  conn.end();
  assertEquals((await done).end, "eof");
  assertEquals(conn.chunkSizes, [1, 1]);
});

ioTest(
  "the README's Redis mock answers PING, SET, GET and unknown commands in one connection",
  async () => {
    const readme = await Deno.readTextFile(new URL("../README.md", import.meta.url));
    const start = readme.indexOf("# A Redis mock");
    const block = readme.slice(start, readme.indexOf("```", start));
    const body = block.slice(block.indexOf("server {") + 8, block.lastIndexOf("}"))
      .replace(/listen \d+;/, "");
    const { conn, done } = runMemory(script(`${off} ${body}`));
    const resp = (...words: string[]) =>
      `*${words.length}\r\n` + words.map((w) => `$${w.length}\r\n${w}\r\n`).join("");
    conn.send(resp("PING") + resp("SET", "k", "v"));
    conn.send(resp("GET", "mykey").slice(0, 9));
    conn.send(resp("GET", "mykey").slice(9) + resp("FLUSHALL"));
    conn.end();
    assertEquals((await done).end, "eof");
    assertEquals(conn.text(), "+PONG\r\n+OK\r\n$5\r\nmykey\r\n-ERR unknown command\r\n");
  },
);

ioTest(
  "echo_duplicate -v writes a large count in chunks of whole copies, not one write each",
  async () => {
    const s = script(`${off} echo_read_regex "(..)"; echo_duplicate -v 100000 "$1";`);
    const { conn, done } = runMemory(s);
    conn.send("ab");
    conn.end();
    assertEquals((await done).end, "eof");
    assertEquals(conn.bytes(), 200_000);
    assert(conn.chunkSizes.length <= 8, `${conn.chunkSizes.length} writes`);
  },
);

ioTest(
  "echo_read_until finds the first delimiter however the input is cut (seeded fuzz vs indexOf)",
  async () => {
    const random = prng(20261202);
    const pick = (alphabet: string, n: number) =>
      Array.from({ length: n }, () => alphabet[Math.floor(random() * alphabet.length)]).join("");
    for (let round = 0; round < 150; round++) {
      // a two-letter alphabet makes partial matches that restart inside the delimiter common
      const delimiter = pick("ab", 1 + Math.floor(random() * 5));
      const input = pick("ab", 1 + Math.floor(random() * 40));
      const at = input.indexOf(delimiter);
      const want = at < 0 ? input : input.slice(0, at + delimiter.length);
      const segments: string[] = [];
      for (let i = 0; i < input.length;) {
        const n = 1 + Math.floor(random() * 6);
        segments.push(input.slice(i, i + n));
        i += n;
      }
      const { conn, done } = runMemory(
        script(
          `${off} echo_read_until "${delimiter}"; echo -n "["; echo_request_data; echo -n "]";`,
        ),
      );
      for (const s of segments) conn.send(s);
      conn.end();
      assertEquals((await done).end, "eof");
      assertEquals(
        conn.text(),
        `[${want}]`,
        `round ${round}: ${delimiter} in ${segments.join("|")}`,
      );
    }
  },
);

ioTest(
  "the README's examples of echo_clear_request_data, echo_break, echo_flush and echo_match run",
  async () => {
    const readme = await Deno.readTextFile(new URL("../README.md", import.meta.url));
    const example = (heading: string) => {
      const at = readme.indexOf("```nginx", readme.indexOf(`### ${heading}\n`));
      return readme.slice(at + 8, readme.indexOf("```", at + 8));
    };
    const cases: [string, string, string, string][] = [
      ["echo_clear_request_data", "", "a\nb\n", "you said: a\nyou said: b\n"],
      ["echo_break", "", "x\nQUIT\ny\n", "bye\n"],
      ["echo_flush", "", "", "220 ready\r\n"],
      [
        "echo_match",
        "",
        "PING\r\nECHO hi\r\nwhat\r\nQUIT\r\nPING\r\n",
        "+PONG\r\n+hi\r\n-ERR\r\n+BYE\r\n",
      ],
    ];
    for (const [heading, stream, input, want] of cases) {
      const body = example(heading).replace(/postpone_output [^;]+;/, "");
      const postpone = example(heading).match(/postpone_output [^;]+;/)?.[0] ?? "";
      const { conn, done } = runMemory(script(`${off} ${body}`, stream + postpone));
      conn.send(input);
      conn.end();
      assertEquals((await done).end, "eof", heading);
      assertEquals(conn.text(), want, heading);
    }
  },
);

ioTest(
  "conversation steps survive structuredClone (how worker threads get their config)",
  async () => {
    const original = script(
      `${off} echo_loop { echo_read_until -e "\\x00"; echo_match { when ~* "^(?<w>hi)" ` +
        `{ echo -v -n "[$w]"; } default { echo_duplicate -v 2 "$echo_last_read"; } } ` +
        `echo_clear_request_data; }`,
    );
    const cloned = structuredClone(original);
    const { conn, done } = runMemory(cloned);
    conn.send(bin("HI there\x00no\x00"));
    conn.end();
    assertEquals((await done).end, "eof");
    assertEquals(latin1(conn.raw()), "[HI]no\x00no\x00");
  },
);

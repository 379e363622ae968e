import assert from "node:assert/strict";
import { ConfigError } from "../src/config/errors.ts";
import { tokenize, unescape } from "../src/config/lexer.ts";

/** Tokens as compact strings: words as their value in brackets, punctuation as itself. */
function shapes(text: string): string[] {
  return tokenize(text, "t.conf").map((t) =>
    t.type === "word" ? `[${t.value}]` : t.type === "eof" ? "EOF" : t.type
  );
}

const tokenCases: { name: string; input: string; want: string[] }[] = [
  {
    name: "splits words on space, tab, CR and LF",
    input: "a b\tc\r\nd",
    want: ["[a]", "[b]", "[c]", "[d]", "EOF"],
  },
  {
    name: "ends a directive at ;, opens a block at { and closes it at }",
    input: "s{a b;}",
    want: ["[s]", "{", "[a]", "[b]", ";", "}", "EOF"],
  },
  {
    name: "starts a comment only at the start of a word",
    input: "a#b # c d\ne",
    want: ["[a#b]", "[e]", "EOF"],
  },
  {
    name: "keeps } inside a word that is not at its start",
    input: "a} b",
    want: ["[a}]", "[b]", "EOF"],
  },
  {
    name: "reads a double-quoted word with spaces, ; and { inside",
    input: '"a b;{}"',
    want: ["[a b;{}]", "EOF"],
  },
  {
    name: "reads a single-quoted word",
    input: "'a \"b\"'",
    want: ['[a "b"]', "EOF"],
  },
  {
    name: "lets a quoted word span lines",
    input: '"a\nb"',
    want: ["[a\nb]", "EOF"],
  },
  {
    name: "reads an empty quoted word",
    input: "\"\" ''",
    want: ["[]", "[]", "EOF"],
  },
  {
    name: "opens a quote only at the start of a word",
    input: 'a"b c"',
    want: ['[a"b]', '[c"]', "EOF"],
  },
  {
    name: "accepts ; and { right after a closing quote",
    input: '"a";"b"{',
    want: ["[a]", ";", "[b]", "{", "EOF"],
  },
  {
    name: "drops the backslash of \\\" \\' and \\\\",
    input: '"\\"\\\'\\\\"',
    want: ["[\"'\\]", "EOF"],
  },
  {
    name: "turns \\t \\r \\n into control characters, quoted or not",
    input: 'a\\tb "c\\r\\n"',
    want: ["[a\tb]", "[c\r\n]", "EOF"],
  },
  {
    name: "keeps a backslash before an unknown escape",
    input: "a\\xb '\\d'",
    want: ["[a\\xb]", "[\\d]", "EOF"],
  },
  {
    name: "lets a backslash protect a space from ending a word",
    input: "a\\ b c",
    want: ["[a\\ b]", "[c]", "EOF"],
  },
  {
    name: "lets a backslash protect a quote from closing a quoted word",
    input: '"a\\"b" c',
    want: ['[a"b]', "[c]", "EOF"],
  },
  {
    name: "lets a backslash protect ; from ending a directive",
    input: "a\\; b;",
    want: ["[a\\;]", "[b]", ";", "EOF"],
  },
  {
    name: "does not open a block at ${ inside a word",
    input: "a${b}c;",
    want: ["[a${b}c]", ";", "EOF"],
  },
  {
    name: "does not open a block at ${ at the start of a word",
    input: "${x} {",
    want: ["[${x}]", "{", "EOF"],
  },
  {
    name: "still opens a block at { after a word ending in $",
    input: "a$ {",
    want: ["[a$]", "{", "EOF"],
  },
  {
    name: "keeps a lone trailing backslash at the end of the text",
    input: "a\\",
    want: ["[a\\]", "EOF"],
  },
  {
    name: "gives only EOF for empty text and comments",
    input: "  # nothing\n\t",
    want: ["EOF"],
  },
];

for (const c of tokenCases) {
  Deno.test(`tokenize() ${c.name}`, () => {
    assert.deepEqual(shapes(c.input), c.want);
  });
}

Deno.test("tokenize() marks quoted words as quoted", () => {
  const [a, b] = tokenize('a "b"');
  assert.equal(a.quoted, false);
  assert.equal(b.quoted, true);
});

Deno.test("tokenize() gives each token the line it starts on", () => {
  const tokens = tokenize('a\n"b\nc" d\n\n;');
  assert.deepEqual(tokens.map((t) => t.line), [1, 2, 3, 5, 5]);
});

Deno.test("tokenize() counts a line escaped with a backslash", () => {
  const tokens = tokenize("a\\\nb c");
  assert.deepEqual(tokens.map((t) => [t.value, t.line]), [["a\\\nb", 1], ["c", 2], ["", 2]]);
});

const errorCases: { name: string; input: string; message: string }[] = [
  {
    name: "rejects a word glued to a closing double quote",
    input: 'echo "a"b;',
    message: 'unexpected "b" in t.conf:1',
  },
  {
    name: "rejects a word glued to a closing single quote",
    input: "\necho 'a'x;",
    message: 'unexpected "x" in t.conf:2',
  },
  {
    name: "rejects } glued to a closing quote",
    input: 'echo "a"}',
    message: 'unexpected "}" in t.conf:1',
  },
  {
    name: "rejects # glued to a closing quote",
    input: "echo 'a'#",
    message: 'unexpected "#" in t.conf:1',
  },
  {
    name: "rejects a quote left open at the end of the file",
    input: 'echo "a\n\n',
    message:
      'unexpected end of file, expecting ";" or "}" in t.conf:3, the quote opened in t.conf:1',
  },
  {
    name: "rejects a quote whose closing quote is escaped",
    input: "echo 'a\\'",
    message:
      'unexpected end of file, expecting ";" or "}" in t.conf:1, the quote opened in t.conf:1',
  },
];

for (const c of errorCases) {
  Deno.test(`tokenize() ${c.name}`, () => {
    assert.throws(() => tokenize(c.input, "t.conf"), (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.equal(err.message, c.message);
      return true;
    });
  });
}

const unescapeCases: [string, string][] = [
  ["plain", "plain"],
  ['\\"', '"'],
  ["\\'", "'"],
  ["\\\\", "\\"],
  ["\\t\\r\\n", "\t\r\n"],
  ["\\x\\$", "\\x\\$"],
  ["end\\", "end\\"],
  ["\\\\n", "\\n"],
];

for (const [raw, want] of unescapeCases) {
  Deno.test(`unescape() turns ${JSON.stringify(raw)} into ${JSON.stringify(want)}`, () => {
    assert.equal(unescape(raw), want);
  });
}

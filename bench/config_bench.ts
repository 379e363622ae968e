/**
 * How long parsing and compiling a config of 10,000 servers takes (text in memory: lexer,
 * parser, directive checks, compiling steps with pre-encoded bytes and duplicate chunks,
 * listen duplicate checks, settings inheritance). Each server looks like the module's
 * examples: several listeners' worth of directives and eight steps.
 *
 *     deno run -A bench/config_bench.ts [SERVERS]
 *
 * Prints the median and the best of several runs after warm-up runs. There is no peer to
 * compare with in-process (nginx checks configs with `nginx -t`, which also starts up).
 */

import { compile } from "../src/config/compile.ts";
import { Lexer } from "../src/config/lexer.ts";
import { parseConfig } from "../src/config/loader.ts";
import { parse } from "../src/config/parser.ts";

const servers = Number(Deno.args[0] ?? 10_000);
const WARMUP = 3;
const RUNS = 9;

function buildConfig(n: number): string {
  const parts = [
    "worker_processes 1;",
    "events { worker_connections 1024; }",
    "stream {",
    "    echo_read_timeout 10s;",
    "    echo_send_timeout 10s;",
  ];
  for (let i = 0; i < n; i++) {
    parts.push(
      "    server {",
      `        listen 127.0.0.1:${10_000 + (i % 50_000)}${i >= 50_000 ? " reuseport" : ""};`,
      "        echo_read_buffer_size 2k;",
      `        echo "Hello, server ${i}!";`,
      "        echo -n 'Got prompt: ';",
      '        echo_duplicate 3 " hello";',
      "        echo_read_bytes 2;",
      "        echo_request_data;",
      "        echo_read_line;",
      "        echo_sleep 0.001;",
      "        echo_flush_wait;",
      "    }",
    );
  }
  parts.push("}");
  return parts.join("\n") + "\n";
}

const text = buildConfig(servers);
const lines = text.split("\n").length - 1;
const times: number[] = [];
let compiled = 0;
let cold = 0;
for (let i = 0; i < WARMUP + RUNS; i++) {
  const start = performance.now();
  const config = parseConfig(text, { file: "bench.conf" });
  const ms = performance.now() - start;
  compiled = config.servers.length;
  if (i === 0) cold = ms;
  if (i >= WARMUP) times.push(ms);
}
if (compiled !== servers) throw new Error(`compiled ${compiled} servers, expected ${servers}`);
times.sort((a, b) => a - b);
const median = times[Math.floor(times.length / 2)];

// the same work split into its stages, to see where the time goes
const stages = { lex: [] as number[], parse: [] as number[], compile: [] as number[] };
const source = { baseDir: ".", readFile: () => "", listDir: () => [] };
for (let i = 0; i < RUNS; i++) {
  let start = performance.now();
  const lexer = new Lexer(text, "bench.conf");
  while (lexer.next().type !== "eof");
  stages.lex.push(performance.now() - start);
  start = performance.now();
  const tree = parse(text, "bench.conf");
  stages.parse.push(performance.now() - start);
  start = performance.now();
  compile(tree, { file: "bench.conf", fileKey: "/bench.conf", source });
  stages.compile.push(performance.now() - start);
}
const med = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)].toFixed(1);
const kib = (new TextEncoder().encode(text).length / 1024).toFixed(0);
console.log(
  `config: parse+compile ${servers} servers (${lines} lines, ${kib} KiB): ` +
    `median ${median.toFixed(1)} ms, best ${times[0].toFixed(1)} ms over ${RUNS} runs ` +
    `(after ${WARMUP} warm-up runs); first (cold) run ${cold.toFixed(1)} ms`,
);
console.log(
  `config: stages (medians): lex ${med(stages.lex)} ms, lex+parse ${med(stages.parse)} ms, ` +
    `compile ${med(stages.compile)} ms`,
);

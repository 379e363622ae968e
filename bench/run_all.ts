/**
 * Runs every benchmark in bench/ one after another, each in its own process so that one
 * bench's memory and timers do not disturb the next. Each prints its own figures.
 *
 *     deno task bench            # all of them
 *     deno task bench engine     # only files whose name contains "engine"
 *     deno task bench engine --baseline /tmp/old   # further arguments go to each bench
 *     deno task bench abuse      # bench/abuse_bench.ts: abortive close, flood, memory, stalled stderr
 */
const dir = new URL(".", import.meta.url);
const filter = Deno.args[0] ?? "";
const files: string[] = [];
for (const entry of Deno.readDirSync(dir)) {
  if (entry.isFile && entry.name.endsWith("_bench.ts") && entry.name.includes(filter)) {
    files.push(entry.name);
  }
}
files.sort();
let failed = 0;
for (const name of files) {
  console.log(`\n=== ${name}`);
  const { code } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL(name, dir).pathname, ...Deno.args.slice(1)],
    stdout: "inherit",
    stderr: "inherit",
  }).output();
  if (code !== 0) {
    failed++;
    console.log(`${name} exited with ${code}`);
  }
}
Deno.exit(failed === 0 ? 0 : 1);

/**
 * The permissions the compiled binary is built with, read from deno.json's `compile` task, the
 * one place they are written. Tests and benches that run the CLI "as the binary" use these.
 */
import denoJson from "../deno.json" with { type: "json" };

/** The `deno compile` flags of the `compile` task, minus `--output FILE`, e.g. `--allow-net`. */
export const BINARY_PERMISSIONS: string[] = (() => {
  const words = denoJson.tasks.compile.split(/\s+/);
  const flags: string[] = [];
  for (let i = 0; i < words.length; i++) {
    if (words[i] === "--output") i++;
    else if (words[i].startsWith("--")) flags.push(words[i]);
  }
  return flags;
})();

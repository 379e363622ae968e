import assert from "node:assert/strict";

/** Every .ts file under `dir`, recursively. */
function sources(dir: URL): URL[] {
  const out: URL[] = [];
  for (const entry of Deno.readDirSync(dir)) {
    const url = new URL(entry.name + (entry.isDirectory ? "/" : ""), dir);
    if (entry.isDirectory) out.push(...sources(url));
    else if (entry.name.endsWith(".ts")) out.push(url);
  }
  return out;
}

Deno.test("the engine names nothing from Deno.* outside comments: sockets sit behind SessionIO", () => {
  const engine = new URL("../src/engine/", import.meta.url);
  const files = sources(engine);
  assert.ok(files.length > 10, "found the engine's files");
  for (const file of files) {
    const code = Deno.readTextFileSync(file)
      .replace(/\/\*[\s\S]*?\*\//g, "") // block comments and JSDoc (examples included)
      .replace(/\/\/.*$/gm, ""); // line comments
    const hit = code.match(/\bDeno\b.{0,40}/);
    assert.equal(hit, null, `${file.pathname.split("/src/")[1]} uses ${hit?.[0]}`);
  }
});

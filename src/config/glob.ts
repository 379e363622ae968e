/**
 * Glob patterns for `include`, as glob(3) reads them: `*` (any run of characters), `?` (one
 * character) and `[...]` / `[!...]` classes, never crossing a `/`; a leading `.` of a name
 * is matched only by a literal `.`. Matches come back sorted.
 *
 * @module
 */

/** One directory entry, as much as the glob needs. */
export interface GlobEntry {
  /** The entry's name (no folder). */
  name: string;
  /** True for a folder (after following a symbolic link). */
  isDirectory: boolean;
}

/** Lists a directory's entries; throws when it cannot. */
export type ListDir = (path: string) => GlobEntry[];

/** True when `path` holds a glob character (`*`, `?` or `[`), as nginx decides. */
export function hasGlob(path: string): boolean {
  return /[*?[]/.test(path);
}

function escapeRegExp(c: string): string {
  return /[\\^$.*+?()[\]{}|/]/.test(c) ? "\\" + c : c;
}

/** Compiles one path segment's pattern into a RegExp matching whole names. */
export function segmentRegExp(pattern: string): RegExp {
  let re = "";
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === "*") {
      re += "[^/]*";
    } else if (c === "?") {
      re += "[^/]";
    } else if (c === "[") {
      const close = pattern.indexOf("]", i + 2);
      if (close < 0) {
        re += "\\[";
        continue;
      }
      let body = pattern.slice(i + 1, close);
      const negate = body[0] === "!" || body[0] === "^";
      if (negate) body = body.slice(1);
      const inner = body.replace(/[\\\]^]/g, (m) => "\\" + m);
      re += negate ? `[^/${inner}]` : `[${inner}]`;
      i = close;
    } else {
      re += escapeRegExp(c);
    }
  }
  return new RegExp(`^${re}$`, "s");
}

/**
 * Expands a glob pattern into the sorted list of matching files (directories are left out).
 * A relative pattern is taken relative to `base` (used literally, never as a pattern); a
 * directory that cannot be listed matches nothing.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { expandGlob } from "./glob.ts";
 * const listDir = () => [{ name: "b.conf", isDirectory: false }, { name: "a.conf", isDirectory: false }];
 * assert.ok(expandGlob("/etc/se/*.conf", listDir).join() === "/etc/se/a.conf,/etc/se/b.conf");
 * ```
 */
export function expandGlob(pattern: string, listDir: ListDir, base = ""): string[] {
  const absolute = pattern.startsWith("/");
  const segments = pattern.split("/").filter((s) => s !== "");
  let bases: string[] = [absolute ? "/" : base];
  let globbed = false;
  for (let s = 0; s < segments.length; s++) {
    const segment = segments[s];
    const last = s === segments.length - 1;
    const literal = !hasGlob(segment);
    const next: string[] = [];
    for (const base of bases) {
      if (literal && !globbed) {
        next.push(join(base, segment));
        continue;
      }
      let entries: GlobEntry[];
      try {
        entries = listDir(base === "" ? "." : base);
      } catch {
        continue;
      }
      const re = literal ? null : segmentRegExp(segment);
      const dotOk = segment.startsWith(".");
      for (const entry of entries) {
        if (re === null ? entry.name !== segment : !re.test(entry.name)) continue;
        if (entry.name.startsWith(".") && !dotOk) continue;
        if (last && entry.isDirectory) continue;
        if (!last && !entry.isDirectory) continue;
        next.push(join(base, entry.name));
      }
    }
    bases = next;
    if (!literal) globbed = true;
  }
  return bases.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

function join(base: string, name: string): string {
  if (base === "") return name;
  return base.endsWith("/") ? base + name : `${base}/${name}`;
}

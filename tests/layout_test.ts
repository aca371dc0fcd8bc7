// Layout rules of issue 12, checked on every src/ file (no sockets, no subprocess): no import
// cycle among src/ files (type-only imports included: a cycle of types is still one reader's
// loop), and no file over 500 lines unless a comment in its first 5 lines starts with
// "Over 500 lines:" and says why.
import assert from "node:assert/strict";
import { dirname, join, relative, resolve } from "node:path";
import { REPO_ROOT } from "./support/env.ts";

const SRC = join(REPO_ROOT, "src");
const MAX_LINES = 500;

async function sourceFiles(dir: string): Promise<string[]> {
  const files: string[] = [];
  for await (const e of Deno.readDir(dir)) {
    const path = join(dir, e.name);
    if (e.isDirectory) files.push(...await sourceFiles(path));
    else if (/\.(ts|tsx|js|mjs)$/.test(e.name)) files.push(path);
  }
  return files.sort();
}

/**
 * Relative static imports and re-exports of `text` (`from "./x.ts"`, `import "./x.ts"`), outside
 * comments (JSDoc examples import too).
 */
function relativeImports(text: string): string[] {
  const out: string[] = [];
  text = text.split("\n").filter((l) => !/^\s*(\*|\/\/|\/\*)/.test(l)).join("\n");
  const re = /(?:\bfrom|^\s*import)\s*["'](\.{1,2}\/[^"']+)["']/gm;
  for (const m of text.matchAll(re)) out.push(m[1]);
  return out;
}

/** Every import cycle of `graph`, each as its files in order (first file repeated at the end). */
function cycles(graph: Map<string, string[]>): string[][] {
  const found: string[][] = [];
  const state = new Map<string, "open" | "done">();
  const stack: string[] = [];
  const visit = (file: string) => {
    state.set(file, "open");
    stack.push(file);
    for (const next of graph.get(file) ?? []) {
      const s = state.get(next);
      if (s === "open") found.push([...stack.slice(stack.indexOf(next)), next]);
      else if (s === undefined) visit(next);
    }
    stack.pop();
    state.set(file, "done");
  };
  for (const file of graph.keys()) if (!state.has(file)) visit(file);
  return found;
}

const files = await sourceFiles(SRC);
const texts = new Map(
  await Promise.all(files.map(async (f) => [f, await Deno.readTextFile(f)] as const)),
);

Deno.test("layout: no import cycle among src/ files", () => {
  const graph = new Map<string, string[]>();
  for (const [file, text] of texts) {
    graph.set(
      file,
      relativeImports(text).map((spec) => resolve(dirname(file), spec)).filter((t) => texts.has(t)),
    );
  }
  // The graph is not empty: the parser finds the imports it is meant to check.
  assert.ok([...graph.values()].reduce((n, e) => n + e.length, 0) > files.length);
  const found = cycles(graph).map((c) => c.map((f) => relative(REPO_ROOT, f)).join(" -> "));
  assert.deepEqual(found, []);
});

Deno.test("layout: no src/ file over 500 lines without its reason at its top", () => {
  const long: string[] = [];
  for (const [file, text] of texts) {
    const lines = text.split("\n");
    if (lines.at(-1) === "") lines.pop();
    if (lines.length <= MAX_LINES) continue;
    const top = lines.slice(0, 5);
    if (!top.some((l) => /^\s*(\/\/|\/?\*+)\s*Over 500 lines:/.test(l))) {
      long.push(`${relative(REPO_ROOT, file)} (${lines.length} lines)`);
    }
  }
  assert.deepEqual(long, []);
});

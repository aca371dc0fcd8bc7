// `deno doc --lint` on the published entry points (deno.json "exports"): every public export
// documented, and no public type that refers to a type the package does not export. The main
// entry `@rpcx/core` must be clean on its own (a user reading only its docs can follow every
// type), and all entry points together (as JSR documents them) must be clean too. And every
// JSDoc example under src/ is type-checked (`deno check --doc`, as `deno task check` runs it): no
// example is left out with `ignore` (or another language), none is a `console.log(typeof X)`
// placeholder, and together they type-check.
import assert from "node:assert/strict";
import { join, relative } from "node:path";
import { runBounded } from "./support/child.ts";
import { REPO_ROOT } from "./support/env.ts";

async function docLint(files: string[]): Promise<string[]> {
  const out = await runBounded(Deno.execPath(), {
    args: ["doc", "--lint", ...files],
    cwd: REPO_ROOT,
    env: { NO_COLOR: "1" },
    timeoutMs: 120_000,
  });
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  const errors = text.split("\n").filter((l) => /^error\[/.test(l));
  if (out.code !== 0) assert.ok(errors.length > 0, `deno doc failed without findings:\n${text}`);
  return errors;
}

const exports: Record<string, string> =
  JSON.parse(await Deno.readTextFile(`${REPO_ROOT}/deno.json`)).exports;

Deno.test("deno doc --lint: @rpcx/core (mod.ts) alone is clean", async () => {
  assert.deepEqual(await docLint([exports["."]]), []);
});

Deno.test("deno doc --lint: all entry points together are clean", async () => {
  assert.deepEqual(await docLint(Object.values(exports)), []);
});

/** Every `.ts` file under `dir`. */
async function tsFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(dir)) {
    const path = join(dir, e.name);
    if (e.isDirectory) out.push(...await tsFiles(path));
    else if (e.name.endsWith(".ts")) out.push(path);
  }
  return out.sort();
}

const documented = [join(REPO_ROOT, "mod.ts"), ...await tsFiles(join(REPO_ROOT, "src"))];

Deno.test("doc examples: each is a checked `ts` block and none is a placeholder", async () => {
  const skipped: string[] = [];
  const placeholders: string[] = [];
  let examples = 0;
  for (const file of documented) {
    const lines = (await Deno.readTextFile(file)).split("\n");
    lines.forEach((line, i) => {
      const at = `${relative(REPO_ROOT, file)}:${i + 1}`;
      // An opening fence inside a JSDoc comment: ` * ```lang attrs`.
      const fence = /^\s*\*\s*```(.*)$/.exec(line);
      if (fence && fence[1].trim() !== "") {
        examples++;
        if (fence[1].trim() !== "ts") skipped.push(`${at}: \`\`\`${fence[1].trim()}`);
      }
      if (/^\s*\*.*console\.log\(typeof /.test(line)) placeholders.push(at);
    });
  }
  assert.ok(examples > 250, `only ${examples} examples found: the fence pattern is wrong`);
  assert.deepEqual(skipped, [], "examples deno check --doc would not type-check");
  assert.deepEqual(placeholders, [], "examples that only print typeof a name");
});

Deno.test("doc examples: deno check --doc mod.ts src/ type-checks every example", async () => {
  const out = await runBounded(Deno.execPath(), {
    args: ["check", "--doc", "mod.ts", "src/"],
    cwd: REPO_ROOT,
    env: { NO_COLOR: "1" },
    timeoutMs: 300_000,
  });
  const text = new TextDecoder().decode(out.stderr);
  const errors = text.split("\n").filter((l) => /\[ERROR\]|^\s+at /.test(l));
  assert.equal(out.code, 0, `deno check --doc failed:\n${errors.join("\n") || text.slice(-4000)}`);
});

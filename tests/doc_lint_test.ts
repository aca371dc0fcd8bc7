// `deno doc --lint` on the published entry points (deno.json "exports"): every public export
// documented, and no public type that refers to a type the package does not export. The user
// entry `@rpcx/core` and the extenders' `@rpcx/core/extend`, with the core's wire entries they
// name (`/protocol`, `/native`, `/stream`), must be clean together without the registry, plugin
// and CLI subpaths (a reader of the core can follow every type: the user API's options name
// plugin, network and selector types, as grpc-js's user options name its `experimental` types,
// and `sendRaw` takes a `/protocol` Message), and all entry points together (as JSR documents
// them) must be clean too. Each of the two has a ceiling on its number of names, so
// neither grows without this file being changed on purpose. And every
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

/** The core's entry points: the user API, the extenders' entry and the wire entries they name. */
const CORE = [".", "./extend", "./protocol", "./native", "./stream"];

Deno.test("deno doc --lint: @rpcx/core, /extend and the wire entries (/protocol, /native, /stream) together are clean", async () => {
  assert.deepEqual(await docLint(CORE.map((e) => exports[e])), []);
});

Deno.test("deno doc --lint: all entry points together are clean", async () => {
  assert.deepEqual(await docLint(Object.values(exports)), []);
});

/** The names an entry point exports, as `deno doc --json` lists them (a value and its type once). */
async function exportedNames(entry: string): Promise<string[]> {
  const out = await runBounded(Deno.execPath(), {
    args: ["doc", "--json", entry],
    cwd: REPO_ROOT,
    env: { NO_COLOR: "1" },
    timeoutMs: 120_000,
  });
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  const doc = JSON.parse(new TextDecoder().decode(out.stdout)) as {
    nodes: Record<string, { symbols: { name: string }[] }>;
  };
  const names = Object.values(doc.nodes).flatMap((n) => n.symbols.map((s) => s.name));
  return [...new Set(names)].sort();
}

/**
 * The most names each audience's entry may export. Measured when the split was made (issue 27):
 * `@rpcx/core` 83 (it was 202 before, users' and extenders' names mixed), `/extend` 83. Raise a
 * ceiling only on purpose: a name belongs in `@rpcx/core` only if users write it (an options
 * type, a class they construct, an error they catch, the context their methods read); one that
 * a call returns, an error carries, an option takes as a function or an extension implements
 * belongs in `/extend` (or, for the wire, `/protocol`).
 */
const MAX_NAMES: Record<string, number> = { ".": 85, "./extend": 90 };

Deno.test("entry points: @rpcx/core and @rpcx/core/extend stay under their ceilings and share no name", async () => {
  const user = await exportedNames(exports["."]);
  const extend = await exportedNames(exports["./extend"]);
  assert.ok(user.includes("Server") && extend.includes("Network"), "the scan finds the names");
  assert.ok(
    user.length <= MAX_NAMES["."],
    `@rpcx/core exports ${user.length} names (ceiling ${MAX_NAMES["."]}): ${user.join(" ")}`,
  );
  assert.ok(
    extend.length <= MAX_NAMES["./extend"],
    `@rpcx/core/extend exports ${extend.length} names (ceiling ${MAX_NAMES["./extend"]})`,
  );
  assert.deepEqual(user.filter((n) => extend.includes(n)), [], "names in both entries");
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

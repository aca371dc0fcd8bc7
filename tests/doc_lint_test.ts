// `deno doc --lint` on the published entry points (deno.json "exports"): every public export
// documented, and no public type that refers to a type the package does not export. The main
// entry `@rpcx/core` must be clean on its own (a user reading only its docs can follow every
// type), and all entry points together (as JSR documents them) must be clean too.
import assert from "node:assert/strict";
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

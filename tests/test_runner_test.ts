// tools/test.ts (`deno task test`), run on a copy in a temporary tree of its own (tools/test.ts
// and a tests/ folder with the files below), so that it walks, checks and runs only those.
import assert from "node:assert/strict";
import { join } from "node:path";
import { REPO_ROOT } from "./support/env.ts";
import { runBounded } from "./support/child.ts";

const FILES: Record<string, string> = {
  "tests/ok_test.ts": `Deno.test("passes", () => {});\n`,
  // a failed test: deno test's own ERRORS section names it
  "tests/fails_test.ts": `Deno.test("fails", () => {
  throw new Error("the failure to report");
});\n`,
  // a runtime crash (as issue 26's SIGSEGV; SIGABRT here, Deno handles a SIGSEGV sent to it): no
  // ERRORS section, its last lines instead
  "tests/crash_test.ts": `Deno.test({
  name: "crashes",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    console.log("the last line before the crash");
    await new Promise((r) => setTimeout(r, 100));
    Deno.kill(Deno.pid, "SIGABRT");
    await new Promise((r) => setTimeout(r, 10_000));
  },
});\n`,
};

Deno.test("tools/test.ts: each failed file's own report (ERRORS, or its last lines after a crash) is repeated under the summary, with its exit code and signal", async () => {
  const tree = await Deno.makeTempDir({ prefix: "rpcx-test-runner-" });
  try {
    for (const dir of ["tools", "tests", "src"]) await Deno.mkdir(join(tree, dir));
    await Deno.copyFile(join(REPO_ROOT, "tools/test.ts"), join(tree, "tools/test.ts"));
    for (const [path, text] of Object.entries(FILES)) {
      await Deno.writeTextFile(join(tree, path), text);
    }
    const r = await runBounded(Deno.execPath(), {
      args: ["run", "-A", "--no-config", join(tree, "tools/test.ts")],
      cwd: tree,
      env: { NO_COLOR: "1" },
      timeoutMs: 60_000,
      what: "tools/test.ts",
    });
    const out = new TextDecoder().decode(r.stdout);
    assert.equal(r.code, 1, out);
    const summary = out.slice(out.indexOf("\n== 1 of 3 test files passed"));
    assert.ok(summary.length < out.length, out);
    // under the summary: the failed files' reports, then one line each
    assert.match(
      summary,
      /== the end of tests\/crash_test\.ts's output:\n(.*\n)*.*the last line before the crash\n/,
    );
    assert.match(
      summary,
      /== the end of tests\/fails_test\.ts's output:\n.* ERRORS \n(.*\n)*.*Error: the failure to report\n/,
    );
    assert.match(
      summary,
      /FAILED tests\/crash_test\.ts \(exit 134, SIGABRT\)\nFAILED tests\/fails_test\.ts \(exit 1\)\n$/,
    );
  } finally {
    await Deno.remove(tree, { recursive: true });
  }
});

// The tables of Go's outputs that src/_internal/go/*_test.ts check our Go rules against
// (src/_internal/go/testdata/*.json, and print_table.ts, Go's strconv.IsPrint) are what Go
// writes: tests/interop/go/gorules is run again with the local Go toolchain and its files must
// equal the committed ones byte for byte. A table edited by hand, or a Go release that changes
// one of the rules, fails here (regenerate: `cd tests/interop/go && go run ./gorules
// ../../../src/_internal/go`, then read the diff).
import assert from "node:assert/strict";
import { join } from "node:path";
import { runBounded } from "./support/child.ts";
import { findExecutable, needs, REPO_ROOT } from "./support/env.ts";

const GO = findExecutable("go", "/usr/local/go/bin/go");
const RULES = join(REPO_ROOT, "src", "_internal", "go");
const FILES = [
  "testdata/url.json",
  "testdata/json.json",
  "testdata/strconv.json",
  "testdata/content_type.json",
  "print_table.ts",
];

Deno.test({
  name: "Go rules: the committed tables are what tests/interop/go/gorules writes with Go",
  ignore: !needs("the Go toolchain (go)", GO ? undefined : "go is not on PATH"),
  async fn() {
    const out = await Deno.makeTempDir({ prefix: "rpcx-gorules-" });
    try {
      const run = await runBounded(GO!, {
        args: ["run", "./gorules", out],
        cwd: join(REPO_ROOT, "tests", "interop", "go"),
        env: { GOTOOLCHAIN: "local", GOFLAGS: "-mod=readonly" },
        timeoutMs: 180_000,
      });
      assert.equal(run.code, 0, new TextDecoder().decode(run.stderr));
      for (const file of FILES) {
        const committed = await Deno.readTextFile(join(RULES, file));
        const fresh = await Deno.readTextFile(join(out, file));
        assert.ok(committed === fresh, `${file} differs from Go's output: regenerate it`);
      }
    } finally {
      await Deno.remove(out, { recursive: true });
    }
  },
});

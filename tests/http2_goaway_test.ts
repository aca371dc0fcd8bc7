// A server's GOAWAY on an idle @grpc/grpc-js session must not take the process down (issue 26).
// Deno's node:http2 (2.9.6) emits "goaway" from inside nghttp2's handling of the frame; grpc-js
// shuts the session down right there, and after a garbage collection nghttp2 reads freed memory:
// the process aborts (find_stream_on_goaway_func assertion, exit 134) or segfaults (139). etcd
// sends that GOAWAY whenever it stops or restarts, to every rpcx server and client connected.
// src/registry/_http2_goaway.ts defers the event; the etcd client installs it.
import assert from "node:assert/strict";
import { REPO_ROOT } from "./support/env.ts";
import { runBounded } from "./support/child.ts";

const CHILD = `${REPO_ROOT}/tests/support/http2_goaway_child.ts`;
const RUNS = 8;

/** Exit codes of `RUNS` children, two at a time. */
async function codes(mode: "patched" | "unpatched"): Promise<number[]> {
  const out: number[] = [];
  let next = 0;
  const worker = async () => {
    while (next < RUNS) {
      next++;
      const r = await runBounded(Deno.execPath(), {
        args: ["run", "-A", "--no-check", "--v8-flags=--expose-gc", CHILD, mode],
        cwd: REPO_ROOT,
        timeoutMs: 30_000,
        what: `http2 GOAWAY child (${mode})`,
      });
      out.push(r.code);
    }
  };
  await Promise.all([worker(), worker()]);
  return out;
}

Deno.test("a server's GOAWAY on an idle grpc-js session does not crash Deno (without deferGoawayEvents it does, in about half the runs: reported)", async () => {
  const patched = await codes("patched");
  assert.deepEqual(
    patched,
    patched.map(() => 0),
    `exit codes with the goaway deferral: ${patched}`,
  );
  // The premise: without it the same children crash (134 or 139) in about half of the runs on
  // this machine (6 of 8 when the deferral was switched off; 0 of 8 with it). Crashes are
  // probabilistic (they need a GC to reuse the freed memory), so this is reported, not asserted:
  // an assertion would fail in about 1 run in 250 by chance (0.5^8), more on a quieter machine. If
  // it reports no crash run after run, Deno fixed node:http2 and src/registry/_http2_goaway.ts can go.
  const unpatched = await codes("unpatched");
  const crashed = unpatched.filter((c) => c === 134 || c === 139).length;
  console.log(`without the deferral: ${crashed} of ${RUNS} runs crashed (exit codes ${unpatched})`);
  assert.ok(unpatched.every((c) => c === 0 || c === 134 || c === 139), `${unpatched}`);
});

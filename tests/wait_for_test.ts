// The test helpers' own bounds (tests/support/env.ts): every wait fails the test in time, whatever
// the condition it polls does.
import assert from "node:assert/strict";
import { bounded, waitFor } from "./support/env.ts";

Deno.test("waitFor is bounded even when its condition never settles (a read that never ends): it fails at its timeout, and does not call the condition again meanwhile", async () => {
  let calls = 0;
  const t0 = Date.now();
  await bounded(
    assert.rejects(
      waitFor("a check that never ends", () => {
        calls++;
        return new Promise<boolean>(() => {});
      }, 200),
      /timed out after 200 ms waiting for a check that never ends: its check did not end/,
    ),
    5000,
    "waitFor with a hanging check",
  );
  assert.ok(Date.now() - t0 < 2000, `failed at its timeout (${Date.now() - t0} ms)`);
  assert.equal(calls, 1);

  // A condition that throws is polled again; the last error is in the timeout's message.
  let n = 0;
  await assert.rejects(
    waitFor(
      "a failing check",
      () => {
        throw new Error(`no ${++n}`);
      },
      150,
      20,
    ),
    /waiting for a failing check: Error: no \d+/,
  );
  assert.ok(n > 1);
  await waitFor("the third check", () => ++n > 0, 1000);
});

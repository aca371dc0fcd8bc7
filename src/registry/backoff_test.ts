// The retry delay (backoff.ts): Go rpcx's 1 s doubling to 30 s, and custom bounds.
import assert from "node:assert/strict";
import { backoffDelay } from "./backoff.ts";

Deno.test("backoffDelay: 1 s doubling to 30 s (Go rpcx), custom bounds, attempt 0 and huge", () => {
  assert.deepEqual([1, 2, 3, 4, 5, 6, 7].map((a) => backoffDelay(a)), [
    1000,
    2000,
    4000,
    8000,
    16000,
    30000,
    30000,
  ]);
  assert.deepEqual([1, 2, 3, 4].map((a) => backoffDelay(a, 250, 1000)), [250, 500, 1000, 1000]);
  assert.equal(backoffDelay(0), 1000);
  assert.equal(backoffDelay(1e9), 30000);
});

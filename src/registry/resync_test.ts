// The resync loop every discovery runs (resync.ts), pure: list, coalesce kicks, back off with
// outage events, recover.
import assert from "node:assert/strict";
import { delay } from "../_internal/async.ts";
import { ResyncLoop } from "./resync.ts";

/** Waits until `cond` holds, polling every 5 ms; fails after `timeoutMs`. */
async function waitFor(what: string, cond: () => boolean, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await delay(5);
  }
}

/** A promise with its resolve/reject outside. */
function deferred<T>() {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => ((resolve = res), (reject = rej)));
  return { promise, resolve, reject };
}

Deno.test("resync: a failing registry is retried with doubling, capped delays and outage events", async () => {
  const events: string[] = [];
  const loop = new ResyncLoop<number>({
    list: () => Promise.reject(new Error("down")),
    apply: () => events.push("apply"),
    outage: (e, attempt, wait) => events.push(`outage#${attempt} ${wait} ${(e as Error).message}`),
    recovered: () => events.push("recovered"),
    retryInitialMs: 10,
    retryMaxMs: 40,
  });
  try {
    loop.kick();
    await waitFor("five outages", () => events.length >= 5, 5000);
    assert.deepEqual(events.slice(0, 5), [
      "outage#1 10 down",
      "outage#2 20 down",
      "outage#3 40 down",
      "outage#4 40 down",
      "outage#5 40 down",
    ]);
    assert.equal(loop.retrying, true);
    assert.ok(loop.failures >= 5);
  } finally {
    await loop.close();
  }
  assert.equal(loop.retrying, false);
  const n = events.length;
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(events.length, n, "no round after close");
});

Deno.test("resync: the first success after failures applies the list, recovers and resets backoff", async () => {
  const events: string[] = [];
  let calls = 0;
  const loop = new ResyncLoop<string>({
    list: () => ++calls <= 2 ? Promise.reject(new Error("down")) : Promise.resolve(`list${calls}`),
    apply: (v) => events.push(`apply ${v}`),
    outage: (_e, attempt, wait) => events.push(`outage#${attempt} ${wait}`),
    recovered: () => events.push("recovered"),
    retryInitialMs: 5,
  });
  try {
    loop.kick();
    await waitFor("recovery", () => events.includes("recovered"), 5000);
    assert.deepEqual(events, ["outage#1 5", "outage#2 10", "apply list3", "recovered"]);
    assert.equal(loop.failures, 0);
    assert.equal(loop.retrying, false);
  } finally {
    await loop.close();
  }
});

Deno.test("resync: kicks during a running list coalesce into exactly one more round", async () => {
  const gates: ReturnType<typeof deferred<number>>[] = [];
  const applied: number[] = [];
  const loop = new ResyncLoop<number>({
    list: () => {
      const d = deferred<number>();
      gates.push(d);
      return d.promise;
    },
    apply: (v) => applied.push(v),
  });
  try {
    loop.kick();
    await waitFor("the first round", () => gates.length === 1, 2000);
    for (let i = 0; i < 5; i++) loop.kick();
    assert.equal(gates.length, 1, "one list at a time");
    gates[0].resolve(1);
    await waitFor("the second round", () => gates.length === 2, 2000);
    gates[1].resolve(2);
    await loop.idle();
    assert.deepEqual(applied, [1, 2]);
    assert.equal(gates.length, 2, "five kicks made one more round");
  } finally {
    await loop.close();
  }
});

Deno.test("resync: a kick during a failing list retries at once; kick ends a pending retry, poke does not", async () => {
  const gates: ReturnType<typeof deferred<number>>[] = [];
  const outages: number[] = [];
  const loop = new ResyncLoop<number>({
    list: () => {
      const d = deferred<number>();
      gates.push(d);
      return d.promise;
    },
    apply: () => {},
    outage: (_e, _a, wait) => outages.push(wait),
    retryInitialMs: 60_000, // a retry would come far too late for this test
    retryMaxMs: 120_000,
  });
  try {
    loop.kick();
    await waitFor("the first round", () => gates.length === 1, 2000);
    loop.kick(); // something happened while listing (e.g. a reconnect)
    gates[0].reject(new Error("down"));
    await waitFor("the immediate second round", () => gates.length === 2, 2000);
    assert.equal(loop.retrying, false);
    gates[1].reject(new Error("down"));
    await loop.idle();
    assert.equal(loop.retrying, true, "no kick meanwhile: waits for the retry");
    loop.poke(); // e.g. a periodic resync: skipped while in outage
    assert.equal(gates.length, 2);
    loop.kick(); // e.g. a watch event: lists now
    await waitFor("the third round", () => gates.length === 3, 2000);
    assert.equal(loop.retrying, false);
    gates[2].resolve(3);
    await loop.idle();
    assert.deepEqual(outages, [60_000, 120_000]);
  } finally {
    await loop.close();
  }
});

Deno.test("resync: `again` schedules the next round after a success; close cancels it", async () => {
  const starts: number[] = [];
  const loop = new ResyncLoop<void>({
    list: () => {
      starts.push(Date.now());
      return Promise.resolve();
    },
    apply: () => {},
    again: (startedAt) => Math.max(0, startedAt + 30 - Date.now()),
  });
  try {
    loop.kick();
    await waitFor("three rounds", () => starts.length >= 3, 5000);
    for (let i = 1; i < starts.length; i++) assert.ok(starts[i] - starts[i - 1] >= 25);
  } finally {
    await loop.close();
  }
  const n = starts.length;
  await new Promise((r) => setTimeout(r, 80));
  assert.equal(starts.length, n);
});

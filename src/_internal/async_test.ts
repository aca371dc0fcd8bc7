// The timing helpers (async.ts): each settles the way it says, and leaves nothing behind — Deno's
// test sanitizers fail a test that ends with a timer still pending, and a counting signal shows
// every abort listener added is removed.
import assert from "node:assert/strict";
import { abortable, deadline, delay, sleep, Sleeper, within } from "./async.ts";

/** An AbortController whose signal counts the abort listeners it holds. */
function countingController(): { ac: AbortController; listeners: () => number } {
  const ac = new AbortController();
  let n = 0;
  const add = ac.signal.addEventListener.bind(ac.signal);
  const remove = ac.signal.removeEventListener.bind(ac.signal);
  ac.signal.addEventListener = (...a: Parameters<typeof add>) => {
    n++;
    add(...a);
  };
  ac.signal.removeEventListener = (...a: Parameters<typeof remove>) => {
    n--;
    remove(...a);
  };
  return { ac, listeners: () => n };
}

const never = () => new Promise<never>(() => {});

Deno.test("deadline: the value in time, its own error, onTimeout's error after ms", async () => {
  assert.equal(await deadline(Promise.resolve(7), 1000), 7);
  await assert.rejects(deadline(Promise.reject(new Error("own")), 1000), /own/);
  const start = performance.now();
  await assert.rejects(
    deadline(never(), 20, { onTimeout: () => new RangeError("late") }),
    RangeError,
  );
  assert.ok(performance.now() - start >= 15);
  await assert.rejects(
    deadline(never(), 5),
    (e) => e instanceof DOMException && e.name === "TimeoutError",
  );
});

Deno.test("deadline: an abort ends it with the reason (or onAbort's), before or during; listeners removed", async () => {
  const { ac, listeners } = countingController();
  const waiting = deadline(never(), 60_000, { signal: ac.signal });
  assert.equal(listeners(), 1);
  ac.abort(new Error("closed"));
  await assert.rejects(waiting, /closed/);
  assert.equal(listeners(), 0);
  await assert.rejects(
    deadline(never(), 60_000, { signal: ac.signal, onAbort: () => new Error("mine") }),
    /mine/,
  );
  const other = countingController();
  assert.equal(await deadline(Promise.resolve(1), 60_000, { signal: other.ac.signal }), 1);
  assert.equal(other.listeners(), 0, "a settled deadline keeps no listener");
});

Deno.test("deadline: a late rejection of the bounded promise is not unhandled", async () => {
  let fail!: (e: Error) => void;
  const late = new Promise<never>((_, r) => (fail = r));
  await assert.rejects(deadline(late, 1), (e) => e instanceof DOMException);
  fail(new Error("after the deadline"));
  await delay(5); // an unhandled rejection would fail this test
});

Deno.test("abortable, within, delay, sleep", async () => {
  const ac = new AbortController();
  const waiting = abortable(never(), ac.signal);
  ac.abort(new Error("gone"));
  await assert.rejects(waiting, /gone/);
  assert.equal(await abortable(Promise.resolve(2), undefined), 2);
  assert.equal(await within(never(), 5), undefined);
  assert.equal(await within(Promise.resolve(3), 1000), 3);
  await assert.rejects(within(Promise.reject(new Error("x")), 1000), /x/);
  const w = countingController();
  const bounded = within(never(), 60_000, w.ac.signal);
  w.ac.abort(new Error("quiet"));
  assert.equal(await bounded, undefined); // an abort ends it quietly too
  assert.equal(w.listeners(), 0);
  assert.equal(await within(never(), 60_000, w.ac.signal), undefined); // aborted before
  await delay(1);
  await assert.rejects(delay(60_000, AbortSignal.abort(new Error("stop"))), /stop/);
  const s = new AbortController();
  const sleeping = sleep(60_000, s.signal);
  s.abort(new Error("ignored"));
  assert.equal(await sleeping, undefined); // resolves, never rejects
});

Deno.test("Sleeper: cancel() and a new sleep end the sleep in progress at once", async () => {
  const sleeper = new Sleeper();
  const first = sleeper.sleep(60_000);
  const second = sleeper.sleep(60_000);
  await first; // ended by the second
  sleeper.cancel();
  await second;
  sleeper.cancel(); // nothing in progress: nothing happens
  await sleeper.sleep(1);
});

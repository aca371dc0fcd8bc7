// Pure logic of the registries, no sockets: the resync loop every discovery runs (list,
// coalesce, back off, recover) and the mDNS TXT encoding.
import assert from "node:assert/strict";
import { backoffDelay, ResyncLoop, RpcxError } from "@rpcx/core";
import { decodeMdnsText, encodeMdnsText, type MdnsServiceEntry } from "@rpcx/core/mdns";
import { waitFor } from "./support/env.ts";

/** A promise with its resolve/reject outside. */
function deferred<T>() {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => ((resolve = res), (reject = rej)));
  return { promise, resolve, reject };
}

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

// ---------------------------------------------------------------------------------------------
// mDNS TXT (the Go-compatibility cases with captured bytes are in mdns_test.ts)

Deno.test("mdns TXT: every byte is escaped exactly as Go's url.QueryEscape", () => {
  for (let b = 0x20; b < 0x7f; b++) {
    const c = String.fromCharCode(b);
    const txt = encodeMdnsText([{ service: c }]);
    // `[{"service":"` + c + `"}]` escaped: the prefix and suffix are fixed.
    const inner = txt.slice("%5B%7B%22service%22%3A%22".length, -"%22%7D%5D".length);
    let want: string;
    if (/[A-Za-z0-9\-_.~]/.test(c)) want = c;
    else if (c === " ") want = "+";
    else if (c === '"') want = "%5C%22"; // JSON escapes it first: \"
    else if (c === "\\") want = "%5C%5C";
    else if (c === "<" || c === ">" || c === "&") {
      want = "%5Cu00" + b.toString(16); // Go's json.Marshal HTML escape, then %-escaped
    } else want = "%" + b.toString(16).toUpperCase().padStart(2, "0");
    assert.equal(inner, want, `byte 0x${b.toString(16)}`);
  }
});

Deno.test("mdns TXT: random entries round-trip, empty fields are left out", () => {
  let seed = 12345;
  const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const alphabet = 'aZ9-_.~ &=%+<>"\\/é€😀\u2028';
  const word = () => {
    let s = "";
    const n = Math.floor(rand() * 12);
    for (let i = 0; i < n; i++) s += [...alphabet][Math.floor(rand() * [...alphabet].length)];
    return s;
  };
  for (let round = 0; round < 200; round++) {
    const entries: MdnsServiceEntry[] = [];
    const count = Math.floor(rand() * 4);
    for (let i = 0; i < count; i++) {
      entries.push({ service: word(), meta: word(), service_address: word() });
    }
    const back = decodeMdnsText(encodeMdnsText(entries));
    const want = entries.map((e) => {
      const o: MdnsServiceEntry = {};
      if (e.service) o.service = e.service;
      if (e.meta) o.meta = e.meta;
      if (e.service_address) o.service_address = e.service_address;
      return o;
    });
    assert.deepEqual(back, want);
  }
  // A bad escape is Go's url.EscapeError text (an RpcxError), as Go's QueryUnescape reports it.
  assert.throws(() => decodeMdnsText("%ZZ"), (e) =>
    e instanceof RpcxError &&
    e.message === 'invalid URL escape "%ZZ"');
  assert.throws(() => decodeMdnsText("%7B%7D"), TypeError); // `{}` is not an array
});

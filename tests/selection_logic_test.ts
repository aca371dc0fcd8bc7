// Pure selection logic, no sockets: metadata numbers as Go parses them, selectors, jump hash,
// smooth weighted round robin, backoff.
import assert from "node:assert/strict";
import {
  backoffDelay,
  ClosestSelector,
  ConsistentHashSelector,
  fnv1a64,
  inGroup,
  isInactive,
  jumpHash,
  type KVPair,
  latencyWeight,
  metadataPosition,
  metadataWeight,
  RandomSelector,
  RoundRobinSelector,
  WeightedRoundRobinSelector,
} from "@rpcx/core";

const pairs = (...values: [string, string][]): KVPair[] =>
  values.map(([key, value]) => ({ key, value }));

Deno.test("metadataWeight: Go's strconv.Atoi, default 1", () => {
  const cases: [string, number][] = [
    ["weight=5", 5],
    ["weight=%2B7", 7],
    ["weight=+7", 1], // "+" is a space in a query, as Go reads it
    ["weight=-3", -3],
    ["weight=0", 0],
    ["weight=007", 7],
    ["", 1],
    ["weight=", 1],
    ["weight=abc", 1],
    ["weight=2.5", 1],
    ["weight=1e3", 1],
    ["weight=0x10", 1],
    ["weight= 5", 1],
    ["weight=5 ", 1],
    ["weight=9223372036854775808", 1], // past int64
    ["weight=9223372036854775807", 9223372036854775807],
    ["group=a&weight=4&weight=9", 4], // first value, as url.Values.Get
    ["weight=4;x=1", 1], // Go's ParseQuery refuses ';': metadata ignored
    ["weight=4&x=%zz", 1], // bad escape: metadata ignored
    ["weight=%34", 4], // escapes are decoded
  ];
  for (const [meta, want] of cases) assert.equal(metadataWeight(meta), want, meta);
});

Deno.test("metadataPosition: Go's strconv.ParseFloat; empty or invalid is no position", () => {
  assert.deepEqual(metadataPosition("latitude=48.85&longitude=2.35"), {
    latitude: 48.85,
    longitude: 2.35,
  });
  assert.deepEqual(metadataPosition("latitude=-1e1&longitude=.5"), {
    latitude: -10,
    longitude: 0.5,
  });
  assert.deepEqual(metadataPosition("latitude=5.&longitude=%2B0"), { latitude: 5, longitude: 0 });
  for (
    const meta of [
      "",
      "latitude=&longitude=",
      "latitude=1",
      "longitude=1",
      "latitude=1&longitude=",
      "latitude=abc&longitude=1",
      "latitude=1,5&longitude=1",
      "latitude=Infinity&longitude=1",
      "latitude=1e400&longitude=1",
      "latitude=1&longitude=2;x",
    ]
  ) assert.equal(metadataPosition(meta), undefined, meta);
});

Deno.test("state and group filters as Go's: unparsable metadata and an empty group filter nothing", () => {
  assert.equal(isInactive("state=inactive"), true);
  assert.equal(isInactive("state=active"), false);
  assert.equal(isInactive("state=inactive;x"), false);
  assert.equal(inGroup("group=a&group=b", "b"), true);
  assert.equal(inGroup("group=a", "b"), false);
  assert.equal(inGroup("", "b"), false);
  assert.equal(inGroup("group=a", ""), true);
  assert.equal(inGroup("group=a&%", "b"), true);
});

Deno.test("smooth weighted round robin: exact sequences", () => {
  const s = new WeightedRoundRobinSelector();
  s.update(pairs(["a", "weight=5"], ["b", "weight=1"], ["c", "weight=1"]));
  assert.equal(Array.from({ length: 14 }, () => s.select()).join(""), "aabacaaaabacaa");
  s.update(pairs(["a", "weight=3"], ["b", "weight=1"]));
  // a keeps its current weight across the update, so the phase goes on
  assert.equal(Array.from({ length: 8 }, () => s.select()).join("").length, 8);
  const t = new WeightedRoundRobinSelector();
  t.update(pairs(["a", "weight=0"], ["b", "weight=2"], ["c", "weight=-1"]));
  assert.equal(Array.from({ length: 4 }, () => t.select()).join(""), "bbbb");
  t.update(pairs(["a", "weight=0"], ["b", "weight=0"], ["c", "weight=-1"]));
  assert.equal(Array.from({ length: 6 }, () => t.select()).join(""), "abcabc");
  t.update(pairs(["a", "weight="], ["b", "weight=x"]));
  assert.equal(Array.from({ length: 4 }, () => t.select()).join(""), "abab");
  t.update([]);
  assert.equal(t.select(), undefined);
});

Deno.test("round robin and random", () => {
  const rr = new RoundRobinSelector();
  rr.update(pairs(["b", ""], ["a", ""], ["c", ""]));
  assert.equal(Array.from({ length: 6 }, () => rr.select()).join(""), "abcabc");
  const r = new RandomSelector();
  assert.equal(r.select(), undefined);
  r.update(pairs(["a", ""], ["b", ""], ["c", ""], ["d", ""]));
  const counts = new Map<string, number>();
  for (let i = 0; i < 4000; i++) {
    const k = r.select()!;
    counts.set(k, (counts.get(k) ?? 0) + 1);
  }
  assert.equal(counts.size, 4);
  // Each of 4 gets ~1000; ±25 % is > 10 standard deviations.
  for (const [k, n] of counts) assert.ok(n > 750 && n < 1250, `${k}: ${n}`);
});

Deno.test("jump hash and FNV-1a give Go's values", () => {
  // Values printed by Go's hash/fnv and rpcx's client.Hash.
  assert.equal(fnv1a64(""), 14695981039346656037n);
  assert.equal(fnv1a64("a"), 12638187200555641996n);
  assert.equal(fnv1a64("/Arith/Mul/&{10 20}"), 2377465108530270073n);
  assert.equal(fnv1a64("rpcx"), 16995641748152084708n);
  const want: [bigint, number[]][] = [
    [0n, [0, 0, 0, 0, 0, 0]],
    [1n, [0, 0, 0, 6, 55, 549]],
    [42n, [0, 1, 2, 2, 43, 571]],
    [0xdeadbeefn, [0, 1, 2, 5, 87, 285]],
    [18446744073709551615n, [0, 1, 2, 9, 92, 313]],
  ];
  const buckets = [1, 2, 3, 10, 100, 1000];
  for (const [key, got] of want) {
    assert.deepEqual(buckets.map((n) => jumpHash(key, n)), got, String(key));
  }
  assert.equal(jumpHash(42n, 0), 0);
  // Growing from n to n+1 buckets moves only keys that land in the new bucket.
  for (let k = 0n; k < 500n; k++) {
    const before = jumpHash(k * 7919n, 10);
    const after = jumpHash(k * 7919n, 11);
    assert.ok(after === before || after === 10, `key ${k}`);
  }
});

Deno.test("consistent hash: stable for the same args, independent of list order", () => {
  const a = new ConsistentHashSelector();
  const b = new ConsistentHashSelector();
  a.update(pairs(["x", ""], ["y", ""], ["z", ""]));
  b.update(pairs(["z", ""], ["x", ""], ["y", ""]));
  const owners = new Set<string>();
  for (let i = 0; i < 50; i++) {
    const k = a.select("Svc", "M", { id: i })!;
    assert.equal(b.select("Svc", "M", { id: i }), k);
    assert.equal(a.select("Svc", "M", { id: i }), k);
    owners.add(k);
  }
  assert.equal(owners.size, 3);
});

Deno.test("closest: nearest by position; servers with no position only when none has one", () => {
  const s = new ClosestSelector(0.1, 0.1);
  s.update(pairs(["none", "latitude=&longitude="], ["far", "latitude=10&longitude=10"]));
  for (let i = 0; i < 10; i++) assert.equal(s.select(), "far");
  s.update(pairs(["n1", ""], ["n2", "latitude=x&longitude=1"]));
  const seen = new Set<string>();
  for (let i = 0; i < 100; i++) seen.add(s.select()!);
  assert.deepEqual([...seen].sort(), ["n1", "n2"]);
  s.update([]);
  assert.equal(s.select(), undefined);
});

Deno.test("backoff doubles from the first delay up to the cap; latency weights as Go's", () => {
  assert.deepEqual([1, 2, 3, 4, 5, 6].map((n) => backoffDelay(n)), [
    1000,
    2000,
    4000,
    8000,
    16000,
    30000,
  ]);
  assert.equal(backoffDelay(0), 1000);
  assert.equal(backoffDelay(1000), 30000);
  assert.deepEqual([1, 2, 3].map((n) => backoffDelay(n, 200, 500)), [200, 400, 500]);
  assert.deepEqual([0, 10, 11, 200, 201, 999, 1000].map(latencyWeight), [
    191,
    191,
    190,
    1,
    1,
    1,
    0,
  ]);
});

// The selectors as pure functions of the server list (no sockets): smooth weighted round robin,
// round robin, random, consistent hash (FNV-1a 64 as Go's), closest, latency weights. XClient
// over real servers with these select modes: tests/selectors_test.ts, tests/xclient_test.ts.
import assert from "node:assert/strict";
import type { KVPair } from "../../registry/discovery.ts";
import { fnv1a64Of, fnvOut } from "./_consistent_hash.ts";
import { ClosestSelector } from "./closest.ts";
import { ConsistentHashSelector } from "./consistent_hash.ts";
import { latencyWeight } from "./latency.ts";
import { RandomSelector } from "./random.ts";
import { RoundRobinSelector } from "./round_robin.ts";
import { WeightedRoundRobinSelector } from "./weighted.ts";

const pairs = (...values: [string, string][]): KVPair[] =>
  values.map(([key, value]) => ({ key, value }));

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

Deno.test("FNV-1a 64 gives Go's hash/fnv values", () => {
  // Values printed by Go's hash/fnv New64a (rpcx's HashString).
  const fnv1a64 = (s: string) => {
    fnv1a64Of(s);
    return (BigInt(fnvOut.hi) << 32n) | BigInt(fnvOut.lo);
  };
  assert.equal(fnv1a64(""), 14695981039346656037n);
  assert.equal(fnv1a64("a"), 12638187200555641996n);
  assert.equal(fnv1a64("/Arith/Mul/&{10 20}"), 2377465108530270073n);
  assert.equal(fnv1a64("rpcx"), 16995641748152084708n);
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

Deno.test("latencyWeight: Go's weights by round-trip time", () => {
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

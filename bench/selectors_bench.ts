// ConsistentHash select() and update() cost by server count (`deno bench -A bench/selectors_bench.ts`,
// also part of `deno task bench`). One select is one call's routing decision: the 256 args cycle
// so the key text and its hash are computed afresh each time, as for a real call.
import { ConsistentHashSelector, type KVPair } from "@rpcx/core/extend";

const list = (n: number): KVPair[] =>
  Array.from({ length: n }, (_, i) => ({
    key: `tcp@10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}:8972`,
    value: "",
  }));
const ARGS = Array.from(
  { length: 256 },
  (_, i) => ({ ID: 9007199254740993 + i * 7, Name: "n" + i }),
);

for (const n of [10, 1_000, 10_000]) {
  const pairs = list(n);
  const s = new ConsistentHashSelector();
  s.update(pairs);
  let i = 0;
  Deno.bench({
    name: `select, ${n} servers`,
    group: "ConsistentHash select",
    baseline: n === 10,
    fn: () => void s.select("Arith", "Mul", ARGS[i++ & 255]),
  });
  const u = new ConsistentHashSelector();
  // Each update gets a new array of the same servers but one, as after a server's backoff.
  const lists = [pairs, pairs.slice(1)];
  let j = 0;
  Deno.bench({
    name: `update, ${n} servers`,
    group: "ConsistentHash update",
    baseline: n === 10,
    fn: () => u.update(lists[j++ & 1]),
  });
}

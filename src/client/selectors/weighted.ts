/**
 * WeightedRoundRobin: smooth weighted round robin by the servers' `weight` metadata.
 *
 * @module
 */
import type { KVPair } from "../../registry/discovery.ts";
import { metadataWeight } from "../../registry/metadata.ts";
import type { Selector } from "./selector.ts";

interface Weighted {
  key: string;
  weight: number;
  current: number;
}

/**
 * Smooth weighted round robin (as nginx): weight from each server's `weight` metadata, read
 * as Go does ({@linkcode metadataWeight}: default 1). Weights 5,1,1 give a a b a c a a —
 * spread out, in proportion. Servers of weight ≤ 0 are skipped while another has a positive
 * weight; when none has, all are used in turn (a list is never unusable because of weights).
 *
 * @example
 * ```ts
 * import { WeightedRoundRobinSelector } from "@rpcx/core/extend";
 * const s = new WeightedRoundRobinSelector();
 * s.update([{ key: "a", value: "weight=3" }, { key: "b", value: "weight=1" }]);
 * console.log([1, 2, 3, 4].map(() => s.select()).join("")); // "aaba"
 * ```
 */
export class WeightedRoundRobinSelector implements Selector {
  #servers: Weighted[] = [];
  #turn = 0;
  /** The next key by smooth weighted round robin. */
  select(): string | undefined {
    let total = 0;
    let best: Weighted | undefined;
    for (const s of this.#servers) {
      if (s.weight <= 0) continue;
      s.current += s.weight;
      total += s.weight;
      if (!best || s.current > best.current) best = s;
    }
    if (!best) return this.#evenly();
    best.current -= total;
    return best.key;
  }
  /** Every weight ≤ 0: plain round robin over all. */
  #evenly(): string | undefined {
    const n = this.#servers.length;
    if (n === 0) return undefined;
    return this.#servers[this.#turn++ % n].key;
  }
  /** Replaces the list, reading `weight` metadata. */
  update(pairs: KVPair[]): void {
    this.setWeights(pairs.map((p) => [p.key, metadataWeight(p.value)]));
  }
  /** Sets explicit weights (used by the latency-weighted selector). */
  setWeights(weights: [string, number][]): void {
    const old = new Map(this.#servers.map((s) => [s.key, s.current]));
    this.#servers = weights.sort((a, b) => (a[0] < b[0] ? -1 : 1)).map(([key, weight]) => ({
      key,
      weight,
      current: old.get(key) ?? 0,
    }));
  }
}

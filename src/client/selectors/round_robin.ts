/**
 * RoundRobin: each server in turn.
 *
 * @module
 */
import type { KVPair } from "../../registry/discovery.ts";
import type { Selector } from "./selector.ts";

/**
 * Each server in turn.
 *
 * @example
 * ```ts
 * import { RoundRobinSelector } from "@rpcx/core/extend";
 * const s = new RoundRobinSelector();
 * s.update([{ key: "a", value: "" }, { key: "b", value: "" }]);
 * console.log(s.select(), s.select(), s.select()); // "a" "b" "a"
 * ```
 */
export class RoundRobinSelector implements Selector {
  #keys: string[] = [];
  #i = 0;
  /** The next key. */
  select(): string | undefined {
    const n = this.#keys.length;
    if (n === 0) return undefined;
    const k = this.#keys[this.#i % n];
    this.#i = (this.#i + 1) % n;
    return k;
  }
  /** Replaces the list (sorted, so the order is stable). */
  update(pairs: KVPair[]): void {
    this.#keys = pairs.map((p) => p.key).sort();
  }
}

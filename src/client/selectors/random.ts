/**
 * RandomSelect: a uniformly random server.
 *
 * @module
 */
import type { KVPair } from "../../registry/discovery.ts";
import type { Selector } from "./selector.ts";

/**
 * Uniformly random.
 *
 * @example
 * ```ts
 * import { RandomSelector } from "@rpcx/core/extend";
 * const s = new RandomSelector();
 * s.update([{ key: "tcp@a:1", value: "" }]);
 * console.log(s.select()); // "tcp@a:1"
 * ```
 */
export class RandomSelector implements Selector {
  #keys: string[] = [];
  /** A random key. */
  select(): string | undefined {
    const n = this.#keys.length;
    return n === 0 ? undefined : this.#keys[Math.floor(Math.random() * n)];
  }
  /** Replaces the list. */
  update(pairs: KVPair[]): void {
    this.#keys = pairs.map((p) => p.key);
  }
}

/**
 * The selector contract, and the select modes XClient makes a selector for.
 *
 * @module
 */
import type { KVPair } from "../../registry/discovery.ts";

/**
 * Picks a server key for a call. `update` receives the selectable list whenever it changes.
 *
 * @example
 * ```ts
 * import type { Selector } from "@rpcx/core";
 * class First implements Selector {
 *   #keys: string[] = [];
 *   select() { return this.#keys[0]; }
 *   update(pairs: { key: string; value: string }[]) { this.#keys = pairs.map((p) => p.key); }
 * }
 * console.log(typeof new First().select);
 * ```
 */
export interface Selector {
  /** A key of the current list, or undefined when there is none. */
  select(servicePath: string, serviceMethod: string, args: unknown): string | undefined;
  /** Replaces the list. */
  update(pairs: KVPair[]): void;
}

/**
 * Select modes, as in Go rpcx.
 *
 * @example
 * ```ts
 * import { SelectMode } from "@rpcx/core";
 * console.log(SelectMode.RoundRobin); // 1
 * ```
 */
export const SelectMode = {
  RandomSelect: 0,
  RoundRobin: 1,
  WeightedRoundRobin: 2,
  WeightedICMP: 3,
  ConsistentHash: 4,
  Closest: 5,
  SelectByUser: 1000,
} as const;
/** A value of {@linkcode SelectMode}. */
export type SelectMode = typeof SelectMode[keyof typeof SelectMode];

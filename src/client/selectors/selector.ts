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
 * import { FailMode, MultipleServersDiscovery, SelectMode, Server, XClient } from "@rpcx/core";
 * import type { Selector } from "@rpcx/core/extend";
 * // Always the first server listed.
 * class First implements Selector {
 *   #keys: string[] = [];
 *   select() {
 *     return this.#keys[0];
 *   }
 *   update(pairs: { key: string; value: string }[]) {
 *     this.#keys = pairs.map((p) => p.key);
 *   }
 * }
 * const server = new Server();
 * await server.register({ Who: () => "first" }, "Svc");
 * const discovery = new MultipleServersDiscovery([
 *   { key: `tcp@${await server.serve("tcp", "127.0.0.1:0")}`, value: "" },
 * ]);
 * const x = new XClient("Svc", FailMode.Failfast, SelectMode.SelectByUser, discovery, {
 *   selector: new First(),
 * });
 * console.log(await x.call("Who", null)); // "first"
 * await x.close();
 * await server.close();
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

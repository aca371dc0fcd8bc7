/**
 * MultipleServers discovery: a fixed list that the program may replace.
 *
 * @module
 */
import { BaseDiscovery, type KVPair, type ServiceDiscovery } from "./discovery.ts";

/**
 * A list of servers given by the program; {@linkcode MultipleServersDiscovery.update} replaces
 * it and notifies watchers (XClient picks up the change at once).
 *
 * @example
 * ```ts
 * import { MultipleServersDiscovery } from "@rpcx/core";
 * const d = new MultipleServersDiscovery([{ key: "tcp@127.0.0.1:8972", value: "" }]);
 * d.update([{ key: "tcp@127.0.0.1:8973", value: "weight=2" }]);
 * console.log(d.getServices()[0].key); // "tcp@127.0.0.1:8973"
 * ```
 */
export class MultipleServersDiscovery extends BaseDiscovery {
  /** Starts with `pairs`. */
  constructor(pairs: KVPair[]) {
    super();
    this.publish(pairs);
  }

  /** Replaces the list. */
  update(pairs: KVPair[]): void {
    this.publish(pairs);
  }

  /** A discovery with the same current list. */
  clone(_servicePath: string): ServiceDiscovery {
    return new MultipleServersDiscovery(this.getServices());
  }
}

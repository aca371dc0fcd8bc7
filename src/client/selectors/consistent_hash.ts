/**
 * ConsistentHash: the same service, method and args to the same server (FNV-1a 64 of Go rpcx's
 * key, multi-probe consistent hashing).
 *
 * @module
 */
import type { KVPair } from "../../registry/discovery.ts";
import type { Selector } from "./selector.ts";
import {
  argsKey,
  buildRing,
  fnv1a64Of,
  fnvOut,
  PROBES,
  RING,
  type Ring,
  ringPosition,
  serverPoints,
} from "./_consistent_hash.ts";

/**
 * Consistent hashing: the same service, method and args go to the same server, in every
 * process and whatever the order of the server list; a server joining takes only the keys it
 * now wins (about 1/n of them) and a server leaving hands over only its own keys.
 *
 * The key is FNV-1a 64 of `/servicePath/serviceMethod/args` (Go rpcx's layout and hash), where
 * args is a canonical text of the value: equal args give equal keys (object properties in any
 * order; an integer as a `number` or a `bigint`, as the codecs decode an int64 to either by its
 * size; `undefined` as `null`, and an undefined property as none, as the codecs send them) and
 * args a server can tell apart give different keys (a number and a numeric string, bytes that
 * differ only by a leading zero, nested objects and arrays, Map, Set, Date, bigints).
 *
 * The server is chosen by multi-probe consistent hashing (Appleton & O'Reilly, 2015): each
 * server has 32 positions on a ring of 2^52, derived from its key; the call's key is probed at
 * 21 positions, and the server whose position follows a probe most closely wins. Of 1,000
 * servers the busiest gets about 1.06× the average share and the least about 0.87× (one
 * position per server would leave some with almost none). `update` sorts the positions once
 * per changed list (about 15 ms for 10,000 servers, 1.2 ms for 1,000); `select` looks each probe
 * up in a table of spans and allocates nothing in proportion to the number of servers; about
 * 2 µs with 10 servers as with 10,000 (`deno bench -A bench/selectors_bench.ts`).
 *
 * Go rpcx hashes `fmt.Sprintf("%v", args)` and maps it with jump hash over the servers in the
 * order it added them, which is Go's random map order, so two Go processes send the same args
 * to different servers; and `%v` prints `5` and `"5"`, or two structs with the same field
 * values, alike. Neither can be matched: ours depends only on the args and the set of servers.
 *
 * @example
 * ```ts
 * import { ConsistentHashSelector } from "@rpcx/core/extend";
 * const s = new ConsistentHashSelector();
 * s.update([{ key: "a", value: "" }, { key: "b", value: "" }, { key: "c", value: "" }]);
 * console.log(s.select("Arith", "Mul", { A: 1 }) === s.select("Arith", "Mul", { A: 1 })); // true
 * console.log(s.select("Users", "Get", { ID: 9007199254740993n })); // one of "a", "b", "c"
 * ```
 */
export class ConsistentHashSelector implements Selector {
  /** The servers' keys. */
  #servers: string[] = [];
  /** Their positions on the ring, sorted, with a lookup table. */
  #ring: Ring = buildRing([], new Map());
  /** The positions of each listed server, by key. */
  #points = new Map<string, Float64Array>();

  /** The server for this call's key. */
  select(servicePath: string, serviceMethod: string, args: unknown): string | undefined {
    const servers = this.#servers;
    if (servers.length <= 1) return servers[0];
    fnv1a64Of(`/${servicePath}/${serviceMethod}/${argsKey(args)}`);
    const { hi, lo } = fnvOut;
    const { ring, owners, starts, span } = this.#ring;
    const n = ring.length;
    let best = Infinity;
    let bestAt = 0;
    for (let p = 0; p < PROBES; p++) {
      const probe = ringPosition(hi, lo, p);
      // The first position at or after the probe (wrapping around): within the probe's span,
      // or the next span's first.
      const i = Math.floor(probe / span);
      let a = starts[i];
      let b = starts[i + 1];
      while (a < b) {
        const mid = (a + b) >>> 1;
        if (ring[mid] < probe) a = mid + 1;
        else b = mid;
      }
      const at = a === n ? 0 : a;
      const distance = a === n ? RING - probe + ring[0] : ring[a] - probe;
      // Equal distances go to the earlier position, so every process picks alike.
      if (distance < best || (distance === best && at < bestAt)) {
        best = distance;
        bestAt = at;
      }
    }
    return servers[owners[bestAt]];
  }

  /** Replaces the list; the ring is rebuilt only when the set of keys changed. */
  update(pairs: KVPair[]): void {
    const old = this.#points;
    const points = new Map<string, Float64Array>();
    let same = true;
    for (const { key } of pairs) {
      if (points.has(key)) continue;
      let at = old.get(key);
      if (at === undefined) {
        same = false;
        at = serverPoints(key);
      }
      points.set(key, at);
    }
    if (same && points.size === old.size) return;
    const servers = [...points.keys()];
    this.#ring = buildRing(servers, points);
    this.#points = points;
    this.#servers = servers;
  }
}

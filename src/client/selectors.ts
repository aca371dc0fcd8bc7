/**
 * Select modes: how XClient picks one server among those available.
 *
 * @module
 */
import type { KVPair } from "../registry/discovery.ts";
import { metadataPosition, metadataWeight } from "../registry/metadata.ts";
import { tcpNetwork } from "../transport/tcp.ts";
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

/**
 * Uniformly random.
 *
 * @example
 * ```ts
 * import { RandomSelector } from "@rpcx/core";
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

/**
 * Each server in turn.
 *
 * @example
 * ```ts
 * import { RoundRobinSelector } from "@rpcx/core";
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
 * import { WeightedRoundRobinSelector } from "@rpcx/core";
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

/**
 * Weight for a round-trip time in ms, as Go rpcx computes it: 191 up to 10 ms, 201 − rtt up
 * to 200 ms, 1 below 1 s, 0 (never selected) from 1 s.
 *
 * @example
 * ```ts
 * import { latencyWeight } from "@rpcx/core";
 * console.log(latencyWeight(5), latencyWeight(50), latencyWeight(500), latencyWeight(2000)); // 191 151 1 0
 * ```
 */
export function latencyWeight(rttMs: number): number {
  if (rttMs >= 0 && rttMs <= 10) return 191;
  if (rttMs > 10 && rttMs <= 200) return Math.round(201 - rttMs);
  if (rttMs > 200 && rttMs < 1000) return 1;
  return 0;
}

/**
 * Measures a round-trip time in ms to a server key (`tcp@host:port`); rejects or returns
 * ≥ 1000 when unreachable.
 */
export type LatencyProbe = (key: string) => Promise<number>;

/**
 * Measures the time to open a TCP connection to the server (ICMP needs raw sockets, which Deno
 * does not offer; a TCP handshake is one round trip).
 *
 * @example
 * ```ts
 * import { tcpConnectLatency } from "@rpcx/core";
 * console.log(await tcpConnectLatency("tcp@127.0.0.1:1").catch(() => 1000)); // 1000 (refused)
 * ```
 */
export async function tcpConnectLatency(key: string): Promise<number> {
  const addr = key.includes("@") ? key.slice(key.indexOf("@") + 1) : key;
  const start = performance.now();
  const conn = await tcpNetwork.dial(addr, { timeout: 1000 });
  const rtt = performance.now() - start;
  conn.close();
  return rtt;
}

/**
 * Weighted by measured latency (Go's WeightedICMP): each server's round-trip time is measured
 * when the list changes and every `refreshMs`, turned into a weight by
 * {@linkcode latencyWeight}, and used by smooth weighted round robin. Servers that do not
 * answer within 1 s get weight 0.
 *
 * @example
 * ```ts
 * import { WeightedLatencySelector } from "@rpcx/core";
 * const s = new WeightedLatencySelector({ probe: async (k) => (k === "a" ? 5 : 150) });
 * s.update([{ key: "a", value: "" }, { key: "b", value: "" }]);
 * await s.measured;
 * console.log(s.weights()); // { a: 191, b: 51 }
 * s.close();
 * ```
 */
export class WeightedLatencySelector implements Selector {
  readonly #wrr = new WeightedRoundRobinSelector();
  readonly #probe: LatencyProbe;
  readonly #refreshMs: number;
  #keys: string[] = [];
  #weights = new Map<string, number>();
  #timer: ReturnType<typeof setInterval> | undefined;
  /** Settles when the latest round of measurements is done. */
  measured: Promise<void> = Promise.resolve();

  /** `probe` defaults to {@linkcode tcpConnectLatency}; `refreshMs` to 60 000 (0: never). */
  constructor(options: { probe?: LatencyProbe; refreshMs?: number } = {}) {
    this.#probe = options.probe ?? tcpConnectLatency;
    this.#refreshMs = options.refreshMs ?? 60_000;
  }
  /** The next key. */
  select(): string | undefined {
    return this.#wrr.select();
  }
  /** Current weights by key. */
  weights(): Record<string, number> {
    return Object.fromEntries(this.#weights);
  }
  /** Replaces the list and measures it. */
  update(pairs: KVPair[]): void {
    this.#keys = pairs.map((p) => p.key);
    // Until measured, every server has weight 1.
    this.#apply(new Map(this.#keys.map((k) => [k, this.#weights.get(k) ?? 1])));
    this.measured = this.#measure();
    if (this.#timer === undefined && this.#refreshMs > 0) {
      this.#timer = setInterval(() => (this.measured = this.#measure()), this.#refreshMs);
      Deno.unrefTimer(this.#timer as unknown as number);
    }
  }
  async #measure(): Promise<void> {
    const keys = this.#keys;
    const rtts = await Promise.all(keys.map((k) => this.#probe(k).catch(() => 1000)));
    if (keys !== this.#keys) return;
    this.#apply(new Map(keys.map((k, i) => [k, latencyWeight(rtts[i])])));
  }
  #apply(weights: Map<string, number>): void {
    this.#weights = weights;
    this.#wrr.setWeights([...weights]);
  }
  /** Stops the periodic measurement. */
  close(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }
}

const MASK64 = 0xffffffffffffffffn;

/**
 * FNV-1a 64-bit hash of a string's UTF-8 bytes (Go's `hash/fnv` `New64a`, which rpcx's
 * `HashString` uses).
 *
 * @example
 * ```ts
 * import { fnv1a64 } from "@rpcx/core";
 * console.log(fnv1a64("").toString(16)); // "cbf29ce484222325"
 * ```
 */
export function fnv1a64(s: string): bigint {
  fnv1a64Of(s);
  return (BigInt(fnvOut.hi) << 32n) | BigInt(fnvOut.lo);
}

/**
 * Jump consistent hash (Lamping & Veach; Go rpcx's `client.Hash`): a bucket in [0, buckets)
 * for `key`; when buckets grow from n to n+1 only 1/(n+1) of keys move.
 *
 * @example
 * ```ts
 * import { jumpHash } from "@rpcx/core";
 * console.log(jumpHash(42n, 1)); // 0
 * ```
 */
export function jumpHash(key: bigint, buckets: number): number {
  if (buckets <= 0) buckets = 1;
  let b = -1;
  let j = 0;
  let k = key & MASK64;
  while (j < buckets) {
    b = j;
    k = (k * 2862933555777941757n + 1n) & MASK64;
    j = Math.floor((b + 1) * (2 ** 31 / (Number(k >> 33n) + 1)));
  }
  return b;
}

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
 * import { ConsistentHashSelector } from "@rpcx/core";
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

/**
 * Great-circle distance in meters.
 *
 * @example
 * ```ts
 * import { geoDistance } from "@rpcx/core";
 * console.log(Math.round(geoDistance(0, 0, 0, 1) / 1000)); // 111
 * ```
 */
export function geoDistance(lat1: number, lon1: number, lat2: number, lon2: number): number {
  const rad = Math.PI / 180;
  const hav = (t: number) => Math.sin(t / 2) ** 2;
  const h = hav((lat2 - lat1) * rad) +
    Math.cos(lat1 * rad) * Math.cos(lat2 * rad) * hav((lon2 - lon1) * rad);
  return 2 * 6378100 * Math.asin(Math.sqrt(h));
}

/**
 * Closest server by `latitude`/`longitude` metadata to the client's position; ties are
 * broken at random. Positions are read as Go does ({@linkcode metadataPosition}): empty or
 * invalid numbers give no position. Go never selects a server without a position; here such
 * servers count as farthest, so they are used only when no server has a position.
 *
 * @example
 * ```ts
 * import { ClosestSelector } from "@rpcx/core";
 * const s = new ClosestSelector(48.85, 2.35); // Paris
 * s.update([{ key: "ber", value: "latitude=52.52&longitude=13.40" },
 *           { key: "lon", value: "latitude=51.50&longitude=-0.12" }]);
 * console.log(s.select()); // "lon"
 * ```
 */
export class ClosestSelector implements Selector {
  /** The client's latitude. */
  readonly latitude: number;
  /** The client's longitude. */
  readonly longitude: number;
  #nearest: string[] = [];
  /** The client's position. */
  constructor(latitude: number, longitude: number) {
    this.latitude = latitude;
    this.longitude = longitude;
  }
  /** The nearest server. */
  select(): string | undefined {
    const n = this.#nearest.length;
    return n === 0 ? undefined : this.#nearest[Math.floor(Math.random() * n)];
  }
  /** Replaces the list. */
  update(pairs: KVPair[]): void {
    let best = Infinity;
    let nearest: string[] = [];
    for (const p of pairs) {
      const at = metadataPosition(p.value);
      const d = at === undefined
        ? Infinity
        : geoDistance(this.latitude, this.longitude, at.latitude, at.longitude);
      if (d < best) {
        best = d;
        nearest = [p.key];
      } else if (d === best) {
        nearest.push(p.key);
      }
    }
    this.#nearest = nearest;
  }
}

/**
 * WeightedICMP: weights from measured round-trip times (a TCP connect), and the probe that
 * measures them.
 *
 * @module
 */
import type { KVPair } from "../../registry/discovery.ts";
import { tcpNetwork } from "../../transport/tcp.ts";
import type { Selector } from "./selector.ts";
import { WeightedRoundRobinSelector } from "./weighted.ts";
import { runtime } from "../../runtime/mod.ts";

/**
 * Weight for a round-trip time in ms, as Go rpcx computes it: 191 up to 10 ms, 201 − rtt up
 * to 200 ms, 1 below 1 s, 0 (never selected) from 1 s.
 *
 * @example
 * ```ts
 * import { latencyWeight } from "@rpcx/core/extend";
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
 * import { tcpConnectLatency } from "@rpcx/core/extend";
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
 * import { WeightedLatencySelector } from "@rpcx/core/extend";
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
      runtime().timers.unref(this.#timer);
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

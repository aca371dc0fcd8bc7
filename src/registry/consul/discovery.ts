/**
 * The client half of the Consul registry: {@linkcode ConsulDiscovery}.
 *
 * @module
 */
import { BaseDiscovery, type KVPair, type ServiceDiscovery } from "../discovery.ts";
import type { ResyncLoop, RetryOptions } from "../resync.ts";
import { type ConsulClientOptions, type ConsulEntry, ConsulHttp } from "./http.ts";

/** How long a blocking query waits for a change, as libkv does (15 s). */
const DEFAULT_WAIT_MS = 15_000;

/**
 * Options of {@linkcode ConsulDiscovery}.
 *
 * @example
 * ```ts
 * import type { ConsulDiscoveryOptions } from "@rpcx/core/consul";
 * const o: ConsulDiscoveryOptions = { waitMs: 5000, retryInitialMs: 200, retryMaxMs: 2000 };
 * console.log(o.waitMs);
 * ```
 */
export interface ConsulDiscoveryOptions extends ConsulClientOptions, RetryOptions {
  /** Longest a blocking query waits for a change, in ms; default 15 000 (as libkv). */
  waitMs?: number;
}

/**
 * Discovers the servers of one service from Consul as Go rpcx's `ConsulDiscovery` does: lists
 * `basePath/servicePath/` recursively (the key is what follows the prefix) and follows it with
 * blocking queries, publishing the complete list after each change. When Consul is unreachable
 * it keeps the last list, emits `"outage"` ({@linkcode RegistryOutageEvent}), retries with
 * capped backoff (1 s doubling to 30 s, as Go) and emits `"recovered"` when it answers again;
 * an agent that restarted (its index went backwards) is listed from scratch. `close()` aborts
 * the blocking query at once.
 *
 * @example
 * ```ts
 * import { FailMode, SelectMode, XClient } from "@rpcx/core";
 * import { ConsulDiscovery } from "@rpcx/core/consul";
 *
 * const d = new ConsulDiscovery("/rpcx_test", "Arith", ["127.0.0.1:8500"]);
 * d.addEventListener("outage", (e) => console.warn("consul unreachable", e));
 * const xclient = new XClient("Arith", FailMode.Failover, SelectMode.RoundRobin, d);
 * console.log(await xclient.call("Mul", { A: 10, B: 20 }));
 * await xclient.close();
 * ```
 */
export class ConsulDiscovery extends BaseDiscovery {
  /** The base path as given. */
  readonly basePath: string;
  /** The service path. */
  readonly servicePath: string;
  /** Consul endpoints. */
  readonly servers: string[];
  readonly #options: ConsulDiscoveryOptions;
  readonly #prefix: string;
  readonly #http: ConsulHttp;
  readonly #waitMs: number;
  readonly #resync: ResyncLoop<ConsulEntry[]>;
  /** The index of the last answer: the next query blocks until the prefix changes after it. */
  #index: bigint | undefined;
  /** The last answer had no index: poll instead of blocking. */
  #polling = false;

  /**
   * Starts listing and watching `basePath/servicePath/` at once (the constructor does not
   * wait; use {@linkcode ConsulDiscovery.ready}).
   */
  constructor(
    basePath: string,
    servicePath: string,
    servers: string[],
    options: ConsulDiscoveryOptions = {},
  ) {
    super();
    this.basePath = basePath;
    this.servicePath = servicePath;
    this.servers = servers.slice();
    this.#options = options;
    const base = basePath.replace(/^\/+/, "").replace(/\/+$/, "");
    this.#prefix = `${base}/${servicePath}/`;
    this.#waitMs = options.waitMs ?? DEFAULT_WAIT_MS;
    this.#http = new ConsulHttp(this.servers, options);
    this.#resync = this.resyncLoop({
      list: () => this.#list(),
      // publish() only notifies when the list differs
      apply: (entries) => this.publish(this.#pairs(entries)),
      // The next blocking query at once; without an index (a proxy dropped the header) a
      // query cannot block: poll instead.
      again: () => this.#polling ? Math.min(this.#waitMs, 1000) : 0,
      retryInitialMs: options.retryInitialMs,
      retryMaxMs: options.retryMaxMs,
    });
    this.#resync.kick();
  }

  /** The listed prefix, `basePath/servicePath/` without a leading slash. */
  get prefix(): string {
    return this.#prefix;
  }

  /** A discovery of the same Consul and base path for another service (its own client). */
  clone(servicePath: string): ServiceDiscovery {
    return new ConsulDiscovery(this.basePath, servicePath, this.servers, this.#options);
  }

  /** Aborts the blocking query, stops retrying and releases the HTTP client. */
  override async close(): Promise<void> {
    if (this.closed) return;
    await super.close();
    const stopped = this.#resync.close();
    this.#http.close();
    await stopped;
  }

  /** One (blocking, once an index is known) recursive listing of the prefix. */
  async #list(): Promise<ConsulEntry[]> {
    const index = this.#index;
    let res;
    try {
      res = await this.#http.list(
        this.#prefix,
        index === undefined ? undefined : String(index),
        this.#waitMs,
      );
    } catch (e) {
      // after an outage the agent may be a new one: list from scratch
      this.#index = undefined;
      throw e;
    }
    const next = res.index && /^\d+$/.test(res.index) ? BigInt(res.index) : undefined;
    // Consul's rules for blocking queries: an index that went backwards (agent restarted,
    // state reset) means list again from scratch; never block on 0.
    if (next !== undefined && index !== undefined && next < index) this.#index = undefined;
    else this.#index = next === undefined || next < 1n ? 1n : next;
    this.#polling = next === undefined;
    return res.entries;
  }

  #pairs(entries: ConsulEntry[]): KVPair[] {
    const pairs: KVPair[] = [];
    for (const e of entries) {
      if (!e.Key.startsWith(this.#prefix)) continue;
      const name = e.Key.slice(this.#prefix.length);
      if (name === "") continue;
      pairs.push({ key: name, value: e.Value ?? "" });
    }
    return pairs;
  }
}

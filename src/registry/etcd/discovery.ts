/**
 * The client half of the etcd registry: {@linkcode EtcdDiscovery}.
 *
 * @module
 */
import type { Etcd3, Watcher } from "etcd3";
import { BaseDiscovery, type KVPair, type ServiceDiscovery } from "../discovery.ts";
import type { ResyncLoop, RetryOptions } from "../resync.ts";
import { within } from "../../_internal/async.ts";
import { createClient, errorText, type EtcdClientOptions, unreachable } from "./client.ts";
import { EtcdError } from "./errors.ts";

/**
 * Options of {@linkcode EtcdDiscovery}.
 *
 * @example
 * ```ts
 * import type { EtcdDiscoveryOptions } from "@rpcx/core/etcd";
 * const o: EtcdDiscoveryOptions = { retryInitialMs: 200, retryMaxMs: 2000 };
 * console.log(o.retryMaxMs);
 * ```
 */
export interface EtcdDiscoveryOptions extends EtcdClientOptions, RetryOptions {
  /**
   * Re-lists every this many ms even when the watch reports nothing, so a watch that died
   * silently cannot leave a stale list for long; default 30 000, 0 disables.
   */
  resyncInterval?: number;
}

/**
 * Discovers the servers of one service from etcd v3 as Go rpcx's `EtcdV3Discovery` does:
 * lists `basePath/servicePath/` (the key is what follows the prefix) and watches it. Every
 * change and every watch reconnect triggers a full re-list, so a watch that missed events
 * (etcd restarted or wiped) cannot leave a stale list. When etcd is unreachable it keeps the
 * last list, emits `"outage"` ({@linkcode RegistryOutageEvent}), retries with capped backoff
 * and emits `"recovered"` when it answers again; it never throws into calls.
 *
 * @example
 * ```ts
 * import { FailMode, SelectMode, XClient } from "@rpcx/core";
 * import { EtcdDiscovery } from "@rpcx/core/etcd";
 *
 * const d = new EtcdDiscovery("/rpcx_test", "Arith", ["127.0.0.1:2379"]);
 * d.addEventListener("outage", (e) => console.warn("etcd unreachable", e));
 * const xclient = new XClient("Arith", FailMode.Failover, SelectMode.RoundRobin, d);
 * console.log(await xclient.call("Mul", { A: 10, B: 20 }));
 * await xclient.close();
 * ```
 */
export class EtcdDiscovery extends BaseDiscovery {
  /** The base path as given. */
  readonly basePath: string;
  /** The service path. */
  readonly servicePath: string;
  /** etcd endpoints. */
  readonly servers: string[];
  readonly #options: EtcdDiscoveryOptions;
  readonly #prefix: string;
  readonly #client: Etcd3;
  readonly #resync: ResyncLoop<{ revision: string; pairs: KVPair[] }>;
  #watcher: Watcher | undefined;

  /**
   * Starts listing and watching `basePath/servicePath/` at once (the constructor does not
   * wait; use {@linkcode EtcdDiscovery.ready}).
   */
  constructor(
    basePath: string,
    servicePath: string,
    servers: string[],
    options: EtcdDiscoveryOptions = {},
  ) {
    super();
    this.basePath = basePath;
    this.servicePath = servicePath;
    this.servers = servers.slice();
    this.#options = options;
    const base = basePath.length > 1 ? basePath.replace(/\/+$/, "") : basePath;
    this.#prefix = `${base}/${servicePath}/`;
    this.#client = createClient(this.servers, options);
    const resync = options.resyncInterval ?? 30_000;
    this.#resync = this.resyncLoop({
      list: () => this.#list(),
      apply: ({ revision, pairs }) => {
        this.publish(pairs);
        if (!this.#watcher) this.#startWatch(revision);
      },
      // a re-list every `resync` ms, so a watch that died silently cannot leave a stale list
      again: () => resync > 0 ? resync : undefined,
      retryInitialMs: options.retryInitialMs,
      retryMaxMs: options.retryMaxMs,
    });
    this.#resync.kick();
  }

  /** The watched prefix, `basePath/servicePath/`. */
  get prefix(): string {
    return this.#prefix;
  }

  /** A discovery of the same etcd and base path for another service (its own client). */
  clone(servicePath: string): ServiceDiscovery {
    return new EtcdDiscovery(this.basePath, servicePath, this.servers, this.#options);
  }

  /** Stops watching and closes the etcd client. */
  override async close(): Promise<void> {
    if (this.closed) return;
    await super.close();
    const stopped = this.#resync.close();
    const w = this.#watcher;
    this.#watcher = undefined;
    if (w) await this.#dropWatcher(w);
    this.#client.close();
    await stopped;
  }

  /**
   * The servers under the prefix (key = what follows it) and the revision they were read at.
   *
   * @throws {EtcdError} when etcd fails (etcd3's error as `cause`; `unavailable` when it could
   * not be reached).
   */
  async #list(): Promise<{ revision: string; pairs: KVPair[] }> {
    let res;
    try {
      res = await this.#client.getAll().prefix(this.#prefix).exec();
    } catch (e) {
      if (e instanceof EtcdError) throw e;
      throw new EtcdError(`etcd: list ${this.#prefix}: ${errorText(e)}`, {
        operation: "list",
        unavailable: unreachable(e),
        cause: e,
      });
    }
    const pairs: KVPair[] = [];
    for (const kv of res.kvs) {
      const key = kv.key.toString();
      if (!key.startsWith(this.#prefix)) continue;
      const name = key.slice(this.#prefix.length);
      if (name === "") continue;
      pairs.push({ key: name, value: kv.value.toString() });
    }
    return { revision: res.header.revision, pairs };
  }

  /** Watches the prefix from just after the listed revision; every event re-lists. */
  #startWatch(revision: string): void {
    const next = (BigInt(revision) + 1n).toString();
    const w = this.#client.watch().prefix(this.#prefix).startRevision(next).watcher();
    this.#watcher = w;
    w.on("data", () => {
      if (this.#watcher === w) this.#resync.kick();
    });
    const broken = () => {
      if (this.#watcher !== w) return;
      // Do not trust a watch that broke: drop it, re-list, and watch again from there
      // (while in outage the pending retry does that).
      this.#watcher = undefined;
      void this.#dropWatcher(w);
      this.#resync.poke();
    };
    w.on("disconnected", broken);
    w.on("error", broken);
  }

  async #dropWatcher(w: Watcher): Promise<void> {
    w.removeAllListeners("data");
    w.on("error", () => {});
    // the stream may already be gone
    await within(w.cancel(), 1000).catch(() => {});
  }
}

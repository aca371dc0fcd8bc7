/**
 * The client half of the Redis registry: {@linkcode RedisDiscovery}.
 *
 * @module
 */
import type { Redis } from "ioredis";
import { logger } from "../../log/logger.ts";
import { BaseDiscovery, type KVPair, type ServiceDiscovery } from "../discovery.ts";
import type { ResyncLoop, RetryOptions } from "../resync.ts";
import {
  command,
  connectClient,
  createClient,
  dropClient,
  enableKeyspaceEvents,
  escapeGlob,
  isRefusal,
  listDir,
  normalizeKey,
  trimPath,
} from "./client.ts";
import type { RedisClientOptions, RedisError } from "./options.ts";

/**
 * Options of {@linkcode RedisDiscovery}.
 *
 * @example
 * ```ts
 * import type { RedisDiscoveryOptions } from "@rpcx/core/redis";
 * const o: RedisDiscoveryOptions = { password: "secret", retryInitialMs: 200, retryMaxMs: 2000 };
 * console.log(o.retryMaxMs);
 * ```
 */
export interface RedisDiscoveryOptions extends RedisClientOptions, RetryOptions {
  /**
   * Re-lists every this many ms even when no notification came, so a subscription that died
   * silently cannot leave a stale list for long; default 30 000, 0 disables.
   */
  resyncInterval?: number;
  /**
   * Re-lists every this many ms while keyspace notifications are off and cannot be turned on
   * (`CONFIG` refused to this user, or `PSUBSCRIBE` refused); default 1000.
   */
  pollInterval?: number;
}

/**
 * Discovers the servers of one service from Redis as Go rpcx-redis's `NewRedisDiscovery`
 * (over libkv's `List` and `WatchTree`) does: lists the keys under
 * `/` + `basePath/servicePath/` (SCAN, then MGET of libkv's JSON values; the key is what
 * follows the prefix) and re-lists on every keyspace notification of that prefix (PSUBSCRIBE
 * `__keyspace@<db>__:<prefix>*`, notifications turned on with `CONFIG SET
 * notify-keyspace-events` as libkv does, on every connect) except `expire` (a TTL renewed).
 * SCAN walks the whole database, so a registry in a database with many other keys is best
 * given its own (`db`). It subscribes before it lists, and
 * re-lists after every reconnect, so nothing written in between is missed; a Redis that
 * refuses `CONFIG` or `PSUBSCRIBE` is polled every `pollInterval` instead. When Redis is
 * unreachable it keeps the last list, emits `"outage"` ({@linkcode RegistryOutageEvent}),
 * retries with capped backoff and emits `"recovered"` when it answers again; it never throws
 * into calls. Unlike Go's, it starts on an empty prefix (Go's fails with "Key not found") and
 * follows it to empty again.
 *
 * @example
 * ```ts
 * import { FailMode, SelectMode, XClient } from "@rpcx/core";
 * import { RedisDiscovery } from "@rpcx/core/redis";
 *
 * const d = new RedisDiscovery("/rpcx_test", "Arith", ["127.0.0.1:6379"]);
 * d.addEventListener("outage", (e) => console.warn("redis unreachable", e));
 * const xclient = new XClient("Arith", FailMode.Failover, SelectMode.RoundRobin, d);
 * console.log(await xclient.call("Mul", { A: 10, B: 20 }));
 * await xclient.close();
 * ```
 */
export class RedisDiscovery extends BaseDiscovery {
  /** The base path as given. */
  readonly basePath: string;
  /** The service path. */
  readonly servicePath: string;
  /** The Redis server (one, as Go's libkv). */
  readonly servers: string[];
  readonly #options: RedisDiscoveryOptions;
  /** The Redis key of the service directory, `/basePath/servicePath`. */
  readonly #dir: string;
  readonly #pattern: string;
  readonly #client: Redis;
  readonly #sub: Redis;
  readonly #resync: ResyncLoop<KVPair[]>;
  /** PSUBSCRIBE done on the subscriber's current connection. */
  #subscribed = false;
  /** Notifications checked (and on, or not) on the command client's current connection. */
  #notify: boolean | undefined;
  #warned = false;
  /** Whether changes arrive as notifications (else the list is polled). */
  #watching = false;

  /**
   * Starts listing and watching at once (the constructor does not wait; use
   * {@linkcode RedisDiscovery.ready}). Throws a {@linkcode RedisError} for a bad server list
   * (none, more than one, unparsable) or a bad `db`.
   */
  constructor(
    basePath: string,
    servicePath: string,
    servers: string[],
    options: RedisDiscoveryOptions = {},
  ) {
    super();
    this.basePath = basePath;
    this.servicePath = servicePath;
    this.servers = servers.slice();
    this.#options = options;
    // Go: basePath + "/" + servicePath, a trailing "/" trimmed, then libkv's normalize
    this.#dir = normalizeKey(trimPath(`${basePath}/${servicePath}`));
    this.#pattern = `__keyspace@${options.db ?? 0}__:${escapeGlob(`${this.#dir}/`)}*`;
    this.#client = createClient(this.servers, options);
    this.#sub = createClient(this.servers, options);
    const resync = options.resyncInterval ?? 30_000;
    const poll = options.pollInterval ?? 1000;
    this.#client.on("error", () => {});
    this.#sub.on("error", () => {});
    this.#client.on("close", () => (this.#notify = undefined));
    this.#sub.on("close", () => (this.#subscribed = false));
    // reconnected: whatever changed meanwhile was not notified
    this.#client.on("ready", () => this.#resync.kick());
    this.#sub.on("ready", () => this.#resync.kick());
    this.#sub.on("pmessage", (_pattern: string, _channel: string, event: string) => {
      // `expire` (a TTL set, e.g. by every refresh's SET EX, right after its `set`) changes
      // neither the keys nor their values: no re-list for it
      if (!this.closed && event !== "expire") this.#resync.kick();
    });
    this.#resync = this.resyncLoop({
      list: () => this.#list(),
      apply: (pairs) => this.publish(pairs),
      again: () => this.#watching ? (resync > 0 ? resync : undefined) : poll,
      retryInitialMs: options.retryInitialMs,
      retryMaxMs: options.retryMaxMs,
    });
    this.#resync.kick();
  }

  /** The Redis key prefix listed and watched, e.g. `//rpcx_test/Arith/` for `/rpcx_test`. */
  get prefix(): string {
    return `${this.#dir}/`;
  }

  /** Whether changes currently arrive as keyspace notifications (else the list is polled). */
  get watching(): boolean {
    return this.#watching;
  }

  /** A discovery of the same Redis and base path for another service (its own clients). */
  clone(servicePath: string): ServiceDiscovery {
    return new RedisDiscovery(this.basePath, servicePath, this.servers, this.#options);
  }

  /** Stops watching and closes both connections at once. */
  override async close(): Promise<void> {
    if (this.closed) return;
    await super.close();
    const stopped = this.#resync.close();
    dropClient(this.#sub);
    dropClient(this.#client);
    await stopped;
  }

  /** Subscribes (once per connection), checks notifications, then lists. */
  async #list(): Promise<KVPair[]> {
    await Promise.all([connectClient(this.#client), connectClient(this.#sub)]);
    if (!this.#subscribed) {
      try {
        await command("PSUBSCRIBE", () => this.#sub.psubscribe(this.#pattern), this.#sub);
        this.#subscribed = true;
      } catch (e) {
        if (!isRefusal(e)) throw e;
        this.#warnOnce(e as RedisError);
      }
    }
    if (this.#notify === undefined) {
      const refused = await enableKeyspaceEvents(this.#client);
      if (refused) this.#warnOnce(refused);
      this.#notify = refused === undefined;
    }
    this.#watching = this.#subscribed && this.#notify;
    return await listDir(this.#client, this.#dir);
  }

  /** Logs (once per discovery) why changes are polled rather than notified. */
  #warnOnce(e: RedisError): void {
    if (this.#warned) return;
    this.#warned = true;
    logger().warn("redis: keyspace notifications unavailable; polling", {
      error: e.message,
      pattern: this.#pattern,
      pollMs: this.#options.pollInterval ?? 1000,
    });
  }
}

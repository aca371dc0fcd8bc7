/**
 * The server half of the Redis registry: {@linkcode RedisRegisterPlugin}.
 *
 * @module
 */
import type { Redis } from "ioredis";
import { logger } from "../../log/logger.ts";
import type { RegistryStartContext } from "../../server/plugin.ts";
import { type KvRegisterOptions, KvRegisterPlugin } from "../kv_register.ts";
import {
  command,
  connectClient,
  createClient,
  decodeValue,
  dropClient,
  enableKeyspaceEvents,
  encodeValue,
  normalizeKey,
  ttlArgs,
} from "./client.ts";
import { type RedisClientOptions, RedisError } from "./options.ts";

/**
 * Options of {@linkcode RedisRegisterPlugin}: the common KV registry options (durations in ms)
 * plus the Redis client options. Go: `serverplugin.RedisRegisterPlugin{ServiceAddress,
 * RedisServers, BasePath, UpdateInterval, Options}` (`servers` is `RedisServers`: exactly one).
 *
 * @example
 * ```ts
 * import type { RedisRegisterOptions } from "@rpcx/core/redis";
 * const o: RedisRegisterOptions = {
 *   servers: ["127.0.0.1:6379"],
 *   basePath: "/rpcx_test",
 *   updateInterval: 10_000,
 *   password: "secret",
 * };
 * console.log(o.basePath);
 * ```
 */
export interface RedisRegisterOptions extends KvRegisterOptions, RedisClientOptions {}

/**
 * Advertises a server's services in Redis as Go rpcx-redis does (see the module doc for the
 * layout): the base and service keys without expiry, the service node with a TTL of
 * `updateInterval + expired` (default: twice `updateInterval`, Go's `UpdateInterval * 2`; no
 * TTL when both are 0), rewritten every `updateInterval`, which re-creates it (and the
 * directory keys) when it is missing. After a lost connection (Redis restarted, its keys
 * possibly gone) it runs that refresh as soon as it is connected again instead of waiting for
 * the next tick, and turns keyspace notifications back on (a restarted Redis forgets them;
 * Go's discoveries rely on them).
 *
 * Events: `"outage"` ({@linkcode RegistryOutageEvent}) when a refresh fails, `"recovered"`.
 *
 * @example
 * ```ts
 * import { Server } from "@rpcx/core";
 * import { RedisRegisterPlugin } from "@rpcx/core/redis";
 *
 * const server = new Server();
 * server.use(new RedisRegisterPlugin({
 *   servers: ["127.0.0.1:6379"],
 *   basePath: "/rpcx_test",
 *   updateInterval: 10_000,
 * }));
 * await server.register({ Mul: (a: { A: number; B: number }) => ({ C: a.A * a.B }) }, "Arith", "weight=10");
 * await server.serve("tcp", "127.0.0.1:8972");
 * ```
 */
export class RedisRegisterPlugin extends KvRegisterPlugin {
  /** A name for logs. */
  readonly name: string = "redis";
  readonly #options: RedisClientOptions;
  #client: Redis | undefined;
  #readyOnce = false;

  /** Stores the options; nothing is contacted before `start`. */
  constructor(options: RedisRegisterOptions) {
    super(options);
    this.#options = {
      password: options.password,
      username: options.username,
      db: options.db,
      tls: options.tls,
      dialTimeout: options.dialTimeout,
      redisOptions: options.redisOptions,
    };
  }

  /**
   * Lifetime of a service node in ms: updateInterval + expired (Go: `UpdateInterval * 2`);
   * 0 means no expiry.
   */
  get ttlMs(): number {
    return Math.max(0, this.updateInterval + this.expired);
  }

  /**
   * Connects, writes the base path and starts refreshing (see {@linkcode KvRegisterPlugin}).
   * Rejects with a {@linkcode RedisError} when Redis cannot be reached within `dialTimeout` or
   * refuses the write; the connection is then closed (nothing keeps reconnecting).
   */
  override async start(ctx?: RegistryStartContext): Promise<void> {
    try {
      await super.start(ctx);
    } catch (e) {
      await this.disconnect();
      throw e;
    }
  }

  /** Connects (bounded by `dialTimeout`) and turns keyspace notifications on, as libkv does. */
  protected async connect(): Promise<void> {
    const client = createClient(this.servers, this.#options);
    client.on("error", () => {}); // failures surface as rejected commands
    client.on("ready", () => {
      if (this.#client !== client) return;
      if (!this.#readyOnce) {
        this.#readyOnce = true;
        return;
      }
      // reconnected: Redis may have been restarted without our keys or its notifications
      void enableKeyspaceEvents(client).catch(() => {});
      void this.refresh();
    });
    this.#client = client;
    this.#readyOnce = false;
    try {
      await connectClient(client);
    } catch (e) {
      this.#client = undefined;
      dropClient(client);
      throw e;
    }
    this.#readyOnce = true;
    // libkv ignores a refusal too: the registration works without notifications
    const refused = await enableKeyspaceEvents(client);
    if (refused) {
      logger().debug("redis: cannot turn keyspace notifications on", { error: refused.message });
    }
  }

  /** Writes a directory key (no expiry, as Go's `IsDir` puts). */
  protected async putDir(path: string, value: string): Promise<void> {
    const client = this.#ensureClient();
    await command("SET", () => client.set(normalizeKey(path), encodeValue(path, value)), client);
  }

  /** Writes the service node with its TTL. */
  protected async putNode(path: string, value: string): Promise<void> {
    const client = this.#ensureClient();
    const ttl = ttlArgs(this.ttlMs);
    const v = encodeValue(path, value);
    const key = normalizeKey(path);
    await command(
      "SET",
      () => ttl.length === 0 ? client.set(key, v) : client.set(key, v, ttl[0] as "PX", ttl[1]),
    );
  }

  /** Reads a node; undefined when missing or not libkv's JSON (then it is written anew). */
  protected async getNode(path: string): Promise<string | undefined> {
    const client = this.#ensureClient();
    const raw = await command("GET", () => client.get(normalizeKey(path)), client);
    return raw === null ? undefined : decodeValue(raw);
  }

  /** Deletes a key; a missing key is fine. */
  protected async deleteNode(path: string): Promise<void> {
    const client = this.#client;
    if (!client) return;
    await command("DEL", () => client.del(normalizeKey(path)), client);
  }

  /** Closes the connection at once. */
  protected disconnect(): Promise<void> {
    const client = this.#client;
    this.#client = undefined;
    dropClient(client);
    return Promise.resolve();
  }

  #ensureClient(): Redis {
    if (!this.#client) {
      throw new RedisError("register", "plugin is not started", undefined, { unavailable: false });
    }
    return this.#client;
  }
}

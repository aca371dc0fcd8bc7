/**
 * Shared server-side logic of the KV registries (etcd, ZooKeeper, Consul), as Go rpcx does it:
 * the base, service and service-node keys, the periodic refresh that re-creates a missing node
 * and rewrites metrics, and removal on unregister/stop. Adapters supply the store operations.
 *
 * @module
 */
import type { RegistryStartContext } from "../server/plugin.ts";
import { backoffDelay } from "./discovery.ts";
import { formatMetadata, parseMetadata } from "./metadata.ts";
import { RegisterPluginBase, type RegisterPluginOptions } from "./register_base.ts";

/**
 * Options every KV registry plugin takes (Go names in camelCase; durations in milliseconds).
 *
 * @example
 * ```ts
 * import type { KvRegisterOptions } from "@rpcx/core/extend";
 * const o: KvRegisterOptions = { servers: ["127.0.0.1:2379"], basePath: "/rpcx_test",
 *   serviceAddress: "tcp@127.0.0.1:8972", updateInterval: 1000 };
 * console.log(o.basePath);
 * ```
 */
export interface KvRegisterOptions extends RegisterPluginOptions {
  /** Registry endpoints, `host:port`. */
  servers: string[];
  /** Base path, e.g. `/rpcx_test`. */
  basePath: string;
  /** Extra lifetime margin in ms (Go `Expired`); default equal to `updateInterval`. */
  expired?: number;
}

/**
 * Base class of the KV registry plugins. Emits `"outage"` ({@linkcode RegistryOutageEvent})
 * when the registry cannot be written and `"recovered"` when it can again; never throws from
 * its background refresh.
 *
 * @example
 * ```ts
 * import { Server } from "@rpcx/core";
 * import { KvRegisterPlugin } from "@rpcx/core/extend";
 * // A registry kept in a Map. EtcdRegisterPlugin, ZooKeeperRegisterPlugin and
 * // ConsulRegisterPlugin fill the same six operations with their client.
 * class MapRegisterPlugin extends KvRegisterPlugin {
 *   readonly name = "map";
 *   readonly store = new Map<string, string>();
 *   protected async connect() {}
 *   protected async putDir(path: string, value: string) {
 *     if (!this.store.has(path)) this.store.set(path, value);
 *   }
 *   protected async putNode(path: string, value: string) {
 *     this.store.set(path, value);
 *   }
 *   protected async getNode(path: string) {
 *     return this.store.get(path);
 *   }
 *   protected async deleteNode(path: string) {
 *     this.store.delete(path);
 *   }
 *   protected async disconnect() {}
 * }
 * const plugin = new MapRegisterPlugin({ servers: [], basePath: "/rpcx_test" });
 * const server = new Server({ plugins: [plugin] });
 * await server.register({ Ping: () => "pong" }, "Health");
 * await server.serve("tcp", "127.0.0.1:0");
 * console.log([...plugin.store.keys()]);
 * // [ "/rpcx_test", "/rpcx_test/Health", "/rpcx_test/Health/tcp@127.0.0.1:…" ]
 * await server.close(); // unregisters: the node is deleted
 * console.log(plugin.store.has(plugin.nodePath("Health"))); // false
 * ```
 */
export abstract class KvRegisterPlugin extends RegisterPluginBase {
  /** Registry endpoints. */
  readonly servers: string[];
  /** Base path as given (with or without leading slash). */
  readonly basePath: string;
  /** Extra lifetime margin in ms. */
  readonly expired: number;
  #started = false;
  #stopped = false;
  #refreshing: Promise<void> | undefined;

  /** Stores the options. */
  constructor(options: KvRegisterOptions) {
    super(options);
    this.servers = options.servers;
    this.basePath = options.basePath.replace(/\/+$/, "") || "/rpcx";
    this.expired = options.expired ?? this.updateInterval;
  }

  /** Lifetime of a service node in seconds: updateInterval + expired (at least 1). */
  get ttlSeconds(): number {
    return Math.max(1, Math.ceil((this.updateInterval + this.expired) / 1000));
  }

  /** Path of a service node: `basePath/name/serviceAddress`. */
  nodePath(name: string): string {
    return `${this.basePath}/${name}/${this.serviceAddress}`;
  }

  /** Connects to the registry and creates the base path; starts the refresh timer. */
  async start(ctx?: RegistryStartContext): Promise<void> {
    if (this.#started) return;
    this.#started = true;
    this.#stopped = false;
    this.bindServer(ctx);
    try {
      await this.connect();
      await this.putDir(this.basePath, "rpcx_path");
    } catch (e) {
      this.#started = false; // let a later start() try again
      throw e;
    }
    this.startRefreshing();
  }

  /** Writes the service directory and the service node with its metadata. */
  async register(name: string, _service: unknown, metadata: string): Promise<void> {
    this.setService(name, metadata);
    await this.putDir(`${this.basePath}/${name}`, name);
    await this.putNode(this.nodePath(name), metadata);
  }

  /** Deletes the service node. Unknown names are ignored. */
  async unregister(name: string): Promise<void> {
    if (!this.deleteService(name)) return;
    await this.deleteNode(this.nodePath(name));
  }

  /** Deletes every node it owns, stops refreshing and disconnects. Safe to call twice. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#started = false;
    this.stopRefreshing();
    await this.#refreshing;
    for (const name of this.services) {
      try {
        await this.deleteNode(this.nodePath(name));
      } catch {
        // the registry may be gone; its lifetime will remove the node
      }
    }
    this.clearServices();
    await this.disconnect();
  }

  /**
   * One refresh round, as Go's ticker does: re-create missing nodes with their original
   * metadata; otherwise add the metrics figures and write the node back (renewing its life).
   */
  refresh(): Promise<void> {
    if (this.#refreshing) return this.#refreshing;
    this.#refreshing = this.#refresh().finally(() => (this.#refreshing = undefined));
    return this.#refreshing;
  }

  async #refresh(): Promise<void> {
    if (this.#stopped) return;
    try {
      await this.beforeRefresh();
      const extra = this.metricsFigures();
      for (const [name, meta] of this.serviceMetadata) {
        if (this.#stopped) return;
        const path = this.nodePath(name);
        const current = await this.getNode(path);
        if (current === undefined) {
          await this.putDir(this.basePath, "rpcx_path");
          await this.putDir(`${this.basePath}/${name}`, name);
          await this.putNode(path, meta);
        } else if (extra) {
          // Go: url.ParseQuery, Set each figure, Encode (keys sorted, Go's escaping).
          const v = parseMetadata(current);
          for (const [k, val] of Object.entries(extra)) v.set(k, val);
          await this.putNode(path, formatMetadata(v));
        } else {
          await this.putNode(path, current);
        }
      }
      this.reportSuccess();
    } catch (e) {
      this.reportFailure(e, Math.min(this.updateInterval, backoffDelay(1)));
    }
  }

  /** Connects the registry client. */
  protected abstract connect(): Promise<void>;
  /** Creates a persistent directory node with a value; an existing node is fine. */
  protected abstract putDir(path: string, value: string): Promise<void>;
  /** Creates or overwrites the service node with a value, bound to this plugin's lifetime. */
  protected abstract putNode(path: string, value: string): Promise<void>;
  /** Reads a node's value; undefined when it does not exist. */
  protected abstract getNode(path: string): Promise<string | undefined>;
  /** Deletes a node; a missing node is fine. */
  protected abstract deleteNode(path: string): Promise<void>;
  /** Releases the registry client. */
  protected abstract disconnect(): Promise<void>;
  /** Hook run at the start of each refresh (e.g. re-grant a lost lease). */
  protected beforeRefresh(): Promise<void> {
    return Promise.resolve();
  }
}

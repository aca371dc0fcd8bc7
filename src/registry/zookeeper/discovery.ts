/**
 * The client half of the ZooKeeper registry: {@linkcode ZooKeeperDiscovery}.
 *
 * @module
 */
import { BaseDiscovery, type KVPair } from "../discovery.ts";
import type { ResyncLoop, RetryOptions } from "../resync.ts";
import { codeOf, NO_NODE, ZooKeeperError } from "./errors.ts";
import { zkPath, ZkSession, type ZkWatcher, type ZooKeeperAuth } from "./session.ts";

/**
 * Options of {@linkcode ZooKeeperDiscovery}.
 *
 * @example
 * ```ts
 * import type { ZooKeeperDiscoveryOptions } from "@rpcx/core/zookeeper";
 * const o: ZooKeeperDiscoveryOptions = { sessionTimeout: 10_000, retryInitialMs: 1000 };
 * console.log(o.retryInitialMs);
 * ```
 */
export interface ZooKeeperDiscoveryOptions extends RetryOptions {
  /**
   * Digest auth of the discovery's session, needed when the servers' nodes are not world
   * readable (see {@linkcode ZooKeeperAuth}).
   */
  auth?: ZooKeeperAuth;
  /** Session timeout asked of ZooKeeper, ms (default 10 000). */
  sessionTimeout?: number;
  /** Bound of each ZooKeeper operation, waiting for a connection included, ms (default 5000). */
  opTimeout?: number;
  /** Upper bound of the random pause between reconnect rounds, ms (default 1000). */
  spinDelay?: number;
  /**
   * Bound of one connection attempt to a server, ms: TCP connect and ZooKeeper's handshake
   * (default a third of `sessionTimeout`, between 300 and 2000). Every server is dialled when the
   * session opens and connections go to servers that answered; one that drops SYNs or does not
   * answer costs this once, and is then avoided for `endpointRetryMs`.
   */
  endpointDialTimeout?: number;
  /**
   * How long a server that could not be reached is avoided, ms (default 5000); it is dialled
   * again every this many ms until it answers (at once when no server answers).
   */
  endpointRetryMs?: number;
}

/**
 * The servers of one service as registered in ZooKeeper under `/basePath/servicePath`: keys are
 * the child names (`tcp@host:port`), values their data (the metadata). Child and data watches
 * are re-armed after every event, so new, removed and edited nodes (e.g. `state=inactive` set by
 * an operator) show up at once. On reconnect and after a session expiry it lists again. While
 * ZooKeeper is unreachable it keeps the last list, dispatches `"outage"`
 * ({@linkcode RegistryOutageEvent}) and retries with a doubling, capped delay, then
 * `"recovered"`; it never throws into calls. Each instance has its own ZooKeeper session.
 *
 * @example
 * ```ts
 * import { FailMode, SelectMode, XClient } from "@rpcx/core";
 * import { ZooKeeperDiscovery } from "@rpcx/core/zookeeper";
 *
 * const discovery = new ZooKeeperDiscovery("/rpcx_test", "Arith", ["127.0.0.1:2181"]);
 * discovery.addEventListener("outage", (e) => console.warn("zookeeper unreachable", e));
 * const client = new XClient("Arith", FailMode.Failover, SelectMode.RoundRobin, discovery);
 * console.log(await client.call("Mul", { A: 10, B: 20 }));
 * await client.close();
 * await discovery.close();
 * ```
 */
export class ZooKeeperDiscovery extends BaseDiscovery {
  /** Base path as given. */
  readonly basePath: string;
  /** The service path (service name). */
  readonly servicePath: string;
  /** ZooKeeper endpoints, `host:port`. */
  readonly servers: string[];
  /** The node whose children are listed: `/basePath/servicePath`. */
  readonly path: string;
  readonly #options: ZooKeeperDiscoveryOptions;
  readonly #session: ZkSession;
  readonly #resync: ResyncLoop<KVPair[]>;
  readonly #watcher: ZkWatcher = () => this.#resync.kick();

  /**
   * Starts listing and watching at once (`ready()` resolves with the first list). A template
   * for a base path is made with `servicePath` "" and then {@linkcode ZooKeeperDiscovery.clone}d.
   */
  constructor(
    basePath: string,
    servicePath: string,
    servers: string[],
    options: ZooKeeperDiscoveryOptions = {},
  ) {
    super();
    this.basePath = basePath;
    this.servicePath = servicePath;
    this.servers = servers;
    this.path = zkPath(basePath, servicePath);
    this.#options = options;
    this.#resync = this.resyncLoop({
      list: () => this.#list(),
      apply: (pairs) => this.publish(pairs),
      retryInitialMs: options.retryInitialMs,
      retryMaxMs: options.retryMaxMs,
    });
    // Every watch event, reconnect and new session lists again.
    const kick = () => this.#resync.kick();
    this.#session = new ZkSession(servers, {
      sessionTimeout: options.sessionTimeout ?? 10_000,
      spinDelay: options.spinDelay ?? 1000,
      opTimeout: options.opTimeout ?? 5000,
      endpointDialTimeout: options.endpointDialTimeout,
      endpointRetryMs: options.endpointRetryMs,
      auth: options.auth,
    }, { connected: kick, disconnected: kick, expired: kick });
    this.#resync.kick();
  }

  /** A discovery of the same ZooKeeper and base path for another service (its own session). */
  clone(servicePath: string): ZooKeeperDiscovery {
    return new ZooKeeperDiscovery(this.basePath, servicePath, this.servers, this.#options);
  }

  /** Stops watching and closes the session. */
  override async close(): Promise<void> {
    if (this.closed) return;
    await super.close();
    const stopped = this.#resync.close();
    await this.#session.close();
    await stopped;
  }

  /** Children of `path` with their data, arming child and data watches. */
  async #list(): Promise<KVPair[]> {
    const s = this.#session;
    for (let i = 0; i < 5; i++) {
      let children: string[];
      try {
        children = await s.getChildren(this.path, this.#watcher);
      } catch (e) {
        if (codeOf(e) !== NO_NODE) throw e;
        // No service directory (yet): watch for its creation and report no servers.
        if (await s.exists(this.path, this.#watcher)) continue;
        return [];
      }
      const values = await Promise.all(children.map(async (child) => {
        try {
          return await s.getData(`${this.path}/${child}`, this.#watcher);
        } catch (e) {
          if (codeOf(e) === NO_NODE) return undefined; // gone meanwhile; the child watch fires
          throw e;
        }
      }));
      const pairs: KVPair[] = [];
      children.forEach((key, j) => {
        const value = values[j];
        if (value !== undefined) pairs.push({ key, value });
      });
      return pairs;
    }
    throw new ZooKeeperError(NO_NODE, "NO_NODE", `getChildren ${this.path}: kept changing`);
  }
}

/**
 * The server half of the ZooKeeper registry: {@linkcode ZooKeeperRegisterPlugin}.
 *
 * @module
 */
import { backoffDelay } from "../discovery.ts";
import { type KvRegisterOptions, KvRegisterPlugin } from "../kv_register.ts";
import { Sleeper } from "../_sleeper.ts";
import { codeOf, CONNECTION_LOSS, NO_NODE, NODE_EXISTS, ZooKeeperError } from "./errors.ts";
import { zk, zkPath, ZkSession, type ZkStat, type ZooKeeperAuth } from "./session.ts";

/**
 * Options of {@linkcode ZooKeeperRegisterPlugin}: the common KV registry options plus the
 * ZooKeeper session's. `expired` is not used by ZooKeeper: a service node lives exactly as
 * long as the plugin's session.
 *
 * @example
 * ```ts
 * import type { ZooKeeperRegisterOptions } from "@rpcx/core/zookeeper";
 * const o: ZooKeeperRegisterOptions = {
 *   servers: ["127.0.0.1:2181"],
 *   basePath: "/rpcx_test",
 *   updateInterval: 60_000,
 *   sessionTimeout: 10_000,
 * };
 * console.log(o.sessionTimeout);
 * ```
 */
export interface ZooKeeperRegisterOptions extends KvRegisterOptions {
  /**
   * Session timeout asked of ZooKeeper, ms (default 10 000, as Go's libkv). A killed server's
   * nodes disappear this long after it died. ZooKeeper bounds it by its min/maxSessionTimeout.
   */
  sessionTimeout?: number;
  /** How long `start` waits for the first connection, ms (default 10 000). */
  connectTimeout?: number;
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
  /**
   * Digest auth: the session authenticates as this user and every node the plugin creates is
   * `digest:user` ALL (+ world READ unless `worldReadable: false`), so no one else can change
   * or delete them. Go rpcx's ZooKeeper plugin has no such setting (libkv writes open ACLs).
   */
  auth?: ZooKeeperAuth;
}

/**
 * Advertises a server's services in ZooKeeper, Go rpcx's layout: `/basePath` (`rpcx_path`),
 * `/basePath/Service` (the service name), both persistent, and the EPHEMERAL service node
 * `/basePath/Service/network@host:port` holding the metadata. Every `updateInterval` it re-reads
 * each node, re-creates a missing one and writes metrics when enabled (see
 * {@linkcode KvRegisterPlugin}). When its session expires it opens a new one and re-creates its
 * nodes; a node left by another (older) session for the same address is deleted and re-created.
 * Unregistering while ZooKeeper is unreachable does not fail: the delete is retried on
 * reconnect, and the node goes with the session anyway.
 *
 * @example
 * ```ts
 * import { Server } from "@rpcx/core";
 * import { ZooKeeperRegisterPlugin } from "@rpcx/core/zookeeper";
 *
 * const server = new Server();
 * server.use(new ZooKeeperRegisterPlugin({
 *   servers: ["127.0.0.1:2181"],
 *   basePath: "/rpcx_test",
 *   updateInterval: 60_000,
 * }));
 * await server.register({ Mul: (a: { A: number; B: number }) => ({ C: a.A * a.B }) }, "Arith");
 * await server.serve("tcp", "127.0.0.1:8972");
 * ```
 */
export class ZooKeeperRegisterPlugin extends KvRegisterPlugin {
  /** A name for logs. */
  readonly name: string = "zookeeper";
  /** Session timeout asked of ZooKeeper, ms. */
  readonly sessionTimeout: number;
  /** Bound of the first connection, ms. */
  readonly connectTimeout: number;
  /** Bound of each operation, ms. */
  readonly opTimeout: number;
  readonly #spinDelay: number;
  readonly #endpointDialTimeout: number | undefined;
  readonly #endpointRetryMs: number | undefined;
  readonly #auth: ZooKeeperAuth | undefined;
  #session: ZkSession | undefined;
  readonly #pendingDeletes = new Set<string>();
  #stopped = false;
  #restoring: Promise<void> | undefined;
  readonly #sleeper = new Sleeper();

  /** Stores the options; connecting happens in `start`. */
  constructor(options: ZooKeeperRegisterOptions) {
    super(options);
    this.sessionTimeout = options.sessionTimeout ?? 10_000;
    this.connectTimeout = options.connectTimeout ?? 10_000;
    this.opTimeout = options.opTimeout ?? 5000;
    this.#spinDelay = options.spinDelay ?? 1000;
    this.#endpointDialTimeout = options.endpointDialTimeout;
    this.#endpointRetryMs = options.endpointRetryMs;
    this.#auth = options.auth;
  }

  /** The current session id (16 hex digits), "" when not connected. */
  get sessionId(): string {
    return this.#session?.sessionId ?? "";
  }

  /** Deletes its nodes, closes the session (its ephemeral nodes go at once) and stops. */
  override async stop(): Promise<void> {
    this.#stopped = true;
    this.#sleeper.cancel();
    await this.#restoring;
    await super.stop();
    this.#pendingDeletes.clear();
  }

  /** Opens the session and waits for it (up to `connectTimeout`). */
  protected async connect(): Promise<void> {
    this.#stopped = false;
    await this.#session?.close();
    const session = new ZkSession(this.servers, {
      sessionTimeout: this.sessionTimeout,
      spinDelay: this.#spinDelay,
      opTimeout: this.opTimeout,
      endpointDialTimeout: this.#endpointDialTimeout,
      endpointRetryMs: this.#endpointRetryMs,
      auth: this.#auth,
    }, {
      connected: () => void this.#flushDeletes(),
      expired: () => void this.#restore(),
    });
    this.#session = session;
    try {
      await session.waitConnected(this.connectTimeout);
    } catch (e) {
      this.#session = undefined;
      await session.close();
      throw e;
    }
  }

  #live(): ZkSession {
    if (!this.#session) {
      throw new ZooKeeperError(CONNECTION_LOSS, "CLOSED", "register plugin is not started");
    }
    return this.#session;
  }

  /** Creates a persistent node with `value` (parents with empty data), or sets its value. */
  protected async putDir(path: string, value: string): Promise<void> {
    const s = this.#live();
    const p = zkPath(path);
    for (let i = 0; i < 5; i++) {
      try {
        await s.create(p, value, zk.CreateMode.PERSISTENT);
        return;
      } catch (e) {
        const code = codeOf(e);
        if (code === NODE_EXISTS) {
          try {
            await s.setData(p, value);
            return;
          } catch (e2) {
            if (codeOf(e2) !== NO_NODE) throw e2; // deleted meanwhile: create again
          }
        } else if (code === NO_NODE) {
          await this.#makeParents(p);
        } else throw e;
      }
    }
    throw new ZooKeeperError(NODE_EXISTS, "NODE_EXISTS", `create ${p}: kept changing`);
  }

  /**
   * Makes the service node ours with `value`: sets it when our session owns it (no write when
   * it already holds `value`, so watchers are not woken for nothing), otherwise deletes what is
   * there (a node of an older session) and creates an EPHEMERAL one.
   */
  protected async putNode(path: string, value: string): Promise<void> {
    const s = this.#live();
    const p = zkPath(path);
    this.#pendingDeletes.delete(p);
    for (let i = 0; i < 5; i++) {
      let current: { value: string; stat: ZkStat } | undefined;
      try {
        current = await s.getDataStat(p);
      } catch (e) {
        if (codeOf(e) !== NO_NODE) throw e;
      }
      if (current) {
        const mine = s.sessionIdBuffer();
        if (mine && current.stat.ephemeralOwner.equals(mine)) {
          if (current.value === value) return;
          try {
            await s.setData(p, value);
            return;
          } catch (e) {
            if (codeOf(e) !== NO_NODE) throw e;
            continue;
          }
        }
        try {
          await s.remove(p);
        } catch (e) {
          if (codeOf(e) !== NO_NODE) throw e;
        }
      }
      try {
        await s.create(p, value, zk.CreateMode.EPHEMERAL);
        return;
      } catch (e) {
        const code = codeOf(e);
        if (code === NO_NODE) await this.#makeParents(p);
        else if (code !== NODE_EXISTS) throw e;
      }
    }
    throw new ZooKeeperError(NODE_EXISTS, "NODE_EXISTS", `create ${p}: kept changing`);
  }

  /** The node's value, undefined when it does not exist. */
  protected async getNode(path: string): Promise<string | undefined> {
    try {
      return await this.#live().getData(zkPath(path));
    } catch (e) {
      if (codeOf(e) === NO_NODE) return undefined;
      throw e;
    }
  }

  /**
   * Deletes the node. A missing node is fine. When ZooKeeper is unreachable it does not wait or
   * fail: the delete is done on reconnect, and the node goes with the session in any case (so a
   * shutdown during an outage is not held up).
   */
  protected async deleteNode(path: string): Promise<void> {
    const p = zkPath(path);
    const s = this.#session;
    if (!s || !s.connected) {
      if (!this.#stopped) this.#pendingDeletes.add(p);
      return;
    }
    try {
      await s.remove(p);
      this.#pendingDeletes.delete(p);
    } catch (e) {
      if (codeOf(e) === NO_NODE) {
        this.#pendingDeletes.delete(p);
        return;
      }
      if (e instanceof ZooKeeperError && e.unavailable) {
        if (!this.#stopped) this.#pendingDeletes.add(p);
        return;
      }
      throw e;
    }
  }

  /** Closes the session. */
  protected async disconnect(): Promise<void> {
    const s = this.#session;
    this.#session = undefined;
    await s?.close();
  }

  /** Creates `/a`, `/a/b`, ... above `path` as persistent nodes with empty data (as libkv). */
  async #makeParents(path: string): Promise<void> {
    const s = this.#live();
    const parts = path.split("/").filter((x) => x !== "");
    for (let i = 1; i < parts.length; i++) {
      const p = "/" + parts.slice(0, i).join("/");
      try {
        await s.create(p, "", zk.CreateMode.PERSISTENT);
      } catch (e) {
        if (codeOf(e) !== NODE_EXISTS) throw e;
      }
    }
  }

  async #flushDeletes(): Promise<void> {
    for (const p of [...this.#pendingDeletes]) {
      if (this.#stopped) return;
      try {
        await this.#session?.remove(p);
        this.#pendingDeletes.delete(p);
      } catch (e) {
        if (codeOf(e) === NO_NODE) this.#pendingDeletes.delete(p);
      }
    }
  }

  /** After a session expired: re-create every node in the new session, retrying until done. */
  #restore(): Promise<void> {
    this.#pendingDeletes.clear(); // the old session's nodes are gone already
    if (this.#restoring) return this.#restoring;
    const p: Promise<void> = this.#restoreLoop().finally(() => {
      if (this.#restoring === p) this.#restoring = undefined;
    });
    this.#restoring = p;
    return p;
  }

  async #restoreLoop(): Promise<void> {
    for (let attempt = 1; !this.#stopped; attempt++) {
      try {
        await this.putDir(this.basePath, "rpcx_path");
        for (const [name, meta] of [...this.serviceMetadata]) {
          if (this.#stopped) return;
          if (this.serviceMetadata.get(name) !== meta) continue; // unregistered or re-registered
          await this.putDir(`${this.basePath}/${name}`, name);
          await this.putNode(this.nodePath(name), meta);
        }
        return;
      } catch {
        await this.#sleeper.sleep(backoffDelay(attempt, 200, 5000));
      }
    }
  }
}

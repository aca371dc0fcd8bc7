/**
 * ZooKeeper registry for rpcx, laid out exactly as Go rpcx (rpcxio/rpcx-zookeeper over libkv)
 * lays it out, so Deno and Go servers and clients find each other:
 *
 * - `/basePath` — persistent, value `rpcx_path`;
 * - `/basePath/Service` — persistent, value the service name;
 * - `/basePath/Service/tcp@host:port` — EPHEMERAL (lives as long as the server's session), value
 *   the metadata string (`weight=10&group=a`).
 *
 * {@linkcode ZooKeeperRegisterPlugin} advertises a server's services; it opens a new session and
 * re-creates its nodes when its session expires, and replaces a node left by a previous,
 * not yet expired session of the same address (a fast restart). {@linkcode ZooKeeperDiscovery}
 * lists the children of `/basePath/Service` with their data, keeps child and data watches
 * armed, re-lists on reconnect and on a new session, and keeps its last list (with `"outage"`
 * / `"recovered"` events and capped backoff) while ZooKeeper is unreachable.
 *
 * Built on npm `node-zookeeper-client`.
 *
 * @example
 * ```ts ignore
 * import { FailMode, SelectMode, Server, XClient } from "@rpcx/core";
 * import { ZooKeeperDiscovery, ZooKeeperRegisterPlugin } from "@rpcx/core/zookeeper";
 *
 * class Arith {
 *   Mul(args: { A: number; B: number }) {
 *     return { C: args.A * args.B };
 *   }
 * }
 * const server = new Server();
 * server.use(new ZooKeeperRegisterPlugin({ servers: ["127.0.0.1:2181"], basePath: "/rpcx_test" }));
 * await server.register(new Arith(), "Arith", "weight=10");
 * await server.serve("tcp", "127.0.0.1:8972");
 *
 * const discovery = new ZooKeeperDiscovery("/rpcx_test", "Arith", ["127.0.0.1:2181"]);
 * const client = new XClient("Arith", FailMode.Failover, SelectMode.RoundRobin, discovery);
 * console.log(await client.call("Mul", { A: 10, B: 20 })); // { C: 200 }
 * await client.close();
 * await server.shutdown();
 * ```
 *
 * @module
 */
import zookeeper from "node-zookeeper-client";
import { Buffer } from "node:buffer";
import { backoffDelay, BaseDiscovery, type KVPair } from "../discovery.ts";
import { type KvRegisterOptions, KvRegisterPlugin } from "../kv_register.ts";

// ---------------------------------------------------------------------------------------------
// A typed view of the parts of node-zookeeper-client 1.x we use (the package ships no types).

interface ZkState {
  readonly name: string;
  readonly code: number;
}

interface ZkException {
  readonly code: number;
  readonly name: string;
  readonly message: string;
}

interface ZkStat {
  readonly ephemeralOwner: Buffer;
  readonly version: number;
  readonly numChildren: number;
}

type ZkCallback<T> = (error: ZkException | null, result: T, stat?: ZkStat) => void;
type ZkWatcher = (event: unknown) => void;

interface ZkSocket {
  destroy(): void;
  once(event: "close", listener: () => void): void;
  readonly destroyed?: boolean;
}

interface ZkConnectionManager {
  state: number;
  socket?: ZkSocket;
  connectTimeoutHandler?: ReturnType<typeof setTimeout> | null;
  servers: unknown[];
  nextServerIndex: number;
  serverAttempts: number;
  spinDelay: number;
  findNextServer(callback: (server: unknown) => void): void;
}

interface ZkClient {
  connect(): void;
  close(): void;
  on(event: "state", listener: (state: ZkState) => void): void;
  getSessionId(): Buffer;
  create(path: string, data: Buffer, acls: unknown[], mode: number, cb: ZkCallback<string>): void;
  setData(path: string, data: Buffer, version: number, cb: ZkCallback<ZkStat>): void;
  getData(path: string, watcher: ZkWatcher | undefined, cb: ZkCallback<Buffer | undefined>): void;
  getChildren(path: string, watcher: ZkWatcher | undefined, cb: ZkCallback<string[]>): void;
  exists(path: string, watcher: ZkWatcher | undefined, cb: ZkCallback<ZkStat | null>): void;
  remove(path: string, version: number, cb: ZkCallback<void>): void;
  readonly connectionManager: ZkConnectionManager;
}

interface ZkModule {
  createClient(
    connectionString: string,
    options: { sessionTimeout: number; spinDelay: number; retries: number },
  ): ZkClient;
  readonly ACL: { readonly OPEN_ACL_UNSAFE: unknown[] };
  readonly CreateMode: { readonly PERSISTENT: number; readonly EPHEMERAL: number };
}

const zk = zookeeper as unknown as ZkModule;

// ZooKeeper error codes (KeeperException.Code).
const CONNECTION_LOSS = -4;
const OPERATION_TIMEOUT = -7;
const NO_NODE = -101;
const NODE_EXISTS = -110;
const SESSION_EXPIRED = -112;

// Client states (node-zookeeper-client State codes).
const STATE_DISCONNECTED = 0;
const STATE_SYNC_CONNECTED = 3;
const STATE_CONNECTED_READ_ONLY = 5;
const STATE_EXPIRED = -122;

// ConnectionManager states.
const CM_CONNECTING = 1;
const CM_CONNECTED = 2;
const CM_CONNECTED_READ_ONLY = 3;

/**
 * An error of a ZooKeeper operation: `code` is ZooKeeper's (`-4` connection loss, `-7`
 * operation timeout, `-101` no node, `-110` node exists, `-112` session expired, ...).
 *
 * @example
 * ```ts
 * import { ZooKeeperError } from "@rpcx/core/zookeeper";
 * const e = new ZooKeeperError(-101, "NO_NODE", "getData /rpcx_test");
 * console.log(e.code, e.unavailable); // -101 false
 * ```
 */
export class ZooKeeperError extends Error {
  /** ZooKeeper's error code. */
  readonly code: number;
  /** ZooKeeper's error name, e.g. `NO_NODE`. */
  readonly codeName: string;

  /** Creates the error; `what` names the operation and path. */
  constructor(code: number, codeName: string, what: string) {
    super(`zookeeper ${what}: ${codeName}[${code}]`);
    this.name = "ZooKeeperError";
    this.code = code;
    this.codeName = codeName;
  }

  /** Whether ZooKeeper could not be reached (connection loss, timeout, expired session). */
  get unavailable(): boolean {
    return this.code === CONNECTION_LOSS || this.code === OPERATION_TIMEOUT ||
      this.code === SESSION_EXPIRED;
  }
}

function codeOf(e: unknown): number | undefined {
  return e instanceof ZooKeeperError ? e.code : undefined;
}

/** `/a/b/c` from any mix of parts with or without slashes. */
function zkPath(...parts: string[]): string {
  return "/" + parts.flatMap((p) => p.split("/")).filter((s) => s !== "").join("/");
}

/** Timings of a ZooKeeper session (all in ms). */
interface SessionTimings {
  sessionTimeout: number;
  spinDelay: number;
  opTimeout: number;
}

interface SessionHandlers {
  /** The client is connected (first time, after a reconnect, or on a new session). */
  connected?(): void;
  /** The connection was lost (the session may still be alive). */
  disconnected?(): void;
  /** The session expired; a new session is being opened. */
  expired?(): void;
}

/**
 * One logical ZooKeeper connection that survives session expiry by opening a new client
 * (node-zookeeper-client closes a client whose session expired). Operations wait a bounded
 * time for a live connection and for their answer; they never hang.
 */
class ZkSession {
  readonly #connectString: string;
  readonly #timings: SessionTimings;
  readonly #handlers: SessionHandlers;
  #client: ZkClient | undefined;
  #generation = 0;
  #connected = false;
  #closed = false;
  readonly #waiters = new Set<() => void>();
  readonly #retired = new Set<Promise<void>>();
  readonly #stops = new Map<ZkClient, () => void>();

  constructor(servers: string[], timings: SessionTimings, handlers: SessionHandlers) {
    if (servers.length === 0) throw new TypeError("zookeeper: no servers given");
    this.#connectString = servers.join(",");
    this.#timings = timings;
    this.#handlers = handlers;
    this.#open();
  }

  get connected(): boolean {
    return this.#connected;
  }

  /** The live session id (16 hex digits), or "" when not connected. */
  get sessionId(): string {
    return this.#connected && this.#client ? this.#client.getSessionId().toString("hex") : "";
  }

  sessionIdBuffer(): Buffer | undefined {
    return this.#connected && this.#client ? this.#client.getSessionId() : undefined;
  }

  #open(): void {
    const generation = ++this.#generation;
    const client = zk.createClient(this.#connectString, {
      sessionTimeout: this.#timings.sessionTimeout,
      spinDelay: this.#timings.spinDelay,
      retries: 0,
    });
    const handshakeMs = Math.max(300, Math.min(2000, Math.floor(this.#timings.sessionTimeout / 3)));
    this.#stops.set(client, patchReconnects(client, handshakeMs));
    this.#client = client;
    this.#connected = false;
    client.on("state", (state) => {
      if (generation !== this.#generation || this.#closed) return;
      switch (state.code) {
        case STATE_SYNC_CONNECTED:
        case STATE_CONNECTED_READ_ONLY:
          this.#connected = true;
          for (const wake of [...this.#waiters]) wake();
          this.#handlers.connected?.();
          break;
        case STATE_DISCONNECTED:
          if (this.#connected) {
            this.#connected = false;
            this.#handlers.disconnected?.();
          }
          break;
        case STATE_EXPIRED:
          this.#connected = false;
          this.#retire(client);
          this.#open();
          this.#handlers.expired?.();
          break;
      }
    });
    client.connect();
  }

  #retire(client: ZkClient): void {
    const stop = this.#stops.get(client);
    this.#stops.delete(client);
    const p = shutdownClient(client, stop, 1000).finally(() => this.#retired.delete(p));
    this.#retired.add(p);
  }

  /** Resolves once connected; rejects with CONNECTION_LOSS after `timeoutMs`. */
  waitConnected(timeoutMs: number): Promise<void> {
    if (this.#closed) {
      return Promise.reject(new ZooKeeperError(CONNECTION_LOSS, "CLOSED", "client closed"));
    }
    if (this.#connected) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const wake = () => {
        clearTimeout(timer);
        this.#waiters.delete(wake);
        if (this.#closed) {
          reject(new ZooKeeperError(CONNECTION_LOSS, "CLOSED", "client closed"));
        } else resolve();
      };
      const timer = setTimeout(() => {
        this.#waiters.delete(wake);
        reject(
          new ZooKeeperError(
            CONNECTION_LOSS,
            "CONNECTION_LOSS",
            `not connected to ${this.#connectString} within ${timeoutMs} ms`,
          ),
        );
      }, timeoutMs);
      this.#waiters.add(wake);
    });
  }

  /** Runs one request on the live client, bounded by the operation timeout. */
  async #call<T>(
    what: string,
    run: (client: ZkClient, cb: ZkCallback<T>) => void,
  ): Promise<{ result: T; stat?: ZkStat }> {
    const timeout = this.#timings.opTimeout;
    await this.waitConnected(timeout);
    const client = this.#client!;
    return await new Promise((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(
            new ZooKeeperError(OPERATION_TIMEOUT, "OPERATION_TIMEOUT", `${what}: no answer`),
          ),
        timeout,
      );
      try {
        run(client, (error, result, stat) => {
          clearTimeout(timer);
          if (error) reject(new ZooKeeperError(error.code, error.name, what));
          else resolve({ result, stat });
        });
      } catch (e) {
        clearTimeout(timer);
        reject(e);
      }
    });
  }

  async create(path: string, value: string, mode: number): Promise<void> {
    await this.#call<string>(
      `create ${path}`,
      (c, cb) => c.create(path, Buffer.from(value, "utf8"), zk.ACL.OPEN_ACL_UNSAFE, mode, cb),
    );
  }

  async setData(path: string, value: string): Promise<void> {
    await this.#call<ZkStat>(
      `setData ${path}`,
      (c, cb) => c.setData(path, Buffer.from(value, "utf8"), -1, cb),
    );
  }

  async getData(path: string, watcher?: ZkWatcher): Promise<string> {
    return (await this.getDataStat(path, watcher)).value;
  }

  async getDataStat(path: string, watcher?: ZkWatcher): Promise<{ value: string; stat: ZkStat }> {
    const { result, stat } = await this.#call<Buffer | undefined>(
      `getData ${path}`,
      (c, cb) => c.getData(path, watcher, cb),
    );
    return { value: result ? result.toString("utf8") : "", stat: stat! };
  }

  async getChildren(path: string, watcher?: ZkWatcher): Promise<string[]> {
    const { result } = await this.#call<string[]>(
      `getChildren ${path}`,
      (c, cb) => c.getChildren(path, watcher, cb),
    );
    return result;
  }

  async exists(path: string, watcher?: ZkWatcher): Promise<ZkStat | undefined> {
    const { result } = await this.#call<ZkStat | null>(
      `exists ${path}`,
      (c, cb) => c.exists(path, watcher, cb),
    );
    return result ?? undefined;
  }

  async remove(path: string): Promise<void> {
    await this.#call<void>(`remove ${path}`, (c, cb) => c.remove(path, -1, cb));
  }

  /** Closes the session politely when connected (its ephemeral nodes go at once). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#connected = false;
    for (const wake of [...this.#waiters]) wake();
    const client = this.#client;
    this.#client = undefined;
    if (client) {
      const stop = this.#stops.get(client);
      this.#stops.delete(client);
      await shutdownClient(client, stop, 2000);
    }
    await Promise.all([...this.#retired]);
  }
}

/**
 * Patches a client's reconnect path (node-zookeeper-client 1.x) and returns the function that
 * stops reconnecting for good:
 * - its server picker keeps an anonymous spin timer that, once the client is closed while
 *   reconnecting, could open a socket again; ours can be cancelled;
 * - it has no bound on the handshake: a server that accepts the TCP connection but never
 *   answers the connect request (seen with ZooKeeper 3.8 right after a restart: the request
 *   stays unread in its socket) leaves the client CONNECTING forever. Like the Java client's
 *   read timeout, we drop such a socket after `handshakeMs` and try again.
 */
function patchReconnects(client: ZkClient, handshakeMs: number): () => void {
  const cm = client.connectionManager;
  let stopped = false;
  let spin: ReturnType<typeof setTimeout> | undefined;
  let handshake: ReturnType<typeof setTimeout> | undefined;
  const attempt = (callback: (server: unknown) => void) => {
    if (stopped) return;
    callback(cm.servers[cm.nextServerIndex]); // opens cm.socket synchronously
    cm.nextServerIndex += 1;
    const socket = cm.socket;
    clearTimeout(handshake);
    handshake = setTimeout(() => {
      handshake = undefined;
      if (!stopped && cm.socket === socket && cm.state === CM_CONNECTING) socket?.destroy();
    }, handshakeMs);
  };
  cm.findNextServer = (callback: (server: unknown) => void): void => {
    if (stopped) return;
    cm.nextServerIndex %= cm.servers.length;
    if (cm.serverAttempts === cm.servers.length) {
      spin = setTimeout(() => {
        spin = undefined;
        cm.serverAttempts = 0;
        attempt(callback);
      }, Math.random() * cm.spinDelay);
    } else {
      cm.serverAttempts += 1;
      queueMicrotask(() => attempt(callback));
    }
  };
  return () => {
    stopped = true;
    clearTimeout(spin);
    clearTimeout(handshake);
    spin = handshake = undefined;
  };
}

/** Closes a client: CLOSE_SESSION when connected, then no more reconnects and no timers left. */
async function shutdownClient(
  client: ZkClient,
  stopReconnects: (() => void) | undefined,
  waitMs: number,
): Promise<void> {
  const cm = client.connectionManager;
  stopReconnects?.();
  const live = cm.state === CM_CONNECTED || cm.state === CM_CONNECTED_READ_ONLY;
  const socket = cm.socket;
  if (live && socket && !socket.destroyed) {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const closed = new Promise<void>((resolve) => {
      socket.once("close", resolve);
      timer = setTimeout(resolve, waitMs);
    });
    try {
      client.close(); // the server answers CLOSE_SESSION and closes the socket
    } catch {
      // already closing
    }
    await closed;
    clearTimeout(timer);
  } else {
    try {
      client.close();
    } catch {
      // already closing
    }
  }
  try {
    cm.socket?.destroy();
  } catch {
    // already destroyed
  }
  if (cm.connectTimeoutHandler) clearTimeout(cm.connectTimeoutHandler);
  cm.connectTimeoutHandler = null;
}

/** A sleep that `cancel()` ends early (so nothing is left pending after close/stop). */
class Sleeper {
  #timer: ReturnType<typeof setTimeout> | undefined;
  #wake: (() => void) | undefined;

  sleep(ms: number): Promise<void> {
    this.cancel();
    return new Promise((resolve) => {
      this.#wake = resolve;
      this.#timer = setTimeout(() => {
        this.#timer = undefined;
        this.#wake = undefined;
        resolve();
      }, ms);
    });
  }

  cancel(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }
}

// ---------------------------------------------------------------------------------------------
// Server side

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
 * ```ts ignore
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
  #session: ZkSession | undefined;
  readonly #metas = new Map<string, string>();
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
  }

  /** The current session id (16 hex digits), "" when not connected. */
  get sessionId(): string {
    return this.#session?.sessionId ?? "";
  }

  /** Advertises one service (see {@linkcode KvRegisterPlugin.register}). */
  override async register(name: string, service: unknown, metadata: string): Promise<void> {
    if (name.trim()) this.#metas.set(name, metadata);
    await super.register(name, service, metadata);
  }

  /** Withdraws one service; unknown names (or none registered) are fine. */
  override async unregister(name: string): Promise<void> {
    this.#metas.delete(name);
    await super.unregister(name);
  }

  /** Deletes its nodes, closes the session (its ephemeral nodes go at once) and stops. */
  override async stop(): Promise<void> {
    this.#stopped = true;
    this.#sleeper.cancel();
    await this.#restoring;
    await super.stop();
    this.#metas.clear();
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
        for (const [name, meta] of [...this.#metas]) {
          if (this.#stopped) return;
          if (this.#metas.get(name) !== meta) continue; // unregistered or re-registered
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

// ---------------------------------------------------------------------------------------------
// Client side

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
export interface ZooKeeperDiscoveryOptions {
  /** Session timeout asked of ZooKeeper, ms (default 10 000). */
  sessionTimeout?: number;
  /** Bound of each ZooKeeper operation, waiting for a connection included, ms (default 5000). */
  opTimeout?: number;
  /** Upper bound of the random pause between reconnect rounds, ms (default 1000). */
  spinDelay?: number;
  /** First retry delay after a failed listing, ms (default 1000, doubling). */
  retryInitialMs?: number;
  /** Largest retry delay, ms (default 30 000). */
  retryMaxMs?: number;
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
 * ```ts ignore
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
  readonly #watcher: ZkWatcher = () => this.#kick();
  #syncing = false;
  #dirty = false;
  #failures = 0;
  #retryTimer: ReturnType<typeof setTimeout> | undefined;

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
    this.#session = new ZkSession(servers, {
      sessionTimeout: options.sessionTimeout ?? 10_000,
      spinDelay: options.spinDelay ?? 1000,
      opTimeout: options.opTimeout ?? 5000,
    }, {
      connected: () => this.#kick(),
      disconnected: () => this.#kick(),
      expired: () => this.#kick(),
    });
    this.#kick();
  }

  /** A discovery of the same ZooKeeper and base path for another service (its own session). */
  clone(servicePath: string): ZooKeeperDiscovery {
    return new ZooKeeperDiscovery(this.basePath, servicePath, this.servers, this.#options);
  }

  /** Stops watching and closes the session. */
  override async close(): Promise<void> {
    if (this.closed) return;
    await super.close();
    clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
    await this.#session.close();
  }

  /** Lists again now (also what every watch event and reconnect does). */
  #kick(): void {
    if (this.closed) return;
    if (this.#syncing) {
      this.#dirty = true;
      return;
    }
    clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
    void this.#sync();
  }

  async #sync(): Promise<void> {
    this.#syncing = true;
    try {
      do {
        this.#dirty = false;
        try {
          const pairs = await this.#list();
          if (this.closed) return;
          this.#failures = 0;
          this.publish(pairs);
          this.reportRecovered();
        } catch (e) {
          if (this.closed) return;
          this.#failures++;
          const wait = backoffDelay(
            this.#failures,
            this.#options.retryInitialMs ?? 1000,
            this.#options.retryMaxMs ?? 30_000,
          );
          this.reportOutage(e, this.#failures, wait);
          if (!this.#dirty) {
            this.#retryTimer = setTimeout(() => {
              this.#retryTimer = undefined;
              this.#kick();
            }, wait);
            return;
          }
          // something happened meanwhile (e.g. reconnected): try again at once
        }
      } while (this.#dirty && !this.closed);
    } finally {
      this.#syncing = false;
    }
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

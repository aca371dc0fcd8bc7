/**
 * A ZooKeeper session for rpcx: a typed view of the parts of node-zookeeper-client 1.x we use
 * (the package ships no types), and {@linkcode ZkSession}, one logical connection that
 * survives session expiry, bounds every operation, and closes without leaving timers.
 *
 * @module
 */
import zookeeper from "node-zookeeper-client";
import { Buffer } from "node:buffer";
import { createHash } from "node:crypto";
import { CONNECTION_LOSS, OPERATION_TIMEOUT, ZooKeeperError } from "./errors.ts";
import { EndpointHealth, parseEndpoint } from "../_endpoint_health.ts";

// A typed view of the parts of node-zookeeper-client 1.x we use.

/** Node metadata as ZooKeeper returns it. */
export interface ZkState {
  readonly name: string;
  readonly code: number;
}

interface ZkException {
  readonly code: number;
  readonly name: string;
  readonly message: string;
}

/** Node metadata as ZooKeeper returns it. */
export interface ZkStat {
  readonly ephemeralOwner: Buffer;
  readonly version: number;
  readonly numChildren: number;
}

type ZkCallback<T> = (error: ZkException | null, result: T, stat?: ZkStat) => void;
/** A one-shot watch callback. */
export type ZkWatcher = (event: unknown) => void;

interface ZkSocket {
  destroy(): void;
  once(event: "close", listener: () => void): void;
  once(event: "data", listener: () => void): void;
  once(event: "error", listener: (e: Error) => void): void;
  readonly destroyed?: boolean;
}

interface ZkConnectionManager {
  state: number;
  socket?: ZkSocket;
  connectTimeoutHandler?: ReturnType<typeof setTimeout> | null;
  servers: { host: string; port: string | number }[];
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
  addAuthInfo(scheme: string, auth: Buffer): void;
  create(path: string, data: Buffer, acls: unknown[], mode: number, cb: ZkCallback<string>): void;
  setData(path: string, data: Buffer, version: number, cb: ZkCallback<ZkStat>): void;
  getData(path: string, watcher: ZkWatcher | undefined, cb: ZkCallback<Buffer | undefined>): void;
  getChildren(path: string, watcher: ZkWatcher | undefined, cb: ZkCallback<string[]>): void;
  exists(path: string, watcher: ZkWatcher | undefined, cb: ZkCallback<ZkStat | null>): void;
  remove(path: string, version: number, cb: ZkCallback<void>): void;
  readonly connectionManager: ZkConnectionManager;
}

/** The module's entry points. */
interface ZkModule {
  createClient(
    connectionString: string,
    options: { sessionTimeout: number; spinDelay: number; retries: number },
  ): ZkClient;
  readonly ACL: { readonly OPEN_ACL_UNSAFE: unknown[]; new (perms: number, id: unknown): unknown };
  readonly Id: { new (scheme: string, id: string): unknown };
  readonly Permission: { readonly READ: number; readonly ALL: number };
  readonly CreateMode: { readonly PERSISTENT: number; readonly EPHEMERAL: number };
}

/** node-zookeeper-client, typed. */
export const zk = zookeeper as unknown as ZkModule;

// Client states (node-zookeeper-client State codes).
const STATE_DISCONNECTED = 0;
const STATE_SYNC_CONNECTED = 3;
const STATE_CONNECTED_READ_ONLY = 5;
const STATE_EXPIRED = -122;

// ConnectionManager states.
const CM_CONNECTING = 1;
const CM_CONNECTED = 2;
const CM_CONNECTED_READ_ONLY = 3;

/** `/a/b/c` from any mix of parts with or without slashes. */
export function zkPath(...parts: string[]): string {
  return "/" + parts.flatMap((p) => p.split("/")).filter((s) => s !== "").join("/");
}

/** Timings of a ZooKeeper session (all in ms). */
/**
 * ZooKeeper digest auth (`addauth digest user:password`) of a session, as production runs it:
 * the session authenticates, and nodes it creates get the ACL `digest:user` ALL, plus world
 * READ unless `worldReadable` is false (so discoveries without credentials, such as Go rpcx's,
 * still read the servers).
 *
 * @example
 * ```ts
 * import type { ZooKeeperAuth } from "@rpcx/core/zookeeper";
 * const a: ZooKeeperAuth = { username: "rpcx", password: "secret" };
 * console.log(a.username);
 * ```
 */
export interface ZooKeeperAuth {
  /** The digest user. */
  username: string;
  /** Its password (sent to ZooKeeper on every connect; ACLs hold only its SHA-1 digest). */
  password: string;
  /** Give everyone READ on the nodes created (default true). */
  worldReadable?: boolean;
}

/** ZooKeeper's digest ACL id of a user: `user:base64(sha1("user:password"))`. */
export function digestId(username: string, password: string): string {
  const sha1 = createHash("sha1").update(`${username}:${password}`).digest("base64");
  return `${username}:${sha1}`;
}

/** The timings (ms) and credentials of a session. */
export interface SessionTimings {
  /** Digest auth of the session and ACL of the nodes it creates (none: open ACLs). */
  auth?: ZooKeeperAuth;
  sessionTimeout: number;
  spinDelay: number;
  opTimeout: number;
  /**
   * Bound of one connection attempt to a server (TCP connect and ZooKeeper's handshake);
   * default a third of the session timeout, between 300 and 2000.
   */
  endpointDialTimeout?: number;
  /** How long a server that could not be reached is avoided (default 5000). */
  endpointRetryMs?: number;
}

/** The default bound of one connection attempt: a third of the session, 300..2000 ms. */
export function defaultHandshakeMs(sessionTimeout: number): number {
  return Math.max(300, Math.min(2000, Math.floor(sessionTimeout / 3)));
}

export interface SessionHandlers {
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
export class ZkSession {
  readonly #connectString: string;
  readonly #timings: SessionTimings;
  readonly #acl: unknown[];
  readonly #handlers: SessionHandlers;
  #client: ZkClient | undefined;
  #generation = 0;
  #connected = false;
  #closed = false;
  readonly #waiters = new Set<() => void>();
  readonly #retired = new Set<Promise<void>>();
  readonly #stops = new Map<ZkClient, () => void>();
  readonly #health: EndpointHealth;
  readonly #handshakeMs: number;

  constructor(servers: string[], timings: SessionTimings, handlers: SessionHandlers) {
    if (servers.length === 0) throw new TypeError("zookeeper: no servers given");
    this.#connectString = servers.join(",");
    this.#handshakeMs = timings.endpointDialTimeout ?? defaultHandshakeMs(timings.sessionTimeout);
    // A chroot suffix (`host:port/chroot`) is not part of the address.
    this.#health = new EndpointHealth(servers.map((s) => s.replace(/\/.*$/, "")), {
      dialTimeout: this.#handshakeMs,
      retryMs: timings.endpointRetryMs ?? 5000,
      defaultPort: 2181,
    });
    const auth = timings.auth;
    this.#acl = auth
      ? [
        new zk.ACL(zk.Permission.ALL, new zk.Id("digest", digestId(auth.username, auth.password))),
        ...(auth.worldReadable ?? true
          ? [new zk.ACL(zk.Permission.READ, new zk.Id("world", "anyone"))]
          : []),
      ]
      : zk.ACL.OPEN_ACL_UNSAFE;
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
    const auth = this.#timings.auth;
    // sent again by the client on every reconnect; a new client (after expiry) gets it here
    if (auth) client.addAuthInfo("digest", Buffer.from(`${auth.username}:${auth.password}`));
    this.#stops.set(client, patchReconnects(client, this.#handshakeMs, this.#health));
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
      (c, cb) => c.create(path, Buffer.from(value, "utf8"), this.#acl, mode, cb),
    );
  }

  /** Sets a node's data; with `version` (not -1) only if the node is still at that version. */
  async setData(path: string, value: string, version = -1): Promise<void> {
    await this.#call<ZkStat>(
      `setData ${path}`,
      (c, cb) => c.setData(path, Buffer.from(value, "utf8"), version, cb),
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
    this.#health.close();
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
 * - its server picker tries the servers in a fixed (shuffled) order, a dead one as often as a
 *   live one, and keeps an anonymous spin timer that, once the client is closed while
 *   reconnecting, could open a socket again. Ours picks servers that answer
 *   ({@linkcode EndpointHealth}: all are dialled at once, a server whose attempt failed is
 *   avoided for a while), waits for the first dials before the first pick, and can be
 *   cancelled;
 * - it bounds the TCP connect only by sessionTimeout / servers, and the handshake not at all: a
 *   server that drops SYNs, or that accepts the TCP connection but never answers the connect
 *   request (seen with ZooKeeper 3.8 right after a restart: the request stays unread in its
 *   socket), leaves the client CONNECTING for long or for ever. Like the Java client's
 *   read timeout, we drop such a socket after `handshakeMs` and try another server.
 */
function patchReconnects(
  client: ZkClient,
  handshakeMs: number,
  health: EndpointHealth,
): () => void {
  const cm = client.connectionManager;
  // the server objects of the client (shuffled by it) → the endpoint strings health knows
  const byAddress = new Map<string, string>();
  for (const endpoint of health.endpoints) {
    const a = parseEndpoint(endpoint, 2181);
    if (a) byAddress.set(`${a.hostname}:${a.port}`, endpoint);
  }
  const endpointOf = (i: number) => {
    const s = cm.servers[i];
    return byAddress.get(`${s.host}:${Number(s.port)}`) ?? `${s.host}:${s.port}`;
  };
  let stopped = false;
  let spin: ReturnType<typeof setTimeout> | undefined;
  let handshake: ReturnType<typeof setTimeout> | undefined;
  /** The attempt in progress: which server, and whether it got a session. */
  let current: { endpoint: string; established: boolean; why: string } | undefined;
  /** Servers tried since the last session was established, by index in cm.servers. */
  const tried = new Set<number>();

  const attempt = (index: number, callback: (server: unknown) => void) => {
    if (stopped) return;
    tried.add(index);
    cm.nextServerIndex = index;
    const mine = { endpoint: endpointOf(index), established: false, why: "connection closed" };
    current = mine;
    callback(cm.servers[index]); // opens cm.socket synchronously
    const socket = cm.socket;
    socket?.once("error", (e) => (mine.why = e.message));
    // the library's own data handler runs first: after the connect answer it is CONNECTED
    socket?.once("data", () => {
      if (cm.state === CM_CONNECTED || cm.state === CM_CONNECTED_READ_ONLY) {
        mine.established = true;
        tried.clear();
        health.reportUp(mine.endpoint);
      }
    });
    clearTimeout(handshake);
    handshake = setTimeout(() => {
      handshake = undefined;
      if (!stopped && cm.socket === socket && cm.state === CM_CONNECTING) {
        mine.why = `no session within ${handshakeMs} ms`;
        socket?.destroy();
      }
    }, handshakeMs);
  };

  /** The next server to try: one that answers, not yet tried in this round; else undefined. */
  const next = (): number | undefined => {
    const rank = (i: number) => {
      const state = health.state(endpointOf(i));
      return state === "up" ? 0 : state === "unknown" ? 1 : 2;
    };
    let best: number | undefined;
    for (let i = 0; i < cm.servers.length; i++) {
      if (tried.has(i)) continue;
      if (best === undefined || rank(i) < rank(best)) best = i;
    }
    return best !== undefined && rank(best) < 2 ? best : undefined;
  };

  const pick = async (callback: (server: unknown) => void) => {
    // the first pick waits for the first dials (at most one dial timeout)
    await health.whenKnown(health.dialTimeout);
    for (;;) {
      if (stopped) return;
      const i = next();
      if (i !== undefined) return attempt(i, callback);
      // every server failed or was tried: dial them all again, and after a pause a new round
      tried.clear();
      await health.refresh(health.dialTimeout);
      if (stopped) return;
      const j = next();
      if (j !== undefined) return attempt(j, callback);
      await new Promise<void>((resolve) => {
        spin = setTimeout(() => {
          spin = undefined;
          resolve();
        }, Math.random() * cm.spinDelay);
      });
    }
  };

  cm.findNextServer = (callback: (server: unknown) => void): void => {
    if (stopped) return;
    const last = current;
    current = undefined;
    // an attempt that never got a session: that server is avoided for a while
    if (last && !last.established) health.reportDown(last.endpoint, last.why);
    void pick(callback);
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

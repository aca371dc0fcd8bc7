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
import { deadline } from "../../_internal/async.ts";
import { CONNECTION_LOSS, OPERATION_TIMEOUT, ZooKeeperError } from "./errors.ts";
import { EndpointHealth } from "../_endpoint_health.ts";
import { patchReconnects, shutdownClient, type ZkConnectionManager } from "./_reconnect.ts";

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
    let wake!: () => void;
    const woken = new Promise<void>((resolve, reject) => {
      wake = () => {
        this.#waiters.delete(wake);
        if (this.#closed) {
          reject(new ZooKeeperError(CONNECTION_LOSS, "CLOSED", "client closed"));
        } else resolve();
      };
      this.#waiters.add(wake);
    });
    return deadline(woken, timeoutMs, {
      onTimeout: () => {
        this.#waiters.delete(wake);
        return new ZooKeeperError(
          CONNECTION_LOSS,
          "CONNECTION_LOSS",
          `not connected to ${this.#connectString} within ${timeoutMs} ms`,
        );
      },
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
    const answered = new Promise<{ result: T; stat?: ZkStat }>((resolve, reject) => {
      run(client, (error, result, stat) => {
        if (error) reject(new ZooKeeperError(error.code, error.name, what));
        else resolve({ result, stat });
      });
    });
    return await deadline(answered, timeout, {
      onTimeout: () =>
        new ZooKeeperError(OPERATION_TIMEOUT, "OPERATION_TIMEOUT", `${what}: no answer`),
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

/**
 * etcd v3 registry, laid out exactly as Go rpcx-etcd (`serverplugin.EtcdV3RegisterPlugin`,
 * `client.EtcdV3Discovery`) does it, so Go and Deno servers and clients find each other:
 *
 * - `basePath` → `rpcx_path`, `basePath/Service` → `Service`,
 *   `basePath/Service/network@host:port` → the metadata string.
 * - Keys are the paths exactly as built from `basePath` (Go's store/etcdv3 `Put` does not
 *   normalize them: `/rpcx_test` gives `/rpcx_test/Arith/tcp@…`, `rpcx_test` gives
 *   `rpcx_test/Arith/tcp@…`). Use the same `basePath` string on both sides.
 * - Every key the plugin writes (directories included: Go ignores `IsDir`) is attached to one
 *   lease per plugin, TTL = updateInterval + expired (seconds; 30 s when both are 0), kept alive
 *   by lease keep-alive. When the lease is lost, a new one is granted and every key re-put.
 *
 * The discovery lists the prefix `basePath/Service/` (key = what follows it), watches it, and
 * re-lists after every change and every reconnect.
 *
 * @example
 * ```ts ignore
 * import { Server, XClient, FailMode, SelectMode } from "@rpcx/core";
 * import { EtcdDiscovery, EtcdRegisterPlugin } from "@rpcx/core/etcd";
 *
 * const server = new Server();
 * server.use(new EtcdRegisterPlugin({ servers: ["127.0.0.1:2379"], basePath: "/rpcx_test" }));
 * server.register(new Arith(), "Arith");
 * await server.serve("tcp", "127.0.0.1:8972");
 *
 * const d = new EtcdDiscovery("/rpcx_test", "Arith", ["127.0.0.1:2379"]);
 * const xclient = new XClient("Arith", FailMode.Failover, SelectMode.RoundRobin, d);
 * console.log(await xclient.call("Mul", { A: 10, B: 20 }));
 * ```
 *
 * @module
 */
import { Etcd3, type IOptions, type Lease, type Watcher } from "etcd3";
import { backoffDelay, BaseDiscovery, type KVPair, type ServiceDiscovery } from "../discovery.ts";
import { type KvRegisterOptions, KvRegisterPlugin } from "../kv_register.ts";

/** Go rpcx-etcd's lease TTL when updateInterval + expired is 0. */
const DEFAULT_TTL_SECONDS = 30;

/**
 * How to reach etcd; shared by {@linkcode EtcdRegisterPlugin} and {@linkcode EtcdDiscovery}.
 *
 * @example
 * ```ts
 * import type { EtcdClientOptions } from "@rpcx/core/etcd";
 * const o: EtcdClientOptions = { dialTimeout: 3000, auth: { username: "root", password: "pw" } };
 * console.log(o.dialTimeout);
 * ```
 */
export interface EtcdClientOptions {
  /**
   * Deadline of each etcd request in ms (Go: `store.Config.ConnectionTimeout`); default 5000.
   * Streams (watch, lease keep-alive) have none.
   */
  dialTimeout?: number;
  /** User and password when etcd has auth enabled. */
  auth?: { username: string; password: string };
  /** TLS material; endpoints given as `https://host:port` use TLS with system roots. */
  credentials?: { rootCertificate: Uint8Array; privateKey?: Uint8Array; certChain?: Uint8Array };
  /** Extra options for the `etcd3` client, applied last. */
  etcdOptions?: Partial<Etcd3Options>;
}

/**
 * Options of {@linkcode EtcdRegisterPlugin}: the common KV registry options (durations in ms)
 * plus the etcd client options.
 *
 * @example
 * ```ts
 * import type { EtcdRegisterOptions } from "@rpcx/core/etcd";
 * const o: EtcdRegisterOptions = {
 *   servers: ["127.0.0.1:2379"],
 *   basePath: "/rpcx_test",
 *   updateInterval: 10_000,
 *   expired: 10_000,
 * };
 * console.log(o.basePath);
 * ```
 */
export interface EtcdRegisterOptions extends KvRegisterOptions, EtcdClientOptions {}

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
export interface EtcdDiscoveryOptions extends EtcdClientOptions {
  /** First retry delay after a failure, in ms (doubling); default 1000 (as Go). */
  retryInitialMs?: number;
  /** Longest retry delay, in ms; default 30 000 (as Go). */
  retryMaxMs?: number;
  /**
   * Re-lists every this many ms even when the watch reports nothing, so a watch that died
   * silently cannot leave a stale list for long; default 30 000, 0 disables.
   */
  resyncInterval?: number;
}

/**
 * The `etcd3` client's own options (re-exported so {@linkcode EtcdClientOptions} can name it).
 *
 * @example
 * ```ts
 * import type { Etcd3Options } from "@rpcx/core/etcd";
 * const o: Partial<Etcd3Options> = { hosts: ["127.0.0.1:2379"] };
 * console.log(o.hosts);
 * ```
 */
export type Etcd3Options = IOptions;

type FaultHandling = NonNullable<IOptions["faultHandling"]>;
type HostPolicy = ReturnType<NonNullable<FaultHandling["host"]>>;
type Backoff = NonNullable<FaultHandling["watchBackoff"]>;

/**
 * A host policy that just runs the call. The etcd3 default is a circuit breaker that, after
 * three failures, refuses every call for 5 s: after an etcd restart that delays the lease
 * keep-alive past short TTLs and the keys would expire.
 */
function passThroughPolicy(): HostPolicy {
  const policy = {
    execute<T>(
      fn: (context: { signal: AbortSignal }) => PromiseLike<T> | T,
      signal?: AbortSignal,
    ): Promise<T> {
      return Promise.resolve().then(() => fn({ signal: signal ?? new AbortController().signal }));
    },
  };
  return policy as unknown as HostPolicy;
}

/**
 * Reconnect delay of the etcd3 watch manager. The discovery drops its watcher on every
 * disconnect and re-lists on its own backoff, so the manager only ever reconnects with no
 * watcher left (a no-op); keep that timer short so a closed client lets the process exit.
 */
const watchManagerBackoff: { duration: number; next(): unknown } = {
  duration: 50,
  next: () => watchManagerBackoff,
};

function createClient(servers: string[], options: EtcdClientOptions): Etcd3 {
  if (servers.length === 0) throw new Error("etcd: no servers given");
  const timeout = options.dialTimeout ?? 5000;
  const opts: IOptions = {
    hosts: servers.slice(),
    auth: options.auth,
    credentials: options.credentials as IOptions["credentials"],
    defaultCallOptions: (ctx) => ctx.isStream ? {} : { deadline: Date.now() + timeout },
    faultHandling: {
      host: () => passThroughPolicy(),
      watchBackoff: watchManagerBackoff as unknown as Backoff,
    },
    grpcOptions: {
      "grpc.initial_reconnect_backoff_ms": 100,
      "grpc.max_reconnect_backoff_ms": 1000,
      "grpc.keepalive_time_ms": 10_000,
      "grpc.keepalive_timeout_ms": 5_000,
    },
    ...options.etcdOptions,
  };
  return new Etcd3(opts);
}

/** Resolves with `p`, or undefined after `ms`; leaves no timer behind. */
async function withTimeout<T>(p: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<undefined>((r) => (timer = setTimeout(() => r(undefined), ms))),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/**
 * Advertises a server's services in etcd v3 as Go rpcx does (see the module doc for the
 * layout). All keys share one lease kept alive in the background; when the lease is lost
 * (etcd down longer than its life, etcd wiped, lease revoked) a new one is granted and every
 * key this plugin owns is written again, without being asked. The periodic refresh (every
 * `updateInterval`) re-creates a missing node and, with `metrics`, rewrites the figures.
 *
 * Events: `"outage"` ({@linkcode RegistryOutageEvent}) when a refresh fails, `"recovered"`,
 * and `"lease"` each time a lease has been granted.
 *
 * @example
 * ```ts ignore
 * import { Server } from "@rpcx/core";
 * import { EtcdRegisterPlugin } from "@rpcx/core/etcd";
 *
 * const server = new Server();
 * server.use(new EtcdRegisterPlugin({
 *   servers: ["127.0.0.1:2379"],
 *   basePath: "/rpcx_test",
 *   updateInterval: 10_000,
 * }));
 * server.register(new Arith(), "Arith", "weight=10");
 * await server.serve("tcp", "127.0.0.1:8972");
 * ```
 */
export class EtcdRegisterPlugin extends KvRegisterPlugin {
  /** A name for logs. */
  readonly name: string = "etcd";
  readonly #options: EtcdClientOptions;
  #client: Etcd3 | undefined;
  #lease: Lease | undefined;
  #leaseId: string | undefined;
  #leaseLost = false;
  #repostPending = false;
  #granting: Promise<Lease> | undefined;
  /** Everything written (path → value), re-put under a new lease. */
  readonly #owned = new Map<string, string>();
  #closed = false;
  #recoverTimer: ReturnType<typeof setTimeout> | undefined;
  #recoverAttempt = 0;

  /** Stores the options; nothing is contacted before `start`. */
  constructor(options: EtcdRegisterOptions) {
    super(options);
    this.#options = {
      dialTimeout: options.dialTimeout,
      auth: options.auth,
      credentials: options.credentials,
      etcdOptions: options.etcdOptions,
    };
  }

  /** TTL of the plugin's lease in seconds: updateInterval + expired, or 30 when both are 0. */
  get leaseTtlSeconds(): number {
    return this.updateInterval + this.expired <= 0 ? DEFAULT_TTL_SECONDS : this.ttlSeconds;
  }

  /** The current lease ID (decimal string), once granted. */
  get leaseId(): string | undefined {
    return this.#leaseId;
  }

  /** Creates the etcd client and grants the lease. */
  protected async connect(): Promise<void> {
    this.#closed = false;
    await this.#currentLease();
  }

  /** Puts a directory key (attached to the lease, as Go does). */
  protected async putDir(path: string, value: string): Promise<void> {
    this.#owned.set(path, value);
    await this.#put(path, value);
  }

  /** Puts the service node, attached to the lease. */
  protected async putNode(path: string, value: string): Promise<void> {
    this.#owned.set(path, value);
    await this.#put(path, value);
  }

  /** Reads a key; undefined when missing. */
  protected async getNode(path: string): Promise<string | undefined> {
    const v = await this.#ensureClient().get(path).string();
    return v ?? undefined;
  }

  /** Deletes a key; a missing key is fine. */
  protected async deleteNode(path: string): Promise<void> {
    this.#owned.delete(path);
    if (!this.#client) return;
    await this.#client.delete().key(path);
  }

  /** Revokes the lease (its directory keys go with it) and closes the client. */
  protected async disconnect(): Promise<void> {
    this.#closed = true;
    if (this.#recoverTimer !== undefined) clearTimeout(this.#recoverTimer);
    this.#recoverTimer = undefined;
    await this.#granting?.catch(() => {});
    const lease = this.#lease;
    const client = this.#client;
    this.#lease = undefined;
    this.#client = undefined;
    this.#leaseId = undefined;
    this.#owned.clear();
    if (lease) {
      // etcd may be gone: the lease then expires by itself
      await withTimeout(lease.revoke(), this.#options.dialTimeout ?? 5000).catch(() => {});
      lease.release();
    }
    client?.close();
  }

  /** Grants a new lease when the old one was lost, and re-puts every owned key. */
  protected override async beforeRefresh(): Promise<void> {
    await this.#currentLease();
    if (this.#repostPending) await this.#repostAll(this.#lease!);
  }

  #ensureClient(): Etcd3 {
    if (this.#closed) throw new Error("etcd: register plugin is stopped");
    this.#client ??= createClient(this.servers, this.#options);
    return this.#client;
  }

  async #put(path: string, value: string): Promise<void> {
    const lease = await this.#currentLease();
    await lease.put(path).value(value);
  }

  /** The live lease; grants a new one (and re-puts owned keys) when there is none. */
  #currentLease(): Promise<Lease> {
    if (this.#lease && !this.#leaseLost) return Promise.resolve(this.#lease);
    this.#granting ??= this.#grant().finally(() => (this.#granting = undefined));
    return this.#granting;
  }

  async #grant(): Promise<Lease> {
    const client = this.#ensureClient();
    const lease = client.lease(this.leaseTtlSeconds);
    lease.on("lost", () => {
      if (this.#lease !== lease || this.#closed) return;
      this.#leaseLost = true;
      this.#recover();
    });
    let id: string;
    try {
      id = await lease.grant();
    } catch (e) {
      lease.release();
      throw new Error(`etcd: cannot grant a lease: ${errorText(e)}`);
    }
    if (this.#closed) {
      await lease.revoke().catch(() => {});
      throw new Error("etcd: register plugin is stopped");
    }
    this.#lease?.release();
    this.#lease = lease;
    this.#leaseId = id;
    this.#leaseLost = false;
    this.#repostPending = this.#owned.size > 0;
    this.dispatchEvent(new Event("lease"));
    // Everything we own moves to the new lease (after a loss the old keys may be gone).
    if (this.#repostPending) await this.#repostAll(lease);
    return lease;
  }

  async #repostAll(lease: Lease): Promise<void> {
    for (const [path, value] of [...this.#owned]) {
      await lease.put(path).value(value);
    }
    if (this.#lease === lease) this.#repostPending = false;
  }

  /** After a lease loss: new lease and re-put now, retrying with backoff until it works. */
  #recover(): void {
    if (this.#closed || this.#recoverTimer !== undefined) return;
    const wait = this.#recoverAttempt === 0
      ? 0
      : backoffDelay(this.#recoverAttempt, 250, Math.max(this.updateInterval, 1000));
    this.#recoverTimer = setTimeout(async () => {
      try {
        await this.#currentLease();
        if (this.#repostPending && this.#lease) await this.#repostAll(this.#lease);
        this.#recoverAttempt = 0;
        this.#recoverTimer = undefined;
      } catch {
        this.#recoverAttempt++;
        this.#recoverTimer = undefined;
        if (this.#leaseLost || this.#repostPending) this.#recover();
      }
    }, wait);
  }
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
 * ```ts ignore
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
  readonly #retryInitialMs: number;
  readonly #retryMaxMs: number;
  #watcher: Watcher | undefined;
  #syncing = false;
  #dirty = false;
  #attempt = 0;
  #retryTimer: ReturnType<typeof setTimeout> | undefined;
  #resyncTimer: ReturnType<typeof setInterval> | undefined;

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
    this.#retryInitialMs = options.retryInitialMs ?? 1000;
    this.#retryMaxMs = options.retryMaxMs ?? 30_000;
    this.#client = createClient(this.servers, options);
    const resync = options.resyncInterval ?? 30_000;
    if (resync > 0) {
      this.#resyncTimer = setInterval(() => {
        if (this.#retryTimer === undefined) this.#sync();
      }, resync);
    }
    this.#sync();
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
    if (this.#retryTimer !== undefined) clearTimeout(this.#retryTimer);
    if (this.#resyncTimer !== undefined) clearInterval(this.#resyncTimer);
    this.#retryTimer = undefined;
    this.#resyncTimer = undefined;
    const w = this.#watcher;
    this.#watcher = undefined;
    if (w) await this.#dropWatcher(w);
    this.#client.close();
  }

  /** Lists now (coalesced with a list already running). */
  #sync(): void {
    if (this.closed) return;
    if (this.#retryTimer !== undefined) {
      clearTimeout(this.#retryTimer);
      this.#retryTimer = undefined;
    }
    if (this.#syncing) {
      this.#dirty = true;
      return;
    }
    this.#syncing = true;
    void this.#runSync().finally(() => (this.#syncing = false));
  }

  async #runSync(): Promise<void> {
    do {
      this.#dirty = false;
      let revision: string;
      let pairs: KVPair[];
      try {
        const res = await this.#client.getAll().prefix(this.#prefix).exec();
        revision = res.header.revision;
        pairs = [];
        for (const kv of res.kvs) {
          const key = kv.key.toString();
          if (!key.startsWith(this.#prefix)) continue;
          const name = key.slice(this.#prefix.length);
          if (name === "") continue;
          pairs.push({ key: name, value: kv.value.toString() });
        }
      } catch (e) {
        if (this.closed) return;
        this.#attempt++;
        const wait = backoffDelay(this.#attempt, this.#retryInitialMs, this.#retryMaxMs);
        this.reportOutage(e, this.#attempt, wait);
        // a retry pending means "in outage": watch events wait for it
        this.#retryTimer = setTimeout(() => {
          this.#retryTimer = undefined;
          this.#sync();
        }, wait);
        return;
      }
      if (this.closed) return;
      this.#attempt = 0;
      this.publish(pairs);
      this.reportRecovered();
      if (!this.#watcher) this.#startWatch(revision);
    } while (this.#dirty && !this.closed);
  }

  /** Watches the prefix from just after the listed revision. */
  #startWatch(revision: string): void {
    const next = (BigInt(revision) + 1n).toString();
    const w = this.#client.watch().prefix(this.#prefix).startRevision(next).watcher();
    this.#watcher = w;
    w.on("data", () => {
      if (this.#watcher === w) this.#sync();
    });
    const broken = () => {
      if (this.#watcher !== w) return;
      // Do not trust a watch that broke: drop it, re-list, and watch again from there.
      this.#watcher = undefined;
      void this.#dropWatcher(w);
      if (this.#retryTimer === undefined) this.#sync();
    };
    w.on("disconnected", broken);
    w.on("error", broken);
  }

  async #dropWatcher(w: Watcher): Promise<void> {
    w.removeAllListeners("data");
    w.on("error", () => {});
    // the stream may already be gone
    await withTimeout(w.cancel(), 1000).catch(() => {});
  }
}

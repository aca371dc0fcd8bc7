/**
 * The server half of the etcd registry: {@linkcode EtcdRegisterPlugin}.
 *
 * @module
 */
import type { Etcd3, Lease } from "etcd3";
import { backoffDelay } from "../discovery.ts";
import { type KvRegisterOptions, KvRegisterPlugin } from "../kv_register.ts";
import { within } from "../../_internal/async.ts";
import { createClient, errorText, type EtcdClientOptions, unreachable } from "./client.ts";
import { EtcdError } from "./errors.ts";

/** Go rpcx-etcd's lease TTL when updateInterval + expired is 0. */
const DEFAULT_TTL_SECONDS = 30;

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
 * ```ts
 * import { Server } from "@rpcx/core";
 * import { EtcdRegisterPlugin } from "@rpcx/core/etcd";
 *
 * const server = new Server();
 * server.use(new EtcdRegisterPlugin({
 *   servers: ["127.0.0.1:2379"],
 *   basePath: "/rpcx_test",
 *   updateInterval: 10_000,
 * }));
 * await server.register({ Mul: (a: { A: number; B: number }) => ({ C: a.A * a.B }) }, "Arith", "weight=10");
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
      endpointDialTimeout: options.endpointDialTimeout,
      endpointRetryMs: options.endpointRetryMs,
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
      await within(lease.revoke(), this.#options.dialTimeout ?? 5000).catch(() => {});
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
    if (this.#closed) throw stoppedError();
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
      throw new EtcdError(`etcd: cannot grant a lease: ${errorText(e)}`, {
        operation: "lease.grant",
        unavailable: unreachable(e),
        cause: e,
      });
    }
    if (this.#closed) {
      await lease.revoke().catch(() => {});
      throw stoppedError();
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

/** The error of a register plugin used after `stop`: not an outage. */
function stoppedError(): EtcdError {
  return new EtcdError("etcd: register plugin is stopped", { operation: "register" });
}

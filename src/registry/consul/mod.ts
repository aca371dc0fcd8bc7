/**
 * Consul registry, laid out exactly as Go rpcx-consul (`serverplugin.ConsulRegisterPlugin`,
 * `client.ConsulDiscovery`, over rpcxio/libkv's Consul store) does it — in Consul's KV store,
 * not its service catalog — so Go and Deno servers and clients find each other:
 *
 * - Keys carry no leading slash (`/rpcx_test` and `rpcx_test` both give `rpcx_test/...`).
 * - `basePath` → `rpcx_path`, `basePath/Service` → `Service`,
 *   `basePath/Service/network@host:port` → the metadata string; every key is written with
 *   flags `0x2ddccbc058a50c18` (Consul's lock flag value, as libkv writes it).
 * - The service node is held by its own session (behavior `delete`, lock delay 1 ms,
 *   TTL = (updateInterval + expired) / 2, since Consul waits up to twice a session's TTL before
 *   invalidating it); the session is renewed every `updateInterval`. When the server dies, the
 *   session lapses and Consul deletes the node. With updateInterval + expired = 0 the node is
 *   written without a session, as Go does.
 * - Consul refuses session TTLs below its `session_ttl_min` (10 s unless configured): keep
 *   updateInterval + expired ≥ 20 s against a default agent.
 *
 * The discovery lists `basePath/servicePath/` recursively (the key is what follows the
 * prefix) and follows it with blocking queries (`index` + `wait`).
 *
 * @example
 * ```ts ignore
 * import { FailMode, SelectMode, Server, XClient } from "@rpcx/core";
 * import { ConsulDiscovery, ConsulRegisterPlugin } from "@rpcx/core/consul";
 *
 * const server = new Server();
 * server.use(new ConsulRegisterPlugin({ servers: ["127.0.0.1:8500"], basePath: "/rpcx_test" }));
 * server.register(new Arith(), "Arith");
 * await server.serve("tcp", "127.0.0.1:8972");
 *
 * const d = new ConsulDiscovery("/rpcx_test", "Arith", ["127.0.0.1:8500"]);
 * const xclient = new XClient("Arith", FailMode.Failover, SelectMode.RoundRobin, d);
 * console.log(await xclient.call("Mul", { A: 10, B: 20 }));
 * ```
 *
 * @module
 */
import { EventEmitter } from "node:events";
import Consul from "consul";
import { backoffDelay, BaseDiscovery, type KVPair, type ServiceDiscovery } from "../discovery.ts";
import { type KvRegisterOptions, KvRegisterPlugin } from "../kv_register.ts";

/** Flags libkv writes on every key: Consul's `api.LockFlagValue`, as a decimal uint64. */
export const CONSUL_LOCK_FLAGS: string = "3304740253564472344";

/** How long a blocking query waits for a change, as libkv does (15 s). */
const DEFAULT_WAIT_MS = 15_000;

/**
 * A failed Consul request: `status` is the HTTP status, or undefined when Consul could not
 * be reached (refused, timed out, aborted).
 *
 * @example
 * ```ts
 * import { ConsulError } from "@rpcx/core/consul";
 * const e = new ConsulError("session.create", 400, "Invalid Session TTL");
 * console.log(e.message); // consul: session.create: 400 Invalid Session TTL
 * ```
 */
export class ConsulError extends Error {
  /** The operation, e.g. `kv.set`. */
  readonly operation: string;
  /** HTTP status, or undefined for a transport failure. */
  readonly status: number | undefined;
  /** Creates the error. */
  constructor(operation: string, status: number | undefined, detail: string) {
    super(`consul: ${operation}: ${status === undefined ? "" : `${status} `}${detail}`);
    this.name = "ConsulError";
    this.operation = operation;
    this.status = status;
  }
}

/**
 * How to reach Consul; shared by {@linkcode ConsulRegisterPlugin} and
 * {@linkcode ConsulDiscovery}.
 *
 * @example
 * ```ts
 * import type { ConsulClientOptions } from "@rpcx/core/consul";
 * const o: ConsulClientOptions = { token: "secret", requestTimeout: 3000 };
 * console.log(o.requestTimeout);
 * ```
 */
export interface ConsulClientOptions {
  /** ACL token sent as `X-Consul-Token`. */
  token?: string;
  /** Deadline of each non-blocking request in ms; default 5000. */
  requestTimeout?: number;
  /** Datacenter (`dc` query parameter); default: the agent's. */
  datacenter?: string;
}

/**
 * Options of {@linkcode ConsulRegisterPlugin}: the common KV registry options (durations in
 * ms) plus the Consul client options.
 *
 * @example
 * ```ts
 * import type { ConsulRegisterOptions } from "@rpcx/core/consul";
 * const o: ConsulRegisterOptions = {
 *   servers: ["127.0.0.1:8500"],
 *   basePath: "/rpcx_test",
 *   updateInterval: 10_000,
 * };
 * console.log(o.basePath);
 * ```
 */
export interface ConsulRegisterOptions extends KvRegisterOptions, ConsulClientOptions {}

/**
 * Options of {@linkcode ConsulDiscovery}.
 *
 * @example
 * ```ts
 * import type { ConsulDiscoveryOptions } from "@rpcx/core/consul";
 * const o: ConsulDiscoveryOptions = { waitMs: 5000, retryInitialMs: 200, retryMaxMs: 2000 };
 * console.log(o.waitMs);
 * ```
 */
export interface ConsulDiscoveryOptions extends ConsulClientOptions {
  /** Longest a blocking query waits for a change, in ms; default 15 000 (as libkv). */
  waitMs?: number;
  /** First retry delay after a failure, in ms (doubling); default 1000 (as Go). */
  retryInitialMs?: number;
  /** Longest retry delay, in ms; default 30 000 (as Go). */
  retryMaxMs?: number;
}

/** One KV entry as Consul returns it. */
interface ConsulEntry {
  Key: string;
  Value: string | null;
  Session?: string;
  Flags?: number;
  ModifyIndex?: number;
}

/** The slice of the `consul` client this module uses (its typings lack ctx/timeout). */
interface ConsulLike {
  kv: {
    get(opts: Record<string, unknown>): Promise<unknown>;
    set(opts: Record<string, unknown>): Promise<unknown>;
    del(opts: Record<string, unknown>): Promise<unknown>;
  };
  session: {
    create(opts: Record<string, unknown>): Promise<unknown>;
    renew(opts: Record<string, unknown>): Promise<unknown>;
    destroy(opts: Record<string, unknown>): Promise<unknown>;
  };
  destroy(): void;
}

/** A cancel handle for papi (the HTTP layer of `consul`): emitting "cancel" aborts. */
class RequestContext extends EventEmitter {
  readonly includeResponse = true;
  canceled = false;
  cancel(): void {
    if (this.canceled) return;
    this.canceled = true;
    this.emit("cancel");
  }
}

interface HttpResponse {
  statusCode?: number;
  headers?: Record<string, string | undefined>;
}

function parseEndpoint(server: string): { host: string; port: number; secure: boolean } {
  let s = server.trim();
  let secure = false;
  const scheme = /^(https?):\/\//i.exec(s);
  if (scheme) {
    secure = scheme[1].toLowerCase() === "https";
    s = s.slice(scheme[0].length);
  }
  s = s.replace(/\/.*$/, "");
  const m = /^\[?([^\]]+?)\]?(?::(\d+))?$/.exec(s);
  if (!m) throw new TypeError(`consul: bad server address ${JSON.stringify(server)}`);
  return { host: m[1], port: m[2] ? Number(m[2]) : 8500, secure };
}

function toConsulError(operation: string, e: unknown): ConsulError {
  if (e instanceof ConsulError) return e;
  const err = e as { response?: { statusCode?: number; body?: unknown }; message?: string };
  const status = err?.response?.statusCode;
  let detail = err?.message ?? String(e);
  const body = err?.response?.body;
  if (body !== undefined && body !== null) {
    const text = typeof body === "string"
      ? body
      : body instanceof Uint8Array
      ? new TextDecoder().decode(body)
      : JSON.stringify(body);
    if (text.trim()) detail = text.trim();
  }
  detail = detail.replace(/^consul: /, "");
  return new ConsulError(operation, status, detail);
}

/** Go's `time.Duration.String()` for a whole number of milliseconds (e.g. `10s`, `1.5s`). */
function goDuration(ms: number): string {
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${(ms / 1000).toFixed(3).replace(/0+$/, "")}s`;
}

/**
 * The HTTP side: one `consul` client per endpoint; a transport failure moves on to the next
 * endpoint for the following request.
 */
class ConsulHttp {
  readonly #clients: ConsulLike[];
  readonly #timeout: number;
  readonly #dc: string | undefined;
  #current = 0;
  readonly #inflight = new Set<RequestContext>();
  #closed = false;

  constructor(servers: string[], options: ConsulClientOptions) {
    if (servers.length === 0) throw new TypeError("consul: no servers given");
    this.#timeout = options.requestTimeout ?? 5000;
    this.#dc = options.datacenter;
    this.#clients = servers.map((s) => {
      const { host, port, secure } = parseEndpoint(s);
      const defaults = options.token ? { token: options.token } : undefined;
      return new Consul({ host, port, secure, defaults }) as unknown as ConsulLike;
    });
  }

  /** Runs one request against the current endpoint; returns [response, body]. */
  async request(
    operation: string,
    run: (c: ConsulLike, opts: Record<string, unknown>) => Promise<unknown>,
    opts: Record<string, unknown> = {},
    timeout = this.#timeout,
  ): Promise<[HttpResponse, unknown]> {
    // A transport failure (refused, timed out) moves on to the next endpoint, each tried once.
    let last: ConsulError | undefined;
    for (let tries = 0; tries < this.#clients.length; tries++) {
      if (this.#closed) throw new ConsulError(operation, undefined, "client closed");
      const index = this.#current;
      const ctx = new RequestContext();
      this.#inflight.add(ctx);
      try {
        const all: Record<string, unknown> = { ...opts, ctx, timeout };
        if (this.#dc) all.dc = this.#dc;
        const out = await run(this.#clients[index], all);
        if (Array.isArray(out)) return [out[0] as HttpResponse, out[1]];
        return [{}, out];
      } catch (e) {
        last = toConsulError(operation, e);
        if (last.status !== undefined || this.#closed) throw last;
        if (this.#current === index) this.#current = (index + 1) % this.#clients.length;
      } finally {
        this.#inflight.delete(ctx);
      }
    }
    throw last!;
  }

  /** Aborts every request in flight and releases the sockets. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const ctx of this.#inflight) ctx.cancel();
    this.#inflight.clear();
    for (const c of this.#clients) c.destroy();
  }

  get closed(): boolean {
    return this.#closed;
  }

  async get(key: string): Promise<ConsulEntry | undefined> {
    const [, body] = await this.request(
      "kv.get",
      (c, o) => c.kv.get(o),
      { key, consistent: true },
    );
    return (body ?? undefined) as ConsulEntry | undefined;
  }

  /** Recursive list; with `index`, a blocking query that waits up to `waitMs`. */
  async list(
    prefix: string,
    index?: string,
    waitMs?: number,
  ): Promise<{ entries: ConsulEntry[]; index: string | undefined }> {
    const opts: Record<string, unknown> = { key: prefix, recurse: true };
    let timeout: number | undefined;
    if (index !== undefined && waitMs !== undefined) {
      opts.index = index;
      opts.wait = goDuration(waitMs);
      // Consul adds up to wait/16 of jitter; leave room for it and the network.
      timeout = waitMs + Math.ceil(waitMs / 16) + this.#timeout;
    }
    const [res, body] = await this.request("kv.list", (c, o) => c.kv.get(o), opts, timeout);
    return {
      entries: Array.isArray(body) ? (body as ConsulEntry[]) : [],
      index: res.headers?.["x-consul-index"],
    };
  }

  /** Writes a key; with `acquire`, as a lock by that session. Returns Consul's true/false. */
  async set(key: string, value: string, acquire?: string): Promise<boolean> {
    const opts: Record<string, unknown> = { key, value, flags: CONSUL_LOCK_FLAGS };
    if (acquire) opts.acquire = acquire;
    const [, body] = await this.request("kv.set", (c, o) => c.kv.set(o), opts);
    return body === true || body === "true";
  }

  async del(key: string): Promise<void> {
    await this.request("kv.del", (c, o) => c.kv.del(o), { key });
  }

  async createSession(ttl: string): Promise<string> {
    const [, body] = await this.request(
      "session.create",
      (c, o) => c.session.create(o),
      { behavior: "delete", ttl, lockdelay: "1ms", name: "rpcx" },
    );
    const id = (body as { ID?: string } | undefined)?.ID;
    if (!id) throw new ConsulError("session.create", undefined, "no session ID in the answer");
    return id;
  }

  /** Renews a session; false when Consul no longer knows it. */
  async renewSession(id: string): Promise<boolean> {
    try {
      const [, body] = await this.request("session.renew", (c, o) => c.session.renew(o), { id });
      return Array.isArray(body) ? body.length > 0 : true;
    } catch (e) {
      if ((e as ConsulError).status === 404) return false;
      throw e;
    }
  }

  async destroySession(id: string): Promise<void> {
    await this.request("session.destroy", (c, o) => c.session.destroy(o), { id });
  }
}

function isInvalidSession(e: unknown): boolean {
  return e instanceof ConsulError && e.status !== undefined && /session/i.test(e.message) &&
    /invalid|not found|unknown/i.test(e.message);
}

/**
 * Advertises a server's services in Consul's KV store as Go rpcx-consul does (see the module
 * doc for the layout). Each service node is held by its own session (behavior `delete`),
 * renewed on every refresh (`updateInterval`); the refresh also re-creates a node that is gone
 * (agent restarted, session lost) and, with `metrics`, rewrites the figures. A node still held
 * by an older session (the same address registered again before the old session lapsed) is
 * taken over with that session, as libkv does. `unregister` and `stop` delete the nodes and
 * destroy their sessions.
 *
 * Events: `"outage"` ({@linkcode RegistryOutageEvent}) when a refresh fails, `"recovered"`.
 *
 * @example
 * ```ts ignore
 * import { Server } from "@rpcx/core";
 * import { ConsulRegisterPlugin } from "@rpcx/core/consul";
 *
 * const server = new Server();
 * server.use(new ConsulRegisterPlugin({
 *   servers: ["127.0.0.1:8500"],
 *   basePath: "/rpcx_test",
 *   updateInterval: 10_000,
 * }));
 * server.register(new Arith(), "Arith", "weight=10");
 * await server.serve("tcp", "127.0.0.1:8972");
 * ```
 */
export class ConsulRegisterPlugin extends KvRegisterPlugin {
  /** A name for logs. */
  readonly name: string = "consul";
  readonly #options: ConsulClientOptions;
  #http: ConsulHttp | undefined;
  /** Service node path → the session holding it. */
  readonly #sessions = new Map<string, string>();

  /** Stores the options; nothing is contacted before `start`. */
  constructor(options: ConsulRegisterOptions) {
    super({ ...options, basePath: options.basePath.replace(/^\/+/, "") || "rpcx" });
    this.#options = {
      token: options.token,
      requestTimeout: options.requestTimeout,
      datacenter: options.datacenter,
    };
  }

  /**
   * The TTL given to each node's session, Go-style (e.g. `10s`): (updateInterval + expired)/2;
   * empty when both are 0 (then nodes are written without a session).
   */
  get sessionTtl(): string {
    const ms = this.updateInterval + this.expired;
    return ms <= 0 ? "" : goDuration(Math.ceil(ms / 2));
  }

  /** The session holding a service node, once written. */
  sessionOf(path: string): string | undefined {
    return this.#sessions.get(path);
  }

  /** Creates the HTTP client (the base path is written next, which proves Consul answers). */
  protected connect(): Promise<void> {
    this.#http?.close();
    this.#http = new ConsulHttp(this.servers, this.#options);
    return Promise.resolve();
  }

  /** Writes a directory key, without a session. */
  protected async putDir(path: string, value: string): Promise<void> {
    await this.#client().set(path, value);
  }

  /** Writes the service node, held by its session (renewed here). */
  protected async putNode(path: string, value: string): Promise<void> {
    const http = this.#client();
    const ttl = this.sessionTtl;
    if (!ttl) {
      await http.set(path, value);
      return;
    }
    for (let attempt = 0; attempt < 3; attempt++) {
      let session = this.#sessions.get(path);
      if (session === undefined) {
        session = await this.#createSession(http, ttl);
        this.#sessions.set(path, session);
      } else if (!(await http.renewSession(session))) {
        this.#sessions.delete(path);
        continue;
      }
      let acquired: boolean;
      try {
        acquired = await http.set(path, value, session);
      } catch (e) {
        if (!isInvalidSession(e)) throw e;
        this.#sessions.delete(path);
        continue;
      }
      if (acquired) return;
      // Held by another session: an earlier run of this address that has not lapsed yet.
      // libkv adopts whatever session holds the key; so do we.
      const holder = (await http.get(path))?.Session;
      if (holder && holder !== session) {
        await http.destroySession(session).catch(() => {});
        this.#sessions.set(path, holder);
      }
    }
    throw new ConsulError("kv.set", undefined, `${path}: cannot hold the node with a session`);
  }

  /** Reads a key; undefined when missing. */
  protected async getNode(path: string): Promise<string | undefined> {
    const entry = await this.#client().get(path);
    if (!entry) return undefined;
    return entry.Value === null ? "" : entry.Value;
  }

  /** Deletes the node and destroys its session. */
  protected async deleteNode(path: string): Promise<void> {
    const http = this.#client();
    const session = this.#sessions.get(path);
    this.#sessions.delete(path);
    await http.del(path);
    if (session) await http.destroySession(session).catch(() => {});
  }

  /** Destroys the remaining sessions (best effort) and closes the client. */
  protected async disconnect(): Promise<void> {
    const http = this.#http;
    this.#http = undefined;
    if (!http) return;
    for (const session of this.#sessions.values()) {
      await http.destroySession(session).catch(() => {});
    }
    this.#sessions.clear();
    http.close();
  }

  #client(): ConsulHttp {
    if (!this.#http || this.#http.closed) {
      throw new ConsulError("kv", undefined, "register plugin is not started");
    }
    return this.#http;
  }

  async #createSession(http: ConsulHttp, ttl: string): Promise<string> {
    try {
      return await http.createSession(ttl);
    } catch (e) {
      if (e instanceof ConsulError && e.status !== undefined && /ttl/i.test(e.message)) {
        throw new ConsulError(
          "session.create",
          e.status,
          `${e.message.replace(/^consul: session\.create: \d+ /, "")} (session TTL ${ttl} = ` +
            `(updateInterval + expired) / 2; Consul's session_ttl_min is 10s by default)`,
        );
      }
      throw e;
    }
  }
}

/**
 * Discovers the servers of one service from Consul as Go rpcx's `ConsulDiscovery` does: lists
 * `basePath/servicePath/` recursively (the key is what follows the prefix) and follows it with
 * blocking queries, publishing the complete list after each change. When Consul is unreachable
 * it keeps the last list, emits `"outage"` ({@linkcode RegistryOutageEvent}), retries with
 * capped backoff (1 s doubling to 30 s, as Go) and emits `"recovered"` when it answers again;
 * an agent that restarted (its index went backwards) is listed from scratch. `close()` aborts
 * the blocking query at once.
 *
 * @example
 * ```ts ignore
 * import { FailMode, SelectMode, XClient } from "@rpcx/core";
 * import { ConsulDiscovery } from "@rpcx/core/consul";
 *
 * const d = new ConsulDiscovery("/rpcx_test", "Arith", ["127.0.0.1:8500"]);
 * d.addEventListener("outage", (e) => console.warn("consul unreachable", e));
 * const xclient = new XClient("Arith", FailMode.Failover, SelectMode.RoundRobin, d);
 * console.log(await xclient.call("Mul", { A: 10, B: 20 }));
 * await xclient.close();
 * ```
 */
export class ConsulDiscovery extends BaseDiscovery {
  /** The base path as given. */
  readonly basePath: string;
  /** The service path. */
  readonly servicePath: string;
  /** Consul endpoints. */
  readonly servers: string[];
  readonly #options: ConsulDiscoveryOptions;
  readonly #prefix: string;
  readonly #http: ConsulHttp;
  readonly #waitMs: number;
  readonly #retryInitialMs: number;
  readonly #retryMaxMs: number;
  #sleepTimer: ReturnType<typeof setTimeout> | undefined;
  #wake: (() => void) | undefined;
  readonly #loop: Promise<void>;

  /**
   * Starts listing and watching `basePath/servicePath/` at once (the constructor does not
   * wait; use {@linkcode ConsulDiscovery.ready}).
   */
  constructor(
    basePath: string,
    servicePath: string,
    servers: string[],
    options: ConsulDiscoveryOptions = {},
  ) {
    super();
    this.basePath = basePath;
    this.servicePath = servicePath;
    this.servers = servers.slice();
    this.#options = options;
    const base = basePath.replace(/^\/+/, "").replace(/\/+$/, "");
    this.#prefix = `${base}/${servicePath}/`;
    this.#waitMs = options.waitMs ?? DEFAULT_WAIT_MS;
    this.#retryInitialMs = options.retryInitialMs ?? 1000;
    this.#retryMaxMs = options.retryMaxMs ?? 30_000;
    this.#http = new ConsulHttp(this.servers, options);
    this.#loop = this.#run();
  }

  /** The listed prefix, `basePath/servicePath/` without a leading slash. */
  get prefix(): string {
    return this.#prefix;
  }

  /** A discovery of the same Consul and base path for another service (its own client). */
  clone(servicePath: string): ServiceDiscovery {
    return new ConsulDiscovery(this.basePath, servicePath, this.servers, this.#options);
  }

  /** Aborts the blocking query, stops retrying and releases the HTTP client. */
  override async close(): Promise<void> {
    if (this.closed) return;
    await super.close();
    if (this.#sleepTimer !== undefined) clearTimeout(this.#sleepTimer);
    this.#sleepTimer = undefined;
    this.#wake?.();
    this.#http.close();
    await this.#loop;
  }

  async #run(): Promise<void> {
    let index: bigint | undefined;
    let attempt = 0;
    while (!this.closed) {
      try {
        const res = await this.#http.list(
          this.#prefix,
          index === undefined ? undefined : String(index),
          this.#waitMs,
        );
        if (this.closed) return;
        attempt = 0;
        const next = res.index && /^\d+$/.test(res.index) ? BigInt(res.index) : undefined;
        // Consul's rules for blocking queries: an index that went backwards (agent restarted,
        // state reset) means list again from scratch; never block on 0.
        if (next !== undefined && index !== undefined && next < index) index = undefined;
        else index = next === undefined || next < 1n ? 1n : next;
        // publish() only notifies when the list differs
        this.publish(this.#pairs(res.entries));
        this.reportRecovered();
        // Without an index (a proxy dropped the header) a query cannot block: poll instead.
        if (next === undefined) await this.#sleep(Math.min(this.#waitMs, 1000));
      } catch (e) {
        if (this.closed) return;
        attempt++;
        const wait = backoffDelay(attempt, this.#retryInitialMs, this.#retryMaxMs);
        this.reportOutage(e, attempt, wait);
        // after an outage the agent may be a new one: list from scratch
        index = undefined;
        await this.#sleep(wait);
      }
    }
  }

  #pairs(entries: ConsulEntry[]): KVPair[] {
    const pairs: KVPair[] = [];
    for (const e of entries) {
      if (!e.Key.startsWith(this.#prefix)) continue;
      const name = e.Key.slice(this.#prefix.length);
      if (name === "") continue;
      pairs.push({ key: name, value: e.Value ?? "" });
    }
    return pairs;
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.#wake = resolve;
      this.#sleepTimer = setTimeout(() => {
        this.#sleepTimer = undefined;
        this.#wake = undefined;
        resolve();
      }, ms);
    });
  }
}

/**
 * The server half of the Consul registry: {@linkcode ConsulRegisterPlugin}.
 *
 * @module
 */
import { type KvRegisterOptions, KvRegisterPlugin } from "../kv_register.ts";
import { type ConsulClientOptions, ConsulError, ConsulHttp, goDuration } from "./http.ts";

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

/** Consul's answer to a write with a session it no longer knows. */
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
 * ```ts
 * import { Server } from "@rpcx/core";
 * import { ConsulRegisterPlugin } from "@rpcx/core/consul";
 *
 * const server = new Server();
 * server.use(new ConsulRegisterPlugin({
 *   servers: ["127.0.0.1:8500"],
 *   basePath: "/rpcx_test",
 *   updateInterval: 10_000,
 * }));
 * await server.register({ Mul: (a: { A: number; B: number }) => ({ C: a.A * a.B }) }, "Arith", "weight=10");
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
      endpointDialTimeout: options.endpointDialTimeout,
      endpointRetryMs: options.endpointRetryMs,
      datacenter: options.datacenter,
      tls: options.tls,
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

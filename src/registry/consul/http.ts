/**
 * Consul's HTTP API as both halves use it: one `consul` client per endpoint, requests sent to
 * endpoints that answer ({@linkcode EndpointHealth}) with failover to the next on transport
 * failures, a bound on each connect, per-request deadlines, blocking-query listing, and
 * {@linkcode ConsulError} for every failure.
 *
 * @module
 */
import { EventEmitter } from "node:events";
import Consul from "consul";
import http from "node:http";
import https from "node:https";
import type { Socket } from "node:net";
import { allowIpEndpointsOverTls } from "../_tls_sni.ts";
import { EndpointHealth } from "../_endpoint_health.ts";
import { RegistryError } from "../errors.ts";

/** Flags libkv writes on every key: Consul's `api.LockFlagValue`, as a decimal uint64. */
export const CONSUL_LOCK_FLAGS: string = "3304740253564472344";

/**
 * A failed Consul request (a {@linkcode RegistryError}, `registry` `consul`): `status` is the
 * HTTP status, or undefined when Consul could not be reached (refused, timed out, aborted:
 * then `unavailable` is true, unless `unavailable` says otherwise, as for a closed client).
 *
 * @example
 * ```ts
 * import { ConsulError } from "@rpcx/core/consul";
 * const e = new ConsulError("session.create", 400, "Invalid Session TTL");
 * console.log(e.message, e.unavailable); // consul: session.create: 400 Invalid Session TTL false
 * ```
 */
export class ConsulError extends RegistryError {
  /** HTTP status, or undefined for a transport failure. */
  readonly status: number | undefined;
  /** Creates the error for `operation`, e.g. `kv.set`. */
  constructor(
    operation: string,
    status: number | undefined,
    detail: string,
    options?: ErrorOptions & { unavailable?: boolean },
  ) {
    super(`consul: ${operation}: ${status === undefined ? "" : `${status} `}${detail}`, {
      ...options,
      registry: "consul",
      operation,
      unavailable: options?.unavailable ?? status === undefined,
    });
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
  /**
   * Bound of connecting to one agent, ms (TCP, and the TLS handshake for https); default 2000.
   * Every endpoint is dialled when the client is made and requests go to endpoints that
   * answered; a request whose connection is not made in time moves to the next endpoint. An
   * agent that drops SYNs (a dead host) thus costs this once, not a request deadline each time.
   */
  endpointDialTimeout?: number;
  /**
   * How long an endpoint that could not be reached is avoided, ms; default 5000. It is dialled
   * again every this many ms until it answers (at once when no endpoint answers).
   */
  endpointRetryMs?: number;
  /** Datacenter (`dc` query parameter); default: the agent's. */
  datacenter?: string;
  /**
   * TLS for `https://` endpoints: the CA that signed the agent's certificate (PEM; default: the
   * system roots) and, when the agent verifies clients (`verify_incoming`), this client's
   * certificate and key (PEM). Go: `store.Config.TLS`.
   */
  tls?: { ca?: string | Uint8Array; cert?: string | Uint8Array; key?: string | Uint8Array };
}

/** One KV entry as Consul returns it. */
export interface ConsulEntry {
  Key: string;
  Value: string | null;
  Session?: string;
  Flags?: number;
  ModifyIndex?: number;
}

/** The slice of the `consul` client this module uses (its typings lack ctx/timeout). */
export interface ConsulLike {
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

/** The error of a request on a closed client: not an outage. */
function closedError(operation: string): ConsulError {
  return new ConsulError(operation, undefined, "client closed", { unavailable: false });
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
  return new ConsulError(operation, status, detail, { cause: e });
}

/** The TLS settings as Node's https options (PEM text); an IP host is never sent as SNI. */
function tlsOptions(tls: ConsulClientOptions["tls"]): Record<string, string> {
  allowIpEndpointsOverTls();
  const text = (v: string | Uint8Array | undefined) =>
    v === undefined ? undefined : typeof v === "string" ? v : new TextDecoder().decode(v);
  const out: Record<string, string> = {};
  for (const k of ["ca", "cert", "key"] as const) {
    const v = text(tls?.[k]);
    if (v !== undefined) out[k] = v;
  }
  return out;
}

/** Go's `time.Duration.String()` for a whole number of milliseconds (e.g. `10s`, `1.5s`). */
export function goDuration(ms: number): string {
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${(ms / 1000).toFixed(3).replace(/0+$/, "")}s`;
}

/**
 * An HTTP(S) agent whose connections must be made (TCP, plus the TLS handshake for https)
 * within `ms`, else the socket is destroyed with an error (a transport failure for papi).
 */
function boundedAgent<A extends http.Agent>(agent: A, ms: number, secure: boolean): A {
  type Create = (options: unknown, callback?: unknown) => Socket;
  const a = agent as unknown as { createConnection: Create };
  const create = a.createConnection.bind(agent);
  a.createConnection = (options, callback) => {
    const socket = create(options, callback);
    const timer = setTimeout(
      () =>
        socket.destroy(
          new RegistryError(`no connection within ${ms} ms`, {
            registry: "consul",
            operation: "connect",
            unavailable: true,
          }),
        ),
      ms,
    );
    const done = () => clearTimeout(timer);
    socket.once(secure ? "secureConnect" : "connect", done);
    socket.once("close", done);
    return socket;
  };
  return agent;
}

/**
 * The HTTP side: one `consul` client per endpoint; each request goes to the first endpoint
 * that answers and, after a transport failure, to the next one (the failed one is avoided for
 * a while).
 */
export class ConsulHttp {
  readonly #clients = new Map<string, ConsulLike>();
  readonly #health: EndpointHealth;
  readonly #timeout: number;
  readonly #dc: string | undefined;
  readonly #inflight = new Set<RequestContext>();
  #closed = false;

  constructor(servers: string[], options: ConsulClientOptions) {
    if (servers.length === 0) throw new TypeError("consul: no servers given");
    this.#timeout = options.requestTimeout ?? 5000;
    this.#dc = options.datacenter;
    const dialMs = Math.max(1, options.endpointDialTimeout ?? 2000);
    for (const s of servers) {
      if (this.#clients.has(s)) continue;
      const { host, port, secure } = parseEndpoint(s);
      const defaults = options.token ? { token: options.token } : undefined;
      // the TLS settings go on the agent too: Deno's https takes them from there
      const tls = secure ? tlsOptions(options.tls) : undefined;
      const agent = boundedAgent(
        tls ? new https.Agent({ keepAlive: true, ...tls }) : new http.Agent({ keepAlive: true }),
        dialMs,
        secure,
      );
      const client = new Consul({ host, port, secure, defaults, ...tls, agent });
      this.#clients.set(s, client as unknown as ConsulLike);
    }
    this.#health = new EndpointHealth(servers, {
      dialTimeout: dialMs,
      retryMs: options.endpointRetryMs ?? 5000,
      defaultPort: 8500,
    });
  }

  /**
   * Runs one request; returns [response, body]. It goes to an endpoint that answers; a
   * transport failure (refused, no connection in time, timed out) marks that endpoint down and
   * moves on to the next one that answers. When none answers, every endpoint is dialled again
   * (bounded) before giving up.
   */
  async request(
    operation: string,
    run: (c: ConsulLike, opts: Record<string, unknown>) => Promise<unknown>,
    opts: Record<string, unknown> = {},
    timeout = this.#timeout,
  ): Promise<[HttpResponse, unknown]> {
    return await this.#health.failover(
      async (endpoint) => {
        if (this.#closed) throw closedError(operation);
        const ctx = new RequestContext();
        this.#inflight.add(ctx);
        try {
          const all: Record<string, unknown> = { ...opts, ctx, timeout };
          if (this.#dc) all.dc = this.#dc;
          const out = await run(this.#clients.get(endpoint)!, all);
          if (Array.isArray(out)) {
            return [out[0] as HttpResponse, out[1]] as [HttpResponse, unknown];
          }
          return [{}, out] as [HttpResponse, unknown];
        } catch (e) {
          throw toConsulError(operation, e);
        } finally {
          this.#inflight.delete(ctx);
        }
      },
      // refused, no connection in time, timed out: no HTTP status
      (e) => e instanceof ConsulError && e.status === undefined && !this.#closed,
      (endpoints) =>
        this.#closed
          ? closedError(operation)
          : new ConsulError(operation, undefined, `no agent reachable: ${endpoints}`),
    );
  }

  /** Aborts every request in flight, stops the endpoint dials and releases the sockets. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#health.close();
    for (const ctx of this.#inflight) ctx.cancel();
    this.#inflight.clear();
    for (const c of this.#clients.values()) c.destroy();
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
    if (!id) {
      throw new ConsulError("session.create", undefined, "no session ID in the answer", {
        unavailable: false,
      });
    }
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

/**
 * The etcd client as both halves use it: the `etcd3` package's client made with rpcx's
 * settings (per-request deadline, short reconnects, gRPC keepalive) and its fault-handling
 * slots filled so that a dead endpoint in the list is steered around, as Go's clientv3 does:
 *
 * - every endpoint is dialled when the client is made (`endpointDialTimeout`), and requests and
 *   streams go only to endpoints that answered ({@linkcode EndpointHealth});
 * - a request or stream (watch, lease keep-alive) whose endpoint has no gRPC connection within
 *   `endpointDialTimeout` fails as UNAVAILABLE before anything is sent, and is retried on
 *   another endpoint (the etcd3 pool's own retry), instead of waiting for the request deadline
 *   or, for a stream, for ever;
 * - an endpoint that failed so is avoided for `endpointRetryMs` and dialled again meanwhile.
 *
 * @module
 */
import {
  type Channel,
  connectivityState,
  InterceptingCall,
  type InterceptingListener,
  type Interceptor,
  Metadata,
  status,
} from "@grpc/grpc-js";
import { Etcd3, GRPCUnavailableError, type IOptions, isRecoverableError } from "etcd3";
import { Buffer } from "node:buffer";
import { allowIpEndpointsOverTls } from "../_tls_sni.ts";
import { EndpointHealth } from "../_endpoint_health.ts";
import { guardHttp2Sessions } from "../_http2_goaway.ts";
import { closeTokenChannels, endWatchStream } from "./_etcd3_internals.ts";
import { EtcdError, EtcdUnreachableError } from "./errors.ts";

// etcd's GOAWAY (it stops or restarts) must not abort a Deno process (issue 26). Installed when
// this module loads, so that every grpc-js session opened after `@rpcx/core/etcd` (or the CLI's
// etcd operator) is imported is covered, a plain `etcd3` client made next to ours included.
guardHttp2Sessions();

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
   * Streams (watch, lease keep-alive) have none once open; opening one is bounded by
   * `endpointDialTimeout`.
   */
  dialTimeout?: number;
  /**
   * Bound of connecting to one endpoint, ms (Go: clientv3's `DialTimeout`); default 2000, at
   * most `dialTimeout`. Each endpoint is dialled (TCP) when the client is made and requests go
   * only to endpoints that answered; a request or a stream (watch, lease keep-alive) whose
   * endpoint has no connection after this long is moved to another endpoint. An endpoint that
   * drops SYNs (a dead host) thus costs this once, not a request deadline per request.
   */
  endpointDialTimeout?: number;
  /**
   * How long an endpoint that could not be reached is avoided, ms; default 5000. It is dialled
   * again every this many ms until it answers (at once when no endpoint answers).
   */
  endpointRetryMs?: number;
  /** User and password when etcd has auth enabled. */
  auth?: { username: string; password: string };
  /**
   * TLS: the CA that signed etcd's certificate (PEM), and for mutual TLS (etcd
   * `--client-cert-auth`) the client's certificate chain and private key (PEM). Endpoints given
   * as `https://host:port` without it use TLS with the system roots. Go: `store.Config.TLS`.
   */
  credentials?: {
    rootCertificate: Uint8Array | string;
    privateKey?: Uint8Array | string;
    certChain?: Uint8Array | string;
  };
  /** Extra options for the `etcd3` client, applied last. */
  etcdOptions?: Partial<Etcd3Options>;
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

/**
 * The pool skips an endpoint that is not known to answer while another one is (internal). Not
 * one of etcd3's recoverable errors (the pool would close the skipped endpoint's channels, and
 * with them any stream still open there); {@linkcode poolPolicy} retries it all the same.
 */
class EndpointSkipped extends EtcdError {
  constructor(endpoint: string) {
    super(`etcd: endpoint ${endpoint} skipped: not known to answer`, {
      operation: "connect",
      unavailable: true,
    });
  }
}

/** Whether `e`, an error of an etcd call, says etcd could not be reached. */
export function unreachable(e: unknown): boolean {
  return e instanceof EtcdUnreachableError || e instanceof EndpointSkipped ||
    e instanceof GRPCUnavailableError || (e instanceof Error && isRecoverableError(e));
}

type FaultHandling = NonNullable<IOptions["faultHandling"]>;
type HostPolicy = ReturnType<NonNullable<FaultHandling["host"]>>;
type GlobalPolicy = NonNullable<FaultHandling["global"]>;
type Backoff = NonNullable<FaultHandling["watchBackoff"]>;
type PolicyFn<T> = (context: { signal: AbortSignal }) => PromiseLike<T> | T;

const NEVER_ABORTED = new AbortController().signal;

/** Times the pool runs a request again after a recoverable failure (etcd3's default: 3). */
const RETRIES = 3;

/**
 * Lets a call on `endpoint` through when the endpoint answers; skips it (the pool then tries
 * the next endpoint) when another one answers; when none does, dials them all again (bounded)
 * and fails with {@linkcode EtcdUnreachableError} if still none answers.
 */
async function admit(health: EndpointHealth, endpoint: string): Promise<void> {
  const decide = () => {
    if (health.isUp(endpoint)) return true;
    if (health.anyUp()) throw new EndpointSkipped(endpoint);
    return false;
  };
  if (decide()) return;
  await health.whenKnown(health.dialTimeout);
  if (decide()) return;
  await health.refresh(health.dialTimeout);
  if (decide()) return;
  throw new EtcdUnreachableError(health.describe());
}

/**
 * The per-endpoint policy: {@linkcode admit}, and a failure for want of a connection marks the
 * endpoint down. It replaces etcd3's default circuit breaker, which after three failures
 * refused every call for 5 s: after an etcd restart that delayed the lease keep-alive past
 * short TTLs and the keys expired.
 */
function endpointPolicy(health: EndpointHealth, endpoint: string): HostPolicy {
  const policy = {
    async execute<T>(fn: PolicyFn<T>, signal?: AbortSignal): Promise<T> {
      await admit(health, endpoint);
      try {
        return await fn({ signal: signal ?? NEVER_ABORTED });
      } catch (e) {
        if (e instanceof GRPCUnavailableError) health.reportDown(endpoint, errorText(e));
        throw e;
      }
    },
  };
  return policy as unknown as HostPolicy;
}

/**
 * The pool-wide policy: a first request waits (at most `endpointDialTimeout`) for the first
 * dials, so that even the auth token is fetched from an endpoint that answers; then the call
 * runs, again on another endpoint after a recoverable failure, up to {@linkcode RETRIES} times.
 */
function poolPolicy(health: EndpointHealth): GlobalPolicy {
  const policy = {
    async execute<T>(fn: PolicyFn<T>, signal?: AbortSignal): Promise<T> {
      await health.whenKnown(health.dialTimeout);
      for (let attempt = 0;; attempt++) {
        try {
          return await fn({ signal: signal ?? NEVER_ABORTED });
        } catch (e) {
          const again = e instanceof EndpointSkipped ||
            (e instanceof Error && isRecoverableError(e));
          if (attempt >= RETRIES || !again) throw e;
        }
      }
    },
  };
  return policy as unknown as GlobalPolicy;
}

/**
 * An interceptor that holds a call until its channel is connected: at once when it is, else
 * until it connects, fails (TRANSIENT_FAILURE), or `ms` pass (or the call's deadline, if
 * sooner). A call that could not start ends with UNAVAILABLE without having been sent, so the
 * pool retries it elsewhere and a stream is re-opened (etcd3 does both by itself).
 */
function connectGate(channel: Channel, ms: number): Interceptor {
  return (options, nextCall) => {
    const inner = nextCall(options);
    let waiting = false;
    let end: ((why?: string, code?: status) => void) | undefined;
    const requester = {
      start(
        metadata: Metadata,
        listener: InterceptingListener,
        next: (metadata: Metadata, listener: InterceptingListener) => void,
      ) {
        let state;
        try {
          state = channel.getConnectivityState(true);
        } catch {
          state = connectivityState.SHUTDOWN;
        }
        if (state === connectivityState.READY) return next(metadata, listener);
        const deadline = options.deadline instanceof Date
          ? options.deadline.getTime()
          : typeof options.deadline === "number"
          ? options.deadline
          : Infinity;
        const wait = Math.max(0, Math.min(ms, deadline - Date.now()));
        waiting = true;
        const timer = setTimeout(
          () => end?.(`no connection to etcd within ${Math.round(wait)} ms`),
          wait,
        );
        end = (why, code = status.UNAVAILABLE) => {
          if (!waiting) return;
          waiting = false;
          clearTimeout(timer);
          if (why === undefined) return next(metadata, listener);
          // never started: the status goes to the caller from here
          inner.cancelWithStatus(status.CANCELLED, why);
          listener.onReceiveStatus({ code, details: why, metadata: new Metadata() });
        };
        const watch = (current: connectivityState) => {
          if (!waiting) return;
          if (current === connectivityState.READY) return end!(undefined);
          if (current === connectivityState.TRANSIENT_FAILURE) {
            return end!("connection to etcd failed");
          }
          if (current === connectivityState.SHUTDOWN) return end!("etcd client closed");
          try {
            // no deadline here: the timer above bounds the wait and leaves nothing behind
            channel.watchConnectivityState(current, Infinity, () => {
              let s;
              try {
                s = channel.getConnectivityState(true);
              } catch {
                s = connectivityState.SHUTDOWN;
              }
              watch(s);
            });
          } catch {
            end!("etcd client closed");
          }
        };
        watch(state);
      },
      cancel(next: () => void) {
        if (waiting) end?.("cancelled before the connection was made", status.CANCELLED);
        next();
      },
    };
    return new InterceptingCall(inner, requester);
  };
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

/** The credentials as the gRPC layer wants them (Buffers). */
function tlsCredentials(c: EtcdClientOptions["credentials"]): IOptions["credentials"] {
  if (!c) return undefined;
  allowIpEndpointsOverTls();
  const buf = (v: Uint8Array | string | undefined) =>
    v === undefined ? undefined : typeof v === "string" ? Buffer.from(v, "utf8") : Buffer.from(v);
  return {
    rootCertificate: buf(c.rootCertificate)!,
    privateKey: buf(c.privateKey),
    certChain: buf(c.certChain),
  };
}

/**
 * An etcd3 client that stops its endpoint dials when closed, closes its auth token channels as
 * soon as the token is in, and ends a watch stream still open before closing its channels.
 */
class RpcxEtcd3 extends Etcd3 {
  readonly #health: EndpointHealth;
  constructor(options: IOptions, health: EndpointHealth) {
    super(options);
    this.#health = health;
    closeTokenChannels(this, options.grpcOptions);
  }
  override close(): void {
    this.#health.close();
    endWatchStream(this);
    super.close();
  }
}

/** An `etcd3` client for `servers` with our timeouts, fault handling and keepalive. */
export function createClient(servers: string[], options: EtcdClientOptions): Etcd3 {
  if (servers.length === 0) throw new TypeError("etcd: no servers given");
  if (servers.some((s) => /^https:/i.test(s))) allowIpEndpointsOverTls();
  const timeout = options.dialTimeout ?? 5000;
  const dialTimeout = Math.max(1, Math.min(options.endpointDialTimeout ?? 2000, timeout));
  const health = new EndpointHealth(servers, {
    dialTimeout,
    retryMs: options.endpointRetryMs ?? 5000,
    defaultPort: 2379,
  });
  const opts: IOptions = {
    // read once by the pool (its endpoints, in the order given) and on every auth token
    // fetch, which tries them in this order: endpoints that answer first
    get hosts() {
      return health.ordered();
    },
    auth: options.auth,
    credentials: tlsCredentials(options.credentials),
    defaultCallOptions: (ctx) => ctx.isStream ? {} : { deadline: Date.now() + timeout },
    faultHandling: {
      host: (endpoint) => endpointPolicy(health, endpoint),
      global: poolPolicy(health),
      watchBackoff: watchManagerBackoff as unknown as Backoff,
    },
    grpcOptions: {
      "grpc.initial_reconnect_backoff_ms": 100,
      "grpc.max_reconnect_backoff_ms": 1000,
      "grpc.keepalive_time_ms": 10_000,
      "grpc.keepalive_timeout_ms": 5_000,
      // every call (requests and streams) waits for its endpoint's connection, bounded
      callInvocationTransformer: (
        props: { channel: Channel; callOptions: { interceptors?: Interceptor[] } },
      ) => ({
        ...props,
        callOptions: {
          ...props.callOptions,
          interceptors: [
            ...(props.callOptions.interceptors ?? []),
            connectGate(props.channel, dialTimeout),
          ],
        },
      }),
    },
    ...options.etcdOptions,
  };
  return new RpcxEtcd3(opts, health);
}

/** The message of an error, or the value as text. */
export function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

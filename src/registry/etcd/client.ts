/**
 * The etcd client as both halves use it: the `etcd3` package's client made with rpcx's
 * settings (per-request deadline, no circuit breaker, short reconnects, gRPC keepalive).
 *
 * @module
 */
import { Etcd3, type IOptions } from "etcd3";
import { Buffer } from "node:buffer";
import { allowIpEndpointsOverTls } from "../_tls_sni.ts";

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

/** An `etcd3` client for `servers` with our timeouts, fault handling and keepalive. */
export function createClient(servers: string[], options: EtcdClientOptions): Etcd3 {
  if (servers.length === 0) throw new Error("etcd: no servers given");
  if (servers.some((s) => /^https:/i.test(s))) allowIpEndpointsOverTls();
  const timeout = options.dialTimeout ?? 5000;
  const opts: IOptions = {
    hosts: servers.slice(),
    auth: options.auth,
    credentials: tlsCredentials(options.credentials),
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
export async function withTimeout<T>(p: Promise<T>, ms: number): Promise<T | undefined> {
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

/** The message of an error, or the value as text. */
export function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/**
 * Prometheus metrics per service and method, on `prom-client`: calls, errors, calls in flight
 * and a latency histogram, for servers and for clients, and an HTTP endpoint serving them in
 * the Prometheus text format. Go: `serverplugin.NewMetricsPlugin` (rcrowley/go-metrics), here
 * in Prometheus terms.
 *
 * @example
 * ```ts
 * import { Server } from "@rpcx/core";
 * import { serveMetrics, serverMetrics } from "@rpcx/core/plugins/metrics";
 * const metrics = serverMetrics();
 * const server = new Server({ plugins: [metrics] });
 * const endpoint = await serveMetrics(metrics.registry, { hostname: "127.0.0.1", port: 0 });
 * console.log(`scrape http://${endpoint.addr}/metrics`);
 * await endpoint.shutdown();
 * await server.close();
 * ```
 *
 * @module
 */
import { Counter, Gauge, Histogram, Registry } from "prom-client";
import type { ClientCall, ClientPlugin } from "../client/plugin.ts";
import { MessageStatusType } from "../protocol/constants.ts";
import type { Message } from "../protocol/message.ts";
import type { CallContext } from "../server/context.ts";
import type { ServerPlugin } from "../server/plugin.ts";
import { serveFetch } from "../_internal/serve_fetch.ts";

/**
 * What the plugins need of a `prom-client` `Registry` (pass a real one: `new Registry()` from
 * `prom-client`, or another plugin's `registry`), and what {@linkcode serveMetrics} serves.
 *
 * @example
 * ```ts
 * import { serverMetrics } from "@rpcx/core/plugins/metrics";
 * const { registry } = serverMetrics();
 * console.log(registry.contentType); // text/plain; version=0.0.4; charset=utf-8
 * console.log((await registry.metrics()).includes("rpcx_server_calls_total")); // true
 * ```
 */
export interface MetricsRegistry {
  /** The registry's metrics in the Prometheus text format. */
  metrics(): Promise<string>;
  /** The HTTP content type of that text. */
  readonly contentType: string;
}

/**
 * Options of {@linkcode serverMetrics} and {@linkcode clientMetrics}.
 *
 * @example
 * ```ts
 * import type { MetricsOptions } from "@rpcx/core/plugins/metrics";
 * const o: MetricsOptions = { prefix: "myapp_rpcx_", buckets: [0.001, 0.01, 0.1, 1] };
 * console.log(o.prefix);
 * ```
 */
export interface MetricsOptions {
  /**
   * The `prom-client` `Registry` the metrics are registered in (default: a new one). Give the
   * same one to server and client plugins to serve both on one endpoint.
   */
  registry?: MetricsRegistry;
  /** Prefix of every metric name (default `rpcx_`). */
  prefix?: string;
  /** Latency histogram buckets in seconds (default 0.0005 … 10). */
  buckets?: number[];
  /**
   * Most service/method pairs given their own series (default 1000); calls of any further
   * pair (e.g. a peer calling made-up names) are counted under `service="_other",
   * method="_other"`, so a peer cannot grow the registry without bound.
   */
  maxSeries?: number;
}

/** Default latency buckets, seconds. */
export const DEFAULT_LATENCY_BUCKETS: readonly number[] = [
  0.0005,
  0.001,
  0.0025,
  0.005,
  0.01,
  0.025,
  0.05,
  0.1,
  0.25,
  0.5,
  1,
  2.5,
  5,
  10,
];

const LABELS = ["service", "method"] as const;

interface Instruments {
  readonly registry: MetricsRegistry;
  readonly calls: Counter<"service" | "method">;
  readonly errors: Counter<"service" | "method">;
  readonly inFlight: Gauge<"service" | "method">;
  readonly duration: Histogram<"service" | "method">;
}

function instruments(side: "server" | "client", options: MetricsOptions): Instruments {
  const registry = (options.registry ?? new Registry()) as Registry;
  const name = (n: string) => `${options.prefix ?? "rpcx_"}${side}_${n}`;
  const what = side === "server" ? "served" : "made";
  return {
    registry,
    calls: new Counter({
      name: name("calls_total"),
      help: `Calls ${what}, by service and method.`,
      labelNames: LABELS,
      registers: [registry],
    }),
    errors: new Counter({
      name: name("errors_total"),
      help: `Calls ${what} that ended with an error, by service and method.`,
      labelNames: LABELS,
      registers: [registry],
    }),
    inFlight: new Gauge({
      name: name("in_flight"),
      help: `Calls ${what} that have not ended yet, by service and method.`,
      labelNames: LABELS,
      registers: [registry],
    }),
    duration: new Histogram({
      name: name("call_duration_seconds"),
      help: `Duration of calls ${what} in seconds, by service and method.`,
      labelNames: LABELS,
      buckets: [...(options.buckets ?? DEFAULT_LATENCY_BUCKETS)],
      registers: [registry],
    }),
  };
}

/** One service/method's instruments, bound to its labels once (no label hashing per call). */
interface Series {
  readonly calls: { inc(): void };
  readonly errors: { inc(): void };
  readonly inFlight: { inc(): void; dec(): void };
  readonly duration: { observe(v: number): void };
}

interface Started {
  readonly series: Series;
  readonly at: number;
  readonly oneway: boolean;
}

function seriesOf(
  m: Instruments,
  cache: Map<string, Series>,
  max: number,
  service: string,
  method: string,
): Series {
  let key = `${service}\u0000${method}`;
  let s = cache.get(key);
  if (!s && cache.size >= max) {
    service = method = "_other";
    key = "\u0000";
    s = cache.get(key);
  }
  if (!s) {
    s = {
      calls: m.calls.labels(service, method),
      errors: m.errors.labels(service, method),
      inFlight: m.inFlight.labels(service, method),
      duration: m.duration.labels(service, method),
    };
    cache.set(key, s);
  }
  return s;
}

function starter(m: Instruments, options: MetricsOptions) {
  const cache = new Map<string, Series>();
  const max = options.maxSeries ?? 1000;
  return (service: string, method: string, oneway: boolean): Started => {
    const series = seriesOf(m, cache, max, service, method);
    series.calls.inc();
    series.inFlight.inc();
    return { series, at: performance.now(), oneway };
  };
}

function end(s: Started, failed: boolean): void {
  s.series.inFlight.dec();
  if (failed) s.series.errors.inc();
  s.series.duration.observe((performance.now() - s.at) / 1000);
}

/**
 * A server plugin counting, per service and method, calls (`rpcx_server_calls_total`), calls
 * that failed (`rpcx_server_errors_total`: error replies), calls running
 * (`rpcx_server_in_flight`) and their duration from dispatch to the response being written
 * (`rpcx_server_call_duration_seconds`; oneway calls: until the method returned). `registry`
 * holds them; serve it with {@linkcode serveMetrics}. (The registry plugins already advertise
 * the server's `calls` rate from the server's own counters.)
 *
 * @example
 * ```ts
 * import { Server } from "@rpcx/core";
 * import { serverMetrics } from "@rpcx/core/plugins/metrics";
 * const metrics = serverMetrics({ prefix: "shop_" });
 * new Server().use(metrics);
 * console.log(await metrics.registry.metrics());
 * ```
 */
export function serverMetrics(
  options: MetricsOptions = {},
): ServerPlugin & { readonly registry: MetricsRegistry } {
  const m = instruments("server", options);
  const start = starter(m, options);
  const byReq = new WeakMap<Message, Started>();
  const byCtx = new WeakMap<CallContext, Started>();
  return {
    name: "metrics",
    registry: m.registry,
    preHandleRequest(ctx, req) {
      const s = start(req.servicePath, req.serviceMethod, req.oneway);
      byReq.set(req, s);
      byCtx.set(ctx, s);
    },
    postCall(ctx, _args, reply, error) {
      const s = byCtx.get(ctx);
      if (s?.oneway) {
        byCtx.delete(ctx);
        end(s, error !== undefined);
      }
      return reply;
    },
    postWriteResponse(req, res) {
      const s = byReq.get(req);
      if (!s) return;
      byReq.delete(req);
      end(s, res.status === MessageStatusType.Error);
    },
  };
}

/**
 * A client plugin counting, per service and method, calls made (each try of an XClient:
 * `rpcx_client_calls_total`), failed ones (`rpcx_client_errors_total`), calls waiting for
 * their reply (`rpcx_client_in_flight`) and their duration (`rpcx_client_call_duration_seconds`).
 * Give the server's registry in `options.registry` to expose both on one endpoint.
 *
 * @example
 * ```ts
 * import { Client } from "@rpcx/core";
 * import { clientMetrics } from "@rpcx/core/plugins/metrics";
 * const metrics = clientMetrics();
 * const client = new Client("tcp@127.0.0.1:8972", { plugins: [metrics] });
 * await client.close();
 * ```
 */
export function clientMetrics(
  options: MetricsOptions = {},
): ClientPlugin & { readonly registry: MetricsRegistry } {
  const m = instruments("client", options);
  const start = starter(m, options);
  const calls = new WeakMap<ClientCall, Started>();
  return {
    name: "metrics",
    registry: m.registry,
    preCall(call) {
      calls.set(call, start(call.servicePath, call.serviceMethod, call.oneway));
    },
    postCall(call, _reply, error) {
      const s = calls.get(call);
      if (!s) return;
      calls.delete(call);
      end(s, error !== undefined);
    },
  };
}

/**
 * Options of {@linkcode serveMetrics}.
 *
 * @example
 * ```ts
 * import type { ServeMetricsOptions } from "@rpcx/core/plugins/metrics";
 * const o: ServeMetricsOptions = { hostname: "127.0.0.1", port: 9100, path: "/metrics" };
 * console.log(o.port);
 * ```
 */
export interface ServeMetricsOptions {
  /** Interface to listen on (default `127.0.0.1`). */
  hostname?: string;
  /** Port (default 9100; 0 picks a free one). */
  port?: number;
  /** Path served (default `/metrics`); other paths get 404. */
  path?: string;
}

/**
 * A running metrics endpoint.
 *
 * @example
 * ```ts
 * import { type MetricsEndpoint, serveMetrics, serverMetrics } from "@rpcx/core/plugins/metrics";
 * const endpoint: MetricsEndpoint = await serveMetrics(serverMetrics().registry, { port: 0 });
 * console.log(endpoint.addr); // 127.0.0.1:…
 * const res = await fetch(`http://${endpoint.addr}/metrics`);
 * console.log(res.status); // 200
 * await res.body?.cancel();
 * await endpoint.shutdown();
 * ```
 */
export interface MetricsEndpoint {
  /** `host:port` it listens on. */
  readonly addr: string;
  /** Stops serving. */
  shutdown(): Promise<void>;
}

/**
 * Serves `registry` over HTTP in the Prometheus text format (`GET /metrics`; `HEAD` too), with
 * `node:http`, the same on Deno, Node and Bun. Resolves once it listens (so `addr` holds the
 * port the OS picked for port 0). `shutdown()` stops it: a scrape in progress gets up to 5 s to
 * finish, then its connection is closed.
 *
 * @example
 * ```ts
 * import { serveMetrics, serverMetrics } from "@rpcx/core/plugins/metrics";
 * const endpoint = await serveMetrics(serverMetrics().registry, { port: 0 });
 * const res = await fetch(`http://${endpoint.addr}/metrics`);
 * console.log(res.headers.get("content-type"));
 * await res.body?.cancel();
 * await endpoint.shutdown();
 * ```
 *
 * @throws (rejects with) the listen error as `node:http` reports it, an `Error` whose `code` is
 * `EADDRINUSE` (the port is taken), `EADDRNOTAVAIL` (not an address of this host; `EINVAL` on
 * Deno), `EACCES`, `ENOTFOUND` (a host name that does not resolve), ... Under Deno,
 * `--allow-net` is needed.
 */
export async function serveMetrics(
  registry: MetricsRegistry,
  options: ServeMetricsOptions = {},
): Promise<MetricsEndpoint> {
  const path = options.path ?? "/metrics";
  const server = await serveFetch({
    hostname: options.hostname ?? "127.0.0.1",
    port: options.port ?? 9100,
    name: "rpcx metrics",
  }, async (req) => {
    if (new URL(req.url).pathname !== path || (req.method !== "GET" && req.method !== "HEAD")) {
      return new Response("not found\n", { status: 404 });
    }
    return new Response(await registry.metrics(), {
      headers: { "content-type": registry.contentType },
    });
  });
  return { addr: server.addr, shutdown: () => server.shutdown() };
}

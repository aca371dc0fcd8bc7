/**
 * OpenTelemetry tracing for clients and servers, on `@opentelemetry/api`, compatible with
 * rpcx-plugins' Go `otel` plugins: the same span names (`rpcx.client.<service>.<method>`,
 * `rpcx.service.<service>.<method>`), attributes and events, and the W3C `traceparent`,
 * `tracestate` and `baggage` carried as request metadata keys — so one trace runs through Go
 * and Deno clients and servers alike.
 *
 * Bring your own OpenTelemetry SDK (e.g. `@opentelemetry/sdk-trace-base`) and propagator; the
 * plugins only use the API.
 *
 * @example
 * ```ts
 * import { Client, Server } from "@rpcx/core";
 * import { clientTracing, serverTracing } from "@rpcx/core/plugins/tracing";
 *
 * const server = new Server({ plugins: [serverTracing()] });
 * server.register({ Hello: (name: string) => `hi ${name}` }, "Greeter");
 * const addr = await server.serve("tcp", "127.0.0.1:0");
 * const client = new Client(`tcp@${addr}`, { plugins: [clientTracing()] });
 * console.log(await client.call("Greeter", "Hello", "otel"));
 * await client.close();
 * await server.close();
 * ```
 *
 * @module
 */
import {
  type Attributes,
  type Context,
  context,
  defaultTextMapGetter,
  defaultTextMapSetter,
  propagation,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  type TextMapPropagator,
  trace,
  type Tracer,
} from "@opentelemetry/api";
import type { ClientCall, ClientPlugin } from "../client/plugin.ts";
import type { CallContext } from "../server/context.ts";
import type { ServerPlugin } from "../server/plugin.ts";
import { logger } from "../log/logger.ts";
import { MessageStatusType, MetadataKeys } from "../protocol/constants.ts";
import type { Message, Metadata } from "../protocol/message.ts";
import { TRACE_METADATA_KEYS } from "../server/call_scope.ts";

/**
 * What the plugins call on a tracer: `@opentelemetry/api`'s `Tracer` fits (its own types are
 * left out here so this module's documentation stands alone).
 *
 * @example
 * ```ts
 * import {
 *   BasicTracerProvider,
 *   InMemorySpanExporter,
 *   SimpleSpanProcessor,
 * } from "@opentelemetry/sdk-trace-base";
 * import { Client, Server } from "@rpcx/core";
 * import { clientTracing, serverTracing, type TracerLike } from "@rpcx/core/plugins/tracing";
 * const exporter = new InMemorySpanExporter();
 * const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
 * const tracer: TracerLike = provider.getTracer("my-service");
 * const server = new Server({ plugins: [serverTracing({ tracer })] });
 * await server.register({ Mul: (a: { A: number; B: number }) => ({ C: a.A * a.B }) }, "Arith");
 * const addr = await server.serve("tcp", "127.0.0.1:0");
 * const client = new Client(`tcp@${addr}`, { plugins: [clientTracing({ tracer })] });
 * await client.call("Arith", "Mul", { A: 2, B: 3 });
 * console.log(exporter.getFinishedSpans().map((s) => s.name).sort());
 * // [ "rpcx.client.Arith.Mul", "rpcx.service.Arith.Mul" ]
 * await client.close();
 * await server.close();
 * ```
 */
export interface TracerLike {
  /** Starts a span (`Tracer.startSpan(name, options, context)`). */
  startSpan(name: string, options?: object, context?: object): object;
}

/**
 * What the plugins call on a propagator: `@opentelemetry/api`'s `TextMapPropagator` (or its
 * `propagation` API) fits.
 *
 * @example
 * ```ts
 * import { W3CTraceContextPropagator } from "@opentelemetry/core";
 * import { BasicTracerProvider } from "@opentelemetry/sdk-trace-base";
 * import { type CallContext, Client, Server } from "@rpcx/core";
 * import { clientTracing, type PropagatorLike } from "@rpcx/core/plugins/tracing";
 * // The W3C trace context goes in the request metadata (`traceparent`), as Go's plugin reads it.
 * const propagator: PropagatorLike = new W3CTraceContextPropagator();
 * const tracer = new BasicTracerProvider().getTracer("my-service");
 * const server = new Server();
 * await server.register({ Trace: (_: unknown, ctx: CallContext) => ctx.metadata.traceparent }, "T");
 * const client = new Client(`tcp@${await server.serve("tcp", "127.0.0.1:0")}`, {
 *   plugins: [clientTracing({ tracer, propagator })],
 * });
 * console.log(await client.call("T", "Trace", null)); // "00-<trace id>-<span id>-01"
 * await client.close();
 * await server.close();
 * ```
 */
export interface PropagatorLike {
  /** Writes the context's trace headers into `carrier`. */
  inject(context: object, carrier: Record<string, string>, setter?: object): void;
  /** Reads trace headers from `carrier` into a context derived from `context`. */
  extract(context: object, carrier: Record<string, string>, getter?: object): object;
}

/**
 * Options of {@linkcode clientTracing} and {@linkcode serverTracing}.
 *
 * @example
 * ```ts
 * import { trace } from "@opentelemetry/api";
 * import type { TracingOptions } from "@rpcx/core/plugins/tracing";
 * const o: TracingOptions = { tracer: trace.getTracer("my-service"), recordMessages: false };
 * console.log(o.recordMessages);
 * ```
 */
export interface TracingOptions {
  /**
   * An OpenTelemetry `Tracer` (`@opentelemetry/api`) the spans come from (default
   * `trace.getTracer("@rpcx/core")`, the global tracer provider's).
   */
  tracer?: TracerLike;
  /**
   * An OpenTelemetry `TextMapPropagator` that injects and extracts the trace context to and
   * from request metadata (default: the globally registered one, `propagation` of
   * `@opentelemetry/api`; use a W3C trace-context + baggage propagator to interoperate with Go).
   */
  propagator?: PropagatorLike;
  /**
   * Put the args, replies and request metadata (as JSON, cut at 4096 characters) on the span
   * events, as Go's plugin does (default false: they may hold secrets, and writing them
   * roughly doubles the cost of a span). The events themselves are always recorded.
   */
  recordMessages?: boolean;
}

/**
 * The metadata keys W3C propagation uses (what {@linkcode traceMetadata} copies, and what a
 * method's own calls take from the call it serves without being told).
 */
export { TRACE_METADATA_KEYS };

const SYSTEM = "rpcx";
const MAX_MESSAGE = 4096;

function describe(v: unknown): string {
  let text: string;
  try {
    text = JSON.stringify(v, (_, x) =>
      typeof x === "bigint"
        ? x.toString()
        : x instanceof Uint8Array
        ? `<${x.byteLength} bytes>`
        : x) ?? String(v);
  } catch {
    text = String(v);
  }
  return text.length > MAX_MESSAGE ? `${text.slice(0, MAX_MESSAGE)}…` : text;
}

function rpcAttributes(service: string, method: string): Attributes {
  return { "rpc.system": SYSTEM, "rpc.service": service, "rpc.method": method };
}

function setStatus(span: Span, error: unknown, errorText?: string): void {
  if (error === undefined && errorText === undefined) {
    span.setStatus({ code: SpanStatusCode.OK, message: "success" });
    return;
  }
  const message = errorText ?? (error instanceof Error ? error.message : String(error));
  span.setStatus({ code: SpanStatusCode.ERROR, message });
  if (error instanceof Error) span.recordException(error);
}

function warn(hook: string, e: unknown): void {
  logger().warn("rpcx tracing: hook failed", {
    hook,
    error: e instanceof Error ? e.message : String(e),
  });
}

function tools(options: TracingOptions) {
  return {
    // A TracerLike/PropagatorLike is an @opentelemetry/api Tracer/TextMapPropagator.
    tracer: (options.tracer ?? trace.getTracer("@rpcx/core")) as Tracer,
    propagator: (options.propagator ?? propagation) as Pick<
      TextMapPropagator,
      "inject" | "extract"
    >,
    record: options.recordMessages ?? false,
  };
}

/**
 * A client plugin that wraps each call (each try of an XClient) in a span named
 * `rpcx.client.<service>.<method>` (kind CLIENT; attributes `rpc.system=rpcx`, `rpc.service`,
 * `rpc.method`; events `PreCall` and `PostCall`, with the args and reply as Go's plugin
 * records them when `recordMessages` is on) and sends its context in the request metadata (`traceparent`, `tracestate`,
 * `baggage`). The parent is the trace context found in the call's metadata — so a server
 * method that forwards its request metadata (see {@linkcode traceMetadata}) continues the
 * caller's trace, as Go rpcx does with `ctx` — else the active OpenTelemetry context. The span
 * ends with status OK, or ERROR and the error's text. Go: rpcx-plugins `client/otel`
 * `NewOpenTelemetryPlugin`.
 *
 * @example
 * ```ts
 * import { XClient, FailMode, SelectMode, Peer2PeerDiscovery } from "@rpcx/core";
 * import { clientTracing } from "@rpcx/core/plugins/tracing";
 * const x = new XClient("Arith", FailMode.Failfast, SelectMode.RandomSelect,
 *   new Peer2PeerDiscovery("tcp@127.0.0.1:8972"), { plugins: [clientTracing()] });
 * await x.close();
 * ```
 */
export function clientTracing(options: TracingOptions = {}): ClientPlugin {
  const { tracer, propagator, record } = tools(options);
  const spans = new WeakMap<ClientCall, Span>();
  return {
    name: "tracing",
    preCall(call) {
      // Tracing must never refuse a call: a failing tracer or propagator is logged.
      try {
        const parent: Context = propagator.extract(
          context.active(),
          call.metadata,
          defaultTextMapGetter,
        );
        const span = tracer.startSpan(`rpcx.client.${call.servicePath}.${call.serviceMethod}`, {
          kind: SpanKind.CLIENT,
          attributes: rpcAttributes(call.servicePath, call.serviceMethod),
        }, parent);
        span.addEvent(
          "PreCall",
          record ? { "rpc.client.request.message": describe(call.args) } : undefined,
        );
        spans.set(call, span);
        propagator.inject(trace.setSpan(parent, span), call.metadata, defaultTextMapSetter);
      } catch (e) {
        warn("preCall", e);
      }
    },
    postCall(call, reply, error) {
      const span = spans.get(call);
      if (!span) return;
      spans.delete(call);
      span.addEvent(
        "PostCall",
        record ? { "rpc.client.response.message": describe(reply) } : undefined,
      );
      setStatus(span, error);
      span.end();
    },
  };
}

interface ServerSpan {
  readonly span: Span;
  readonly oneway: boolean;
}

/**
 * A server plugin that wraps each call in a span named `rpcx.service.<service>.<method>` (kind
 * SERVER, child of the trace context in the request metadata; attributes as the client's;
 * events `rpcx.pre.handle.request` and `rpcx.post.write.response` as Go's plugin records them).
 * Like Go's plugin it writes the server span's context back into the request metadata, so a
 * method that calls onward with {@linkcode traceMetadata}`(ctx)` (or all of `ctx.metadata`)
 * makes its calls children of this span. The span ends when the response is written (oneway
 * calls: when the method returns), with status OK or ERROR and the error text sent. Go:
 * rpcx-plugins `server/otel` `NewOpenTelemetryPlugin`.
 *
 * @example
 * ```ts
 * import { Server } from "@rpcx/core";
 * import { serverTracing } from "@rpcx/core/plugins/tracing";
 * const server = new Server();
 * server.use(serverTracing());
 * ```
 */
export function serverTracing(options: TracingOptions = {}): ServerPlugin {
  const { tracer, propagator, record } = tools(options);
  const byReq = new WeakMap<Message, ServerSpan>();
  const byCtx = new WeakMap<CallContext, ServerSpan>();
  return {
    name: "tracing",
    preHandleRequest(ctx, req) {
      const parent = propagator.extract(ROOT_CONTEXT, req.metadata, defaultTextMapGetter);
      const name = `rpcx.service.${req.servicePath}.${req.serviceMethod}`;
      const span = tracer.startSpan(name, {
        kind: SpanKind.SERVER,
        attributes: rpcAttributes(req.servicePath, req.serviceMethod),
      }, parent);
      span.addEvent(
        "rpcx.pre.handle.request",
        record
          ? {
            "rpcx.pre.handle.request.path": name,
            "rpcx.pre.handle.request.metadata": describe(req.metadata),
          }
          : { "rpcx.pre.handle.request.path": name },
      );
      const entry = { span, oneway: req.oneway };
      byReq.set(req, entry);
      byCtx.set(ctx, entry);
      propagator.inject(trace.setSpan(parent, span), req.metadata, defaultTextMapSetter);
    },
    postCall(ctx, _args, reply, error) {
      const entry = byCtx.get(ctx);
      if (entry?.oneway) {
        byCtx.delete(ctx);
        try {
          setStatus(entry.span, error);
          entry.span.end();
        } catch (e) {
          warn("postCall", e); // a throw here would fail the call
        }
      }
      return reply;
    },
    postWriteResponse(req, res) {
      const entry = byReq.get(req);
      if (!entry) return;
      byReq.delete(req);
      entry.span.addEvent(
        "rpcx.post.write.response",
        record ? { "rpcx.post.write.response.metadata": describe(res.metadata) } : undefined,
      );
      const failed = res.status === MessageStatusType.Error;
      setStatus(
        entry.span,
        undefined,
        failed ? res.metadata[MetadataKeys.ServiceError] ?? "" : undefined,
      );
      entry.span.end();
    },
  };
}

/**
 * The trace metadata of a call being served (`traceparent`, `tracestate`, `baggage`), to pass as
 * `metadata` of the calls a method makes, so they join the caller's trace as children of the
 * server span. Go rpcx does this by passing `ctx` on. A method's own calls carry it without
 * this (they take it from the call being served, see `CallOptions.parent`); this is for calls
 * made with `parent: null` or outside the method's async context.
 *
 * @example
 * ```ts
 * import { type CallContext, Client, Server } from "@rpcx/core";
 * import { clientTracing, serverTracing, traceMetadata } from "@rpcx/core/plugins/tracing";
 * const arith = new Server({ plugins: [serverTracing()] });
 * await arith.register({ Mul: (a: { A: number; B: number }) => ({ C: a.A * a.B }) }, "Arith");
 * const backend = new Client(`tcp@${await arith.serve("tcp", "127.0.0.1:0")}`, {
 *   plugins: [clientTracing()],
 * });
 * class Front {
 *   // The backend call's span is a child of this call's server span.
 *   Mul(args: { A: number; B: number }, ctx: CallContext) {
 *     return backend.call("Arith", "Mul", args, { metadata: traceMetadata(ctx) });
 *   }
 * }
 * const front = new Server({ plugins: [serverTracing()] });
 * await front.register(new Front());
 * const client = new Client(`tcp@${await front.serve("tcp", "127.0.0.1:0")}`, {
 *   plugins: [clientTracing()],
 * });
 * console.log(await client.call("Front", "Mul", { A: 6, B: 7 })); // { C: 42 }
 * await client.close();
 * await backend.close();
 * await front.close();
 * await arith.close();
 * ```
 */
export function traceMetadata(ctx: Pick<CallContext, "metadata">): Metadata {
  const out: Metadata = {};
  for (const k of TRACE_METADATA_KEYS) {
    const v = ctx.metadata[k];
    if (v !== undefined) out[k] = v;
  }
  return out;
}

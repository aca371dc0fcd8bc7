// Plugin sets for bench/e2e.ts and bench/e2e_server.ts (`--plugins none|noop|tracing|metrics`,
// comma-separated): the same names on both sides.
//   noop     one plugin with every hook, each doing nothing (the cost of the hook points)
//   tracing  clientTracing/serverTracing on the OpenTelemetry SDK (every span sampled, batched to
//            an exporter that drops them) with the W3C trace-context + baggage propagator
//   metrics  clientMetrics/serverMetrics on prom-client
import type { ClientPlugin, ServerPlugin } from "@rpcx/core/extend";
import { clientTracing, serverTracing, type TracingOptions } from "@rpcx/core/plugins/tracing";
import { clientMetrics, serverMetrics } from "@rpcx/core/plugins/metrics";
import {
  CompositePropagator,
  W3CBaggagePropagator,
  W3CTraceContextPropagator,
} from "@opentelemetry/core";
import { BasicTracerProvider, BatchSpanProcessor } from "@opentelemetry/sdk-trace-base";

function tracing(): TracingOptions {
  const drop = {
    export: (_: unknown, done: (r: { code: number }) => void) => done({ code: 0 }),
    shutdown: () => Promise.resolve(),
  };
  const provider = new BasicTracerProvider({ spanProcessors: [new BatchSpanProcessor(drop)] });
  return {
    tracer: provider.getTracer("bench"),
    propagator: new CompositePropagator({
      propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()],
    }),
  };
}

function names(spec: string): string[] {
  const list = spec.split(",").filter((n) => n !== "" && n !== "none");
  for (const n of list) {
    if (!["noop", "tracing", "metrics"].includes(n)) throw new Error(`unknown plugin set ${n}`);
  }
  return list;
}

/** Client plugins for `spec`. */
export function benchClientPlugins(spec: string): ClientPlugin[] {
  return names(spec).map((n) =>
    n === "tracing" ? clientTracing(tracing()) : n === "metrics" ? clientMetrics() : {
      preCall() {},
      postCall() {},
      beforeEncode() {},
      afterDecode() {},
      connCreated() {},
      clientConnected() {},
      connClose() {},
    }
  );
}

/** Server plugins for `spec`. */
export function benchServerPlugins(spec: string): ServerPlugin[] {
  return names(spec).map((n) =>
    n === "tracing" ? serverTracing(tracing()) : n === "metrics" ? serverMetrics() : {
      postReadRequest() {},
      preHandleRequest() {},
      preCall: (_ctx, args) => args,
      postCall: (_ctx, _args, reply) => reply,
      preWriteResponse() {},
      postWriteResponse() {},
    }
  );
}

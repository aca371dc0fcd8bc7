/**
 * OpenTelemetry SDK set-up shared by the tracing examples: a tracer whose finished spans are
 * printed (`span <name> trace <trace id> id <span id> parent <parent id>`) and kept, and the
 * W3C trace-context + baggage propagator Go's rpcx-plugins use.
 *
 * @module
 */
import {
  CompositePropagator,
  W3CBaggagePropagator,
  W3CTraceContextPropagator,
} from "@opentelemetry/core";
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from "@opentelemetry/sdk-trace-base";
import type { TracingOptions } from "@rpcx/core/plugins/tracing";

/** Spans kept in memory, and tracing options printing each finished span. */
export function exampleTracing(print = true): {
  options: TracingOptions;
  finished: () => ReadableSpan[];
} {
  const exporter = new InMemorySpanExporter();
  const printer = {
    onStart() {},
    onEnd(s: ReadableSpan) {
      if (!print) return;
      const c = s.spanContext();
      console.log(
        `span ${s.name} trace ${c.traceId} id ${c.spanId} parent ${
          s.parentSpanContext?.spanId ?? "-"
        }`,
      );
    },
    forceFlush: () => Promise.resolve(),
    shutdown: () => Promise.resolve(),
  };
  const provider = new BasicTracerProvider({
    spanProcessors: [new SimpleSpanProcessor(exporter), printer],
  });
  const propagator = new CompositePropagator({
    propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()],
  });
  return {
    options: { tracer: provider.getTracer("rpcx-example"), propagator },
    finished: () => exporter.getFinishedSpans(),
  };
}

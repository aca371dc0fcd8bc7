// Tracing plugins (src/plugins/tracing.ts) with the OpenTelemetry SDK's in-memory exporter: one
// trace across Deno hops, and across Go client → Deno server → Deno client → Go server with
// rpcx-plugins' Go otel plugins (the Go peer's `otel` subcommand, tests/interop/go/otel.go).
import assert from "node:assert/strict";
import { SpanKind, SpanStatusCode } from "@opentelemetry/api";
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
import { type CallContext, Client, type LogFields, Server, setLogger } from "@rpcx/core";
import {
  clientTracing,
  serverTracing,
  traceMetadata,
  type TracingOptions,
} from "@rpcx/core/plugins/tracing";
import { GO_PEER, needGoPeer } from "./support/go_peer.ts";
import { runBounded } from "./support/child.ts";
import { bounded, waitFor } from "./support/env.ts";

function otel(): { options: TracingOptions; exporter: InMemorySpanExporter } {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({
    spanProcessors: [new SimpleSpanProcessor(exporter)],
  });
  const propagator = new CompositePropagator({
    propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()],
  });
  return {
    options: { tracer: provider.getTracer("test"), propagator, recordMessages: true },
    exporter,
  };
}

/** A span as both sides are compared: ids, parent, name, kind. */
interface Hop {
  name: string;
  traceId: string;
  spanId: string;
  parentId: string;
  kind: string;
  status: string;
  events: { name: string; attributes: Record<string, unknown> }[];
  attributes: Record<string, unknown>;
}

function denoHop(s: ReadableSpan): Hop {
  return {
    name: s.name,
    traceId: s.spanContext().traceId,
    spanId: s.spanContext().spanId,
    parentId: s.parentSpanContext?.spanId ?? "",
    kind: SpanKind[s.kind].toLowerCase(),
    status: ["unset", "ok", "error"][s.status.code],
    events: s.events.map((e) => ({ name: e.name, attributes: { ...e.attributes } })),
    attributes: { ...s.attributes },
  };
}

function goHops(stdout: string): Hop[] {
  return stdout.split("\n").filter((l) => l.startsWith("SPAN ")).map((l) => {
    const s = JSON.parse(l.slice(5));
    return {
      name: s.name,
      traceId: s.trace_id,
      spanId: s.span_id,
      parentId: s.parent_span_id,
      kind: s.kind,
      status: s.status.toLowerCase(),
      events: (s.events ?? []).map((e: { name: string; attributes: Record<string, string> }) => ({
        name: e.name,
        attributes: e.attributes,
      })),
      attributes: s.attributes,
    };
  });
}

/** Arith whose Mul asks another server, passing the trace on. */
class Front {
  constructor(readonly backend: Client) {}
  Mul(args: { A: number; B: number }, ctx: CallContext): Promise<unknown> {
    return this.backend.call("Arith", "Mul", args, { metadata: traceMetadata(ctx) });
  }
  Fail(_args: unknown, ctx: CallContext): Promise<unknown> {
    return this.backend.call("Arith", "Nope", {}, { metadata: traceMetadata(ctx) });
  }
}

/**
 * Runs `fn` with the chain the tracing tests call through, every hop traced with `options`:
 * `outer` (a Client) → a server of Front → a Client → a server whose Arith.Mul calls `onMul`
 * with its context and multiplies. Everything is closed after.
 */
async function withChain(
  options: TracingOptions,
  onMul: (ctx: CallContext) => void,
  fn: (outer: Client) => Promise<void>,
): Promise<void> {
  const back = new Server({ plugins: [serverTracing(options)] });
  await back.register({
    Mul(args: { A: number; B: number }, ctx: CallContext) {
      onMul(ctx);
      return { C: args.A * args.B };
    },
  }, "Arith");
  const backAddr = await back.serve("tcp", "127.0.0.1:0");
  const inner = new Client(`tcp@${backAddr}`, { plugins: [clientTracing(options)] });
  const front = new Server({ plugins: [serverTracing(options)] });
  await front.register(new Front(inner), "Front");
  const frontAddr = await front.serve("tcp", "127.0.0.1:0");
  const outer = new Client(`tcp@${frontAddr}`, { plugins: [clientTracing(options)] });
  try {
    await fn(outer);
  } finally {
    await outer.close();
    await inner.close();
    await front.close();
    await back.close();
  }
}

Deno.test("tracing: one trace over Deno client → Deno server → Deno client → Deno server, with baggage and Go's span names", async () => {
  const { options, exporter } = otel();
  let backBaggage: string | undefined;
  const onMul = (ctx: CallContext) => backBaggage = ctx.metadata.baggage;
  await withChain(options, onMul, async (outer) => {
    const reply = await outer.call("Front", "Mul", { A: 6, B: 7 }, {
      metadata: { baggage: "tenant=acme" },
    });
    assert.deepEqual(reply, { C: 42 });
    assert.equal(backBaggage, "tenant=acme");
    const hops = exporter.getFinishedSpans().map(denoHop);
    const by = (name: string, kind: string) => {
      const h = hops.filter((s) => s.name === name && s.kind === kind);
      assert.equal(
        h.length,
        1,
        `${kind} span ${name} in ${JSON.stringify(hops.map((s) => s.name))}`,
      );
      return h[0];
    };
    const c1 = by("rpcx.client.Front.Mul", "client");
    const s1 = by("rpcx.service.Front.Mul", "server");
    const c2 = by("rpcx.client.Arith.Mul", "client");
    const s2 = by("rpcx.service.Arith.Mul", "server");
    assert.equal(new Set(hops.map((h) => h.traceId)).size, 1);
    assert.match(c1.traceId, /^[0-9a-f]{32}$/);
    assert.equal(c1.parentId, "");
    assert.equal(s1.parentId, c1.spanId);
    assert.equal(c2.parentId, s1.spanId);
    assert.equal(s2.parentId, c2.spanId);
    for (const h of [c1, s1, c2, s2]) {
      assert.equal(h.status, "ok");
      assert.equal(h.attributes["rpc.system"], "rpcx");
    }
    assert.deepEqual(c2.attributes, {
      "rpc.system": "rpcx",
      "rpc.service": "Arith",
      "rpc.method": "Mul",
    });
    assert.deepEqual(c1.events.map((e) => e.name), ["PreCall", "PostCall"]);
    assert.equal(c1.events[0].attributes["rpc.client.request.message"], '{"A":6,"B":7}');
    assert.equal(c1.events[1].attributes["rpc.client.response.message"], '{"C":42}');
    assert.deepEqual(s2.events.map((e) => e.name), [
      "rpcx.pre.handle.request",
      "rpcx.post.write.response",
    ]);
    // An error ends every span of the chain with status ERROR and the error's text.
    exporter.reset();
    await assert.rejects(outer.call("Front", "Fail", {}), /can't find method Nope/);
    const failed = exporter.getFinishedSpans().map(denoHop);
    assert.equal(failed.length, 4);
    for (const h of failed) assert.equal(h.status, "error", h.name);
    const spans = exporter.getFinishedSpans();
    assert.ok(spans.every((s) => s.status.code === SpanStatusCode.ERROR));
    assert.ok(spans.every((s) => /can't find method Nope/.test(s.status.message ?? "")));
  });
});

Deno.test("tracing: a caller's traceparent and tracestate (W3C) go on through every hop", async () => {
  const { options, exporter } = otel();
  const traceId = "0af7651916cd43dd8448eb211c80319c";
  const callerSpan = "b7ad6b7169203331";
  const tracestate = "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE";
  const backSaw: Record<string, string | undefined>[] = [];
  const onMul = (ctx: CallContext) =>
    backSaw.push({ traceparent: ctx.metadata.traceparent, tracestate: ctx.metadata.tracestate });
  await withChain(options, onMul, async (outer) => {
    // The caller is inside a trace of its own (as a request handled by an upstream service).
    await outer.call("Front", "Mul", { A: 2, B: 3 }, {
      metadata: { traceparent: `00-${traceId}-${callerSpan}-01`, tracestate },
    });
    assert.equal(backSaw.length, 1);
    assert.equal(backSaw[0].tracestate, tracestate, "the last server got the tracestate");
    assert.match(backSaw[0].traceparent ?? "", new RegExp(`^00-${traceId}-[0-9a-f]{16}-01$`));
    const spans = exporter.getFinishedSpans();
    assert.equal(spans.length, 4);
    for (const s of spans) {
      assert.equal(s.spanContext().traceId, traceId, s.name);
      assert.equal(s.spanContext().traceState?.serialize(), tracestate, s.name);
    }
    const c1 = spans.find((s) => s.name === "rpcx.client.Front.Mul")!;
    assert.equal(c1.parentSpanContext?.spanId, callerSpan);
  });
});

Deno.test("tracing interop: one trace over Go client → Deno server → Deno client → Go server (rpcx-plugins' otel)", async () => {
  if (!needGoPeer()) return;
  const goServer = new Deno.Command(GO_PEER!, {
    args: ["otel", "server", "--addr", "127.0.0.1:0"],
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const { options, exporter } = otel();
  let backend: Client | undefined;
  let front: Server | undefined;
  let goServerOut = "";
  const reader = goServer.stdout.pipeThrough(new TextDecoderStream()).getReader();
  try {
    while (!/LISTENING \S+\n/.test(goServerOut)) {
      const { value, done } = await bounded(reader.read(), 30_000, "Go otel server start");
      if (done) throw new Error(`Go otel server exited: ${goServerOut}`);
      goServerOut += value;
    }
    const goAddr = goServerOut.match(/LISTENING (\S+)/)![1];
    backend = new Client(`tcp@${goAddr}`, { plugins: [clientTracing(options)] });
    front = new Server({ plugins: [serverTracing(options)] });
    await front.register(new Front(backend), "Arith");
    const frontAddr = await front.serve("tcp", "127.0.0.1:0");
    const goClient = await runBounded(GO_PEER!, {
      args: ["otel", "client", "--addr", frontAddr, "--a", "6", "--b", "7", "--baggage", "k1=v1"],
    });
    const clientOut = new TextDecoder().decode(goClient.stdout);
    assert.equal(goClient.code, 0, clientOut + new TextDecoder().decode(goClient.stderr));
    assert.match(clientOut, /^RESULT 42$/m);
    goServer.kill("SIGTERM");
    for (;;) {
      const { value, done } = await bounded(reader.read(), 10_000, "Go otel server spans");
      if (done) break;
      goServerOut += value;
    }
    const [goC] = goHops(clientOut).filter((h) => h.name === "rpcx.client.Arith.Mul");
    const [goS] = goHops(goServerOut).filter((h) => h.name === "rpcx.service.Arith.Mul");
    const deno = exporter.getFinishedSpans().map(denoHop);
    const [denoS] = deno.filter((h) => h.name === "rpcx.service.Arith.Mul");
    const [denoC] = deno.filter((h) => h.name === "rpcx.client.Arith.Mul");
    for (const [what, h] of Object.entries({ goC, denoS, denoC, goS })) {
      assert.ok(h, `${what} span missing`);
    }
    assert.match(goC.traceId, /^[0-9a-f]{32}$/);
    assert.deepEqual(
      [goC.traceId, denoS.traceId, denoC.traceId, goS.traceId],
      Array(4).fill(goC.traceId),
    );
    assert.equal(goC.parentId, "");
    assert.equal(denoS.parentId, goC.spanId);
    assert.equal(denoC.parentId, denoS.spanId);
    assert.equal(goS.parentId, denoC.spanId);
    assert.deepEqual([denoS.kind, goS.kind], ["server", "server"]);
    assert.deepEqual([goC.status, denoS.status, denoC.status, goS.status], Array(4).fill("ok"));
    // The baggage the Go client started with reached the Go server through both Deno hops.
    const seen = goS.events.find((e) => e.name === "rpcx.pre.handle.request");
    assert.match(String(seen?.attributes["rpcx.pre.handle.request.metadata"]), /baggage:k1=v1/);
  } finally {
    try {
      goServer.kill("SIGKILL");
    } catch {
      // exited
    }
    await goServer.status;
    await reader.cancel().catch(() => {});
    await backend?.close();
    await front?.close();
  }
});

Deno.test("tracing: a tracer that throws never fails a call; the failure is logged", async () => {
  const broken = {
    startSpan(): never {
      throw new Error("exporter on fire");
    },
  } as unknown as TracingOptions["tracer"];
  const warnings: string[] = [];
  const push = (msg: string, fields?: LogFields) => void warnings.push(`${msg} ${fields?.error}`);
  const previous = setLogger({ debug: () => {}, info: () => {}, warn: push, error: push });
  const server = new Server({ plugins: [serverTracing({ tracer: broken })] });
  await server.register({ Hi: (n: string) => `hi ${n}`, Note() {} }, "Greeter");
  const addr = await server.serve("tcp", "127.0.0.1:0");
  const client = new Client(`tcp@${addr}`, { plugins: [clientTracing({ tracer: broken })] });
  try {
    assert.equal(await client.call("Greeter", "Hi", "there"), "hi there");
    await client.send("Greeter", "Note", {});
    assert.equal(await client.call("Greeter", "Hi", "again"), "hi again");
    assert.ok(
      warnings.some((w) => /tracing: hook failed exporter on fire/.test(w)),
      String(warnings),
    );
    assert.ok(warnings.some((w) => /preHandleRequest.*exporter on fire/.test(w)), String(warnings));
  } finally {
    await client.close();
    await server.close();
    setLogger(previous);
  }
});

Deno.test("tracing: a oneway call's server span ends when the method returns", async () => {
  const { options, exporter } = otel();
  const server = new Server({ plugins: [serverTracing(options)] });
  let noted = 0;
  await server.register({ Note: () => void noted++ }, "Greeter");
  const addr = await server.serve("tcp", "127.0.0.1:0");
  const client = new Client(`tcp@${addr}`, { plugins: [clientTracing(options)] });
  try {
    await client.send("Greeter", "Note", {});
    await waitFor(
      "the oneway server span",
      () => exporter.getFinishedSpans().some((s) => s.name === "rpcx.service.Greeter.Note"),
    );
    const hops = exporter.getFinishedSpans().map(denoHop);
    const c = hops.find((h) => h.name === "rpcx.client.Greeter.Note")!;
    const s = hops.find((h) => h.name === "rpcx.service.Greeter.Note")!;
    assert.equal(s.parentId, c.spanId);
    assert.equal(s.status, "ok");
    assert.equal(noted, 1);
  } finally {
    await client.close();
    await server.close();
  }
});

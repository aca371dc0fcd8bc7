// Metrics plugins (src/plugins/metrics.ts): a server and a client under load, /metrics scraped
// over HTTP and read with a real Prometheus text-format parser.
import assert from "node:assert/strict";
import parsePrometheusTextFormat from "parse-prometheus-text-format";
import { type CallContext, Client, Server } from "@rpcx/core";
import { clientMetrics, serveMetrics, serverMetrics } from "@rpcx/core/plugins/metrics";
import { Arith } from "../examples/arith.ts";
import { waitFor } from "./support/env.ts";

interface Family {
  name: string;
  type: string;
  metrics: {
    labels?: Record<string, string>;
    value?: string;
    buckets?: Record<string, string>;
    count?: string;
    sum?: string;
  }[];
}

let lastText = "";

async function scrape(addr: string): Promise<Map<string, Family>> {
  const res = await fetch(`http://${addr}/metrics`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get("content-type") ?? "", /^text\/plain/);
  lastText = await res.text();
  const families = parsePrometheusTextFormat(lastText) as Family[];
  return new Map(families.map((f) => [f.name, f]));
}

/** The `le` bounds of a histogram, in increasing order (+Inf last). */
function bucketBounds(h: Family["metrics"][number]): string[] {
  return Object.keys(h.buckets!).sort((a, b) => Number(a) - Number(b));
}

/**
 * Bucket counts in `le` order, checked cumulative and ending with `count` at +Inf. (The parser
 * drops `_count` and `_sum` of labelled series: those are checked in the text.)
 */
function checkBuckets(h: Family["metrics"][number], count: number): void {
  const les = bucketBounds(h);
  assert.equal(les.at(-1), "+Inf");
  const counts = les.map((le) => Number(h.buckets![le]));
  for (let i = 1; i < counts.length; i++) assert.ok(counts[i] >= counts[i - 1], String(counts));
  assert.equal(counts.at(-1), count);
}

function sample(
  f: Map<string, Family>,
  name: string,
  service: string,
  method: string,
): Family["metrics"][number] | undefined {
  return f.get(name)?.metrics.find((m) =>
    m.labels?.service === service && m.labels?.method === method
  );
}

class Gate {
  #open!: () => void;
  readonly opened = new Promise<void>((r) => (this.#open = r));
  running = 0;
  open() {
    this.#open();
  }
}

Deno.test("metrics: calls, errors, in-flight and latency per service/method, scraped from /metrics and parsed", async () => {
  const gate = new Gate();
  const plugin = serverMetrics();
  const server = new Server({ plugins: [plugin] });
  await server.register(new Arith());
  await server.register({
    Fail() {
      throw new Error("deliberate failure");
    },
    async Wait(_args: unknown, _ctx: CallContext) {
      gate.running++;
      await gate.opened;
      return 1;
    },
    Note() {},
  }, "Echo");
  const addr = await server.serve("tcp", "127.0.0.1:0");
  const cm = clientMetrics({ registry: plugin.registry });
  const client = new Client(`tcp@${addr}`, { plugins: [cm] });
  const endpoint = await serveMetrics(plugin.registry, { port: 0 });
  try {
    await Promise.all(
      Array.from({ length: 20 }, async (_, w) => {
        for (let i = 0; i < 25; i++) await client.call("Arith", "Mul", { A: w, B: i });
      }),
    );
    for (let i = 0; i < 7; i++) await assert.rejects(client.call("Echo", "Fail", {}));
    for (let i = 0; i < 3; i++) await client.send("Echo", "Note", {});
    const waits = Array.from({ length: 5 }, () => client.call("Echo", "Wait", {}));
    for (const w of waits) w.catch(() => {}); // awaited below; a failed assertion must not leave them unhandled
    await waitFor("5 calls running", () => gate.running === 5);

    let f = await scrape(endpoint.addr);
    assert.equal(f.get("rpcx_server_calls_total")?.type, "COUNTER");
    assert.equal(f.get("rpcx_server_call_duration_seconds")?.type, "HISTOGRAM");
    assert.equal(sample(f, "rpcx_server_calls_total", "Arith", "Mul")?.value, "500");
    assert.equal(sample(f, "rpcx_server_errors_total", "Arith", "Mul")?.value ?? "0", "0");
    assert.equal(sample(f, "rpcx_server_calls_total", "Echo", "Fail")?.value, "7");
    assert.equal(sample(f, "rpcx_server_errors_total", "Echo", "Fail")?.value, "7");
    await waitFor(
      "3 oneway calls counted",
      async () =>
        sample(await scrape(endpoint.addr), "rpcx_server_calls_total", "Echo", "Note")?.value ===
          "3",
    );
    assert.equal(sample(f, "rpcx_server_in_flight", "Echo", "Wait")?.value, "5");
    assert.equal(sample(f, "rpcx_server_in_flight", "Arith", "Mul")?.value, "0");
    assert.equal(sample(f, "rpcx_client_in_flight", "Echo", "Wait")?.value, "5");
    assert.equal(sample(f, "rpcx_client_calls_total", "Arith", "Mul")?.value, "500");
    assert.equal(sample(f, "rpcx_client_errors_total", "Echo", "Fail")?.value, "7");
    // The parser folds labelled histogram series into one (it keeps labels of counters and
    // gauges only): check the series in the text; the next test parses a histogram whole.
    assert.match(
      lastText,
      /^rpcx_server_call_duration_seconds_count\{service="Arith",method="Mul"\} 500$/m,
    );
    assert.match(
      lastText,
      /^rpcx_server_call_duration_seconds_bucket\{le="\+Inf",service="Arith",method="Mul"\} 500$/m,
    );

    gate.open();
    await Promise.all(waits);
    f = await scrape(endpoint.addr);
    assert.equal(sample(f, "rpcx_server_in_flight", "Echo", "Wait")?.value, "0");
    assert.equal(sample(f, "rpcx_server_calls_total", "Echo", "Wait")?.value, "5");
    assert.equal(sample(f, "rpcx_client_in_flight", "Echo", "Wait")?.value, "0");
    const notFound = await fetch(`http://${endpoint.addr}/other`);
    assert.equal(notFound.status, 404);
    await notFound.body?.cancel();
  } finally {
    gate.open();
    await client.close();
    await server.close();
    await endpoint.shutdown();
  }
});

Deno.test("metrics: the latency histogram parses as a Prometheus histogram with cumulative buckets", async () => {
  const plugin = serverMetrics({ buckets: [0.001, 0.01, 0.1, 1] });
  const server = new Server({ plugins: [plugin] });
  await server.register(new Arith());
  const addr = await server.serve("tcp", "127.0.0.1:0");
  const client = new Client(`tcp@${addr}`);
  const endpoint = await serveMetrics(plugin.registry, { port: 0 });
  try {
    await Promise.all(
      Array.from({ length: 50 }, (_, i) => client.call("Arith", "Mul", { A: i, B: 2 })),
    );
    const f = await scrape(endpoint.addr);
    const h = f.get("rpcx_server_call_duration_seconds")!;
    assert.equal(h.type, "HISTOGRAM");
    assert.equal(h.metrics.length, 1);
    assert.deepEqual(bucketBounds(h.metrics[0]), ["0.001", "0.01", "0.1", "1", "+Inf"]);
    checkBuckets(h.metrics[0], 50);
    assert.match(
      lastText,
      /^rpcx_server_call_duration_seconds_count\{service="Arith",method="Mul"\} 50$/m,
    );
    const sum = lastText.match(
      /^rpcx_server_call_duration_seconds_sum\{service="Arith",method="Mul"\} (\S+)$/m,
    );
    assert.ok(sum && Number(sum[1]) > 0 && Number(sum[1]) < 50, String(sum));
  } finally {
    await client.close();
    await server.close();
    await endpoint.shutdown();
  }
});

Deno.test("metrics: made-up service/method names past maxSeries share one _other series", async () => {
  const plugin = serverMetrics({ maxSeries: 2 });
  const server = new Server({ plugins: [plugin] });
  await server.register(new Arith());
  const addr = await server.serve("tcp", "127.0.0.1:0");
  const client = new Client(`tcp@${addr}`);
  try {
    await client.call("Arith", "Mul", { A: 1, B: 2 });
    for (let i = 0; i < 30; i++) await assert.rejects(client.call(`Made${i}`, "Up", {}));
    const text = await plugin.registry.metrics();
    const series = text.split("\n").filter((l) => l.startsWith("rpcx_server_calls_total{"));
    assert.deepEqual(series, [
      'rpcx_server_calls_total{service="Arith",method="Mul"} 1',
      'rpcx_server_calls_total{service="Made0",method="Up"} 1',
      'rpcx_server_calls_total{service="_other",method="_other"} 29',
    ]);
  } finally {
    await client.close();
    await server.close();
  }
});

Deno.test("serveMetrics: resolves once it listens; a taken port rejects with EADDRINUSE (no synchronous throw)", async () => {
  const { registry } = serverMetrics();
  const first = await serveMetrics(registry, { port: 0 });
  try {
    const port = Number(first.addr.split(":").pop());
    let second: Promise<unknown> | undefined;
    assert.doesNotThrow(() => (second = serveMetrics(registry, { port })));
    await assert.rejects(second!, (e: Error & { code?: string }) => e.code === "EADDRINUSE");
    const res = await fetch(`http://${first.addr}/metrics`, { method: "HEAD" });
    assert.equal(res.status, 200);
    assert.equal(await res.text(), "");
  } finally {
    await first.shutdown();
  }
});

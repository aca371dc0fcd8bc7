// The plugin examples (examples/plugins/*) run as a user would, against the real Go rpcx peer
// where a Go side fits.
import assert from "node:assert/strict";
import parsePrometheusTextFormat from "parse-prometheus-text-format";
import { exited, runBounded } from "./support/child.ts";
import { bounded, freePort, REPO_ROOT } from "./support/env.ts";
import { runExampleClient, startExampleServer } from "./support/examples.ts";
import { GO_PEER, needGoPeer } from "./support/go_peer.ts";

async function goClient(addr: string, extra: string[]): Promise<{ code: number; out: string }> {
  const r = await runBounded(GO_PEER!, { args: ["client", "--addr", addr, ...extra] });
  const dec = new TextDecoder();
  return { code: r.code, out: dec.decode(r.stdout) + dec.decode(r.stderr) };
}

/** A child process whose stdout lines are collected. */
function spawn(cmd: string, args: string[]): {
  child: Deno.ChildProcess;
  text: () => string;
  waitFor: (re: RegExp) => Promise<RegExpMatchArray>;
  stop: () => Promise<void>;
} {
  const child = new Deno.Command(cmd, { args, cwd: REPO_ROOT, stdout: "piped", stderr: "null" })
    .spawn();
  let text = "";
  const reading = (async () => {
    for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) text += chunk;
  })();
  return {
    child,
    text: () => text,
    async waitFor(re) {
      const end = Date.now() + 30_000;
      while (Date.now() < end) {
        const m = text.match(re);
        if (m) return m;
        await new Promise((r) => setTimeout(r, 20));
      }
      throw new Error(`no ${re} in: ${text}`);
    },
    async stop() {
      try {
        child.kill("SIGTERM");
      } catch {
        // exited
      }
      await exited(child, 10_000, `${cmd} to exit on SIGTERM`).catch(() => {});
      await bounded(reading, 5000, `${cmd}'s stdout to end`).catch(() => {});
    },
  };
}

Deno.test("example plugins/tracing: client.ts prints the trace id the Go otel server recorded; server.ts continues a Go client's trace", async () => {
  if (!needGoPeer()) return;
  const go = spawn(GO_PEER!, ["otel", "server", "--addr", "127.0.0.1:0"]);
  let traceId: string;
  try {
    const [, goAddr] = await go.waitFor(/LISTENING (\S+)/);
    const c = await runExampleClient("plugins/tracing", ["--addr", goAddr]);
    assert.equal(c.code, 0, c.out + c.err);
    assert.match(c.out, /^10 \* 20 = 200$/m);
    traceId = c.out.match(/^trace ([0-9a-f]{32})$/m)![1];
  } finally {
    await go.stop();
  }
  const span = go.text().split("\n").filter((l) => l.startsWith("SPAN "))
    .map((l) => JSON.parse(l.slice(5))).find((s) => s.name === "rpcx.service.Arith.Mul");
  assert.equal(span?.trace_id, traceId);

  const port = freePort();
  const deno = spawn(Deno.execPath(), [
    "run",
    "-A",
    "examples/plugins/tracing/server.ts",
    "--addr",
    `127.0.0.1:${port}`,
  ]);
  try {
    await deno.waitFor(/listening on/);
    const r = await runBounded(GO_PEER!, {
      args: ["otel", "client", "--addr", `127.0.0.1:${port}`],
    });
    const out = new TextDecoder().decode(r.stdout);
    assert.match(out, /^RESULT 200$/m);
    const goSpan = JSON.parse(out.split("\n").find((l) => l.startsWith("SPAN "))!.slice(5));
    const [, id, parent] = await deno.waitFor(
      /^span rpcx\.service\.Arith\.Mul trace ([0-9a-f]{32}) id [0-9a-f]{16} parent ([0-9a-f]{16})$/m,
    );
    assert.deepEqual([id, parent], [goSpan.trace_id, goSpan.span_id]);
  } finally {
    await deno.stop();
  }
});

Deno.test("example plugins/metrics: server.ts counts a Go client's calls on /metrics", async () => {
  if (!needGoPeer()) return;
  const [port, mport] = [freePort(), freePort()];
  const s = spawn(Deno.execPath(), [
    "run",
    "-A",
    "examples/plugins/metrics/server.ts",
    "--addr",
    `127.0.0.1:${port}`,
    "--metrics-addr",
    `127.0.0.1:${mport}`,
  ]);
  try {
    await s.waitFor(/listening on/);
    const c = await goClient(`127.0.0.1:${port}`, ["--count", "12", "--concurrency", "4"]);
    assert.equal(c.code, 0, c.out);
    const res = await fetch(`http://127.0.0.1:${mport}/metrics`);
    const families = parsePrometheusTextFormat(await res.text()) as {
      name: string;
      metrics: { labels?: Record<string, string>; value?: string }[];
    }[];
    const calls = families.find((f) => f.name === "rpcx_server_calls_total");
    assert.deepEqual(calls?.metrics, [{
      labels: { service: "Arith", method: "Mul" },
      value: "12",
    }]);
  } finally {
    await s.stop();
  }
});

Deno.test("examples plugins/alias, ratelimit, concurrency: served to the Go client as described", async () => {
  if (!needGoPeer()) return;
  const alias = startExampleServer("plugins/alias", ["--addr", "127.0.0.1:0"]);
  const limited = startExampleServer("plugins/ratelimit", [
    "--addr",
    "127.0.0.1:0",
    "--rate",
    "2",
    "--burst",
    "3",
  ]);
  const capped = startExampleServer("plugins/concurrency", [
    "--addr",
    "127.0.0.1:0",
    "--max",
    "2",
    "--queue",
    "100",
  ]);
  try {
    const a = await goClient(await alias.ready, ["--method", "Times"]);
    assert.equal(a.code, 0, a.out);
    assert.match(a.out, /^10 \? 20 = 200$/m);
    const limitedAddr = await limited.ready;
    const t0 = performance.now();
    const r = await goClient(limitedAddr, [
      "--count",
      "20",
      "--concurrency",
      "20",
      "--tolerate-errors",
    ]);
    const seconds = (performance.now() - t0) / 1000;
    const ok = r.out.match(/^10 \* 20 = 200$/gm)?.length ?? 0;
    const refused = r.out.match(/^ERROR: request reached rate limit$/gm)?.length ?? 0;
    // The burst of 3, plus 2 a second for as long as the Go client ran (its calls all fall
    // inside that time, however slowly a loaded machine starts it).
    const most = 3 + Math.floor(2 * seconds);
    assert.ok(ok >= 3 && ok <= most, `${ok} served in ${seconds.toFixed(2)} s:\n${r.out}`);
    assert.equal(ok + refused, 20, r.out);
    const c = await goClient(await capped.ready, ["--count", "50", "--concurrency", "10"]);
    assert.equal(c.code, 0, c.out);
    assert.equal(c.out.match(/^10 \* 20 = 200$/gm)?.length, 50);
  } finally {
    await Promise.all([alias.stop(), limited.stop(), capped.stop()]);
  }
});

Deno.test("examples plugins/ipfilter and plugins/breaker", async () => {
  const port = freePort();
  const s = startExampleServer("plugins/ipfilter", [
    "--addr",
    `[::]:${port}`,
    "--allow",
    "127.0.0.0/8",
  ]);
  try {
    await s.ready;
    const v4 = await runExampleClient("plugins/breaker", [
      "--addr",
      `127.0.0.1:${port}`,
      "--count",
      "2",
      "--interval",
      "10",
    ]);
    assert.equal(v4.code, 0, v4.out + v4.err);
    assert.equal(v4.out.match(/^10 \* 20 = 200$/gm)?.length, 2);
    // ::1 is not in the allow list: refused; after 3 failures the breaker refuses by itself.
    const v6 = await runExampleClient("plugins/breaker", [
      "--addr",
      `[::1]:${port}`,
      "--count",
      "6",
      "--interval",
      "10",
    ]);
    assert.notEqual(v6.code, 0);
    const lines = v6.out.trim().split("\n");
    assert.equal(lines.length, 6, v6.out);
    assert.ok(
      lines.slice(0, 3).every((l) => l.startsWith("ERROR: ") && l !== "ERROR: breaker open"),
    );
    assert.deepEqual(lines.slice(3), Array(3).fill("ERROR: breaker open"));
  } finally {
    await s.stop();
  }
});

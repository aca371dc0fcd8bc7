// The portable part of the suite under Node and Bun (issue 24), from the npm package as a user
// installs it (tests/support/runtimes.ts: runtime_peer.ts compiled beside the installed package),
// with the real Go rpcx peer as the reference; the networks both ways are in
// tests/runtimes_interop_test.ts, the registries in tests/runtimes_registry_test.ts. Per runtime:
// - HTTP invoke and JSON-RPC on our server's rpcx port: Go's HTTP callers (net/http with X-RPCX
//   headers, JSON-RPC 2.0) pass their checks, and fetch gets the answers the Go server gives;
// - server push both ways: Go's Server.SendMessage to our Client, our Server.sendMessage to Go's
//   NewBidirectionalXClient, every serializer, in order;
// - graceful shutdown on SIGTERM: an in-flight call is answered, Go's Failover XClient moves to the
//   other server at once and loses no call, the process exits 0; and our Failover XClient moves
//   off a Go server that shuts down;
// - the in-process registry;
// - the README's Node and Bun quick start, its server.mjs and client.mjs as written there.
// No child may write to stderr (a runtime warning fails the test).
import assert from "node:assert/strict";
import { Client } from "@rpcx/core";
import { startReady } from "./support/child.ts";
import { join } from "node:path";
import { bounded, waitFor } from "./support/env.ts";
import { GO_PEER, needGoPeer } from "./support/go_peer.ts";
import {
  type Lines,
  readmeBlock,
  runBounded,
  runOurs,
  runtimePeer,
  spawnLines,
  startOurs,
  TARGETS,
} from "./support/runtimes.ts";

/** `rpcxpeer server` on a free port (gateway and JSON-RPC on); its address. */
async function startGoServer(extra: string[] = []) {
  const go = await startReady(GO_PEER!, ["server", "--addr", "127.0.0.1:0", ...extra], {
    ready: /LISTENING (\S+)\n/,
    what: "the Go server's LISTENING line",
    stopSignal: "SIGTERM",
  });
  return { addr: go.match[1], stop: (s?: Deno.Signal) => go.stop(s) };
}

/** Requests sent by fetch to the Go server and to ours: [name, path, headers, body]. */
const FETCHES: [string, string, Record<string, string>, string][] = (() => {
  const gw = (method: string, extra: Record<string, string> = {}) => ({
    "X-RPCX-ServiceMethod": method,
    "X-RPCX-SerializeType": "1",
    ...extra,
  });
  const rpc = { "X-JSONRPC-2.0": "true", "Content-Type": "application/json" };
  return [
    ["invoke", "/Arith", gw("Mul", { "X-RPCX-MessageID": "42" }), '{"A":10,"B":20}'],
    [
      "invoke, service in a header",
      "/",
      gw("Add", { "X-RPCX-ServicePath": "Arith" }),
      '{"A":1,"B":2}',
    ],
    ["invoke, metadata both ways", "/Echo", gw("Meta", { "X-RPCX-Meta": "k=v&e=" }), '{"Data":""}'],
    ["invoke, service error", "/Echo", gw("Fail"), "{}"],
    ["invoke, unknown service", "/Nope", gw("Mul"), "{}"],
    ["invoke, unknown method", "/Arith", gw("Div"), "{}"],
    ["invoke, bad JSON", "/Arith", gw("Mul"), "{bad"],
    ["invoke, oneway", "/Echo", gw("Note", { "X-RPCX-Oneway": "true" }), '{"Text":"f"}'],
    ["jsonrpc", "/", rpc, '{"jsonrpc":"2.0","method":"Arith.Mul","params":{"A":3,"B":4},"id":1}'],
    [
      "jsonrpc, string id",
      "/x",
      rpc,
      '{"jsonrpc":"2.0","method":"Arith.Add","params":{"A":1,"B":2},"id":"a"}',
    ],
    [
      "jsonrpc, unknown method",
      "/",
      rpc,
      '{"jsonrpc":"2.0","method":"Arith.Div","params":{},"id":2}',
    ],
    [
      "jsonrpc, service error",
      "/",
      rpc,
      '{"jsonrpc":"2.0","method":"Echo.Fail","params":{},"id":3}',
    ],
    ["jsonrpc, notification", "/", rpc, '{"jsonrpc":"2.0","method":"Echo.Note","params":{}}'],
    ["jsonrpc, not JSON", "/", rpc, "{"],
  ];
})();

/**
 * Status, the headers that matter and the body of a fetch answer. Each request on a connection of
 * its own: Go routes a whole connection by its first request (cmux), ours each request (README).
 */
async function fetched(addr: string, path: string, headers: Record<string, string>, body: string) {
  using client = Deno.createHttpClient({ poolMaxIdlePerHost: 0 });
  const res = await fetch(`http://${addr}${path}`, { method: "POST", headers, body, client });
  const h = [...res.headers].filter(([k]) => !["date", "connection", "keep-alive"].includes(k))
    .sort(([a], [b]) => a < b ? -1 : 1).map(([k, v]) => `${k}: ${v}`);
  return `${res.status}\n${h.join("\n")}\n\n${await res.text()}`;
}

for (const target of TARGETS) {
  const t = target.name;

  Deno.test(`HTTP on ${t}: Go's HTTP callers (invoke, JSON-RPC) pass on our server's rpcx port, and fetch gets the Go server's answers`, async () => {
    const run = target.command();
    if (!run || !needGoPeer()) return;
    const ours = await startOurs(run, ["serve", "--network", "tcp", "--addr", "127.0.0.1:0"]);
    const go = await startGoServer();
    try {
      const r = await runBounded(GO_PEER!, ["http", "--addr", ours.addr, "--check", "all"], {
        timeoutMs: 60_000,
      });
      const out = r.stdout;
      assert.equal(r.code, 0, out + r.stderr);
      for (const check of ["gateway-json", "gateway-msgpack", "jsonrpc-call", "keepalive"]) {
        assert.match(out, new RegExp(`^OK ${check}$`, "m"));
      }
      assert.doesNotMatch(out, /FAIL/);
      for (const [name, path, headers, body] of FETCHES) {
        assert.equal(
          await fetched(ours.addr, path, headers, body),
          await fetched(go.addr, path, headers, body),
          `${t}: ${name}`,
        );
      }
    } finally {
      await go.stop();
      await ours.stop();
    }
    assert.equal((await ours.child.status).code, 0, "our server exits 0 after SIGTERM");
    assert.equal(ours.stderrText(), "", `${t}: our server's stderr`);
  });

  Deno.test(`push on ${t}: Go's Server.SendMessage -> our Client, every serializer, in order`, async () => {
    const run = target.command();
    if (!run || !needGoPeer()) return;
    await runtimePeer();
    const go = await startReady(GO_PEER!, ["push-server", "--addr", "127.0.0.1:0"], {
      ready: /LISTENING (\S+)\n/,
      what: "the Go push server's LISTENING line",
      stopSignal: "SIGTERM",
    });
    try {
      const r = await runOurs(run, ["push-call", "--addr", go.match[1], "--count", "50"]);
      assert.equal(r.code, 0, `${t}: exit ${r.code}\n${r.stdout}${r.stderr}`);
      assert.equal(r.stdout, "OK none\nOK json\nOK msgpack\nOK protobuf\nPASS\n");
      assert.equal(r.stderr, "", `${t}: stderr`);
    } finally {
      await go.stop();
    }
  });

  Deno.test(`push on ${t}: our Server.sendMessage -> Go's NewBidirectionalXClient, every serializer`, async () => {
    const run = target.command();
    if (!run || !needGoPeer()) return;
    const n = 100;
    const ours = await startOurs(run, ["push-serve", "--count", String(n)]);
    try {
      const r = await runBounded(
        GO_PEER!,
        ["push-client", "--addr", ours.addr, "--count", String(n), "--timeout", "20s"],
        { timeoutMs: 60_000 },
      );
      const out = r.stdout;
      assert.equal(r.code, 0, out + r.stderr);
      assert.match(out, /^CALLED C=200$/m);
      const lines = out.split("\n").filter((l) => l.startsWith("PUSH ")).map((l) =>
        JSON.parse(l.slice(5))
      );
      assert.equal(lines.length, n);
      lines.forEach((l, i) => {
        const serializeType = [0, 1, 3, 2][i % 4];
        assert.equal(l.servicePath, "Node");
        assert.equal(l.serviceMethod, `M${serializeType}`);
        assert.deepEqual(l.metadata, { i: String(i) });
        assert.equal(l.serializeType, serializeType);
        assert.equal(l.oneway, true);
        assert.equal(l.error, false);
        if (serializeType === 0) assert.equal(l.payload, `node ${i}`);
        else if (serializeType === 2) assert.equal(l.decoded, `node ${i}`);
        else assert.deepEqual(l.decoded, { Text: "node", I: i });
      });
    } finally {
      await ours.stop();
    }
    assert.equal((await ours.child.status).code, 0, "our server exits 0 after SIGTERM");
    assert.equal(ours.stderrText(), "", `${t}: our server's stderr`);
  });

  Deno.test(`graceful shutdown on ${t}: SIGTERM answers the call in flight, Go's Failover XClient moves to the other server at once, exit 0`, async () => {
    const run = target.command();
    if (!run || !needGoPeer()) return;
    const serve = ["serve", "--network", "tcp", "--addr", "127.0.0.1:0"];
    const s1 = await startOurs(run, [...serve, "--shutdown-timeout", "8000"]);
    const s2 = await startOurs(run, serve);
    const caller = new Client(`tcp@${s1.addr}`);
    let go: Lines | undefined;
    try {
      // A call in flight on S1 (its own connection) for 2.5 s.
      // Settled into a value, so a rejection is asserted below, not left unhandled meanwhile.
      const held = caller.call("Echo", "Delay", { Ms: 2500, Tag: 7 }, { timeout: 10_000 })
        .catch((e: Error) => `rejected: ${e.constructor.name}: ${e.message}`);
      go = spawnLines(GO_PEER!, [
        "client",
        "--addr",
        `${s1.addr},${s2.addr}`,
        "--failmode",
        "failover",
        "--selectmode",
        "roundrobin",
        "--count",
        "40",
        "--interval",
        "50ms",
        "--timeout",
        "5s",
      ]);
      await waitFor("the Go client's first calls", () => go!.lines.length >= 6, 20_000, 10);
      const termAt = performance.now();
      s1.child.kill("SIGTERM");
      const r = await go.end(30_000);
      assert.equal(r.code, 0, `Go client failed:\n${r.out}\n${r.err}`);
      assert.equal(r.out.match(/^10 \* 20 = 200$/gm)?.length, 40, r.out);
      // No Go call waited for the held one (2.5 s): consecutive answers stay close.
      let prev = termAt;
      for (const l of go.lines.filter((l) => l.at > termAt)) {
        assert.ok(l.at - prev < 1500, `a call after SIGTERM took ${(l.at - prev).toFixed(0)} ms`);
        prev = l.at;
      }
      assert.deepEqual(await bounded(held, 10_000, "the held call"), { Ms: 2500, Tag: 7 });
      const status = await bounded(s1.child.status, 10_000, "S1 to exit");
      assert.equal(status.code, 0, "S1 exits 0 after its drain");
      await assert.rejects(
        Deno.connect({ hostname: "127.0.0.1", port: Number(s1.addr.split(":")[1]) }),
        Deno.errors.ConnectionRefused,
      );
    } finally {
      await go?.stop();
      await caller.close();
      await s1.stop("SIGKILL");
      await s2.stop();
    }
    assert.equal(s1.stderrText(), "", `${t}: S1's stderr`);
    assert.equal(s2.stderrText(), "", `${t}: S2's stderr`);
  });

  Deno.test(`XClient on ${t}: Failover over two Go servers moves off the one shut down, no call fails`, async () => {
    const run = target.command();
    if (!run || !needGoPeer()) return;
    const { project, script } = await runtimePeer();
    const g1 = await startGoServer(["--no-gateway"]);
    const g2 = await startGoServer(["--no-gateway"]);
    const ours = spawnLines(run.cmd, [
      ...run.pre,
      script,
      "xcall",
      "--addr",
      `${g1.addr},${g2.addr}`,
      "--failmode",
      "failover",
      "--count",
      "40",
      "--interval",
      "50",
    ], project);
    try {
      await waitFor("our XClient's first calls", () => ours.lines.length >= 6, 30_000, 10);
      await g1.stop("SIGTERM");
      const r = await ours.end(30_000);
      assert.equal(r.code, 0, `${t}: ${r.out}\n${r.err}`);
      const from = [...r.out.matchAll(/^10 \* 20 = 200 from (\S+)$/gm)].map((m) => m[1]);
      assert.equal(from.length, 40, r.out);
      assert.ok(from.slice(0, 6).includes(g1.addr), "round robin reached G1 before");
      assert.deepEqual(from.slice(-10), Array(10).fill(g2.addr), "G2 alone after");
      assert.equal(r.err, "", `${t}: stderr`);
    } finally {
      await ours.stop();
      await g1.stop();
      await g2.stop();
    }
  });

  Deno.test(`README's Node and Bun quick start on ${t}: server.mjs serves Go's client, client.mjs calls Go's server`, async () => {
    const run = target.command();
    if (!run || !needGoPeer()) return;
    const { project } = await runtimePeer();
    // As written, but on free ports.
    const server = readmeBlock("server.mjs").replace('"127.0.0.1:8972"', '"127.0.0.1:0"');
    await Deno.writeTextFile(join(project, "readme_server.mjs"), server);
    const ours = await startReady(run.cmd, [...run.pre, "readme_server.mjs"], {
      ready: /listening on (\S+)\n/,
      what: "server.mjs's listening line",
      cwd: project,
      timeoutMs: 30_000,
      stopSignal: "SIGTERM",
      stderr: "piped",
    });
    try {
      const r = await runBounded(GO_PEER!, ["client", "--addr", ours.match[1], "--count", "2"]);
      assert.equal(r.code, 0, `${t}: ${r.stdout}${r.stderr}`);
      assert.equal(r.stdout.match(/^10 \* 20 = 200$/gm)?.length, 2, r.stdout);
    } finally {
      await ours.stop();
    }
    assert.equal((await ours.child.status).code, 0, "server.mjs exits 0 on SIGTERM");
    assert.equal(ours.stderrText(), "", `${t}: server.mjs's stderr`);

    const go = await startGoServer(["--no-gateway"]);
    try {
      const client = readmeBlock("client.mjs").replace("tcp@127.0.0.1:8972", `tcp@${go.addr}`);
      await Deno.writeTextFile(join(project, "readme_client.mjs"), client);
      const r = await runBounded(run.cmd, [...run.pre, "readme_client.mjs"], {
        cwd: project,
        timeoutMs: 30_000,
      });
      assert.equal(r.code, 0, `${t}: ${r.stdout}${r.stderr}`);
      // Node prints { C: 200 }, Bun {\n  C: 200,\n}.
      assert.equal(r.stdout.replace(/\s/g, "").replace(",}", "}"), "{C:200}", r.stdout);
      assert.equal(r.stderr, "", `${t}: client.mjs's stderr`);
    } finally {
      await go.stop();
    }
  });

  Deno.test(`in-process registry on ${t}: discovery, round robin, weights, a Client by name, a taken name, shutdown`, async () => {
    const run = target.command();
    if (!run) return;
    const r = await runOurs(run, ["inprocess"]);
    assert.equal(r.code, 0, `${t}: exit ${r.code}\n${r.stdout}${r.stderr}`);
    assert.match(r.stdout, /OK shutdown-removes\nPASS\n$/);
    assert.equal(r.stderr, "", `${t}: stderr`);
  });
}

// Every network both ways with the real Go rpcx peer, under Node and under Bun, from the npm
// package as a user installs it (issue 24): our Server (tests/support/runtime_peer.ts serve,
// compiled to JavaScript beside the installed package) is called by Go's client running its whole
// checklist (calls in JSON and MsgPack, gzip, heartbeats, oneway, metadata, auth, errors, 1 MiB,
// 1000 in flight), and our Client (runtime_peer.ts call) calls Go's server (calls, heartbeat,
// oneway, gzip, 1 MiB, 1000 in flight), on tcp, tcp with TLS and mutual TLS, unix, http, http
// with TLS, ws and wss: the checklist of tests/interop_networks_test.ts. On Node and Bun the
// sockets are node:net/node:tls (src/adapter/node).
import assert from "node:assert/strict";
import { startReady } from "./support/child.ts";
import {
  canRun,
  CASES,
  goClient,
  goTlsFlags,
  serverFlags,
  startGo,
} from "./support/interop_networks.ts";
import { runBounded, runtimePeer, TARGETS } from "./support/runtimes.ts";

for (const target of TARGETS) {
  for (const c of CASES) {
    Deno.test(`Go client -> our server on ${target.name} over ${c.name}: the whole checklist`, async () => {
      const run = target.command();
      if (!run || !canRun(c)) return;
      const { project, script } = await runtimePeer();
      const ours = await startReady(run.cmd, [
        ...run.pre,
        script,
        "serve",
        ...await serverFlags(c),
      ], {
        ready: /LISTENING (\S+)\n/,
        what: `our server's LISTENING line (${target.name})`,
        cwd: project,
        timeoutMs: 30_000,
        stopSignal: "SIGTERM",
        stderr: "piped",
      });
      try {
        const r = await goClient([
          "--network",
          c.network,
          "--addr",
          ours.match[1],
          ...await goTlsFlags(c, "client"),
          "--serializer",
          "msgpack",
          "--gzip",
          "--check",
          "all",
        ]);
        assert.equal(r.code, 0, `${target.name} ${c.name}:\n${r.out}`);
        for (const check of ["json-mul", "heartbeat", "oneway", "metadata", "bytes-1mib"]) {
          assert.match(r.out, new RegExp(`OK ${check}`));
        }
        assert.match(r.out, /OK concurrent-1000/);
      } finally {
        // SIGTERM: shutdownOnSignals shuts the server down and exits.
        await ours.stop();
      }
      assert.equal((await ours.child.status).code, 0, "our server exits 0 after SIGTERM");
      // No runtime warning either (Node's MaxListenersExceededWarning, ...).
      assert.equal(ours.stderrText(), "", `${target.name} ${c.name}: our server's stderr`);
    });

    Deno.test(`our client on ${target.name} -> Go server over ${c.name}: calls, heartbeat, oneway, gzip, 1 MiB, 1000 in flight`, async () => {
      const run = target.command();
      if (!run || !canRun(c)) return;
      const { project, script } = await runtimePeer();
      const go = await startGo(await serverFlags(c));
      try {
        const r = await runBounded(run.cmd, [
          ...run.pre,
          script,
          "call",
          "--network",
          c.network,
          "--addr",
          go.addr,
          ...await goTlsFlags(c, "client"),
        ], { cwd: project, timeoutMs: 90_000 });
        assert.equal(r.code, 0, `${target.name} ${c.name}: exit ${r.code}\n${r.stdout}${r.stderr}`);
        assert.match(r.stdout, /OK concurrent-1000\nPASS\n$/);
        // No runtime warning either (Node's MaxListenersExceededWarning, ...).
        assert.equal(r.stderr, "", `${target.name} ${c.name}: stderr`);
      } finally {
        await go.stop();
      }
    });
  }
}

for (const target of TARGETS) {
  Deno.test(`reusePort on ${target.name}: two servers share a port where the runtime sets SO_REUSEPORT; a TypeError naming the version where it cannot (Node before 22.12)`, async () => {
    const run = target.command();
    if (!run) return;
    const { project, script } = await runtimePeer();
    const r = await runBounded(run.cmd, [...run.pre, script, "reuse"], {
      cwd: project,
      timeoutMs: 30_000,
    });
    assert.equal(r.code, 0, `${r.stdout}${r.stderr}`);
    const version = await runBounded(run.cmd, ["--version"], { timeoutMs: 10_000 });
    const [major, minor] = version.stdout.trim().replace(/^v/, "").split(".").map(Number);
    const nodeWithout = target.name === "node" && (major < 22 || (major === 22 && minor < 12));
    if (nodeWithout) {
      assert.match(
        r.stdout.trim(),
        /^TypeError: reusePort needs Node 22\.12 or later .*this is Node \d+/,
      );
    } else {
      assert.equal(r.stdout.trim(), "SHARED");
    }
  });
}

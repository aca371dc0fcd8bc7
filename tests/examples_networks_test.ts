// The network examples: examples/peer2peer over unix, http, ws and wss (TLS), and examples/tls
// (mutual TLS), each pair run as a user would; Go's client calls the mutual-TLS server too.
import assert from "node:assert/strict";
import { needs, REPO_ROOT } from "./support/env.ts";
import { makeTestCerts, OPENSSL } from "./support/certs.ts";
import { runBounded, startReady } from "./support/child.ts";
import { GO_PEER, needGoPeer } from "./support/go_peer.ts";

async function run(args: string[]): Promise<{ code: number; out: string }> {
  const out = await runBounded(Deno.execPath(), { args, cwd: REPO_ROOT });
  const dec = new TextDecoder();
  return { code: out.code, out: dec.decode(out.stdout) + dec.decode(out.stderr) };
}

/** Starts an example server; resolves with its `network@address` once it prints it. */
async function startExample(args: string[]): Promise<{ key: string; stop(): Promise<void> }> {
  const server = await startReady(Deno.execPath(), ["run", "-A", ...args], {
    ready: /listening on (\S+)\n/,
    what: "the example server",
    timeoutMs: 30_000,
    stopSignal: "SIGTERM",
    stderr: "inherit",
    cwd: REPO_ROOT,
  });
  return { key: server.match[1], stop: () => server.stop() };
}

Deno.test("examples/peer2peer over unix, http, ws and wss", async () => {
  if (!needs("openssl", OPENSSL ? undefined : "not on PATH")) return;
  const certs = await makeTestCerts();
  const dir = await Deno.makeTempDir({ prefix: "rpcx-example-" });
  try {
    const cases: [string, string, string[], string[]][] = [
      ["unix", `${dir}/arith.sock`, [], []],
      ["http", "127.0.0.1:0", [], []],
      ["ws", "127.0.0.1:0", [], []],
      [
        "wss",
        "127.0.0.1:0",
        ["--tls-cert", certs.server.certPath, "--tls-key", certs.server.keyPath],
        ["--tls-ca", certs.caPath],
      ],
    ];
    for (const [network, addr, serverTls, clientTls] of cases) {
      const server = await startExample([
        "examples/peer2peer/server.ts",
        "--network",
        network,
        "--addr",
        addr,
        ...serverTls,
      ]);
      try {
        const bound = server.key.slice(server.key.indexOf("@") + 1);
        const r = await run([
          "run",
          "-A",
          "examples/peer2peer/client.ts",
          "--network",
          network,
          "--addr",
          bound,
          ...clientTls,
        ]);
        assert.equal(r.code, 0, `${network}: ${r.out}`);
        assert.match(r.out, /^10 \* 20 = 200$/m);
      } finally {
        await server.stop();
      }
    }
  } finally {
    await certs.remove();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("examples/tls: mutual TLS pair; Go's client with a certificate calls it, one without is refused", async () => {
  if (!needs("openssl", OPENSSL ? undefined : "not on PATH")) return;
  const certs = await makeTestCerts();
  const server = await startExample([
    "examples/tls/server.ts",
    "--addr",
    "127.0.0.1:0",
    "--cert",
    certs.server.certPath,
    "--key",
    certs.server.keyPath,
    "--ca",
    certs.caPath,
  ]);
  try {
    const addr = server.key.slice(server.key.indexOf("@") + 1);
    const r = await run([
      "run",
      "-A",
      "examples/tls/client.ts",
      "--addr",
      addr,
      "--ca",
      certs.caPath,
      "--cert",
      certs.client.certPath,
      "--key",
      certs.client.keyPath,
    ]);
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /^10 \* 20 = 200$/m);
    if (!needGoPeer()) return;
    const go = (args: string[]) =>
      runBounded(GO_PEER!, { args: ["client", "--addr", addr, ...args] });
    const withCert = await go([
      "--tls-ca",
      certs.caPath,
      "--tls-cert",
      certs.client.certPath,
      "--tls-key",
      certs.client.keyPath,
    ]);
    assert.equal(withCert.code, 0, new TextDecoder().decode(withCert.stderr));
    assert.match(new TextDecoder().decode(withCert.stdout), /^10 \* 20 = 200$/m);
    const without = await go(["--tls-ca", certs.caPath, "--timeout", "2s"]);
    assert.notEqual(without.code, 0, "a client without a certificate is refused");
  } finally {
    await server.stop();
    await certs.remove();
  }
});

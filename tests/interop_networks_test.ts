// Every network both ways with the real Go rpcx peer: tcp, tcp with TLS and mutual TLS, unix,
// http (CONNECT), ws, wss. Go's client runs its whole checklist (calls in JSON and MsgPack, gzip,
// heartbeats, oneway, metadata, 1 MiB, 1000 in flight) against our server; our client does the same
// against Go's server. Wrong certificates and plain TCP on a TLS port get typed errors and the
// server keeps serving.
import assert from "node:assert/strict";
import {
  CallTimeoutError,
  Client,
  type ClientOptions,
  ConnectionError,
  TlsHandshakeError,
} from "@rpcx/core";
import { bounded } from "./support/env.ts";
import { CHECKLIST_OPTIONS, clientChecks, runChecks } from "./support/runtime_peer/checklist.ts";
import { runBounded } from "./support/child.ts";
import { interopServer } from "./support/echo_service.ts";
import { OPENSSL } from "./support/certs.ts";
import {
  address,
  canRun,
  CASES,
  denoTls,
  getCerts,
  goClient,
  goTlsFlags,
  serverFlags,
  startGo,
  tempDir,
} from "./support/interop_networks.ts";

for (const c of CASES) {
  Deno.test(`Go client -> Deno server over ${c.name}: the whole checklist`, async () => {
    if (!canRun(c)) return;
    const { serve } = await denoTls(c);
    const server = await interopServer();
    try {
      const bound = await server.serve(c.network, await address(c), { tls: serve });
      for (const ser of ["msgpack", "json"]) {
        const r = await goClient([
          "--network",
          c.network,
          "--addr",
          bound,
          ...await goTlsFlags(c, "client"),
          "--serializer",
          ser,
          "--gzip",
          "--check",
          "all",
        ]);
        assert.equal(r.code, 0, `${c.name} ${ser}:\n${r.out}`);
        assert.match(r.out, /OK concurrent-1000/);
        assert.match(r.out, /OK heartbeat/);
        assert.match(r.out, /OK bytes-1mib/);
      }
    } finally {
      await server.close();
    }
  });

  Deno.test(`Deno client -> Go server over ${c.name}: calls, heartbeat, oneway, gzip, 1 MiB, 1000 in flight`, async () => {
    if (!canRun(c)) return;
    const { client: tls } = await denoTls(c);
    const go = await startGo(await serverFlags(c));
    const client = new Client(`${c.network}@${go.addr}`, { tls, ...CHECKLIST_OPTIONS });
    try {
      await runChecks(clientChecks(client, c.name));
    } finally {
      await client.close();
      await go.stop();
    }
  });
}

Deno.test("TLS with Go: wrong certificates and plain TCP on a TLS port fail with typed errors; both servers keep serving", async () => {
  if (!canRun({ name: "tls", network: "tcp", tls: "tls" })) return;
  const k = await getCerts();
  const server = await interopServer();
  const bound = await server.serve("tcp", "127.0.0.1:0", {
    tls: { certChain: k.server.cert, privateKey: k.server.key },
  });
  const go = await startGo([
    "--addr",
    "127.0.0.1:0",
    "--tls-cert",
    k.server.certPath,
    "--tls-key",
    k.server.keyPath,
  ]);
  const rogueCaPath = `${k.dir}/rogue-ca.pem`;
  try {
    // Go's client trusting another CA, and Go's plain client, against our TLS server.
    const rogue = await goClient(["--addr", bound, "--tls-ca", rogueCaPath, "--timeout", "2s"]);
    assert.notEqual(rogue.code, 0);
    assert.match(rogue.out, /ERROR: .*certificate/i);
    const plain = await goClient(["--addr", bound, "--timeout", "2s"]);
    assert.notEqual(plain.code, 0, plain.out);
    // Our client trusting another CA, and our plain client, against Go's TLS server.
    const cases: [string, ClientOptions][] = [
      ["rogue CA", { tls: { caCerts: [k.rogueCa] } }],
      ["plain", {}],
    ];
    for (const [label, options] of cases) {
      const c = new Client(`tcp@${go.addr}`, options);
      try {
        const err = await bounded(
          c.call("Arith", "Mul", { A: 1, B: 1 }, { timeout: 2000 }).catch((e: Error) => e),
          5000,
          label,
        );
        assert.ok(
          err instanceof ConnectionError || err instanceof CallTimeoutError,
          `${label}: ${err}`,
        );
        if (label === "rogue CA") {
          assert.ok(err.cause instanceof TlsHandshakeError, `cause ${err.cause}`);
        }
      } finally {
        await c.close();
      }
    }
    // Both still serve good clients.
    const ok = await goClient(["--addr", bound, "--tls-ca", k.caPath]);
    assert.equal(ok.code, 0, ok.out);
    const c = new Client(`tcp@${go.addr}`, { tls: { caCerts: [k.ca] } });
    try {
      assert.deepEqual(await c.call("Arith", "Mul", { A: 6, B: 7 }), { C: 42 });
    } finally {
      await c.close();
    }
  } finally {
    await go.stop();
    await server.close();
  }
});

Deno.test("TLS with Go: a self-signed certificate made by `openssl req -x509` (CA:TRUE) is accepted by both clients, both ways", async () => {
  if (!canRun({ name: "tls", network: "tcp", tls: "tls" })) return;
  const dir = await tempDir("rpcx-selfsigned-");
  // Exactly as the common recipe makes it (openssl adds basicConstraints CA:TRUE).
  const made = await runBounded(OPENSSL!, {
    args: ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "key.pem", "-out"]
      .concat(["cert.pem", "-days", "2", "-subj", "/CN=localhost"])
      .concat(["-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"]),
    cwd: dir,
    timeoutMs: 30_000,
  });
  assert.equal(made.code, 0, new TextDecoder().decode(made.stderr));
  const cert = await Deno.readTextFile(`${dir}/cert.pem`);
  const key = await Deno.readTextFile(`${dir}/key.pem`);
  const server = await interopServer();
  const bound = await server.serve("tcp", "127.0.0.1:0", {
    tls: { certChain: cert, privateKey: key },
  });
  const go = await startGo([
    "--addr",
    "127.0.0.1:0",
    "--tls-cert",
    `${dir}/cert.pem`,
    "--tls-key",
    `${dir}/key.pem`,
  ]);
  const c = new Client(`tcp@${go.addr}`, { tls: { caCerts: [cert] } });
  try {
    // Go's client against our server: the reference behaviour.
    const r = await goClient(["--addr", bound, "--tls-ca", `${dir}/cert.pem`]);
    assert.equal(r.code, 0, r.out);
    // Ours against Go's server with the same certificate.
    assert.deepEqual(await c.call("Arith", "Mul", { A: 6, B: 7 }), { C: 42 });
  } finally {
    await c.close();
    await go.stop();
    await server.close();
  }
});

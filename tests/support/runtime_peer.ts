// Our Server or Client as a peer process, for the interop tests that run the package under Node
// and Bun (tests/support/runtimes.ts compiles this file to JavaScript beside the installed npm
// package, so "@rpcx/core" is the package). Portable: "@rpcx/core" and node: built-ins only.
// Flags as the Go peer's (tests/interop/go/network.go, server.go, client.go):
//   runtime_peer.js serve --network tcp|unix|http|ws|wss --addr A [--tls-cert F --tls-key F [--tls-ca F]]
//                         [--services Arith,Echo,Bench] [--meta k=v&k2=v2] [--shutdown-timeout MS]
//                         [--keepalive MS (tcpKeepAlivePeriod)] [--meta-again M]
//                         [--registry etcd|zookeeper|consul|redis|mdns --registry-addr A --base B
//                          --update-interval MS]
//     serves Arith, Echo and Bench (tests/support/echo_service.ts; HTTP invoke and JSON-RPC on
//     the same port), registered in the registry with --meta, prints "LISTENING <address>",
//     shuts down (unregistering, draining in-flight calls) and exits 0 on SIGTERM
//     (Server.shutdownOnSignals, bounded by --shutdown-timeout, default 2000); with --meta-again,
//     on SIGUSR2 it registers Arith again with metadata M and prints "REGISTERED-AGAIN".
//   runtime_peer.js call --network N --addr A [--tls-ca F [--tls-cert F --tls-key F]]
//     runs the client checklist against a Go server (Arith.Mul, heartbeat, oneway, gzip, 1 MiB,
//     1000 calls in flight), printing "OK <check>" for each and "PASS" at the end; exit 1 and
//     "FAIL <check>: <error>" at the first failure.
//   runtime_peer.js xcall ...      our XClient, as `rpcxpeer client` (runtime_peer/xclient.ts)
//   runtime_peer.js inprocess      the in-process registry's checklist (runtime_peer/xclient.ts)
//   runtime_peer.js push-call ...  our Client gets Go's pushes (runtime_peer/push.ts)
//   runtime_peer.js push-serve ... our Server pushes to Go's client (runtime_peer/push.ts)
//   runtime_peer.js idle --addr A [--keepalive MS] [--ms N]
//     our Client (tcpKeepAlivePeriod --keepalive, default: left out) calls Arith.Mul once, prints
//     "CALLED", keeps the connection idle N ms (default 10 000), closes, exits 0.
//   runtime_peer.js restart-serve --addr A   graceful restart (runtime_peer/restart.ts)
//   runtime_peer.js data-serve ... our FileTransfer and StreamService (runtime_peer/stream.ts)
//   runtime_peer.js data-call ...  our sendFile / downloadFile / stream echo (runtime_peer/stream.ts)
//   runtime_peer.js register-twice  Server.register again under a name (runtime_peer/parity.ts)
//   runtime_peer.js restart-refused restart() refused on http/ws/unix (runtime_peer/parity.ts)
//   runtime_peer.js reuse
//     two Servers serve tcp on one port with reusePort: prints "SHARED" when both listen and a
//     Client call through the port is answered, else the error's class and message.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import process from "node:process";
import { Client, Server, type TlsOptions } from "@rpcx/core";
import { interopServer } from "./echo_service.ts";
import { Arith, flag } from "../../examples/arith.ts";
import { registryFlags, registryPlugin } from "./runtime_peer/registry.ts";
import { inprocess, xcall } from "./runtime_peer/xclient.ts";
import { pushCall, pushServe } from "./runtime_peer/push.ts";
import { restartServe } from "./runtime_peer/restart.ts";
import { dataCall, dataServe } from "./runtime_peer/stream.ts";
import { registerTwice, restartRefused } from "./runtime_peer/parity.ts";
import { CHECKLIST_OPTIONS, clientChecks, printChecks } from "./runtime_peer/checklist.ts";

const [mode, ...args] = process.argv.slice(2);
const network = flag(args, "network", "tcp");
const addr = flag(args, "addr", "127.0.0.1:0");
const file = (name: string) => {
  const path = flag(args, name, "");
  return path ? readFileSync(path, "utf8") : undefined;
};
const cert = file("tls-cert");
const key = file("tls-key");
const ca = file("tls-ca");

async function serve(): Promise<void> {
  const tls: TlsOptions | undefined = cert
    ? {
      certChain: cert,
      privateKey: key,
      ...(ca ? { caCerts: [ca], requireClientCert: true } : {}),
    }
    : undefined;
  const reg = registryFlags(args);
  const server = await interopServer(
    {
      plugins: reg.kind ? [await registryPlugin(reg)] : [],
      ...(flag(args, "keepalive", "")
        ? { tcpKeepAlivePeriod: Number(flag(args, "keepalive", "")) }
        : {}),
    },
    {
      services: flag(args, "services", "Arith,Echo,Bench").split(","),
      metadata: flag(args, "meta", ""),
    },
  );
  server.shutdownOnSignals({ timeout: Number(flag(args, "shutdown-timeout", "2000")) });
  console.log(`LISTENING ${await server.serve(network, addr, { tls })}`);
  // --meta-again M: on SIGUSR2 Arith is registered again with metadata M (Go's Register of a
  // name in use: the service replaced, and advertised again).
  const again = flag(args, "meta-again", "");
  if (again) {
    process.on("SIGUSR2", async () => {
      await server.register(new Arith(), "Arith", again);
      console.log("REGISTERED-AGAIN");
    });
  }
}

async function call(): Promise<number> {
  const tls: TlsOptions | undefined = ca || network === "wss"
    ? { ...(ca ? { caCerts: [ca] } : {}), ...(cert ? { certChain: cert, privateKey: key } : {}) }
    : undefined;
  const client = new Client(`${network}@${addr}`, { tls, ...CHECKLIST_OPTIONS });
  try {
    return await printChecks(clientChecks(client, network));
  } finally {
    await client.close();
  }
}

async function idle(): Promise<number> {
  const keepalive = flag(args, "keepalive", "");
  const client = new Client(`tcp@${addr}`, {
    ...(keepalive ? { tcpKeepAlivePeriod: Number(keepalive) } : {}),
  });
  try {
    assert.deepEqual(await client.call("Arith", "Mul", { A: 10, B: 20 }), { C: 200 });
    console.log("CALLED");
    await new Promise((r) => setTimeout(r, Number(flag(args, "ms", "10000"))));
    return 0;
  } finally {
    await client.close();
  }
}

async function reuse(): Promise<void> {
  const servers = [new Server(), new Server()];
  for (const s of servers) {
    await s.register({ Mul: (a: { A: number; B: number }) => ({ C: a.A * a.B }) }, "Arith");
  }
  try {
    const bound = await servers[0].serve("tcp", "127.0.0.1:0", { reusePort: true });
    await servers[1].serve("tcp", bound, { reusePort: true });
    const client = new Client(`tcp@${bound}`);
    try {
      assert.deepEqual(await client.call("Arith", "Mul", { A: 6, B: 7 }), { C: 42 });
    } finally {
      await client.close();
    }
    console.log("SHARED");
  } catch (e) {
    console.log(`${(e as Error).constructor.name}: ${(e as Error).message}`);
  } finally {
    for (const s of servers) await s.close();
  }
}

if (mode === "serve") await serve();
else if (mode === "reuse") await reuse();
else if (mode === "idle") process.exit(await idle());
else if (mode === "restart-serve") await restartServe(args);
else if (mode === "call") process.exit(await call());
else if (mode === "xcall") process.exit(await xcall(args));
else if (mode === "inprocess") process.exit(await inprocess());
else if (mode === "push-call") process.exit(await pushCall(args));
else if (mode === "push-serve") await pushServe(args);
else if (mode === "data-serve") await dataServe(args);
else if (mode === "data-call") process.exit(await dataCall(args));
else if (mode === "register-twice") process.exit(await registerTwice());
else if (mode === "restart-refused") process.exit(await restartRefused());
else {
  console.error(
    "usage: runtime_peer.js serve|call|xcall|inprocess|push-call|push-serve|data-serve|data-call|register-twice|restart-refused|reuse [flags]",
  );
  process.exit(2);
}

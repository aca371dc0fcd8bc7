// The per-network checklist of the interop tests with the real Go rpcx peer (tests/interop/go):
// the cases (tcp, tcp with TLS and mutual TLS, unix, http, ws, wss), their addresses and
// certificates, and the Go peer's server and client as those tests run them
// (tests/interop_networks_test.ts under Deno, tests/runtimes_interop_test.ts under Node and Bun).
import { runBounded, startReady } from "./child.ts";
import { GO_PEER, needGoPeer } from "./go_peer.ts";
import { makeTestCerts, OPENSSL, type TestCerts } from "./certs.ts";
import { needs, removeAtExit } from "./env.ts";
import type { TlsOptions } from "@rpcx/core";

/** One network of the checklist. */
export interface Case {
  name: string;
  network: string;
  tls?: "tls" | "mtls";
}

/** Every network both ways. */
export const CASES: readonly Case[] = [
  { name: "tcp", network: "tcp" },
  { name: "tcp+tls", network: "tcp", tls: "tls" },
  { name: "tcp+mtls", network: "tcp", tls: "mtls" },
  { name: "unix", network: "unix" },
  { name: "http", network: "http" },
  { name: "http+tls", network: "http", tls: "tls" },
  { name: "ws", network: "ws" },
  { name: "wss", network: "wss", tls: "tls" },
];

let certs: TestCerts | undefined;
/** The test certificates, made once per test file and removed when the test process ends. */
export async function getCerts(): Promise<TestCerts> {
  if (!certs) {
    certs = await makeTestCerts();
    removeAtExit(certs.dir);
  }
  return certs;
}

/** Where to listen for a case: a free loopback port, or a socket path in a new directory. */
export async function address(c: Case): Promise<string> {
  if (c.network !== "unix") return "127.0.0.1:0";
  return `${await tempDir("rpcx-unix-")}/rpcx.sock`;
}

/** A new temporary directory, removed when the test process ends (whatever `--filter` runs). */
export async function tempDir(prefix: string): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix });
  removeAtExit(dir);
  return dir;
}

/**
 * `rpcxpeer` flags for a case (`server`: its certificate, and the client CA for mutual TLS;
 * `client`: the CA, and a client certificate for mutual TLS). tests/support/runtime_peer.ts
 * takes the same flags.
 */
export async function goTlsFlags(c: Case, side: "server" | "client"): Promise<string[]> {
  if (!c.tls) return [];
  const k = await getCerts();
  if (side === "server") {
    return [
      "--tls-cert",
      k.server.certPath,
      "--tls-key",
      k.server.keyPath,
      ...(c.tls === "mtls" ? ["--tls-ca", k.caPath] : []),
    ];
  }
  return [
    "--tls-ca",
    k.caPath,
    ...(c.tls === "mtls" ? ["--tls-cert", k.client.certPath, "--tls-key", k.client.keyPath] : []),
  ];
}

/** A server's flags for case `c` (the Go peer's and runtime_peer.js's): network, address, TLS. */
export async function serverFlags(c: Case): Promise<string[]> {
  return ["--network", c.network, "--addr", await address(c), ...await goTlsFlags(c, "server")];
}

/** Runs `rpcxpeer client args`; its exit code and output (stdout + stderr). */
export async function goClient(args: string[]): Promise<{ code: number; out: string }> {
  const out = await runBounded(GO_PEER!, { args: ["client", ...args] });
  const dec = new TextDecoder();
  return { code: out.code, out: dec.decode(out.stdout) + dec.decode(out.stderr) };
}

/** Starts `rpcxpeer server --no-gateway args`; resolves once it listens. */
export async function startGo(args: string[]): Promise<{ addr: string; stop(): Promise<void> }> {
  const go = await startReady(GO_PEER!, ["server", "--no-gateway", ...args], {
    ready: /LISTENING (\S+)\n/,
    what: "the Go server's LISTENING line",
  });
  return { addr: go.match[1], stop: () => go.stop() };
}

/** Whether a case can run here (the Go peer, and openssl for TLS). */
export const canRun = (c: Case): boolean =>
  needGoPeer() && (!c.tls || needs("openssl", OPENSSL ? undefined : "not on PATH"));

/** Our TLS options for a case: the server's (`serve`) and the client's. */
export async function denoTls(
  c: Case,
): Promise<{ serve: TlsOptions | undefined; client: TlsOptions | undefined }> {
  if (!c.tls) return { serve: undefined, client: undefined };
  const k = await getCerts();
  return {
    serve: {
      certChain: k.server.cert,
      privateKey: k.server.key,
      ...(c.tls === "mtls" ? { caCerts: [k.ca], requireClientCert: true } : {}),
    },
    client: {
      caCerts: [k.ca],
      ...(c.tls === "mtls" ? { certChain: k.client.cert, privateKey: k.client.key } : {}),
    },
  };
}

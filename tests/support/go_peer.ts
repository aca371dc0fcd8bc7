// The Go rpcx peer (tests/interop/go, built by .ci/install/50-gopeer.sh into
// .cache/bin/rpcxpeer) as the registry tests use it: a Go server registered by Go's plugin, and
// Go's client finding servers through Go's discovery.

import { runBounded, startReady } from "./child.ts";
import { findExecutable, needs, REPO_ROOT } from "./env.ts";

/** The rpcxpeer binary (`$RPCXPEER` when set, for a peer built elsewhere), or undefined. */
export const GO_PEER: string | undefined = findExecutable(
  Deno.env.get("RPCXPEER") || `${REPO_ROOT}/.cache/bin/rpcxpeer`,
);

/**
 * Whether a test that needs the Go peer can run: call it first thing inside the test's `fn`
 * (under CI a missing peer then fails that one test, not the whole file at import).
 */
export function needGoPeer(): boolean {
  return needs("the Go rpcx peer (.cache/bin/rpcxpeer)", GO_PEER ? undefined : "not built");
}

/** Where the Go side finds the registry. */
export interface GoRegistry {
  /** `etcd`, `zookeeper`, `consul` or `mdns`. */
  registry: string;
  /** The registry's address. */
  registryAddr: string;
  /** The base path. */
  base: string;
}

function registryArgs(reg: GoRegistry | undefined): string[] {
  if (!reg) return [];
  return ["--registry", reg.registry, "--registry-addr", reg.registryAddr, "--base", reg.base];
}

/** `rpcxpeer server` flags of the interop tests: Arith with `weight=5`, refreshed every second. */
export const GO_ARITH_WEIGHT_5: readonly string[] = [
  "--services",
  "Arith",
  "--weight",
  "5",
  "--update-interval",
  "1s",
];

/** A running `rpcxpeer server`. */
export interface GoServer {
  /** `tcp@host:port` as registered. */
  readonly key: string;
  /** Sends a signal (SIGTERM: Go's graceful shutdown unregisters). */
  kill(signal: "SIGTERM" | "SIGKILL"): Promise<void>;
  /** SIGKILL if still running; safe to call twice. */
  stop(): Promise<void>;
}

/**
 * Starts `rpcxpeer server` on a free port, registered in `reg` (none: direct calls only), with
 * `env` added to its environment (e.g. `CONSUL_HTTP_TOKEN`, which Go's Consul client reads);
 * resolves once it listens.
 */
export async function startGoServer(
  reg: GoRegistry | undefined,
  extra: readonly string[] = [],
  env?: Record<string, string>,
): Promise<GoServer> {
  const go = await startReady(
    GO_PEER!,
    ["server", "--addr", "127.0.0.1:0", ...registryArgs(reg), ...extra],
    { ready: /LISTENING (\S+)\n/, what: "the Go server's LISTENING line", env },
  );
  return { key: `tcp@${go.match[1]}`, kill: (signal) => go.stop(signal), stop: () => go.stop() };
}

/**
 * Runs `rpcxpeer client` through `reg` with `extra` flags; returns its exit code and output
 * (killed, and this rejects, after `timeoutMs`).
 */
export async function runGoClient(
  reg: GoRegistry,
  extra: string[],
  timeoutMs = 60_000,
): Promise<{ code: number; out: string; err: string }> {
  const r = await runBounded(GO_PEER!, {
    args: ["client", ...registryArgs(reg), ...extra],
    timeoutMs,
  });
  const dec = new TextDecoder();
  return { code: r.code, out: dec.decode(r.stdout), err: dec.decode(r.stderr) };
}

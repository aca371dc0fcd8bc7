// Starts a real Consul agent (built by .ci/install/30-consul.sh into .cache/bin/consul) for
// tests: bound to 127.0.0.1, free ports for HTTP, serf LAN/WAN and server RPC, DNS and gRPC off.
// By default `-dev`, which keeps its state in memory, so a restart is a wiped agent; with
// `persistent` a single-server agent with a data dir, whose KV and sessions survive a restart.
// `session_ttl_min` is lowered to 1s so tests can use short session TTLs, except on a `stock`
// agent (Consul's own default of 10s, as users run it).

import { findExecutable, freePort, needs, REPO_ROOT } from "./env.ts";
import { SupervisedProcess, SupervisedServer } from "./supervised.ts";

/** A running test Consul agent. */
export interface ConsulAgent {
  /** `127.0.0.1:PORT`, the HTTP endpoint. */
  readonly endpoint: string;
  /** The HTTP port. */
  readonly port: number;
  /** Whether the process is running now. */
  readonly running: boolean;
  /** Calls the HTTP API: `api("/v1/kv/x")`. */
  api(path: string, init?: RequestInit): Promise<Response>;
  /** Stops the process (SIGTERM, or SIGKILL). */
  halt(signal?: "SIGTERM" | "SIGKILL"): Promise<void>;
  /** Starts it again on the same ports (dev mode: with empty state); waits until ready. */
  resume(): Promise<void>;
  /** `halt()`, optionally stays down `downMs`, then `resume()`. */
  restart(options?: { downMs?: number }): Promise<void>;
  /** Stops for good and removes the temp dir. Safe to call twice. */
  stop(): Promise<void>;
}

/** The consul binary, or undefined. */
export function consulBinary(): string | undefined {
  return findExecutable(`${REPO_ROOT}/.cache/bin/consul`, "consul");
}

/**
 * Starts a Consul agent, or returns undefined (after `needs()` printed a SKIP; under CI=true
 * it throws) when the binary is missing.
 */
export async function startConsul(
  options: { persistent?: boolean; hcl?: string[]; token?: string; stock?: boolean } = {},
): Promise<ConsulAgent | undefined> {
  const bin = consulBinary();
  if (!needs("consul", bin ? undefined : "no consul binary (build it: .ci/install/30-consul.sh)")) {
    return undefined;
  }
  const root = Deno.makeTempDirSync({ prefix: "rpcx-consul-" });
  const hcl = options.stock ? options.hcl ?? [] : ['session_ttl_min = "1s"', ...options.hcl ?? []];
  const agent = new TestConsul(bin!, root, options.persistent ?? false, hcl);
  agent.token = options.token;
  await agent.resume();
  return agent;
}

class TestConsul extends SupervisedServer implements ConsulAgent {
  readonly port: number = freePort();
  readonly serfLan: number = freePort();
  readonly serfWan: number = freePort();
  readonly serverPort: number = freePort();

  /** Sent as X-Consul-Token by `api()` and the readiness probe (ACL-enabled agents). */
  token: string | undefined;

  constructor(
    readonly bin: string,
    root: string,
    readonly persistent: boolean,
    readonly hcl: string[],
  ) {
    super(root, "consul test agent");
  }

  get endpoint(): string {
    return `127.0.0.1:${this.port}`;
  }

  api(path: string, init?: RequestInit): Promise<Response> {
    const headers = new Headers(init?.headers);
    if (this.token) headers.set("X-Consul-Token", this.token);
    return fetch(`http://${this.endpoint}${path}`, { ...init, headers });
  }

  // no `wipe`: a dev agent always restarts empty, a persistent one with its data
  protected async launch(_wipe: boolean) {
    const mode = this.persistent
      ? [
        "-server",
        "-bootstrap-expect=1",
        `-data-dir=${this.root}/data`,
        "-ui=false",
        "-hcl=performance { raft_multiplier = 1 }",
      ]
      : ["-dev"];
    const proc = await SupervisedProcess.spawn(this.bin, [
      "agent",
      ...mode,
      "-node=rpcx-test",
      "-bind=127.0.0.1",
      "-client=127.0.0.1",
      `-http-port=${this.port}`,
      "-dns-port=-1",
      "-grpc-port=-1",
      "-grpc-tls-port=-1",
      `-serf-lan-port=${this.serfLan}`,
      `-serf-wan-port=${this.serfWan}`,
      `-server-port=${this.serverPort}`,
      ...this.hcl.map((h) => `-hcl=${h}`),
      "-log-level=warn",
    ], { root: this.root, logName: "consul", env: { CHECKPOINT_DISABLE: "1" } });
    const ready = async () => {
      // Ready means: a leader, and a session can be created (the node is in the catalog).
      await proc.waitReady(`consul on ${this.endpoint} to accept sessions`, async () => {
        const res = await this.api("/v1/session/create", {
          method: "PUT",
          body: JSON.stringify({ TTL: "10s", Behavior: "delete" }),
        }).catch(() => undefined);
        if (!res) return false;
        const body = await res.text();
        if (!res.ok) return false;
        const id = (JSON.parse(body) as { ID: string }).ID;
        await (await this.api(`/v1/session/destroy/${id}`, { method: "PUT" })).body?.cancel();
        return true;
      }, 30_000);
    };
    return { proc, ready };
  }
}

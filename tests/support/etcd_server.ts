// Starts a real, single-member etcd (Debian package etcd-server, /usr/bin/etcd) for tests:
// free loopback ports for the client and peer URLs, a temp data dir, waits until healthy.
// Install it with .ci/install/10-etcd.sh.

import { delay, findExecutable, freePort, needs, waitFor } from "./env.ts";

/** A running test etcd. */
export interface EtcdServer {
  /** `127.0.0.1:PORT`, the client endpoint. */
  readonly endpoint: string;
  /** The client port. */
  readonly port: number;
  /** The data dir (kept across `halt`/`resume`/`restart`, removed by `stop`). */
  readonly dataDir: string;
  /** Whether the process is running now. */
  readonly running: boolean;
  /** Stops the process (SIGTERM, or SIGKILL) and keeps the data dir. */
  halt(signal?: "SIGTERM" | "SIGKILL"): Promise<void>;
  /** Starts it again on the same ports (data kept unless `wipe`); waits until healthy. */
  resume(options?: { wipe?: boolean }): Promise<void>;
  /** `halt()`, optionally stays down `downMs`, then `resume()`. */
  restart(options?: { wipe?: boolean; downMs?: number }): Promise<void>;
  /** SIGKILL, data dir kept (like `halt("SIGKILL")`). */
  kill(): Promise<void>;
  /** Stops for good and removes the temp dir. Safe to call twice. */
  stop(): Promise<void>;
}

/** The etcd binary, or undefined. */
export function etcdBinary(): string | undefined {
  return findExecutable("/usr/bin/etcd", "etcd");
}

/**
 * Starts etcd, or returns undefined (after `needs()` printed a SKIP; under CI=true it throws)
 * when the binary is missing.
 */
export async function startEtcd(): Promise<EtcdServer | undefined> {
  const bin = etcdBinary();
  if (!needs("etcd", bin ? undefined : "no etcd binary (apt-get install etcd-server)")) {
    return undefined;
  }
  const server = new TestEtcd(bin!, Deno.makeTempDirSync({ prefix: "rpcx-etcd-" }));
  await server.resume();
  return server;
}

class TestEtcd implements EtcdServer {
  readonly port: number = freePort();
  readonly peerPort: number = freePort();
  readonly dataDir: string;
  #child: Deno.ChildProcess | undefined;
  #watchdog: Deno.ChildProcess | undefined;
  #logs: Promise<void> | undefined;
  #stopped = false;

  constructor(readonly bin: string, readonly root: string) {
    this.dataDir = `${root}/data`;
  }

  get endpoint(): string {
    return `127.0.0.1:${this.port}`;
  }

  get running(): boolean {
    return this.#child !== undefined;
  }

  async resume(options: { wipe?: boolean } = {}): Promise<void> {
    if (this.#stopped) throw new Error("etcd test server was stopped");
    if (this.#child) return;
    if (options.wipe) await Deno.remove(this.dataDir, { recursive: true }).catch(() => {});
    const client = `http://127.0.0.1:${this.port}`;
    const peer = `http://127.0.0.1:${this.peerPort}`;
    const child = new Deno.Command(this.bin, {
      args: [
        "--name=rpcx-test",
        `--data-dir=${this.dataDir}`,
        `--listen-client-urls=${client}`,
        `--advertise-client-urls=${client}`,
        `--listen-peer-urls=${peer}`,
        `--initial-advertise-peer-urls=${peer}`,
        `--initial-cluster=rpcx-test=${peer}`,
        "--initial-cluster-state=new",
        "--heartbeat-interval=50",
        "--election-timeout=500",
        "--logger=zap",
        "--log-level=warn",
      ],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.#child = child;
    // Deno does not end children when it exits: if this test process dies (killed, timed
    // out), the watchdog kills etcd and removes the temp dir; it ends by itself with etcd.
    this.#watchdog = new Deno.Command("bash", {
      args: [
        "-c",
        'while kill -0 "$1" 2>/dev/null && kill -0 "$2" 2>/dev/null; do sleep 1; done; ' +
        'if ! kill -0 "$1" 2>/dev/null; then kill -9 "$2" 2>/dev/null; sleep 0.5; rm -rf "$3"; fi',
        "etcd-watchdog",
        String(Deno.pid),
        String(child.pid),
        this.root,
      ],
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    const log = await Deno.open(`${this.root}/etcd.log`, {
      create: true,
      append: true,
    });
    // Both streams go to one log file; each pipe gets its own writer so neither blocks.
    const sink = (s: ReadableStream<Uint8Array>) =>
      s.pipeTo(
        new WritableStream({
          write: async (chunk) => {
            await log.write(chunk);
          },
        }),
      ).catch(() => {});
    this.#logs = Promise.all([sink(child.stdout), sink(child.stderr)]).then(() => log.close());
    try {
      await waitFor(
        `etcd on ${this.endpoint} to be healthy`,
        async () => {
          const st = await Promise.race([
            child.status.then(() => "exited"),
            delay(0).then(() => ""),
          ]);
          if (st === "exited") throw new Error(`etcd exited; see ${this.root}/etcd.log`);
          const res = await fetch(`${client}/health`).catch(() => undefined);
          if (!res) return false;
          const body = await res.text();
          return res.ok && body.includes('"health":"true"');
        },
        20_000,
        50,
      );
    } catch (e) {
      await this.halt("SIGKILL");
      const tail = await Deno.readTextFile(`${this.root}/etcd.log`).catch(() => "");
      throw new Error(`${(e as Error).message}\n${tail.slice(-2000)}`);
    }
  }

  async halt(signal: "SIGTERM" | "SIGKILL" = "SIGTERM"): Promise<void> {
    const child = this.#child;
    if (!child) return;
    this.#child = undefined;
    try {
      child.kill(signal);
    } catch {
      // already gone
    }
    const timer = setTimeout(() => {
      try {
        child.kill("SIGKILL");
      } catch {
        // gone
      }
    }, 5000);
    await child.status;
    clearTimeout(timer);
    await this.#logs;
    const watchdog = this.#watchdog;
    this.#watchdog = undefined;
    if (watchdog) {
      try {
        watchdog.kill("SIGKILL");
      } catch {
        // already ended (etcd gone)
      }
      await watchdog.status;
    }
  }

  kill(): Promise<void> {
    return this.halt("SIGKILL");
  }

  async restart(options: { wipe?: boolean; downMs?: number } = {}): Promise<void> {
    await this.halt();
    if (options.downMs) await delay(options.downMs);
    await this.resume({ wipe: options.wipe });
  }

  async stop(): Promise<void> {
    if (this.#stopped) return;
    await this.halt();
    this.#stopped = true;
    await Deno.remove(this.root, { recursive: true }).catch(() => {});
  }
}

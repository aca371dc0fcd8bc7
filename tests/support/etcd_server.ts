// Starts a real etcd (Debian package etcd-server, /usr/bin/etcd) for tests: one member, or a
// cluster of several (startEtcdCluster), each on free loopback ports for its client and peer
// URLs with its own temp data dir; waits until healthy. Install it with .ci/install/10-etcd.sh.

import { Etcd3 } from "etcd3";
import { findExecutable, freePort, needs } from "./env.ts";
import { type DataServer, SupervisedProcess, SupervisedServer } from "./supervised.ts";
import { guardHttp2Sessions } from "../../src/registry/_http2_goaway.ts";

// A test's own `etcd3` client (made without @rpcx/core/etcd, e.g. to write keys beside the code
// under test) meets the etcd this file restarts: on Deno its grpc-js sessions need the same guard
// as ours (issue 26; a plain client took cli_watch_test's process down with SIGSEGV in CI).
guardHttp2Sessions();

/** How to start the test etcd (defaults: plain http, no auth). */
export interface EtcdServerOptions {
  /**
   * Serve clients over https with this server certificate; with `clientCa`, require client
   * certificates signed by it (`--client-cert-auth`). `probe` is the client certificate the
   * readiness probe presents.
   */
  tls?: {
    cert: string;
    key: string;
    ca: string;
    clientCa?: string;
    probe?: { cert: string; key: string };
  };
  /** More etcd flags, e.g. `--auth-token-ttl=1`. */
  args?: string[];
}

/** How one member of a test cluster is named and finds its peers (set by startEtcdCluster). */
interface ClusterMembership {
  name: string;
  /** `name=http://127.0.0.1:PEER,...` of every member. */
  initialCluster: string;
  token: string;
}

/** A running test etcd. */
export interface EtcdServer extends DataServer {
  /** The client URL, `http://127.0.0.1:PORT` or `https://…`. */
  readonly url: string;
  /** SIGKILL, data dir kept (like `halt("SIGKILL")`). */
  kill(): Promise<void>;
}

/** The etcd binary, or undefined. */
export function etcdBinary(): string | undefined {
  return findExecutable("/usr/bin/etcd", "etcd");
}

/**
 * Starts etcd, or returns undefined (after `needs()` printed a SKIP; under CI=true it throws)
 * when the binary is missing.
 */
export async function startEtcd(options: EtcdServerOptions = {}): Promise<EtcdServer | undefined> {
  const bin = etcdBinary();
  if (!needs("etcd", bin ? undefined : "no etcd binary (apt-get install etcd-server)")) {
    return undefined;
  }
  const server = new TestEtcd(bin!, Deno.makeTempDirSync({ prefix: "rpcx-etcd-" }), options);
  await server.resume();
  return server;
}

/**
 * Runs `fn` with a fresh etcd and a raw etcd3 client (the "operator"); stops both after. Without
 * etcd (outside CI) `fn` does not run, as with `startEtcd`.
 */
export async function withEtcd(fn: (etcd: EtcdServer, raw: Etcd3) => Promise<void>): Promise<void> {
  const etcd = await startEtcd();
  if (!etcd) return;
  const raw = new Etcd3({ hosts: etcd.endpoint });
  try {
    await fn(etcd, raw);
  } finally {
    raw.close();
    await etcd.stop();
  }
}

/**
 * Starts a real etcd cluster of `size` members (plain http, no auth) on loopback, each with its
 * own ports and data dir, and waits until every member is healthy (a leader is elected). Returns
 * undefined like {@linkcode startEtcd} when the binary is missing. Stop it with `stop()` on every
 * member. A member halted and resumed rejoins with its data dir.
 */
export async function startEtcdCluster(size = 3): Promise<EtcdServer[] | undefined> {
  const bin = etcdBinary();
  if (!needs("etcd", bin ? undefined : "no etcd binary (apt-get install etcd-server)")) {
    return undefined;
  }
  const token = `rpcx-test-${crypto.randomUUID()}`;
  const peers = Array.from({ length: size }, (_, i) => ({ name: `m${i}`, port: freePort() }));
  const initialCluster = peers.map((p) => `${p.name}=http://127.0.0.1:${p.port}`).join(",");
  const members = peers.map((p) =>
    new TestEtcd(
      bin!,
      Deno.makeTempDirSync({ prefix: `rpcx-etcd-${p.name}-` }),
      {},
      { name: p.name, initialCluster, token },
      p.port,
    )
  );
  try {
    // Each member is healthy only once a quorum has elected a leader: start them together.
    await Promise.all(members.map((m) => m.resume()));
  } catch (e) {
    await Promise.all(members.map((m) => m.stop()));
    throw e;
  }
  return members;
}

class TestEtcd extends SupervisedServer implements EtcdServer {
  readonly port: number = freePort();
  readonly peerPort: number;
  readonly dataDir: string;

  constructor(
    readonly bin: string,
    root: string,
    readonly options: EtcdServerOptions = {},
    readonly cluster?: ClusterMembership,
    peerPort?: number,
  ) {
    super(root, "etcd test server");
    this.dataDir = `${root}/data`;
    this.peerPort = peerPort ?? freePort();
  }

  get endpoint(): string {
    return `127.0.0.1:${this.port}`;
  }

  get url(): string {
    return `${this.options.tls ? "https" : "http"}://${this.endpoint}`;
  }

  protected async launch(wipe: boolean) {
    if (wipe) await Deno.remove(this.dataDir, { recursive: true }).catch(() => {});
    const client = this.url;
    const tls = this.options.tls;
    const tlsArgs = tls
      ? [
        `--cert-file=${tls.cert}`,
        `--key-file=${tls.key}`,
        ...(tls.clientCa ? ["--client-cert-auth", `--trusted-ca-file=${tls.clientCa}`] : []),
      ]
      : [];
    const peer = `http://127.0.0.1:${this.peerPort}`;
    const name = this.cluster?.name ?? "rpcx-test";
    const proc = await SupervisedProcess.spawn(this.bin, [
      `--name=${name}`,
      `--data-dir=${this.dataDir}`,
      `--listen-client-urls=${client}`,
      `--advertise-client-urls=${client}`,
      `--listen-peer-urls=${peer}`,
      `--initial-advertise-peer-urls=${peer}`,
      `--initial-cluster=${this.cluster?.initialCluster ?? `${name}=${peer}`}`,
      ...(this.cluster ? [`--initial-cluster-token=${this.cluster.token}`] : []),
      "--initial-cluster-state=new",
      "--heartbeat-interval=50",
      "--election-timeout=500",
      "--logger=zap",
      "--log-level=warn",
      ...tlsArgs,
      ...(this.options.args ?? []),
    ], { root: this.root, logName: this.cluster ? `etcd-${name}` : "etcd" });
    const ready = async () => {
      const probe = tls
        ? Deno.createHttpClient({
          caCerts: [Deno.readTextFileSync(tls.ca)],
          ...(tls.probe
            ? {
              cert: Deno.readTextFileSync(tls.probe.cert),
              key: Deno.readTextFileSync(tls.probe.key),
            }
            : {}),
        })
        : undefined;
      await proc.waitReady(`etcd on ${this.endpoint} to be healthy`, async () => {
        const res = await fetch(`${client}/health`, probe ? { client: probe } : {}).catch(() =>
          undefined
        );
        if (!res) return false;
        const body = await res.text();
        return res.ok && body.includes('"health":"true"');
      }, 20_000).finally(() => probe?.close());
    };
    return { proc, ready };
  }

  kill(): Promise<void> {
    return this.halt("SIGKILL");
  }
}

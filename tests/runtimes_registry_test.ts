// Every registry under Node and Bun (issue 24), from the npm package as a user installs it
// (tests/support/runtimes.ts), against real etcd, ZooKeeper, Consul and Redis and, inside a
// private network namespace, mDNS; the Go rpcx peer's plugins and discoveries are the reference.
// Per registry and runtime, one Go server (Go's register plugin, group=go) and our server under
// the runtime (our plugin, group=node&weight=3) serve Arith:
// - our XClient under the runtime lists both with their metadata and round-robins over them;
// - Go's discovery lists ours with its metadata, and Go's XClient calls it (--group node: ours is
//   the only server it may pick);
// - our XClient under the runtime, watching all along, drops ours and then Go's server within 3 s
//   of each one's SIGTERM (its discovery follows the registry: watch, blocking query, keyspace
//   notification, goodbye; it re-lists on its own only every 30 s);
// - SIGTERM: our server unregisters at once (gone from Go's discovery within 3 s, while its
//   registration would live 10 s and more: refreshed every 10 s, a ZooKeeper session of 10 s; on
//   mDNS a listening discovery hears its goodbye, where silence would keep it 10 s) and exits 0.
// A server that is SIGKILLed instead fails every one of these at the 3 s bound.
// mDNS needs multicast: outside the namespace this file has one test that re-runs it inside
// (tests/support/netns.ts), with the package installed outside (the namespace has no network).
import assert from "node:assert/strict";
import { MdnsDiscovery } from "@rpcx/core/mdns";
import { needs, waitFor } from "./support/env.ts";
import { type GoRegistry, needGoPeer, runGoClient, startGoServer } from "./support/go_peer.ts";
import { IN_NETNS, testInNetns, withVeth } from "./support/netns.ts";
import { startEtcd } from "./support/etcd_server.ts";
import { startZooKeeper, zooKeeperMissing } from "./support/zookeeper_server.ts";
import { startConsul } from "./support/consul_agent.ts";
import { startRedis } from "./support/redis_server.ts";
import {
  type Lines,
  PEER_PROJECT_ENV,
  runOurs,
  runtimePeer,
  spawnLines,
  startOurs,
  type Target,
  TARGETS,
} from "./support/runtimes.ts";

/** A registry started for one test. */
interface Registry {
  /** What `--registry-addr` takes ("" for mDNS). */
  addr: string;
  stop(): Promise<void>;
}

type Kind = "etcd" | "zookeeper" | "consul" | "redis" | "mdns";

/** Starts `kind`, or undefined when it cannot run here (a SKIP; under CI=true a failure). */
async function startRegistry(kind: Kind): Promise<Registry | undefined> {
  switch (kind) {
    case "etcd": {
      const etcd = await startEtcd();
      return etcd && { addr: etcd.endpoint, stop: () => etcd.stop() };
    }
    case "zookeeper": {
      if (!needs("ZooKeeper", zooKeeperMissing())) return undefined;
      const zk = await startZooKeeper({ tickTime: 200 });
      return zk && { addr: zk.connectString, stop: () => zk.dispose() };
    }
    case "consul": {
      const consul = await startConsul();
      return consul && { addr: consul.endpoint, stop: () => consul.stop() };
    }
    case "redis": {
      const redis = await startRedis();
      return redis && { addr: redis.endpoint, stop: () => redis.stop() };
    }
    case "mdns":
      return { addr: "", stop: () => Promise.resolve() };
  }
}

/** The Go peer's flags for `kind` besides the registry's (mDNS: the interface). */
const goExtra = (kind: Kind) => kind === "mdns" ? ["--mdns-iface", "lo"] : [];

/** The checklist of one registry under one runtime (see the file's head). */
async function checklist(kind: Kind, reg: Registry, target: Target): Promise<void> {
  const run = target.command();
  if (!run) return;
  const base = `/rpcx_rt_${target.name}_${Date.now().toString(36)}`;
  const greg: GoRegistry = { registry: kind, registryAddr: reg.addr, base };
  const regFlags = ["--registry", kind, "--registry-addr", reg.addr, "--base", base];
  const go = await startGoServer(greg, [
    "--services",
    "Arith",
    "--group",
    "go",
    "--update-interval",
    "1s",
    ...goExtra(kind),
  ]);
  const ours = await startOurs(run, [
    "serve",
    "--network",
    "tcp",
    "--addr",
    "127.0.0.1:0",
    "--services",
    "Arith",
    "--meta",
    "group=node&weight=3",
    ...regFlags,
    // Its registration lives 10-20 s: a removal within the bound below is the unregister.
    "--update-interval",
    "10000",
  ]);
  const oursKey = `tcp@${ours.addr}`;
  const t = `${target.name} ${kind}`;
  let listener: MdnsDiscovery | undefined;
  let watcher: Lines | undefined;
  const { project, script } = await runtimePeer();
  try {
    // Our XClient under the runtime: both servers, with their metadata; round robin over them.
    const listed = await runOurs(run, [
      "xcall",
      ...regFlags,
      "--list-servers",
      "--min-servers",
      "2",
    ]);
    assert.equal(listed.code, 0, `${t}: ${listed.stdout}${listed.stderr}`);
    assert.equal(
      listed.stdout,
      [`SERVER ${go.key} group=go`, `SERVER ${oursKey} group=node&weight=3`].sort().join("\n") +
        "\n",
      t,
    );
    const called = await runOurs(run, ["xcall", ...regFlags, "--min-servers", "2", "--count", "4"]);
    assert.equal(called.code, 0, `${t}: ${called.stdout}${called.stderr}`);
    const from = [...called.stdout.matchAll(/^10 \* 20 = 200 from (\S+)$/gm)].map((m) => m[1]);
    assert.equal(from.length, 4, called.stdout);
    assert.deepEqual(
      [...new Set(from)].sort(),
      [go.key, oursKey].map((k) => k.slice(4)).sort(),
      `${t}: round robin over both`,
    );
    assert.equal(listed.stderr + called.stderr, "", `${t}: our XClient's stderr`);

    // Go's discovery lists ours with its metadata; Go's XClient calls it (the only group=node).
    // A Go listing: a new process reading the registry (5 s at most for the servers to show).
    const goList = () =>
      runGoClient(greg, [...goExtra(kind), "--list-servers", "--wait-servers", "5s"]);
    let goView = "";
    await waitFor(
      `${t}: Go's discovery to list ours`,
      async () => {
        const r = await goList();
        goView = r.out + r.err;
        return r.out.includes(`SERVER ${oursKey} group=node&weight=3\n`);
      },
      20_000,
      200,
    ).catch((e) => {
      throw new Error(`${e.message}; Go's last view:\n${goView}`);
    });
    const gc = await runGoClient(greg, [...goExtra(kind), "--group", "node", "--count", "4"]);
    assert.equal(gc.code, 0, `${t}: ${gc.out}${gc.err}`);
    assert.equal(gc.out.match(/^10 \* 20 = 200$/gm)?.length, 4, gc.out);

    // SIGTERM: unregistered at once, exit 0. Each Go listing is a new process reading the
    // registry; on mDNS, where a fresh browse misses a dead server as well, a discovery that
    // listens all along (ours under Deno, here) tells a goodbye (dropped at once) from a server
    // that went silent (dropped after two missed browses and 10 s, or at its TTL of 30 s).
    // Our XClient under the runtime watches all along too: its discovery follows the registry
    // (it re-lists on its own only every 30 s), so ours, then Go's server (Go unregisters on
    // SIGTERM), leave its list within 3 s.
    watcher = spawnLines(run.cmd, [
      ...run.pre,
      script,
      "xcall",
      ...regFlags,
      "--min-servers",
      "2",
      "--watch",
      "60000",
    ], project);
    const watched = (keys: string[]) => () =>
      watcher!.lines.some((l) => l.text === `SERVERS ${keys.sort().join(",")}`);
    await waitFor(`${t}: our watching XClient to list both`, watched([go.key, oursKey]), 15_000);
    listener = kind === "mdns" ? new MdnsDiscovery("Arith", { timeout: 500 }) : undefined;
    const heard = () => listener!.getServices().some((p) => p.key === oursKey);
    if (listener) await waitFor(`${t}: a listening discovery to hear ours`, heard, 10_000);
    const t0 = Date.now();
    await ours.stop("SIGTERM");
    assert.equal((await ours.child.status).code, 0, `${t}: our server exits 0 after SIGTERM`);
    if (listener) await waitFor(`${t}: the goodbye heard`, () => !heard(), 3000, 20);
    await waitFor(`${t}: ours gone from our watching XClient`, watched([go.key]), 3000, 20);
    await waitFor(
      `${t}: ours gone from Go's discovery`,
      async () => {
        const r = await goList();
        return r.out.includes(`SERVER ${go.key}`) && !r.out.includes(oursKey);
      },
      3000,
      50,
    );
    console.log(`  ${t}: ours gone from Go's discovery ${Date.now() - t0} ms after SIGTERM`);
    assert.equal(ours.stderrText(), "", `${t}: our server's stderr`);
    const t1 = Date.now();
    await go.kill("SIGTERM");
    await waitFor(`${t}: Go's server gone from our watching XClient`, watched([]), 3000, 20);
    console.log(`  ${t}: Go's server gone from our XClient ${Date.now() - t1} ms after SIGTERM`);
    await watcher.stop();
    assert.equal((await watcher.end(1000)).err, "", `${t}: our watching XClient's stderr`);
  } finally {
    await watcher?.stop();
    await listener?.close();
    await ours.stop("SIGKILL");
    await go.stop();
  }
}

/** One test per registry, one step per runtime, sharing one registry. */
function registryTest(kind: Kind): void {
  Deno.test(`${kind} under Node and Bun: our XClient finds and round-robins Go's server and ours, Go finds and calls ours, SIGTERM unregisters at once`, async (t) => {
    if (!needGoPeer()) return;
    await runtimePeer();
    const reg = await startRegistry(kind);
    if (!reg) return;
    const steps = async () => {
      for (const target of TARGETS) {
        await t.step(target.name, () => checklist(kind, reg, target));
      }
    };
    try {
      // Go's zeroconf keeps only services with an address: a veth gives ours one.
      await (kind === "mdns" ? withVeth(steps) : steps());
    } finally {
      await reg.stop();
    }
  });
}

if (!IN_NETNS) {
  for (const kind of ["etcd", "zookeeper", "consul", "redis"] as const) registryTest(kind);

  testInNetns(
    "mdns under Node and Bun: the test passes inside a private network namespace",
    "tests/runtimes_registry_test.ts",
    1,
    {
      prepare: async () => {
        if (!needGoPeer()) return false;
        // Installed here: the namespace has no network to install from.
        const { project } = await runtimePeer();
        return { [PEER_PROJECT_ENV]: project };
      },
    },
  );
} else {
  registryTest("mdns");
}

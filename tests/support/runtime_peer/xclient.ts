// Our XClient as tests/support/runtime_peer.ts runs it under Node and Bun (from the installed npm
// package): `xcall` mirrors the Go peer's `rpcxpeer client` (servers given, or found in a
// registry; fail and select modes; --list-servers), and `inprocess` runs the in-process registry's
// checklist in one process.
import assert from "node:assert/strict";
import {
  Client,
  FailMode,
  InprocessDiscovery,
  InprocessRegisterPlugin,
  ListenError,
  MultipleServersDiscovery,
  Peer2PeerDiscovery,
  SelectMode,
  Server,
  type ServiceDiscovery,
  XClient,
} from "@rpcx/core";
import { Arith, flag } from "../../../examples/arith.ts";
import { registryDiscovery, registryFlags } from "./registry.ts";

const FAIL_MODES: Record<string, FailMode> = {
  failover: FailMode.Failover,
  failfast: FailMode.Failfast,
  failtry: FailMode.Failtry,
  failbackup: FailMode.Failbackup,
};
const SELECT_MODES: Record<string, SelectMode> = {
  random: SelectMode.RandomSelect,
  roundrobin: SelectMode.RoundRobin,
  weighted: SelectMode.WeightedRoundRobin,
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `ok` every 20 ms; throws naming `what` after `ms`. */
async function waitFor(what: string, ok: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`${what}: not within ${ms} ms`);
    await sleep(20);
  }
}

/**
 * `xcall`: an XClient of `--service` (default Arith) over `--addr a[,b...]` (Peer2Peer for one,
 * MultipleServers for several, on `--network`) or over `--registry`. It waits up to
 * `--wait-servers` ms (default 10 000) for `--min-servers` (default 1). With `--list-servers` it
 * then prints `SERVER <key> <metadata>` for each server discovered (sorted); else it calls `Arith.Mul {A:10, B:20}` `--count` times, `--interval` ms apart, printing
 * `10 * 20 = 200 from <host:port>` (the server that answered), or `ERROR: <message>` and exit 1 at
 * the first failure. `--failmode`, `--selectmode`, `--group` and `--timeout` (ms per call) as Go's.
 * With `--watch MS` it calls nothing: for MS ms it prints `SERVERS <key>,<key>...` (the selectable
 * servers, sorted) at once and on every change the discovery delivers.
 */
export async function xcall(args: string[]): Promise<number> {
  const service = flag(args, "service", "Arith");
  const addrs = flag(args, "addr", "").split(",").filter((a) => a !== "");
  const network = flag(args, "network", "tcp");
  const reg = registryFlags(args);
  const discovery: ServiceDiscovery = addrs.length === 1
    ? new Peer2PeerDiscovery(`${network}@${addrs[0]}`)
    : addrs.length > 1
    ? new MultipleServersDiscovery(addrs.map((a) => ({ key: `${network}@${a}`, value: "" })))
    : await registryDiscovery(reg, service);
  const failMode = FAIL_MODES[flag(args, "failmode", "failover")];
  const selectMode = SELECT_MODES[flag(args, "selectmode", "roundrobin")];
  const group = flag(args, "group", "") || undefined;
  const xclient = new XClient(service, failMode, selectMode, discovery, {
    group,
    connectTimeout: 2000,
  });
  const wait = Number(flag(args, "wait-servers", "10000"));
  const min = Number(flag(args, "min-servers", "1"));
  try {
    if (args.includes("--list-servers")) {
      await waitFor(`${min} servers discovered`, () => discovery.getServices().length >= min, wait);
      const lines = discovery.getServices().map((p) => `SERVER ${p.key} ${p.value}`);
      for (const l of lines.sort()) console.log(l);
      return 0;
    }
    await waitFor(`${min} servers to select`, () => xclient.servers.length >= min, wait);
    const watch = Number(flag(args, "watch", "0"));
    if (watch > 0) {
      // What the discovery's watch delivers, as it happens: the selectable servers on each change.
      let last = "";
      for (const end = Date.now() + watch; Date.now() < end; await sleep(20)) {
        const now = [...xclient.servers].sort().join(",");
        if (now !== last) console.log(`SERVERS ${(last = now)}`);
      }
      return 0;
    }
    const count = Number(flag(args, "count", "1"));
    const interval = Number(flag(args, "interval", "0"));
    const timeout = Number(flag(args, "timeout", "5000"));
    for (let i = 0; i < count; i++) {
      if (i > 0 && interval > 0) await sleep(interval);
      const meta: Record<string, string> = {};
      try {
        const reply = await xclient.call<{ C: number }>("Mul", { A: 10, B: 20 }, {
          timeout,
          replyMetadata: meta,
        });
        console.log(`10 * 20 = ${reply.C} from ${meta.__ServerAddress}`);
      } catch (e) {
        console.log(`ERROR: call ${i}: ${(e as Error).constructor.name}: ${(e as Error).message}`);
        return 1;
      }
    }
    return 0;
  } finally {
    await xclient.close();
    await discovery.close();
  }
}

/**
 * `inprocess`: the in-process registry in one process, as examples/inprocess does it and more:
 * two servers serve Arith in-process (weights 1 and 3) and list it with the in-process registry's
 * plugin; an XClient over InprocessDiscovery
 * round-robins over both, WeightedRoundRobin splits 1:3, a Client reaches one by name, serving a
 * name twice is a ListenError, and a server's shutdown removes it from the discovery while calls
 * go on to the other. Prints `OK <check>` for each and `PASS`; `FAIL <check>: <error>`, exit 1.
 */
export async function inprocess(): Promise<number> {
  const hits = { a: 0, b: 0 };
  const serve = async (name: "a" | "b", weight: number) => {
    const server = new Server({ plugins: [new InprocessRegisterPlugin()] });
    await server.register(
      {
        Mul: (args: { A: number; B: number }) => (hits[name]++, { C: args.A * args.B }),
      },
      "Arith",
      `weight=${weight}`,
    );
    await server.serve("inprocess", `arith-${name}`);
    return server;
  };
  const a = await serve("a", 1);
  const b = await serve("b", 3);
  const discovery = new InprocessDiscovery("Arith");
  const rr = new XClient("Arith", FailMode.Failover, SelectMode.RoundRobin, discovery);
  const wrr = new XClient("Arith", FailMode.Failover, SelectMode.WeightedRoundRobin, discovery);
  const checks: [string, () => void | Promise<void>][] = [
    ["discovered", () => {
      assert.deepEqual(
        discovery.getServices().map((p) => `${p.key} ${p.value}`).sort(),
        ["inprocess@arith-a weight=1", "inprocess@arith-b weight=3"],
      );
      assert.deepEqual(rr.servers.sort(), ["inprocess@arith-a", "inprocess@arith-b"]);
    }],
    ["round-robin", async () => {
      for (let i = 0; i < 4; i++) {
        assert.deepEqual(await rr.call("Mul", { A: 10, B: 20 }), { C: 200 });
      }
      assert.deepEqual(hits, { a: 2, b: 2 });
    }],
    ["weighted", async () => {
      hits.a = hits.b = 0;
      for (let i = 0; i < 8; i++) await wrr.call("Mul", { A: 2, B: 3 });
      assert.deepEqual(hits, { a: 2, b: 6 });
    }],
    ["client-by-name", async () => {
      const client = new Client("inprocess@arith-b");
      try {
        assert.deepEqual(await client.call("Arith", "Mul", { A: 6, B: 7 }), { C: 42 });
      } finally {
        await client.close();
      }
    }],
    ["name-taken", async () => {
      const other = new Server();
      await other.register(new Arith(), "Arith");
      try {
        await assert.rejects(other.serve("inprocess", "arith-a"), ListenError);
      } finally {
        await other.close();
      }
    }],
    ["shutdown-removes", async () => {
      await b.shutdown({ timeout: 1000 });
      await waitFor("arith-b gone", () => rr.servers.join() === "inprocess@arith-a", 2000);
      hits.a = hits.b = 0;
      for (let i = 0; i < 4; i++) await rr.call("Mul", { A: 1, B: 1 });
      assert.deepEqual(hits, { a: 4, b: 0 });
    }],
  ];
  try {
    for (const [name, check] of checks) {
      try {
        await check();
        console.log(`OK ${name}`);
      } catch (e) {
        console.log(`FAIL ${name}: ${(e as Error)?.stack ?? e}`);
        return 1;
      }
    }
    console.log("PASS");
    return 0;
  } finally {
    await rr.close();
    await wrr.close();
    await discovery.close();
    await a.close();
    await b.close();
  }
}

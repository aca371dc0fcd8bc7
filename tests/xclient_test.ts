// XClient over real servers on 127.0.0.1 (and in-process): fail modes, select modes,
// discovery changes, health, broadcast and fork.
import assert from "node:assert/strict";
import {
  type CallContext,
  CallTimeoutError,
  ClientClosedError,
  ConnectionError,
  FailMode,
  InprocessDiscovery,
  InprocessRegisterPlugin,
  InprocessRegistry,
  MetadataKeys,
  MultipleServersDiscovery,
  NoServerAvailableError,
  NoServerSelectedError,
  Peer2PeerDiscovery,
  SelectMode,
  SerializeType,
  Server,
  type ServiceDiscovery,
  ServiceError,
  XClient,
  type XClientOptions,
} from "@rpcx/core";
import {
  BaseDiscovery,
  type KVPair,
  NetworkRegistry,
  PipeNetwork,
  type Selector,
  type ServerPlugin,
  WeightedLatencySelector,
} from "@rpcx/core/extend";
import { createMessage, FrameTooLargeError, type Message, MessageType } from "@rpcx/core/protocol";
import { bounded, delay, freePort, sleep, waitFor } from "./support/env.ts";
import { needGoPeer, startGoServer } from "./support/go_peer.ts";

/** One real server of service "Svc" that counts its calls and can be made slow or failing. */
class Node {
  readonly server: Server;
  key = "";
  calls = 0;
  slowMs = 0;
  fail = false;

  constructor(readonly name: string, plugins: ServerPlugin[] = []) {
    this.server = new Server({ plugins });
  }

  static async start(
    name: string,
    opts: { port?: number; plugins?: ServerPlugin[] } = {},
  ): Promise<Node> {
    const n = new Node(name, opts.plugins);
    await n.server.register(n.#service(), "Svc");
    n.key = `tcp@${await n.server.serve("tcp", `127.0.0.1:${opts.port ?? 0}`)}`;
    return n;
  }

  #service() {
    return {
      Who: async (_: unknown, ctx: CallContext) => {
        this.calls++;
        if (this.slowMs > 0) await sleep(this.slowMs, ctx.signal);
        if (this.fail) throw new Error(`${this.name} failed on purpose`);
        return this.name;
      },
      Mul: (a: { A: number; B: number }) => {
        this.calls++;
        return { C: a.A * a.B };
      },
      Len: (text: string) => {
        this.calls++;
        return text.length;
      },
      /** The `__ServerTimeout` the call carried ("none" without one); not counted. */
      Deadline: (_: unknown, ctx: CallContext) =>
        ctx.metadata[MetadataKeys.ServerTimeout] ?? "none",
    };
  }

  pair(value = ""): KVPair {
    return { key: this.key, value };
  }

  close(): Promise<void> {
    return this.server.close();
  }
}

/** A key on 127.0.0.1 where nothing listens (connection refused). */
function deadKey(): string {
  return `tcp@127.0.0.1:${freePort()}`;
}

/** Picks the first key of `order` that is in the list (a deterministic SelectByUser). */
class PreferSelector implements Selector {
  keys: string[] = [];
  constructor(readonly order: string[]) {}
  select(): string | undefined {
    return this.order.find((k) => this.keys.includes(k));
  }
  update(pairs: KVPair[]): void {
    this.keys = pairs.map((p) => p.key);
  }
}

/**
 * A TCP server that accepts, reads, never answers, and closes each connection after `closeAfter`
 * ms: every call made to it ends with a transport error after that delay.
 */
class ClosingServer {
  readonly listener: Deno.TcpListener;
  accepted = 0;
  readonly #conns = new Set<Deno.Conn>();
  readonly #tasks: Promise<void>[] = [];
  readonly #timers = new Set<ReturnType<typeof setTimeout>>();
  readonly #accepting: Promise<void>;

  constructor(readonly closeAfter: number) {
    this.listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    this.#accepting = this.#accept();
  }

  get key(): string {
    return `tcp@127.0.0.1:${(this.listener.addr as Deno.NetAddr).port}`;
  }

  async #accept(): Promise<void> {
    try {
      for await (const c of this.listener) {
        this.accepted++;
        this.#conns.add(c);
        const t = setTimeout(() => {
          this.#timers.delete(t);
          this.#drop(c);
        }, this.closeAfter);
        this.#timers.add(t);
        this.#tasks.push((async () => {
          const buf = new Uint8Array(4096);
          try {
            while ((await c.read(buf)) !== null) { /* discard */ }
          } catch {
            // closed
          }
        })());
      }
    } catch {
      // listener closed
    }
  }

  #drop(c: Deno.Conn): void {
    if (!this.#conns.delete(c)) return;
    try {
      c.close();
    } catch {
      // closed
    }
  }

  async close(): Promise<void> {
    this.listener.close();
    for (const t of this.#timers) clearTimeout(t);
    for (const c of [...this.#conns]) this.#drop(c);
    await this.#accepting;
    await Promise.all(this.#tasks);
  }
}

async function closeAll(
  x: XClient[],
  nodes: (Node | undefined)[],
  discoveries: { close(): Promise<void> }[] = [],
): Promise<void> {
  for (const c of x) await c.close();
  for (const d of discoveries) await d.close();
  for (const n of nodes) await n?.close();
}

const JSON_OPTS: XClientOptions = { serializeType: SerializeType.JSON };

// ---------------------------------------------------------------------------------------------
// Fail modes

Deno.test("Failover: moves off a dead server and succeeds", async () => {
  const live = await Node.start("live");
  const dead = deadKey();
  const d = new MultipleServersDiscovery([{ key: dead, value: "" }, live.pair()]);
  const x = new XClient("Svc", FailMode.Failover, SelectMode.SelectByUser, d, {
    selector: new PreferSelector([dead, live.key]),
  });
  try {
    for (let i = 0; i < 5; i++) assert.equal(await x.call("Who", null), "live");
    assert.equal(live.calls, 5);
    // the refused server is out of the selectable list right away
    assert.deepEqual(x.servers, [live.key]);
    assert.deepEqual(x.discovered.sort(), [dead, live.key].sort());
  } finally {
    await closeAll([x], [live], [d]);
  }
});

Deno.test("Failfast: one try, the transport error is returned", async () => {
  const live = await Node.start("live");
  const dead = deadKey();
  const d = new MultipleServersDiscovery([{ key: dead, value: "" }, live.pair()]);
  const x = new XClient("Svc", FailMode.Failfast, SelectMode.SelectByUser, d, {
    selector: new PreferSelector([dead, live.key]),
  });
  const p2p = new Peer2PeerDiscovery(dead);
  const x2 = new XClient("Svc", FailMode.Failfast, SelectMode.RandomSelect, p2p);
  try {
    await assert.rejects(x.call("Who", null), (e) => {
      assert.ok(e instanceof ConnectionError, `got ${e}`);
      return true;
    });
    assert.equal(live.calls, 0, "Failfast never moved to the live server");
    await assert.rejects(x2.call("Who", null), ConnectionError);
  } finally {
    await closeAll([x, x2], [live], [d, p2p]);
  }
});

Deno.test("Failtry: retries the same server; Failover in the same spot moves on", async () => {
  // `flaky` drops its first N connections right after accepting them: each such call fails
  // with a transport error (connection closed) on that server.
  const makeFlaky = async (drops: number) => {
    const seen = { accepts: 0 };
    const refuseFirst: ServerPlugin = { connAccept: () => ++seen.accepts > drops };
    const n = await Node.start("flaky", { plugins: [refuseFirst] });
    return { n, seen };
  };
  const other = await Node.start("other");
  const f1 = await makeFlaky(2);
  const d1 = new MultipleServersDiscovery([f1.n.pair(), other.pair()]);
  const tryer = new XClient("Svc", FailMode.Failtry, SelectMode.SelectByUser, d1, {
    selector: new PreferSelector([f1.n.key, other.key]),
    retries: 3,
  });
  const f2 = await makeFlaky(1);
  const d2 = new MultipleServersDiscovery([f2.n.pair(), other.pair()]);
  const over = new XClient("Svc", FailMode.Failover, SelectMode.SelectByUser, d2, {
    selector: new PreferSelector([f2.n.key, other.key]),
    retries: 3,
  });
  try {
    assert.equal(await tryer.call("Who", null), "flaky");
    assert.equal(f1.seen.accepts, 3, "two dropped connections, then the third one served");
    assert.equal(f1.n.calls, 1);
    assert.equal(other.calls, 0, "Failtry never left the chosen server");

    assert.equal(await over.call("Who", null), "other");
    assert.equal(f2.seen.accepts, 1);
    assert.equal(f2.n.calls, 0);
    assert.equal(other.calls, 1);
  } finally {
    await closeAll([tryer, over], [f1.n, f2.n, other], [d1, d2]);
  }
});

Deno.test("Failtry: gives up after retries+1 tries with the transport error", async () => {
  const seen = { accepts: 0 };
  const refuseAll: ServerPlugin = { connAccept: () => (seen.accepts++, false) };
  const m = await Node.start("never", { plugins: [refuseAll] });
  const d = new Peer2PeerDiscovery(m.key);
  const x = new XClient("Svc", FailMode.Failtry, SelectMode.RandomSelect, d, { retries: 2 });
  try {
    await assert.rejects(x.call("Who", null), ConnectionError);
    assert.equal(seen.accepts, 3, "1 try + 2 retries");
  } finally {
    await closeAll([x], [m], [d]);
  }
});

Deno.test("Failbackup: a slow primary is overtaken by the backup's reply", async () => {
  const primary = await Node.start("primary");
  const backup = await Node.start("backup");
  primary.slowMs = 1000;
  const d = new MultipleServersDiscovery([primary.pair(), backup.pair()]);
  const x = new XClient("Svc", FailMode.Failbackup, SelectMode.SelectByUser, d, {
    selector: new PreferSelector([primary.key, backup.key]),
    backupLatency: 20,
  });
  // backupLatency 500: a loaded machine's slow reply is not taken for a slow primary.
  const y = new XClient("Svc", FailMode.Failbackup, SelectMode.SelectByUser, d, {
    selector: new PreferSelector([primary.key, backup.key]),
    backupLatency: 500,
  });
  try {
    const start = performance.now();
    assert.equal(await x.call("Who", null), "backup");
    const took = performance.now() - start;
    assert.ok(took < 600, `backup reply after ${took} ms (the primary takes 1000)`);
    assert.ok(took >= 15, `the backup waited backupLatency (${took} ms)`);
    assert.equal(primary.calls, 1);
    assert.equal(backup.calls, 1);

    // A primary that answers within backupLatency answers alone: no backup request.
    primary.slowMs = 0;
    for (let i = 0; i < 3; i++) assert.equal(await y.call("Who", null), "primary");
    await delay(600);
    assert.equal(backup.calls, 1);
  } finally {
    await closeAll([x, y], [primary, backup], [d]);
  }
});

Deno.test("Failbackup: a primary that refuses hands over to the backup at once", async () => {
  const backup = await Node.start("backup");
  const dead = deadKey();
  const d = new MultipleServersDiscovery([{ key: dead, value: "" }, backup.pair()]);
  const x = new XClient("Svc", FailMode.Failbackup, SelectMode.SelectByUser, d, {
    selector: new PreferSelector([dead, backup.key]),
    backupLatency: 500,
  });
  const lone = new MultipleServersDiscovery([{ key: dead, value: "" }]);
  const y = new XClient("Svc", FailMode.Failbackup, SelectMode.RoundRobin, lone, {
    backupLatency: 500,
  });
  try {
    const start = performance.now();
    assert.equal(await x.call("Who", null), "backup");
    assert.ok(performance.now() - start < 300, "did not wait backupLatency");
    // with no second server the backup goes to the same (refusing) one: its error is returned
    await assert.rejects(bounded(y.call("Who", null), 3000, "lone backup call"), ConnectionError);
  } finally {
    await closeAll([x, y], [backup], [d, lone]);
  }
});

Deno.test("a ServiceError is never retried (Failover, Failtry, Failbackup)", async () => {
  const a = await Node.start("a");
  const b = await Node.start("b");
  a.fail = true;
  b.fail = true;
  const d = new MultipleServersDiscovery([a.pair(), b.pair()]);
  const modes = [FailMode.Failover, FailMode.Failtry, FailMode.Failbackup, FailMode.Failfast];
  const clients = modes.map((m) =>
    // backupLatency is well above a reply's time on a loaded machine: a backup request sent
    // because the error reply was slow would be no retry (it failed once so, at 20 ms).
    new XClient("Svc", m, SelectMode.RoundRobin, d, { retries: 5, backupLatency: 300 })
  );
  try {
    for (const x of clients) {
      const before = a.calls + b.calls;
      await assert.rejects(x.call("Who", null), (e) => {
        assert.ok(e instanceof ServiceError, `got ${e}`);
        assert.match((e as Error).message, /failed on purpose/);
        return true;
      });
      // After backupLatency (300 ms): a retry, or a backup request whose timer outlived the
      // error, would have arrived.
      await delay(400);
      assert.equal(a.calls + b.calls - before, 1, `fail mode ${x.failMode} retried`);
      // a service error does not count against the server's health
      assert.equal(x.servers.length, 2);
    }
  } finally {
    await closeAll(clients, [a, b], [d]);
  }
});

Deno.test("timeout bounds the whole call, retries included", async () => {
  // Each server accepts and then drops the connection after 150 ms: every try fails with a
  // transport error after 150 ms. Unbounded, 1 + 10 tries would take ~1.6 s.
  const closers = [new ClosingServer(150), new ClosingServer(150), new ClosingServer(150)];
  const d = new MultipleServersDiscovery(closers.map((c) => ({ key: c.key, value: "" })));
  const tryer = new XClient("Svc", FailMode.Failtry, SelectMode.RoundRobin, d, { retries: 10 });
  const over = new XClient("Svc", FailMode.Failover, SelectMode.RoundRobin, d, {
    retries: 10,
    failureThreshold: 100,
  });
  try {
    for (const x of [tryer, over]) {
      const acceptedBefore = closers.reduce((n, c) => n + c.accepted, 0);
      const start = performance.now();
      const call = x.call("Who", null, { timeout: 400 });
      await assert.rejects(bounded(call, 3000, "bounded call"), (e) => {
        assert.ok(e instanceof CallTimeoutError, `got ${e}`);
        assert.equal((e as CallTimeoutError).timeout, 400, "the call's timeout is reported");
        return true;
      });
      const took = performance.now() - start;
      // Unbounded, the 11 tries would take ~1.6 s.
      assert.ok(took >= 380 && took < 1000, `mode ${x.failMode}: gave up after ${took} ms`);
      const tries = closers.reduce((n, c) => n + c.accepted, 0) - acceptedBefore;
      assert.ok(tries >= 2, `mode ${x.failMode}: ${tries} connection(s), so it did retry`);
    }
  } finally {
    await closeAll([tryer, over], [], [d]);
    for (const c of closers) await c.close();
  }
});

Deno.test("the XClient's default timeout also bounds the whole call", async () => {
  const closers = [new ClosingServer(150), new ClosingServer(150)];
  const d = new MultipleServersDiscovery(closers.map((c) => ({ key: c.key, value: "" })));
  const x = new XClient("Svc", FailMode.Failtry, SelectMode.RoundRobin, d, {
    retries: 10,
    timeout: 400,
  });
  try {
    const start = performance.now();
    await assert.rejects(bounded(x.call("Who", null), 3000, "default-timeout call"), (e) => {
      assert.ok(e instanceof CallTimeoutError, `got ${e}`);
      assert.equal((e as CallTimeoutError).timeout, 400);
      return true;
    });
    const took = performance.now() - start;
    // Unbounded, the 11 tries would take ~1.6 s.
    assert.ok(took >= 380 && took < 1000, `gave up after ${took} ms`);
    assert.ok(closers.reduce((n, c) => n + c.accepted, 0) >= 2, "it did retry");
  } finally {
    await closeAll([x], [], [d]);
    for (const c of closers) await c.close();
  }
});

// ---------------------------------------------------------------------------------------------
// Select modes

Deno.test("RoundRobin: each server in turn", async () => {
  const nodes = await Promise.all(["a", "b", "c"].map((n) => Node.start(n)));
  const d = new MultipleServersDiscovery(nodes.map((n) => n.pair()));
  const x = new XClient("Svc", FailMode.Failfast, SelectMode.RoundRobin, d, JSON_OPTS);
  try {
    const seq: string[] = [];
    for (let i = 0; i < 9; i++) seq.push(await x.call<string>("Who", null));
    const firstThree = seq.slice(0, 3);
    assert.deepEqual([...firstThree].sort(), ["a", "b", "c"], "all three in the first round");
    assert.deepEqual(seq, [...firstThree, ...firstThree, ...firstThree]);
    for (const n of nodes) assert.equal(n.calls, 3);
  } finally {
    await closeAll([x], nodes, [d]);
  }
});

Deno.test("WeightedRoundRobin: 3:1 weights give an exact smooth 3:1 sequence", async () => {
  const heavy = await Node.start("heavy");
  const light = await Node.start("light");
  const d = new MultipleServersDiscovery([heavy.pair("weight=3"), light.pair("weight=1")]);
  const x = new XClient("Svc", FailMode.Failfast, SelectMode.WeightedRoundRobin, d);
  try {
    const seq: string[] = [];
    for (let i = 0; i < 400; i++) seq.push(await x.call<string>("Who", null));
    assert.equal(heavy.calls, 300);
    assert.equal(light.calls, 100);
    // smooth: the same 4-call pattern over and over, with the light server once per period
    const period = seq.slice(0, 4);
    assert.equal(period.filter((s) => s === "light").length, 1, period.join(","));
    for (let i = 0; i < 400; i++) assert.equal(seq[i], period[i % 4], `call ${i}`);
    // never twice the light server in a row, never more than 3 heavy in a row
    assert.ok(!seq.join(",").includes("light,light"));
    assert.ok(!seq.join(",").includes("heavy,heavy,heavy,heavy"));
  } finally {
    await closeAll([x], [heavy, light], [d]);
  }
});

Deno.test("ConsistentHash: the same args always reach the same server", async () => {
  const nodes = await Promise.all(["a", "b", "c"].map((n) => Node.start(n)));
  const d = new MultipleServersDiscovery(nodes.map((n) => n.pair()));
  const x = new XClient("Svc", FailMode.Failfast, SelectMode.ConsistentHash, d);
  try {
    const first = await x.call<string>("Who", { user: "alice" });
    for (let i = 0; i < 99; i++) assert.equal(await x.call("Who", { user: "alice" }), first);
    assert.equal(nodes.find((n) => n.name === first)!.calls, 100);
    assert.equal(nodes.reduce((s, n) => s + n.calls, 0), 100);

    // different args spread over the servers, each one sticking to its server
    const owner = new Map<string, string>();
    for (let i = 0; i < 60; i++) owner.set(`user-${i}`, await x.call("Who", { user: `user-${i}` }));
    assert.ok(new Set(owner.values()).size >= 2, "keys spread over more than one server");
    for (const [user, who] of owner) assert.equal(await x.call("Who", { user }), who, user);
  } finally {
    await closeAll([x], nodes, [d]);
  }
});

Deno.test("Closest: the nearest server by latitude/longitude metadata", async () => {
  const berlin = await Node.start("berlin");
  const london = await Node.start("london");
  const newYork = await Node.start("new-york");
  const d = new MultipleServersDiscovery([
    berlin.pair("latitude=52.52&longitude=13.405"),
    london.pair("latitude=51.507&longitude=-0.128"),
    newYork.pair("latitude=40.713&longitude=-74.006"),
  ]);
  const paris = new XClient("Svc", FailMode.Failfast, SelectMode.Closest, d, {
    latitude: 48.857,
    longitude: 2.352,
  });
  const boston = new XClient("Svc", FailMode.Failfast, SelectMode.Closest, d, {
    latitude: 42.36,
    longitude: -71.058,
  });
  const warsaw = new XClient("Svc", FailMode.Failfast, SelectMode.Closest, d, {
    latitude: 52.23,
    longitude: 21.012,
  });
  try {
    for (let i = 0; i < 10; i++) {
      assert.equal(await paris.call("Who", null), "london");
      assert.equal(await boston.call("Who", null), "new-york");
      assert.equal(await warsaw.call("Who", null), "berlin");
    }
  } finally {
    await closeAll([paris, boston, warsaw], [berlin, london, newYork], [d]);
  }
});

Deno.test("metadata numbers as Go reads them: empty/invalid weight is 1, all-zero weights serve, empty position is none", async () => {
  const nodes = await Promise.all(["a", "b", "c"].map((n) => Node.start(n)));
  const [a, b, c] = nodes;
  const d = new MultipleServersDiscovery([a.pair("weight="), b.pair("weight=1")]);
  const wrr = new XClient("Svc", FailMode.Failfast, SelectMode.WeightedRoundRobin, d);
  const near = new XClient("Svc", FailMode.Failfast, SelectMode.Closest, d, {
    latitude: 0.1,
    longitude: 0.1,
  });
  try {
    // `weight=` (empty) and `weight=abc`: Go's default 1, so a gets half the calls.
    for (const bad of ["weight=", "weight=abc", "weight=2.5", "weight=%zz&x=1"]) {
      d.update([a.pair(bad), b.pair("weight=1")]);
      a.calls = b.calls = 0;
      for (let i = 0; i < 10; i++) await wrr.call("Who", null);
      assert.deepEqual([a.calls, b.calls], [5, 5], bad);
    }
    // All weights 0: every server still serves, in turn.
    d.update([a.pair("weight=0"), b.pair("weight=0"), c.pair("weight=-1")]);
    a.calls = b.calls = c.calls = 0;
    for (let i = 0; i < 9; i++) await wrr.call("Who", null);
    assert.deepEqual([a.calls, b.calls, c.calls], [3, 3, 3]);
    // A zero weight beside a positive one is never chosen (as in Go).
    d.update([a.pair("weight=0"), b.pair("weight=2")]);
    for (let i = 0; i < 4; i++) assert.equal(await wrr.call("Who", null), "b");

    // `latitude=&longitude=` is no position (not 0,0, which is next to this client).
    d.update([a.pair("latitude=&longitude="), b.pair("latitude=10&longitude=10")]);
    for (let i = 0; i < 4; i++) assert.equal(await near.call("Who", null), "b");
    d.update([a.pair("latitude=abc&longitude=0"), b.pair("latitude=10&longitude=10")]);
    assert.equal(await near.call("Who", null), "b");
    // No server with a position: all are equally far, calls still succeed.
    d.update([a.pair("latitude=&longitude="), b.pair("")]);
    const seen = new Set<string>();
    for (let i = 0; i < 40; i++) seen.add(await near.call("Who", null));
    assert.deepEqual([...seen].sort(), ["a", "b"]);
  } finally {
    await closeAll([wrr, near], nodes, [d]);
  }
});

Deno.test("a selector that picks none of the listed servers: the error says how many were listed", async () => {
  const a = await Node.start("a");
  const d = new MultipleServersDiscovery([a.pair()]);
  const x = new XClient("Svc", FailMode.Failover, SelectMode.SelectByUser, d, {
    selector: { select: () => undefined, update: () => {} },
  });
  try {
    await assert.rejects(x.call("Who", null), (e) => {
      assert.ok(e instanceof NoServerSelectedError);
      assert.ok(e instanceof NoServerAvailableError, "still a NoServerAvailableError");
      assert.doesNotMatch(e.message, /can not found/);
      assert.match(e.message, /chose none of the 1 servers of Svc/);
      return true;
    });
  } finally {
    await closeAll([x], [a], [d]);
  }
});

Deno.test("SelectByUser: the custom selector decides, and sees the call's path/method/args", async () => {
  const a = await Node.start("a");
  const b = await Node.start("b");
  const seen: unknown[][] = [];
  let updates: KVPair[][] = [];
  const selector: Selector = {
    select(servicePath, serviceMethod, args) {
      seen.push([servicePath, serviceMethod, args]);
      const even = (args as { n: number }).n % 2 === 0;
      return updates.at(-1)!.find((p) => p.value === (even ? "parity=even" : "parity=odd"))?.key;
    },
    update(pairs) {
      updates.push(pairs);
    },
  };
  const d = new MultipleServersDiscovery([a.pair("parity=even"), b.pair("parity=odd")]);
  const x = new XClient("Svc", FailMode.Failfast, SelectMode.SelectByUser, d, { selector });
  try {
    assert.equal(updates.length, 1);
    assert.deepEqual(updates[0].map((p) => p.key).sort(), [a.key, b.key].sort());
    for (let n = 0; n < 6; n++) assert.equal(await x.call("Who", { n }), n % 2 ? "b" : "a");
    assert.deepEqual(seen[3], ["Svc", "Who", { n: 3 }]);
    assert.throws(
      () => new XClient("Svc", FailMode.Failfast, SelectMode.SelectByUser, d),
      /selector/,
    );
    updates = [];
    d.update([a.pair("parity=even")]);
    assert.equal(updates.length, 1, "the selector is told of discovery changes");
  } finally {
    await closeAll([x], [a, b], [d]);
  }
});

Deno.test("WeightedICMP: weights follow Go's latency table; selection follows the weights", async () => {
  // Fixed round-trip times: 5 ms → 191, 50 ms → 151, 150 ms → 51, 500 ms → 1, none → 0.
  const rtt: Record<string, number> = { a: 5, b: 50, c: 150, slow: 500 };
  const selector = new WeightedLatencySelector({
    probe: (key) => key in rtt ? Promise.resolve(rtt[key]) : Promise.reject(new Error("refused")),
    refreshMs: 0,
  });
  try {
    selector.update([..."abc", "slow", "dead"].map((key) => ({ key, value: "" })));
    await selector.measured;
    assert.deepEqual(selector.weights(), { a: 191, b: 151, c: 51, slow: 1, dead: 0 });
    // Smooth weighted round robin: one period of 394 picks is exactly the weights.
    const picks: Record<string, number> = {};
    for (let i = 0; i < 2 * 394; i++) {
      const k = selector.select()!;
      picks[k] = (picks[k] ?? 0) + 1;
    }
    assert.deepEqual(picks, { a: 382, b: 302, c: 102, slow: 2 }, "weight 0 is never selected");
  } finally {
    selector.close();
  }
});

Deno.test("WeightedICMP: loopback servers weigh near 191 and all get calls; dead ones weigh 0", async () => {
  const nodes = await Promise.all(["a", "b", "c"].map((n) => Node.start(n)));
  const dead = deadKey();
  const selector = new WeightedLatencySelector(); // default probe: TCP connect time
  try {
    selector.update([...nodes.map((n) => n.pair()), { key: dead, value: "" }]);
    await selector.measured;
    const w = selector.weights();
    // 191 up to 10 ms; a loaded machine may take longer to connect, but not 50 ms.
    for (const n of nodes) assert.ok(w[n.key] > 150 && w[n.key] <= 191, `${n.key}: ${w[n.key]}`);
    assert.equal(w[dead], 0);
    const picks = new Map<string, number>();
    for (let i = 0; i < 60; i++) {
      const k = selector.select()!;
      picks.set(k, (picks.get(k) ?? 0) + 1);
    }
    assert.equal(picks.get(dead), undefined, "weight 0 is never selected");
    for (const n of nodes) assert.ok(picks.get(n.key)! >= 15, `${n.key}: ${picks.get(n.key)}`);
  } finally {
    selector.close();
  }
  const d = new MultipleServersDiscovery(nodes.map((n) => n.pair()));
  const x = new XClient("Svc", FailMode.Failover, SelectMode.WeightedICMP, d);
  try {
    for (let i = 0; i < 30; i++) assert.equal(typeof await x.call("Who", null), "string");
    for (const n of nodes) assert.ok(n.calls >= 5, `${n.name} got ${n.calls} of 30`);
  } finally {
    await closeAll([x], nodes, [d]);
  }
});

// ---------------------------------------------------------------------------------------------
// Discovery changes, filters and health

Deno.test("state=inactive servers are never selected; flipping back makes them selectable", async () => {
  const a = await Node.start("a");
  const b = await Node.start("b");
  const d = new MultipleServersDiscovery([a.pair("weight=1"), b.pair("state=inactive&weight=1")]);
  const x = new XClient("Svc", FailMode.Failover, SelectMode.RoundRobin, d);
  try {
    assert.deepEqual(x.servers, [a.key]);
    for (let i = 0; i < 10; i++) assert.equal(await x.call("Who", null), "a");
    assert.equal(b.calls, 0);
    assert.equal(b.server.metrics().connectionsAccepted, 0);

    d.update([a.pair("weight=1"), b.pair("state=active&weight=1")]);
    assert.deepEqual(x.servers.sort(), [a.key, b.key].sort());
    for (let i = 0; i < 10; i++) await x.call("Who", null);
    assert.equal(b.calls, 5);

    d.update([a.pair("weight=1"), b.pair("state=inactive")]);
    assert.deepEqual(x.servers, [a.key]);
    for (let i = 0; i < 4; i++) assert.equal(await x.call("Who", null), "a");
    assert.equal(b.calls, 5);
  } finally {
    await closeAll([x], [a, b], [d]);
  }
});

Deno.test("group filter: only servers of options.group are used", async () => {
  const blue = await Node.start("blue");
  const red = await Node.start("red");
  const both = await Node.start("both");
  const d = new MultipleServersDiscovery([
    blue.pair("group=blue"),
    red.pair("group=red"),
    both.pair("group=red&group=blue"),
  ]);
  const x = new XClient("Svc", FailMode.Failover, SelectMode.RoundRobin, d, { group: "blue" });
  const green = new XClient("Svc", FailMode.Failover, SelectMode.RoundRobin, d, {
    group: "green",
  });
  try {
    assert.deepEqual(x.servers.sort(), [blue.key, both.key].sort());
    for (let i = 0; i < 10; i++) assert.notEqual(await x.call("Who", null), "red");
    assert.equal(red.calls, 0);
    assert.equal(blue.calls, 5);
    assert.equal(both.calls, 5);
    assert.deepEqual(green.servers, []);
    await assert.rejects(green.call("Who", null), NoServerAvailableError);
  } finally {
    await closeAll([x, green], [blue, red, both], [d]);
  }
});

Deno.test("discovery update: an added server gets calls, a removed one has its connection closed", async () => {
  const a = await Node.start("a");
  const b = await Node.start("b");
  const d = new MultipleServersDiscovery([a.pair()]);
  const x = new XClient("Svc", FailMode.Failover, SelectMode.RoundRobin, d);
  try {
    for (let i = 0; i < 4; i++) assert.equal(await x.call("Who", null), "a");
    assert.equal(b.calls, 0);

    d.update([a.pair(), b.pair()]);
    assert.deepEqual(x.servers.sort(), [a.key, b.key].sort());
    for (let i = 0; i < 10; i++) await x.call("Who", null);
    assert.equal(b.calls, 5);
    assert.equal(a.server.metrics().activeConnections, 1);

    d.update([b.pair()]);
    await waitFor(
      "the removed server's connection to close",
      () => a.server.metrics().activeConnections === 0,
      2000,
      5,
    );
    const before = a.calls;
    for (let i = 0; i < 4; i++) assert.equal(await x.call("Who", null), "b");
    assert.equal(a.calls, before);
    assert.equal(b.server.metrics().activeConnections, 1, "b keeps its one connection");
  } finally {
    await closeAll([x], [a, b], [d]);
  }
});

Deno.test("a server removed while a call is in flight: the call completes, then its connection closes", async () => {
  const a = await Node.start("a");
  const b = await Node.start("b");
  a.slowMs = 300;
  const d = new MultipleServersDiscovery([a.pair()]);
  const x = new XClient("Svc", FailMode.Failfast, SelectMode.RoundRobin, d);
  try {
    const call = x.call("Who", null);
    await waitFor("the call to reach a", () => a.calls === 1, 2000, 5);
    d.update([b.pair()]);
    assert.equal(await bounded(call, 3000, "in-flight call"), "a");
    await waitFor(
      "the removed server's connection to close",
      () => a.server.metrics().activeConnections === 0,
      2000,
      5,
    );
    assert.equal(await x.call("Who", null), "b");
  } finally {
    await closeAll([x], [a, b], [d]);
  }
});

Deno.test("a refused server is skipped at once and used again after it comes back", async () => {
  const a = await Node.start("a");
  const port = freePort();
  const bKey = `tcp@127.0.0.1:${port}`;
  let b: Node | undefined;
  const d = new MultipleServersDiscovery([a.pair(), { key: bKey, value: "" }]);
  const backoff = 1000;
  const x = new XClient("Svc", FailMode.Failover, SelectMode.SelectByUser, d, {
    selector: new PreferSelector([bKey, a.key]),
    retryBackoff: backoff,
    maxRetryBackoff: backoff,
  });
  try {
    const downAt = Date.now(); // b's backoff starts during the next call
    assert.equal(await x.call("Who", null), "a");
    assert.deepEqual(x.servers, [a.key], "b is out after one refusal");
    // while b is out, the selector (which prefers b) only sees a: every call goes to a
    for (let i = 0; i < 5; i++) assert.equal(await x.call("Who", null), "a");
    assert.equal(a.calls, 6);
    if (Date.now() - downAt < backoff * 0.9) assert.deepEqual(x.servers, [a.key]);

    b = await Node.start("b", { port });
    assert.equal(b.key, bKey);
    await waitFor("b to be selectable again", () => x.servers.includes(bKey), backoff + 3000, 10);
    assert.ok(Date.now() - downAt >= backoff, "not before the backoff");
    assert.equal(await x.call("Who", null), "b");
    assert.equal(b.calls, 1);
  } finally {
    await closeAll([x], [a, b], [d]);
  }
});

Deno.test("a lone server back after an outage is used within 1.5 s (default options, every fail mode)", async () => {
  // Go's client dials again on every call; backoff must never hide the last servers.
  const port = freePort();
  let node: Node | undefined = await Node.start("a", { port });
  const d = new Peer2PeerDiscovery(node.key);
  const modes = [FailMode.Failover, FailMode.Failfast, FailMode.Failtry, FailMode.Failbackup];
  const clients = modes.map((m) => new XClient("Svc", m, SelectMode.RandomSelect, d));
  const ac = new AbortController();
  let upAt = Infinity;
  const firstSuccess: number[] = modes.map(() => Infinity);
  // A call every 200 ms with a 500 ms timeout, per client.
  const loops = clients.map(async (x, i) => {
    while (!ac.signal.aborted) {
      try {
        await x.call("Who", null, { timeout: 500 });
        if (Date.now() >= upAt && firstSuccess[i] === Infinity) firstSuccess[i] = Date.now();
      } catch {
        // down
      }
      await sleep(200, ac.signal);
    }
  });
  try {
    await waitFor("calls to succeed", () => node!.calls >= 4 * modes.length, 5000, 10);
    await node.close();
    node = undefined;
    await delay(4000); // long enough for a doubling backoff to pass 4 s
    node = await Node.start("a", { port });
    upAt = Date.now();
    await waitFor(
      "every fail mode to succeed again",
      () => firstSuccess.every((t) => t < Infinity),
      5000,
      10,
    );
    const after = firstSuccess.map((t) => t - upAt);
    for (const [i, ms] of after.entries()) {
      assert.ok(ms <= 1500, `fail mode ${modes[i]}: first success ${ms} ms after the restart`);
    }
  } finally {
    ac.abort();
    await Promise.all(loops);
    await closeAll(clients, [node], [d]);
  }
});

Deno.test("Failover over several servers in backoff still tries each of them", async () => {
  const ports = [freePort(), freePort()];
  const keys = ports.map((p) => `tcp@127.0.0.1:${p}`);
  const d = new MultipleServersDiscovery(keys.map((key) => ({ key, value: "" })));
  const x = new XClient("Svc", FailMode.Failover, SelectMode.RoundRobin, d);
  let b: Node | undefined;
  try {
    await assert.rejects(x.call("Who", null), ConnectionError);
    assert.deepEqual(x.servers.sort(), [...keys].sort(), "all down: all still listed");
    b = await Node.start("b", { port: ports[1] });
    // Both are backing off; whichever is tried first, Failover reaches b in the same call.
    for (let i = 0; i < 4; i++) assert.equal(await x.call("Who", null), "b");
  } finally {
    await closeAll([x], [b], [d]);
  }
});

Deno.test("no servers: calls fail fast with NoServerAvailableError", async () => {
  const a = await Node.start("a");
  const d = new MultipleServersDiscovery([a.pair()]);
  const x = new XClient("Svc", FailMode.Failover, SelectMode.RoundRobin, d);
  const empty = new MultipleServersDiscovery([]);
  const y = new XClient("Svc", FailMode.Failover, SelectMode.RoundRobin, empty);
  try {
    assert.equal(await x.call("Who", null), "a");
    d.update([]);
    assert.deepEqual(x.servers, []);
    for (const client of [x, y]) {
      const start = performance.now();
      await assert.rejects(client.call("Who", null), NoServerAvailableError);
      await assert.rejects(client.broadcast("Who", null), NoServerAvailableError);
      await assert.rejects(client.fork("Who", null), NoServerAvailableError);
      assert.ok(performance.now() - start < 100, `took ${performance.now() - start} ms`);
    }
    await waitFor("the connection to a to close", () => a.server.metrics().activeConnections === 0);
  } finally {
    await closeAll([x, y], [a], [d, empty]);
  }
});

Deno.test("close(): later calls fail with ClientClosedError and connections are closed", async () => {
  const a = await Node.start("a");
  const d = new Peer2PeerDiscovery(a.key);
  const x = new XClient("Svc", FailMode.Failover, SelectMode.RandomSelect, d);
  try {
    assert.deepEqual(await x.call("Mul", { A: 10, B: 20 }), { C: 200 });
    assert.equal(a.server.metrics().activeConnections, 1);
    await x.close();
    await assert.rejects(x.call("Mul", { A: 1, B: 2 }), ClientClosedError);
    await assert.rejects(x.broadcast("Mul", { A: 1, B: 2 }), ClientClosedError);
    await waitFor("the server to see the close", () => a.server.metrics().activeConnections === 0);
  } finally {
    await closeAll([x], [a], [d]);
  }
});

// ---------------------------------------------------------------------------------------------
// Broadcast and fork

Deno.test("broadcast: every server's reply; fails if one server fails", async () => {
  const nodes = await Promise.all(["a", "b", "c"].map((n) => Node.start(n)));
  const d = new MultipleServersDiscovery(nodes.map((n) => n.pair()));
  const x = new XClient("Svc", FailMode.Failfast, SelectMode.RandomSelect, d);
  try {
    const replies = await x.broadcast<string>("Who", null);
    assert.deepEqual([...replies].sort(), ["a", "b", "c"]);
    for (const n of nodes) assert.equal(n.calls, 1);

    nodes[1].fail = true;
    await assert.rejects(x.broadcast("Who", null), (e) => {
      assert.ok(e instanceof ServiceError);
      assert.match((e as Error).message, /b failed on purpose/);
      return true;
    });
    for (const n of nodes) assert.equal(n.calls, 2, "all were called");
  } finally {
    await closeAll([x], nodes, [d]);
  }
});

Deno.test("fork: the first success wins; fails only if all fail", async () => {
  const nodes = await Promise.all(["a", "b", "c"].map((n) => Node.start(n)));
  const d = new MultipleServersDiscovery(nodes.map((n) => n.pair()));
  const x = new XClient("Svc", FailMode.Failfast, SelectMode.RandomSelect, d);
  try {
    nodes[0].fail = true;
    nodes[1].slowMs = 2000;
    const start = performance.now();
    assert.equal(await x.fork("Who", null), "c");
    const took = performance.now() - start;
    assert.ok(took < 1000, `did not wait for the slow server (${took} ms)`);
    for (const n of nodes) assert.equal(n.calls, 1);

    nodes[1].slowMs = 0;
    nodes[1].fail = true;
    nodes[2].fail = true;
    await assert.rejects(x.fork("Who", null), ServiceError);
  } finally {
    await closeAll([x], nodes, [d]);
  }
});

Deno.test("broadcast and fork reach every discovered server, backing-off ones included", async () => {
  const a = await Node.start("a");
  const port = freePort();
  let b: Node | undefined = await Node.start("b", { port });
  const d = new MultipleServersDiscovery([a.pair(), b.pair()]);
  const x = new XClient("Svc", FailMode.Failfast, SelectMode.RandomSelect, d);
  try {
    assert.deepEqual((await x.broadcast<string>("Who", null)).sort(), ["a", "b"]);
    await b.close();
    b = undefined;
    await waitFor("b to back off (1 s by default)", async () => {
      await assert.rejects(x.broadcast("Who", null), ConnectionError);
      return x.servers.length === 1;
    });
    assert.deepEqual(x.servers, [a.key]);
    b = await Node.start("b", { port });
    // At once, without waiting for the backoff.
    assert.deepEqual((await x.broadcast<string>("Who", null)).sort(), ["a", "b"]);
    await b.close();
    b = undefined;
    await assert.rejects(x.broadcast("Who", null), ConnectionError);
    b = await Node.start("b", { port });
    a.fail = true;
    assert.equal(await x.fork("Who", null), "b");
  } finally {
    await closeAll([x], [a, b], [d]);
  }
});

Deno.test("an oversized request fails alone in every fail mode, broadcast and fork; no retry", async () => {
  const nodes = await Promise.all(["a", "b"].map((n) => Node.start(n)));
  const d = new MultipleServersDiscovery(nodes.map((n) => n.pair()));
  const modes = [FailMode.Failover, FailMode.Failfast, FailMode.Failtry, FailMode.Failbackup];
  const clients = modes.map((m) => new XClient("Svc", m, SelectMode.RoundRobin, d, JSON_OPTS));
  const huge = "x".repeat(17 * 1024 * 1024);
  const tooLong = (e: unknown) => {
    assert.ok(e instanceof FrameTooLargeError, String(e));
    assert.equal(e.limit, 16 * 1024 * 1024);
    return true;
  };
  try {
    for (const x of clients) await x.broadcast("Who", null); // both connections open
    for (const n of nodes) n.slowMs = 500;
    const total = () => nodes.reduce((s, n) => s + n.calls, 0);
    const before = total();
    const slow = Promise.allSettled(
      clients.flatMap((x) => [x.call("Who", null), x.call("Who", null)]),
    );
    // Two calls per client, and Failbackup's two backups.
    await waitFor("the slow calls to arrive", () => total() === before + 2 * clients.length + 2);
    const calls = total();
    for (const x of clients) {
      await assert.rejects(x.call("Len", huge), tooLong);
      await assert.rejects(x.send("Len", huge), tooLong);
      await assert.rejects(x.broadcast("Len", huge), tooLong);
      await assert.rejects(x.fork("Len", huge), tooLong);
    }
    const settled = await bounded(slow, 3000, "calls in flight");
    for (const r of settled) {
      assert.equal(r.status, "fulfilled", String((r as PromiseRejectedResult).reason));
    }
    assert.equal(
      total(),
      calls,
      "nothing else reached a server",
    );
    for (const x of clients) assert.equal(x.servers.length, 2, "no server was marked down");
    for (const n of nodes) assert.equal(n.server.metrics().activeConnections, clients.length);
  } finally {
    await closeAll(clients, nodes, [d]);
  }
});

// ---------------------------------------------------------------------------------------------
// In-process

/**
 * An in-process world of its own: a registry, and an `inprocess` network whose names no other
 * test sees; `server()` makes a server that lists itself in that registry.
 */
function inprocessWorld() {
  const registry = new InprocessRegistry();
  const networks = new NetworkRegistry().register(new PipeNetwork("inprocess"));
  return {
    registry,
    networks,
    server: (plugins: ServerPlugin[] = []) =>
      new Server({ networks, plugins: [new InprocessRegisterPlugin({ registry }), ...plugins] }),
  };
}

Deno.test("in-process: XClient follows servers appearing and disappearing", async () => {
  const { registry, networks, server } = inprocessWorld();
  const d = new InprocessDiscovery("Svc", registry);
  const x = new XClient("Svc", FailMode.Failover, SelectMode.RoundRobin, d, { networks });
  const make = async (name: string) => {
    const s = server();
    await s.register({ Who: () => name }, "Svc");
    await s.serve("inprocess", name);
    return s;
  };
  let one: Server | undefined;
  let two: Server | undefined;
  try {
    assert.deepEqual(x.servers, []);
    await assert.rejects(x.call("Who", null), NoServerAvailableError);

    one = await make("one");
    assert.deepEqual(x.servers, ["inprocess@one"]);
    assert.equal(await x.call("Who", null), "one");

    two = await make("two");
    assert.deepEqual(x.servers.sort(), ["inprocess@one", "inprocess@two"]);
    const seen = new Set<unknown>();
    for (let i = 0; i < 4; i++) seen.add(await x.call("Who", null));
    assert.deepEqual([...seen].sort(), ["one", "two"]);

    await one.shutdown({ timeout: 1000 });
    assert.deepEqual(x.servers, ["inprocess@two"]);
    for (let i = 0; i < 4; i++) assert.equal(await x.call("Who", null), "two");

    await two.unregister("Svc");
    assert.deepEqual(x.servers, []);
    await assert.rejects(x.call("Who", null), NoServerAvailableError);
  } finally {
    await x.close();
    await d.close();
    await one?.close();
    await two?.close();
  }
});

Deno.test("in-process graceful shutdown: a call in flight still gets its reply", async () => {
  const world = inprocessWorld();
  const d = new InprocessDiscovery("Svc", world.registry);
  const x = new XClient("Svc", FailMode.Failfast, SelectMode.RoundRobin, d, {
    networks: world.networks,
  });
  const server = world.server();
  let started = 0;
  await server.register({
    Slow: async (_: unknown, ctx: CallContext) => {
      started++;
      await sleep(200, ctx.signal);
      return "done";
    },
  }, "Svc");
  await server.serve("inprocess", "draining");
  try {
    const call = x.call("Slow", null);
    await waitFor("the call to start", () => started === 1, 2000, 5);
    const stopping = server.shutdown({ timeout: 2000 });
    assert.deepEqual(x.servers, [], "the server left the registry at once");
    assert.equal(await bounded(call, 3000, "in-flight call"), "done");
    await stopping;
  } finally {
    await x.close();
    await d.close();
    await server.close();
  }
});

Deno.test("in-process: a server that refuses the connection fails the call (no hang)", async () => {
  const world = inprocessWorld();
  const server = world.server([{ connAccept: () => false }]);
  await server.register({ Who: () => "never" }, "Svc");
  await server.serve("inprocess", "refuser");
  const d = new InprocessDiscovery("Svc", world.registry);
  const x = new XClient("Svc", FailMode.Failfast, SelectMode.RoundRobin, d, {
    networks: world.networks,
  });
  try {
    await assert.rejects(bounded(x.call("Who", null), 2000, "refused call"), ConnectionError);
  } finally {
    await x.close();
    await d.close();
    await server.close();
  }
});

Deno.test("XClient.sendRaw: a caller-built message to a selected server; reply, oneway, errors", async () => {
  const nodes = await Promise.all(["a", "b"].map((n) => Node.start(n)));
  const d = new MultipleServersDiscovery(nodes.map((n) => n.pair()));
  const x = new XClient("Svc", FailMode.Failfast, SelectMode.RoundRobin, d);
  const json = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));
  const request = (method: string, fields: Partial<Message> = {}) =>
    createMessage({
      serviceMethod: method, // servicePath left empty: the XClient's own ("Svc")
      serializeType: SerializeType.JSON,
      payload: json({ A: 6, B: 7 }),
      ...fields,
    });
  try {
    const replies: Message[] = [];
    for (let i = 0; i < 4; i++) replies.push((await x.sendRaw(request("Mul")))!);
    for (const r of replies) {
      assert.equal(r.messageType, MessageType.Response);
      assert.equal(r.servicePath, "Svc");
      assert.equal(r.serializeType, SerializeType.JSON);
      assert.deepEqual(JSON.parse(new TextDecoder().decode(r.payload)), { C: 42 });
    }
    // Through the selector: round robin over both servers.
    assert.deepEqual(nodes.map((n) => n.calls), [2, 2]);

    // Oneway: resolves with undefined once written; the server still runs it.
    const before = nodes[0].calls + nodes[1].calls;
    assert.equal(await x.sendRaw(request("Mul", { oneway: true })), undefined);
    await waitFor("the oneway call to run", () => nodes[0].calls + nodes[1].calls === before + 1);

    // An error reply rejects with the server's text.
    nodes[0].fail = nodes[1].fail = true;
    await assert.rejects(x.sendRaw(request("Who")), (e) => {
      assert.ok(e instanceof ServiceError, `got ${e}`);
      assert.match(e.message, /failed on purpose/);
      return true;
    });
  } finally {
    await closeAll([x], nodes, [d]);
  }
});

// ---------------------------------------------------------------------------------------------
// close() with operations in flight, and the bound of every operation (issue 22)

/** An XClient operation in flight when `close()` is called, and the runs of the method it makes. */
interface InFlight {
  name: string;
  mode: FailMode;
  run: (x: XClient) => Promise<unknown>;
  runs: number;
}

Deno.test("close() with operations in flight: each rejects at once with ClientClosedError, the method ran once per server, no connection is left (every fail mode, typed, sendRaw, broadcast, fork)", async () => {
  const a = await Node.start("a");
  const b = await Node.start("b");
  a.slowMs = b.slowMs = 400;
  const d = new MultipleServersDiscovery([a.pair(), b.pair()]);
  const json = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));
  const ops: InFlight[] = [
    ...(["Failover", "Failfast", "Failtry", "Failbackup"] as const).map((m) => ({
      name: `call (${m})`,
      mode: FailMode[m],
      run: (x: XClient) => x.call("Who", null),
      runs: 1,
    })),
    {
      name: "typed call (Failtry)",
      mode: FailMode.Failtry,
      run: (x) => x.typed<{ Who(args: null): string }>().Who(null),
      runs: 1,
    },
    {
      name: "sendRaw (Failover)",
      mode: FailMode.Failover,
      run: (x) =>
        x.sendRaw(createMessage({
          serviceMethod: "Who",
          serializeType: SerializeType.JSON,
          payload: json(null),
        })),
      runs: 1,
    },
    { name: "broadcast", mode: FailMode.Failover, run: (x) => x.broadcast("Who", null), runs: 2 },
    { name: "fork", mode: FailMode.Failover, run: (x) => x.fork("Who", null), runs: 2 },
  ];
  const xs: XClient[] = [];
  try {
    for (const op of ops) {
      a.calls = b.calls = 0;
      // backupLatency 150: Failbackup's backup is still due when close() is called.
      const x = new XClient("Svc", op.mode, SelectMode.SelectByUser, d, {
        selector: new PreferSelector([a.key, b.key]),
        backupLatency: 150,
      });
      xs.push(x);
      const pushes = x.serverMessages();
      const outcome = op.run(x).then(
        () => ({ error: undefined as unknown, at: performance.now() }),
        (error: unknown) => ({ error, at: performance.now() }),
      );
      await waitFor(
        `${op.name}: the method to start`,
        () => a.calls + b.calls === op.runs,
        5000,
        5,
      );
      const closedAt = performance.now();
      await x.close();
      const { error, at } = await bounded(outcome, 3000, `${op.name} after close()`);
      assert.ok(error instanceof ClientClosedError, `${op.name}: settled with ${error}`);
      assert.ok(at - closedAt < 200, `${op.name}: rejected ${at - closedAt} ms after close()`);
      // Longer than backupLatency: a retry or a backup would have reached a server by now.
      await delay(300);
      assert.equal(a.calls + b.calls, op.runs, `${op.name}: runs of the method`);
      await waitFor(
        `${op.name}: no connection left`,
        () => a.server.metrics().activeConnections + b.server.metrics().activeConnections === 0,
        2000,
      );
      await assert.rejects(x.call("Who", null), ClientClosedError);
      assert.equal(a.server.metrics().activeConnections + b.server.metrics().activeConnections, 0);
      // Its push stream ended too.
      assert.equal((await bounded(pushes.next(), 1000, "the push stream's end")).done, true);
    }
  } finally {
    await closeAll(xs, [a, b], [d]);
  }
});

/** A discovery (through the public BaseDiscovery) whose first list comes when the test says. */
class LaterDiscovery extends BaseDiscovery {
  clone(_servicePath: string): ServiceDiscovery {
    return new LaterDiscovery();
  }
  list(pairs: KVPair[]): void {
    this.publish(pairs);
  }
}

Deno.test("close() while operations wait for the discovery's first list: they reject at once, nothing is dialed when the list comes", async () => {
  const a = await Node.start("a");
  const d = new LaterDiscovery();
  const x = new XClient("Svc", FailMode.Failover, SelectMode.RandomSelect, d, {
    discoveryTimeout: 3000,
  });
  try {
    const started = [
      x.call("Who", null),
      x.broadcast("Who", null),
      x.fork("Who", null),
      x.send("Who", null),
    ].map((p) =>
      p.then(
        () => ({ error: undefined as unknown, at: performance.now() }),
        (error: unknown) => ({ error, at: performance.now() }),
      )
    );
    await delay(50);
    const closedAt = performance.now();
    await x.close();
    for (const { error, at } of await bounded(Promise.all(started), 3000, "after close()")) {
      assert.ok(error instanceof ClientClosedError, `settled with ${error}`);
      assert.ok(at - closedAt < 200, `rejected ${at - closedAt} ms after close()`);
    }
    d.list([a.pair()]);
    await delay(200);
    assert.equal(a.calls, 0);
    assert.equal(a.server.metrics().activeConnections, 0);
  } finally {
    await closeAll([x], [a], [d]);
  }
});

/** `p` rejects with CallTimeoutError of `ms` after about `ms` (a loaded machine adds up to 1 s). */
async function timesOut(what: string, p: Promise<unknown>, ms: number): Promise<void> {
  const start = performance.now();
  await assert.rejects(bounded(p, 5000, what), (e) => {
    assert.ok(e instanceof CallTimeoutError, `${what}: ${e}`);
    assert.equal(e.timeout, ms, `${what}: ${e.message}`);
    return true;
  });
  const took = performance.now() - start;
  assert.ok(took >= ms - 20 && took < ms + 1000, `${what}: settled after ${took} ms`);
}

Deno.test("maxWait: no XClient operation waits for ever on a server that accepts and never answers", async () => {
  const a = await Node.start("a");
  const b = await Node.start("b");
  const silent = new ClosingServer(120_000); // accepts and reads, never answers
  const mixed = new MultipleServersDiscovery([a.pair(), b.pair(), { key: silent.key, value: "" }]);
  const lone = new MultipleServersDiscovery([{ key: silent.key, value: "" }]);
  const xs: XClient[] = [];
  const make = (mode: FailMode, d: MultipleServersDiscovery, options: XClientOptions = {}) => {
    const x = new XClient("Svc", mode, SelectMode.RoundRobin, d, { maxWait: 300, ...options });
    xs.push(x);
    return x;
  };
  try {
    // Broadcast to three servers of which one never answers, no timeout given.
    const x = make(FailMode.Failfast, mixed);
    await timesOut("broadcast", x.broadcast("Who", null), 300);
    assert.equal(a.calls + b.calls, 2);
    // Go caps Broadcast at its minute whatever the caller's deadline: maxWait does here.
    await timesOut("broadcast, timeout 10 s", x.broadcast("Who", null, { timeout: 10_000 }), 300);
    await timesOut("broadcast, timeout 150 ms", x.broadcast("Who", null, { timeout: 150 }), 150);
    // Fork: the live servers answer; alone, the silent one times out.
    assert.ok(["a", "b"].includes(await bounded(x.fork<string>("Who", null), 3000, "fork")));
    await timesOut(
      "fork on the silent server",
      make(FailMode.Failfast, lone).fork("Who", null),
      300,
    );
    for (const [name, mode] of Object.entries(FailMode)) {
      const y = make(mode, lone);
      await timesOut(`call (${name})`, y.call("Who", null), 300);
      await timesOut(`typed call (${name})`, y.typed<{ Who(a: null): string }>().Who(null), 300);
    }
    await timesOut(
      "sendRaw",
      make(FailMode.Failover, lone).sendRaw(createMessage({
        serviceMethod: "Who",
        serializeType: SerializeType.JSON,
        payload: new TextEncoder().encode("null"),
      })),
      300,
    );
    // A call's own timeout is not capped (Go bounds Call by its context only).
    await timesOut(
      "call, timeout 600 ms",
      make(FailMode.Failover, lone).call("Who", null, {
        timeout: 600,
      }),
      600,
    );
    // The bound is the client's: never sent as __ServerTimeout (a timeout is).
    const live = new MultipleServersDiscovery([a.pair()]);
    try {
      const w = make(FailMode.Failover, live, { maxWait: 5000 });
      assert.equal(await w.call("Deadline", null), "none");
      assert.deepEqual(await w.broadcast("Deadline", null), ["none"]);
      assert.equal(await w.call("Deadline", null, { timeout: 4000 }), "4000");
    } finally {
      await live.close();
    }
    assert.throws(() =>
      new XClient("Svc", FailMode.Failover, SelectMode.RoundRobin, lone, {
        maxWait: 0,
      }), RangeError);
  } finally {
    await closeAll(xs, [a, b], [mixed, lone]);
    await silent.close();
  }
});

Deno.test("Failbackup with one server: the backup goes to the same server (as Go), so every call answers", async () => {
  // rpcx-examples failmode/failbackup: one server, every second call sleeps a minute.
  const server = new Server();
  let runs = 0;
  await server.register({
    Echo: async (i: number, ctx: CallContext) => {
      if (++runs % 2 === 0) await sleep(60_000, ctx.signal);
      return i;
    },
  }, "Svc");
  const addr = await server.serve("tcp", "127.0.0.1:0");
  const d = new Peer2PeerDiscovery(`tcp@${addr}`);
  // Go's defaults: backupLatency 10 ms, no timeout.
  const x = new XClient("Svc", FailMode.Failbackup, SelectMode.RandomSelect, d);
  try {
    for (let i = 0; i < 10; i++) {
      const start = performance.now();
      assert.equal(await bounded(x.call("Echo", i), 3000, `call ${i}`), i);
      const took = performance.now() - start;
      assert.ok(took < 1000, `call ${i} answered after ${took} ms`);
    }
    // Runs alternate fast (odd) and slow (even), and each call took a fast one of its own.
    assert.ok(runs >= 19, `${runs} runs: every slow one got a backup`);
    assert.equal(server.metrics().activeConnections, 1, "one connection: the same server");
  } finally {
    await x.close();
    await d.close();
    await server.close();
  }
});

Deno.test("reply metadata carries __ServerAddress: the server that answered, host:port (Go's share.ServerAddress)", async () => {
  const nodes = await Promise.all(["a", "b"].map((n) => Node.start(n)));
  const d = new MultipleServersDiscovery(nodes.map((n) => n.pair()));
  const byName = new Map(nodes.map((n) => [n.name, n.key.slice("tcp@".length)]));
  const x = new XClient("Svc", FailMode.Failover, SelectMode.RoundRobin, d);
  try {
    const seen = new Set<string>();
    for (let i = 0; i < 4; i++) {
      const meta: Record<string, string> = {};
      const who = await x.call<string>("Who", null, { replyMetadata: meta });
      assert.equal(meta[MetadataKeys.ServerAddress], byName.get(who));
      seen.add(meta.__ServerAddress);
    }
    assert.equal(seen.size, 2);
    // On an error reply too, and through fork.
    nodes[0].fail = nodes[1].fail = true;
    const meta: Record<string, string> = {};
    await assert.rejects(x.call("Who", null, { replyMetadata: meta }), ServiceError);
    assert.ok([...byName.values()].includes(meta.__ServerAddress), meta.__ServerAddress);
    nodes[0].fail = nodes[1].fail = false;
    const forked: Record<string, string> = {};
    const who = await x.fork<string>("Who", null, { replyMetadata: forked });
    assert.ok([...byName.values()].includes(forked.__ServerAddress));
    assert.ok(who === "a" || who === "b");
  } finally {
    await closeAll([x], nodes, [d]);
  }
});

Deno.test("__ServerAddress from the Go peer: the address it listens on", async () => {
  if (!needGoPeer()) return;
  const go = await startGoServer(undefined, ["--services", "Arith"]);
  const d = new Peer2PeerDiscovery(go.key);
  const x = new XClient("Arith", FailMode.Failfast, SelectMode.RandomSelect, d);
  try {
    const meta: Record<string, string> = {};
    assert.deepEqual(await x.call("Mul", { A: 6, B: 7 }, { replyMetadata: meta }), { C: 42 });
    assert.equal(meta[MetadataKeys.ServerAddress], go.key.slice("tcp@".length));
  } finally {
    await x.close();
    await d.close();
    await go.stop();
  }
});

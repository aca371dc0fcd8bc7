// Scenarios every KV registry adapter must pass, written once and run by tests/etcd_test.ts,
// tests/consul_test.ts, tests/redis_test.ts and tests/zookeeper_test.ts against their real
// registry: a fixture serves Arith registered in the registry and makes discoveries of it. Also
// the pieces those files share: a counted Arith served with a plugin, a bounded call loop, the
// Go interop checks.

import assert from "node:assert/strict";
import {
  FailMode,
  NoServerAvailableError,
  type RegistryOutageEvent,
  SelectMode,
  Server,
  type ServiceDiscovery,
  XClient,
} from "@rpcx/core";
import type { BaseDiscovery, RegistryStartContext, ServerPlugin } from "@rpcx/core/extend";
import { delay, freePort, waitFor } from "./env.ts";
import { exited } from "./child.ts";
import { runExampleClient, startExampleServer } from "./examples.ts";
import { type GoRegistry, runGoClient } from "./go_peer.ts";

/**
 * What `Server.serve` hands a registry plugin, for tests that drive a plugin directly:
 * address `tcp@127.0.0.1:8972`, 100 calls and 5 connections over 10 s.
 */
export const START_CONTEXT: RegistryStartContext = {
  serviceAddress: "tcp@127.0.0.1:8972",
  metrics: () => ({
    startedAt: Date.now() - 10_000,
    connectionsAccepted: 5,
    activeConnections: 1,
    calls: 100,
    inFlight: 0,
  }),
};

let baseSeq = 0;

/** `/rpcx_<name>_<time>_<n>`: a base path no other test (or earlier run) uses. */
export function uniqueBasePath(name: string): string {
  return `/rpcx_${name}_${Date.now().toString(36)}_${baseSeq++}`;
}

/** `Arith.Mul` that counts its calls. */
export class CountedArith {
  /** Calls so far. */
  hits = 0;
  /** `{A, B}` → `{C: A * B}`. */
  Mul(args: { A: number; B: number }): { C: number } {
    this.hits++;
    return { C: args.A * args.B };
  }
}

/** `Arith.Mul` arguments whose reply is `{C: 200}`. */
export const MUL: { A: number; B: number } = { A: 10, B: 20 };

/** A server of the scenario: its key in the registry and how often `Arith.Mul` ran. */
export interface RegisteredServer {
  server: Server;
  key: string;
  service: { hits: number };
  /** The server's registry plugin: `refresh()` runs one round of its periodic refresh. */
  plugin: { refresh(): Promise<void> };
}

/** A server serving {@link CountedArith} as `Arith`, registered by `plugin`. */
export interface ServedArith<P> {
  server: Server;
  service: CountedArith;
  /** `tcp@<host:port>`, the node's name in the registry. */
  key: string;
  plugin: P;
}

/** Serves a {@link CountedArith} as `Arith` with `metadata` on a free port, registered by `plugin`. */
export async function serveCountedArith<P extends ServerPlugin>(
  plugin: P,
  metadata = "",
): Promise<ServedArith<P>> {
  const server = new Server();
  server.use(plugin);
  const service = new CountedArith();
  await server.register(service, "Arith", metadata);
  const addr = await server.serve("tcp", "127.0.0.1:0");
  return { server, service, key: `tcp@${addr}`, plugin };
}

/** The retry timings the registry tests give their discoveries (100 ms, at most 500 ms). */
export const DISCOVERY_RETRY: { retryInitialMs: number; retryMaxMs: number } = {
  retryInitialMs: 100,
  retryMaxMs: 500,
};

/** A call loop of {@link callLoop}: what it counted, and how to stop it. */
export interface CallLoop {
  /** Each failed call, with when it failed (ms since the epoch). */
  readonly failures: { at: number; error: unknown }[];
  /** Calls made so far. */
  readonly calls: number;
  /** Stops the loop and waits for its last call; again is a no-op. */
  stop(): Promise<void>;
}

/** Calls Arith.Mul every 20 ms through `x` until stopped (at most 20 s / 2000 calls). */
export function callLoop(x: XClient): CallLoop {
  let calls = 0;
  let running = true;
  const failures: { at: number; error: unknown }[] = [];
  const done = (async () => {
    const end = Date.now() + 20_000;
    while (running && Date.now() < end && calls < 2000) {
      try {
        await x.call("Mul", MUL, { timeout: 2000 });
      } catch (e) {
        failures.push({ at: Date.now(), error: e });
      }
      calls++;
      await delay(20);
    }
  })();
  return {
    failures,
    get calls() {
      return calls;
    },
    async stop() {
      running = false;
      await done;
    },
  };
}

/**
 * A Go server (`goKey`, Arith with weight=5) and a Deno one (`local`, weight=5) registered
 * side by side and both selectable through `x` (RoundRobin): 4 calls through `x` go 2 to each;
 * Go's discovery (`rpcxpeer client --list-servers`) lists both with their metadata, and Go's
 * client calls ours too.
 */
export async function goAndDenoCallEachOther(
  reg: GoRegistry,
  x: XClient,
  goKey: string,
  local: { key: string; service: { hits: number } },
): Promise<void> {
  assert.deepEqual(x.servers.sort(), [goKey, local.key].sort());
  for (let i = 0; i < 4; i++) assert.deepEqual(await x.call("Mul", MUL), { C: 200 });
  assert.equal(local.service.hits, 2, "round robin over the Go and the Deno server");

  const list = await runGoClient(reg, ["--list-servers", "--service", "Arith"]);
  assert.equal(list.code, 0, list.out + list.err);
  assert.match(list.out, new RegExp(`SERVER ${local.key} weight=5`));
  assert.match(list.out, new RegExp(`SERVER ${goKey} weight=5`));
  const gc = await runGoClient(reg, ["--count", "4"]);
  assert.equal(gc.code, 0, gc.out + gc.err);
  assert.equal(gc.out.match(/10 \* 20 = 200/g)?.length, 4, gc.out);
  assert.ok(local.service.hits > 2, "the Go client called the Deno server too");
}

/** What a scenario needs of a registry. */
export interface RegistryFixture {
  /**
   * Serves Arith on a free port, registered with `metadata`. With `longLived`, the node's
   * lifetime is long (≥ 10 s), so a removal seen soon after is not an expiry.
   */
  serve(metadata: string, options?: { longLived?: boolean }): Promise<RegisteredServer>;
  /** A discovery of `Arith` in the fixture's base path. */
  discovery(): ServiceDiscovery;
}

/** An XClient over `d` with a short connect timeout. */
export function xclientOf(
  d: ServiceDiscovery,
  mode: SelectMode = SelectMode.RoundRobin,
  group?: string,
): XClient {
  return new XClient("Arith", FailMode.Failover, mode, d, { connectTimeout: 1000, group });
}

/** Register → discover → call; a second server joins and is used; graceful shutdown removes it at once. */
export async function joinThenGracefulShutdown(r: RegistryFixture): Promise<void> {
  const a = await r.serve("");
  const d = r.discovery();
  const x = xclientOf(d);
  let b: RegisteredServer | undefined;
  try {
    assert.deepEqual(await x.call("Mul", MUL), { C: 200 });
    assert.deepEqual(x.servers, [a.key]);
    b = await r.serve("", { longLived: true });
    await waitFor("second server discovered", () => x.servers.length === 2, 3000);
    for (let i = 0; i < 10; i++) assert.deepEqual(await x.call("Mul", MUL), { C: 200 });
    assert.equal(a.service.hits, 1 + 5);
    assert.equal(b.service.hits, 5);
    const t0 = Date.now();
    await b.server.shutdown({ timeout: 1000 });
    await waitFor("shut-down server gone", () => !x.discovered.includes(b!.key), 2000, 10);
    assert.ok(Date.now() - t0 < 2000);
    for (let i = 0; i < 4; i++) assert.deepEqual(await x.call("Mul", MUL), { C: 200 });
    assert.equal(b.service.hits, 5);
  } finally {
    await x.close();
    await d.close();
    await b?.server.close();
    await a.server.close();
  }
}

/** Weight and group metadata reach the selectors: WeightedRoundRobin within group `a`. */
export async function weightsAndGroups(r: RegistryFixture): Promise<void> {
  const a = await r.serve("weight=1&group=a");
  const b = await r.serve("weight=3&group=a");
  const c = await r.serve("weight=9&group=b");
  const d = r.discovery();
  const wrr = xclientOf(d, SelectMode.WeightedRoundRobin, "a");
  try {
    await d.ready();
    await waitFor("all three listed", () => d.getServices().length === 3, 3000);
    await waitFor("group a selectable", () => wrr.servers.length === 2, 3000);
    assert.deepEqual(wrr.servers.sort(), [a.key, b.key].sort());
    for (let i = 0; i < 40; i++) await wrr.call("Mul", MUL);
    assert.equal(a.service.hits, 10);
    assert.equal(b.service.hits, 30);
    assert.equal(c.service.hits, 0);
  } finally {
    await wrr.close();
    await d.close();
    for (const s of [a, b, c]) await s.server.close();
  }
}

/**
 * `examples/<example>/server.ts` as a child and `client.ts` against it (the client exits
 * non-zero when it finds no server); then the child is SIGKILLed and must leave the discovery
 * within `boundMs` (its registration's lifetime), while a local server keeps answering.
 */
export async function exampleServerKilled(
  r: RegistryFixture,
  o: { example: string; registryFlags: string[]; serverFlags: string[]; boundMs: number },
): Promise<void> {
  const port = freePort();
  const child = startExampleServer(o.example, [
    "--addr",
    `127.0.0.1:${port}`,
    ...o.registryFlags,
    ...o.serverFlags,
  ]);
  const local = await r.serve("");
  const d = r.discovery();
  const x = xclientOf(d);
  try {
    assert.equal(await child.ready, `127.0.0.1:${port}`);
    const ok = await runExampleClient(o.example, [...o.registryFlags, "--count", "2"]);
    assert.equal(ok.code, 0, ok.out + ok.err);
    assert.equal(ok.out.match(/^10 \* 20 = 200$/gm)?.length, 2, ok.out);
    const none = await runExampleClient(o.example, [...o.registryFlags, "--base", "/x"]);
    assert.notEqual(none.code, 0, "the client exits non-zero when no server is found");

    const key = `tcp@127.0.0.1:${port}`;
    await waitFor("child discovered", () => x.discovered.includes(key), 3000);
    child.child.kill("SIGKILL");
    await child.child.status;
    const t0 = Date.now();
    await waitFor("killed server dropped", () => !x.discovered.includes(key), o.boundMs + 3000, 20);
    const took = Date.now() - t0;
    console.log(`SIGKILLed ${o.example} example server left the discovery after ${took} ms`);
    assert.ok(took < o.boundMs, `dropped after ${took} ms (bound ${o.boundMs} ms)`);
    assert.deepEqual(x.servers, [local.key]);
    assert.deepEqual(await x.call("Mul", MUL), { C: 200 });
  } finally {
    await child.stop();
    await x.close();
    await d.close();
    await local.server.close();
  }
}

/**
 * The registry restarts (`restart`, data kept) under a loop of calls (one every 20 ms): no
 * call fails, `registeredAgain` (the registry's own check that server A is back) passes, and a
 * server registered after the restart is listed, so the discovery follows the registry again
 * rather than a cached list.
 */
export async function restartedUnderCalls<S extends RegisteredServer>(
  r: { serve(metadata: string): Promise<S>; discovery(): ServiceDiscovery },
  o: { name: string; restart(): Promise<void>; registeredAgain?(a: S): Promise<void> },
): Promise<void> {
  const a = await r.serve("");
  let b: S | undefined;
  const d = r.discovery();
  const x = xclientOf(d);
  const loop = callLoop(x);
  try {
    await d.ready();
    await delay(300);
    await o.restart();
    await o.registeredAgain?.(a);
    b = await r.serve("");
    await waitFor(
      "a server registered after the restart to be listed",
      () => x.servers.includes(b!.key),
      8000,
    );
    await delay(500);
    await loop.stop();
    console.log(`${loop.calls} calls across the ${o.name} restart, ${loop.failures.length} failed`);
    assert.deepEqual(loop.failures, []);
    assert.ok(loop.calls > 50, `${loop.calls} calls`);
    assert.deepEqual(x.servers.sort(), [a.key, b.key].sort());
  } finally {
    await loop.stop();
    await x.close();
    await d.close();
    await a.server.close();
    await b?.server.close();
  }
}

/** How {@link exampleServerSignalled} runs one registry's example server. */
export interface SignalFixture {
  /** `examples/<example>/server.ts`. */
  example: string;
  /** Its flags besides `--addr`: registered under `base`, with a lifetime far over `boundMs`. */
  serverFlags(base: string): string[];
  /** Whether `key`'s node is in the registry under `base`, read raw (none for mDNS). */
  nodeListed?(base: string, key: string): Promise<boolean>;
  /** A discovery of `Arith` under `base`. */
  discovery(base: string): ServiceDiscovery;
  /** How long a server that vanished without a word stays registered, in ms (for the log). */
  lifetimeMs: number;
  /** The bound on "at once", in ms: well under `lifetimeMs`. */
  boundMs: number;
}

/**
 * `examples/<example>/server.ts` as a child, once per signal: SIGTERM and SIGINT make it
 * unregister at once (its node gone from the registry, and from a discovery, within `boundMs`
 * while its registration would live `lifetimeMs`), and exit 0.
 */
export async function exampleServerSignalled(f: SignalFixture): Promise<void> {
  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    const port = freePort();
    const base = `/rpcx_sig_${signal}_${Date.now().toString(36)}`;
    const key = `tcp@127.0.0.1:${port}`;
    const child = startExampleServer(f.example, [
      "--addr",
      `127.0.0.1:${port}`,
      ...f.serverFlags(base),
    ]);
    const d = f.discovery(base);
    const discovered = () => d.getServices().some((p) => p.key === key);
    try {
      assert.equal(await child.ready, `127.0.0.1:${port}`);
      if (f.nodeListed) {
        await waitFor("the node in the registry", () => f.nodeListed!(base, key), 10_000);
      }
      await waitFor("the discovery to list it", discovered, 10_000);
      const t0 = Date.now();
      child.child.kill(signal);
      if (f.nodeListed) {
        await waitFor(
          `the node gone after ${signal}`,
          async () => !(await f.nodeListed!(base, key)),
          f.boundMs + 3000,
          20,
        );
      }
      const gone = Date.now() - t0;
      await waitFor(`the discovery to drop it after ${signal}`, () => !discovered(), 5000, 20);
      const dropped = Date.now() - t0;
      console.log(
        `${f.example} ${signal}: ${f.nodeListed ? `node removed after ${gone} ms, ` : ""}` +
          `dropped by the discovery after ${dropped} ms (a vanished server stays ` +
          `${f.lifetimeMs} ms)`,
      );
      assert.ok(gone < f.boundMs, `${signal}: removed after ${gone} ms`);
      assert.ok(dropped < f.boundMs, `${signal}: dropped after ${dropped} ms`);
      const status = await exited(child.child, 10_000, `the ${f.example} server to exit`);
      assert.equal(status.code, 0, `${signal}: the server exited with ${status.code}`);
    } finally {
      await child.stop();
      await d.close();
    }
  }
}

/** What {@link discoveryFollowsChanges} needs of a KV registry. */
export interface ListingFixture {
  /** A plugin of base path `/rpcx_test`, not started. */
  plugin(): {
    start(ctx: RegistryStartContext): Promise<void>;
    register(name: string, service: unknown, metadata: string): Promise<void>;
    stop(): Promise<void>;
  };
  /** A discovery of `Arith` under `/rpcx_test`. */
  discovery(): ServiceDiscovery & { readonly prefix: string };
  /** The discovery's prefix as the registry spells it. */
  prefix: string;
  /** Writes the node `Arith/<key>` = `value` raw, as an operator would. */
  putNode(key: string, value: string): Promise<void>;
  /** Deletes the node `Arith/<key>` raw. */
  deleteNode(key: string): Promise<void>;
  /** The registry's own checks once the first list is in (`d` lists the plugin's node alone). */
  listed?(d: ServiceDiscovery): void | Promise<void>;
  /** The registry's own checks once the written node is deleted (`d` lists one node again). */
  deleted?(d: ServiceDiscovery): void | Promise<void>;
}

/**
 * A plugin registers Arith and ArithX (at {@link START_CONTEXT}'s address): the discovery
 * lists `prefix` (the dir and the sibling service skipped), follows a node written, changed
 * and deleted raw, and its clone lists ArithX.
 */
export async function discoveryFollowsChanges(f: ListingFixture): Promise<void> {
  const p = f.plugin();
  await p.start(START_CONTEXT);
  await p.register("Arith", null, "weight=1");
  await p.register("ArithX", null, "x=1");
  const d = f.discovery();
  const lists: number[] = [];
  d.watch((pairs) => lists.push(pairs.length));
  try {
    await d.ready();
    assert.equal(d.prefix, f.prefix);
    assert.deepEqual(d.getServices(), [{ key: "tcp@127.0.0.1:8972", value: "weight=1" }]);
    await f.listed?.(d);
    await f.putNode("tcp@127.0.0.1:9000", "weight=5");
    await waitFor("second server listed", () => d.getServices().length === 2, 3000);
    assert.deepEqual(
      d.getServices().find((s) => s.key === "tcp@127.0.0.1:9000"),
      { key: "tcp@127.0.0.1:9000", value: "weight=5" },
    );
    await f.putNode("tcp@127.0.0.1:9000", "weight=5&state=inactive");
    await waitFor(
      "value change",
      () => d.getServices().some((s) => s.value.includes("inactive")),
      3000,
    );
    await f.deleteNode("tcp@127.0.0.1:9000");
    await waitFor("second server gone", () => d.getServices().length === 1, 3000);
    await f.deleted?.(d);
    assert.deepEqual(lists.slice(-1), [1]);
    const x = d.clone("ArithX");
    try {
      await x.ready();
      assert.deepEqual(x.getServices(), [{ key: "tcp@127.0.0.1:8972", value: "x=1" }]);
    } finally {
      await x.close();
    }
  } finally {
    await d.close();
    await p.stop();
  }
}

/** What the registry-outage scenarios need: a registry the test can stop and start again. */
export interface OutageFixture {
  /** A discovery of `Arith` in the fixture's base path, retrying within 500 ms. */
  discovery(): BaseDiscovery;
  /** Writes the node `basePath/Arith/<key>` = `value`, as an operator would. */
  putNode(key: string, value: string): Promise<void>;
  /** Writes a key outside the base path (moves the registry's revision/index on). */
  putUnrelated(value: string): Promise<void>;
  /** Stops the registry. */
  halt(): Promise<void>;
  /** Starts it again: `wiped` with none of its data, else with all of it. */
  resume(wiped: boolean): Promise<void>;
}

/**
 * The registry goes away: the discovery keeps its last list and reports the outage; the
 * registry comes back wiped (its revision/index starting low again): the discovery recovers,
 * lists the empty registry and sees what is written next.
 */
export async function discoveryOutageThenWipe(r: OutageFixture): Promise<void> {
  for (let i = 0; i < 30; i++) await r.putUnrelated(String(i));
  await r.putNode("tcp@127.0.0.1:9001", "");
  const d = r.discovery();
  const events: string[] = [];
  const outages: RegistryOutageEvent[] = [];
  d.addEventListener("outage", (e) => {
    outages.push(e as RegistryOutageEvent);
    events.push("outage");
  });
  d.addEventListener("recovered", () => events.push("recovered"));
  try {
    await d.ready();
    assert.equal(d.getServices().length, 1);
    await r.halt();
    await waitFor("outage event", () => events.includes("outage"), 5000);
    assert.ok(d.inOutage);
    assert.deepEqual(d.getServices(), [{ key: "tcp@127.0.0.1:9001", value: "" }]);
    await waitFor("several retries", () => outages.length >= 3, 5000);
    assert.deepEqual(d.getServices(), [{ key: "tcp@127.0.0.1:9001", value: "" }]);
    outages.forEach((o, i) => {
      assert.equal(o.attempt, i + 1, `outage event ${i}: attempt`);
      assert.ok(o.retryInMs > 0 && o.retryInMs <= 500, `outage event ${i}: ${o.retryInMs} ms`);
    });
    await r.resume(true);
    await waitFor("recovered event", () => events.at(-1) === "recovered", 5000);
    assert.deepEqual(d.getServices(), [], "re-listed: the wiped registry has nothing");
    // a watch or blocking query resumed from the old revision/index would miss this
    await r.putNode("tcp@127.0.0.1:9002", "weight=2");
    await waitFor("new server seen", () => d.getServices().length === 1, 3000);
    assert.equal(d.getServices()[0].key, "tcp@127.0.0.1:9002");
  } finally {
    await d.close();
  }
}

/** The registry is down when the discovery starts: outage events, ready once it is back. */
export async function discoveryStartsDuringOutage(r: OutageFixture): Promise<void> {
  await r.putNode("tcp@127.0.0.1:9003", "weight=1");
  await r.halt();
  const d = r.discovery();
  const x = new XClient("Arith", FailMode.Failover, SelectMode.RoundRobin, d, {
    discoveryTimeout: 200,
  });
  let outages = 0;
  d.addEventListener("outage", () => outages++);
  const noServer = "rpcx: no server available for Arith (can not found any server)";
  try {
    let ready = false;
    void d.ready().then(() => (ready = true));
    await waitFor("outage events", () => outages >= 2, 3000);
    assert.equal(ready, false);
    assert.deepEqual(d.getServices(), []);
    // "no server" says the registry is unreachable (after Go's text), its error as the cause
    await assert.rejects(x.call("Mul", MUL), (e: Error) => {
      assert.ok(e instanceof NoServerAvailableError, String(e));
      assert.ok(e.message.startsWith(`${noServer}; its registry cannot be reached: `), e.message);
      assert.ok(e.cause instanceof Error, "the registry's error is the cause");
      return true;
    });
    await r.resume(false);
    await waitFor("ready", () => ready, 3000);
    assert.deepEqual(d.getServices(), [{ key: "tcp@127.0.0.1:9003", value: "weight=1" }]);
    assert.equal(d.inOutage, false);
    // recovered: "no server" (its only server inactive) is Go's text alone again
    await r.putNode("tcp@127.0.0.1:9003", "weight=1&state=inactive");
    await waitFor("the server inactive", () => x.servers.length === 0, 3000);
    await assert.rejects(x.call("Mul", MUL), (e: Error) => {
      assert.ok(e instanceof NoServerAvailableError, String(e));
      assert.equal(e.message, noServer);
      return true;
    });
  } finally {
    await x.close();
    await d.close();
  }
}

/** A registry fixture an operator can also edit directly. */
export interface OperatorFixture extends RegistryFixture {
  /** Writes the node `basePath/Arith/<key>` as an operator would. */
  writeNode(key: string, value: string): Promise<void>;
  /** Reads the node `basePath/Arith/<key>`. */
  readNode(key: string): Promise<string | undefined>;
}

/**
 * An operator writes `state=inactive` into a server's node: it is no longer selected, the
 * plugin's refresh leaves the operator's value alone, and flipping it back makes the server
 * selectable again. `whileInactive` adds the registry's own checks on the edited node.
 */
export async function operatorMarksInactive(
  r: OperatorFixture,
  whileInactive: (key: string) => Promise<void> = () => Promise.resolve(),
): Promise<void> {
  const a = await r.serve("weight=1");
  const b = await r.serve("weight=1");
  const d = r.discovery();
  const x = xclientOf(d);
  try {
    await d.ready();
    await waitFor("both listed", () => x.servers.length === 2, 3000);
    await r.writeNode(a.key, "weight=1&state=inactive");
    await waitFor("A not selectable", () => !x.servers.includes(a.key), 3000);
    assert.deepEqual(x.servers, [b.key]);
    const [hitsA, hitsB] = [a.service.hits, b.service.hits];
    for (let i = 0; i < 6; i++) await x.call("Mul", MUL);
    assert.equal(a.service.hits, hitsA);
    assert.equal(b.service.hits, hitsB + 6);
    // A refresh round of A's plugin (what its timer runs every updateInterval) leaves the
    // operator's state alone.
    await a.plugin.refresh();
    assert.equal(await r.readNode(a.key), "weight=1&state=inactive");
    await whileInactive(a.key);
    await r.writeNode(a.key, "weight=1");
    await waitFor("A selectable again", () => x.servers.includes(a.key), 3000);
    for (let i = 0; i < 6; i++) await x.call("Mul", MUL);
    assert.ok(a.service.hits > hitsA);
  } finally {
    await x.close();
    await d.close();
    await a.server.close();
    await b.server.close();
  }
}

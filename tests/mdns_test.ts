// mDNS registry tests. Multicast needs a private network namespace (no packet leaves the machine):
// without RPCX_IN_NETNS=1 this file has one test that re-runs it through
// tests/support/run_in_netns.sh (unshare -n + loopback multicast) and checks the exit code;
// inside, the real tests run. `deno task test:mdns` runs the inner tests directly.
import assert from "node:assert/strict";
import createMulticastDns from "multicast-dns";
import dgram from "node:dgram";
import { FailMode, type RegistryOutageEvent, SelectMode, Server, XClient } from "@rpcx/core";
import {
  MdnsDiscovery,
  type MdnsDiscoveryOptions,
  type MdnsRegisterOptions,
  MdnsRegisterPlugin,
} from "@rpcx/core/mdns";
import { decodeMdnsText } from "../src/registry/mdns/txt.ts";
import { Arith } from "../examples/arith.ts";
import {
  bounded,
  delay,
  findExecutable,
  freePort,
  needs,
  REPO_ROOT,
  waitFor,
} from "./support/env.ts";
import { IN_NETNS, testInNetns, withVeth } from "./support/netns.ts";
import { denoScriptJson, exited, runBounded, startReady } from "./support/child.ts";
import { exampleServerSignalled } from "./support/registry_scenarios.ts";

const decoder = new TextDecoder();

// ---------------------------------------------------------------------------------------------
// Go rpcx's own mDNS code (tests/support/mdns_upstream, built with the Go toolchain).

const UPSTREAM_DIR = `${REPO_ROOT}/tests/support/mdns_upstream`;
const UPSTREAM_BIN = `${REPO_ROOT}/.cache/mdns_upstream/peer`;

function mtime(path: string): number {
  try {
    return Deno.statSync(path).mtime?.getTime() ?? 0;
  } catch {
    return 0;
  }
}

/** Builds the upstream peer when missing or stale; returns why it cannot be had, if so. */
async function buildUpstreamPeer(offline: boolean): Promise<string | undefined> {
  const sources = ["main.go", "go.mod", "go.sum"].map((f) => mtime(`${UPSTREAM_DIR}/${f}`));
  if (mtime(UPSTREAM_BIN) > Math.max(...sources)) return undefined;
  const go = findExecutable("go", "/usr/local/go/bin/go", "/usr/lib/go/bin/go");
  if (!go) return "the Go toolchain (go) is not installed";
  const env: Record<string, string> = offline ? { GOPROXY: "off", GOFLAGS: "-mod=mod" } : {};
  const out = await new Deno.Command(go, {
    args: ["build", "-o", UPSTREAM_BIN, "."],
    cwd: UPSTREAM_DIR,
    env,
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(300_000),
  }).output();
  if (out.code !== 0) return `go build failed: ${decoder.decode(out.stderr).trim().slice(-800)}`;
  return undefined;
}

/** Whether the upstream peer is built (offline); under CI=true a missing one fails. */
async function needUpstreamPeer(): Promise<boolean> {
  return needs("Go rpcx's mDNS peer (tests/support/mdns_upstream)", await buildUpstreamPeer(true));
}

/**
 * Runs the upstream peer's client (Go's MDNSDiscovery for 1.5 s, then a call; 30 s at most): its
 * exit code, stdout (printed) and stderr, and the pairs it discovered (its `pairs <json>` line).
 */
async function upstreamClient(): Promise<
  { code: number; text: string; err: string; pairs: Record<string, string> }
> {
  const out = await new Deno.Command(UPSTREAM_BIN, {
    args: ["client", "1500"],
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(30_000),
  }).output();
  const text = decoder.decode(out.stdout);
  console.log(text.trim());
  const pairs = JSON.parse(/^pairs (.*)$/m.exec(text)?.[1] ?? "{}") as Record<string, string>;
  return { code: out.code, text, err: decoder.decode(out.stderr), pairs };
}

// ---------------------------------------------------------------------------------------------
// Outside the namespace: run this file again inside one.

if (!IN_NETNS) {
  Deno.test("mdns without --allow-sys: plugin and discovery fail at once with a clear error", async () => {
    // A process with network access but no sys access (and no prompt): nothing multicasts, so
    // this needs no namespace.
    const script = `
      import { Server } from "@rpcx/core";
      import { MdnsDiscovery, MdnsRegisterPlugin } from "@rpcx/core/mdns";
      const out = {};
      const describe = (e) => ({ name: e.constructor.name, message: e.message, permissions: e.permissions });
      const server = new Server();
      server.use(new MdnsRegisterPlugin({}));
      await server.register({ Mul: () => 1 }, "Arith");
      await server.serve("tcp", "127.0.0.1:0").then(() => (out.serve = "served"), (e) => (out.serve = describe(e)));
      await server.close();
      try {
        const d = new MdnsDiscovery("Arith", { timeout: 300 });
        out.discovery = "constructed";
        await d.close();
      } catch (e) {
        out.discovery = describe(e);
      }
      console.log(JSON.stringify(out));
    `;
    const r = await denoScriptJson<{ serve: unknown; discovery: unknown }>(script, {
      flags: [
        "--no-check",
        `--config=${REPO_ROOT}/deno.json`,
        "--allow-net",
        "--allow-env",
        "--allow-read",
      ],
      timeoutMs: 30_000,
    });
    const want = {
      name: "PermissionError",
      message: "mdns needs --allow-net and --allow-sys=networkInterfaces,hostname",
      permissions: ["sys:networkInterfaces", "sys:hostname"],
    };
    assert.deepEqual(r.serve, want, "serve() rejects");
    assert.deepEqual(r.discovery, want, "the discovery throws at once (not an endless outage)");
  });

  // 2 TXT tests and every namespace test.
  testInNetns(
    "mdns: the mDNS tests pass inside a private network namespace",
    "tests/mdns_test.ts",
    15,
    {
      // Build Go rpcx's peer here, where the Go module proxy is reachable (none in the namespace).
      prepare: async () => {
        const buildProblem = await buildUpstreamPeer(false);
        if (buildProblem) console.warn(`mdns upstream Go peer: ${buildProblem}`);
      },
    },
  );
} else {
  registerNetnsTests();
}

// ---------------------------------------------------------------------------------------------
// Inside the namespace.

const FAST: MdnsDiscoveryOptions = { timeout: 300, watchInterval: 500 };

interface Started {
  server: Server;
  plugin: MdnsRegisterPlugin;
  address: string;
}

async function startServer(
  metadata = "",
  options: MdnsRegisterOptions = {},
  services: [object, string, string][] = [],
): Promise<Started> {
  const server = new Server();
  const plugin = new MdnsRegisterPlugin({ updateInterval: 1000, ttl: 30, ...options });
  server.use(plugin);
  await server.register(new Arith(), "Arith", metadata);
  for (const [svc, name, meta] of services) await server.register(svc, name, meta);
  const bound = await server.serve("tcp", "127.0.0.1:0");
  return { server, plugin, address: `tcp@${bound}` };
}

/** Binds UDP `port` without SO_REUSEADDR (fails while any socket holds it), then closes. */
async function exclusiveBind(port: number): Promise<void> {
  const socket = dgram.createSocket({ type: "udp4", reuseAddr: false });
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once("error", reject);
      socket.bind(port, "0.0.0.0", () => resolve());
    });
  } finally {
    await new Promise<void>((resolve) => {
      try {
        socket.close(() => resolve());
      } catch {
        resolve(); // never bound
      }
    });
  }
}

function keys(d: MdnsDiscovery): string[] {
  return d.getServices().map((p) => p.key).sort();
}

function registerNetnsTests(): void {
  Deno.test("mdns: announce, discover, call through XClient; close releases the socket", async () => {
    const s = await startServer("weight=10");
    const discovery = new MdnsDiscovery("Arith", FAST);
    const xclient = new XClient("Arith", FailMode.Failover, SelectMode.RoundRobin, discovery);
    try {
      await discovery.ready();
      assert.deepEqual(discovery.getServices(), [{ key: s.address, value: "weight=10" }]);
      assert.deepEqual(xclient.servers, [s.address]);
      assert.deepEqual(await xclient.call("Mul", { A: 10, B: 20 }), { C: 200 });
      // Another service path on the same network sees nothing.
      const other = discovery.clone("Nope") as MdnsDiscovery;
      await other.ready();
      assert.deepEqual(other.getServices(), []);
      await other.close();
    } finally {
      await xclient.close();
      await discovery.close();
      await s.server.shutdown({ timeout: 1000 });
    }
    // Both sockets on 5353 (the plugin's and the discovery's) are gone: an exclusive bind works.
    await exclusiveBind(5353);
  });

  Deno.test("mdns: two servers are both discovered and both called", async () => {
    const a = await startServer();
    const b = await startServer();
    const discovery = new MdnsDiscovery("Arith", FAST);
    const xclient = new XClient("Arith", FailMode.Failfast, SelectMode.RoundRobin, discovery);
    try {
      await waitFor("both servers", () => keys(discovery).length === 2, 5000);
      assert.deepEqual(keys(discovery), [a.address, b.address].sort());
      assert.notEqual(a.plugin.instance, b.plugin.instance, "instances do not collide");
      const before = [a.server.metrics().calls, b.server.metrics().calls];
      for (let i = 0; i < 4; i++) {
        assert.deepEqual(await xclient.call("Mul", { A: i, B: 3 }), { C: i * 3 });
      }
      assert.equal(a.server.metrics().calls - before[0], 2, "round robin reached server a twice");
      assert.equal(b.server.metrics().calls - before[1], 2, "round robin reached server b twice");
    } finally {
      await xclient.close();
      await discovery.close();
      await a.server.shutdown({ timeout: 1000 });
      await b.server.shutdown({ timeout: 1000 });
    }
  });

  Deno.test("mdns: a server that shuts down says goodbye and is removed at once", async () => {
    const a = await startServer("", { ttl: 120 });
    const b = await startServer("", { ttl: 120 });
    // Browses are 30 s apart and records live 120 s: only the goodbye can remove b quickly.
    const discovery = new MdnsDiscovery("Arith", { timeout: 300, watchInterval: 30_000 });
    const lists: string[][] = [];
    discovery.watch((pairs) => lists.push(pairs.map((p) => p.key).sort()));
    try {
      await waitFor("both servers", () => keys(discovery).length === 2, 5000);
      const t0 = Date.now();
      await b.server.shutdown({ timeout: 1000 });
      await waitFor("b removed after its goodbye", () => keys(discovery).length === 1, 3000);
      console.log(`goodbye → removed in ${Date.now() - t0} ms`);
      assert.deepEqual(keys(discovery), [a.address]);
      assert.deepEqual(lists.at(-1), [a.address], "watchers got the complete new list");
    } finally {
      await discovery.close();
      await a.server.shutdown({ timeout: 1000 });
      await b.server.shutdown({ timeout: 1000 });
    }
  });

  Deno.test("mdns: a server that starts later is taken from its announcement at once", async () => {
    // Browses are 30 s apart: only the unsolicited announcement can bring the new server in.
    const discovery = new MdnsDiscovery("Arith", { timeout: 300, watchInterval: 30_000 });
    let s: Started | undefined;
    try {
      await discovery.ready();
      assert.deepEqual(discovery.getServices(), []);
      const t0 = Date.now();
      s = await startServer("weight=2");
      await waitFor("the announced server", () => keys(discovery).length === 1, 3000);
      console.log(`announcement → listed in ${Date.now() - t0} ms`);
      assert.deepEqual(discovery.getServices(), [{ key: s.address, value: "weight=2" }]);
    } finally {
      await discovery.close();
      await s?.server.shutdown({ timeout: 1000 });
    }
  });

  Deno.test("mdns + examples/mdns server: SIGTERM and SIGINT say goodbye at once (not at record expiry)", async () => {
    await exampleServerSignalled({
      example: "mdns",
      // Records live 120 s: a server that vanished without a goodbye stays listed that long.
      serverFlags: () => ["--ttl", "120", "--update", "10000"],
      discovery: () => new MdnsDiscovery("Arith", FAST),
      lifetimeMs: 120_000,
      boundMs: 2000,
    });
  });

  Deno.test("mdns: a server killed with SIGKILL is removed when its records expire", async () => {
    const discovery = new MdnsDiscovery("Arith", FAST);
    const server = await startReady(
      Deno.execPath(),
      [
        "run",
        "-A",
        "examples/mdns/server.ts",
        "--addr",
        "127.0.0.1:0",
        "--ttl",
        "2",
        "--update",
        "500",
        "--meta",
        "weight=5",
      ],
      {
        ready: /listening on (\S+)/,
        what: "the example server's address",
        timeoutMs: 20_000,
        cwd: REPO_ROOT,
        stderr: "inherit",
      },
    ).catch(async (e) => {
      await discovery.close();
      throw e;
    });
    try {
      const key = `tcp@${server.match[1]}`;
      await waitFor("the child server", () => keys(discovery).includes(key), 5000);
      assert.equal(discovery.getServices().find((p) => p.key === key)?.value, "weight=5");
      await server.stop("SIGKILL");
      const t0 = Date.now();
      await delay(300);
      assert.ok(keys(discovery).includes(key), "no goodbye from a killed process: still listed");
      await waitFor("the killed server to expire", () => !keys(discovery).includes(key), 6000);
      const took = Date.now() - t0;
      console.log(`SIGKILL → removed after ${took} ms (TTL 2 s, browse every 0.5 s)`);
      assert.ok(took >= 1000, `removed by expiry, not at once (${took} ms)`);
    } finally {
      await server.stop("SIGKILL");
      await discovery.close();
    }
  });

  Deno.test("mdns: TXT metadata (weight, group, state) and metrics flow to XClient", async () => {
    const a = await startServer("weight=10&group=a");
    const b = await startServer("weight=20&group=b");
    const c = await startServer("weight=30&group=a&state=inactive");
    const m = await startServer("group=m", { metrics: true, updateInterval: 300 });
    const discovery = new MdnsDiscovery("Arith", FAST);
    const groupA = new XClient(
      "Arith",
      FailMode.Failover,
      SelectMode.WeightedRoundRobin,
      discovery,
      {
        group: "a",
      },
    );
    const all = new XClient("Arith", FailMode.Failover, SelectMode.RoundRobin, discovery);
    try {
      await waitFor("four servers", () => keys(discovery).length === 4, 5000);
      const values = new Map(discovery.getServices().map((p) => [p.key, p.value]));
      assert.equal(values.get(a.address), "weight=10&group=a");
      assert.equal(values.get(b.address), "weight=20&group=b");
      assert.equal(values.get(c.address), "weight=30&group=a&state=inactive");
      assert.deepEqual(groupA.servers, [a.address], "group a, inactive c left out");
      assert.deepEqual(all.servers.sort(), [a.address, b.address, m.address].sort());
      assert.deepEqual(await groupA.call("Mul", { A: 6, B: 7 }), { C: 42 });
      // Metrics: calls/connections added to meta on each refresh, keys sorted as Go's Encode.
      await waitFor(
        "metrics in m's meta",
        () => /^calls=\d+\.\d\d&connections=\d+\.\d\d&group=m$/.test(values2(discovery, m.address)),
        5000,
      );
    } finally {
      await groupA.close();
      await all.close();
      await discovery.close();
      for (const s of [a, b, c, m]) await s.server.shutdown({ timeout: 1000 });
    }
  });

  Deno.test("mdns: unregister updates the TXT; the last unregister says goodbye", async () => {
    const echo = { Echo: (x: unknown) => x };
    const s = await startServer("", { ttl: 120 }, [[echo, "Echo", "e=1"]]);
    const arith = new MdnsDiscovery("Arith", { timeout: 300, watchInterval: 30_000 });
    const echoes = arith.clone("Echo") as MdnsDiscovery;
    try {
      await waitFor("Arith and Echo", () => keys(arith).length === 1 && keys(echoes).length === 1);
      assert.equal(echoes.getServices()[0].value, "e=1");
      await s.server.unregister("Echo");
      await waitFor("Echo gone", () => keys(echoes).length === 0, 3000);
      assert.deepEqual(keys(arith), [s.address], "Arith stays");
      assert.deepEqual(s.plugin.services, ["Arith"]);
      await s.server.unregister("Arith");
      await waitFor("Arith gone after the goodbye", () => keys(arith).length === 0, 3000);
    } finally {
      await echoes.close();
      await arith.close();
      await s.server.shutdown({ timeout: 1000 });
    }
  });

  Deno.test("mdns: a TXT longer than 255 bytes is split into strings and joined back", async () => {
    const extra: [object, string, string][] = [];
    for (let i = 0; i < 5; i++) {
      extra.push([{ Ping: () => i }, `Service${i}`, `weight=${i}&group=g${i}`]);
    }
    const s = await startServer("weight=1", {}, extra);
    const discovery = new MdnsDiscovery("Service4", FAST);
    try {
      assert.ok(s.plugin.text.length > 255, `TXT is ${s.plugin.text.length} bytes`);
      await discovery.ready();
      await waitFor("Service4", () => keys(discovery).length === 1, 3000);
      assert.deepEqual(discovery.getServices(), [{ key: s.address, value: "weight=4&group=g4" }]);
    } finally {
      await discovery.close();
      await s.server.shutdown({ timeout: 1000 });
    }
  });

  Deno.test("mdns: legacy unicast queries and DNS-SD service enumeration are answered", async () => {
    const s = await startServer("", { ttl: 120 });
    // A one-shot querier on an ephemeral port (RFC 6762 §6.7): the answer comes back unicast,
    // with our id, the question repeated and TTLs capped at 10 s.
    const socket = createMulticastDns({ port: 0, multicast: false });
    try {
      const replies: DnsReply[] = [];
      socket.on("response", (p: DnsReply) => replies.push(p));
      const ask = (id: number, name: string) =>
        new Promise<void>((resolve, reject) =>
          socket.send(
            { type: "query", id, questions: [{ name, type: "PTR" }] },
            { address: "224.0.0.251", port: 5353 },
            (e?: Error) => (e ? reject(e) : resolve()),
          )
        );
      await ask(4242, "_rpcxservices._tcp.local");
      await ask(4343, "_services._dns-sd._udp.local");
      await waitFor("two unicast replies", () => replies.length >= 2, 3000);
      const ptr = replies.find((r) => r.id === 4242)!;
      assert.ok(ptr, "reply with our id");
      assert.deepEqual(ptr.questions.map((q) => q.name), ["_rpcxservices._tcp.local"]);
      const answer = ptr.answers.find((a) => a.type === "PTR")!;
      assert.equal(answer.data, `${s.plugin.instance}._rpcxservices._tcp.local`);
      assert.ok(answer.ttl <= 10, `legacy TTL capped: ${answer.ttl}`);
      const srv = ptr.additionals.find((a) => a.type === "SRV");
      assert.equal((srv?.data as { port: number }).port, Number(s.address.split(":").at(-1)));
      assert.ok(ptr.additionals.some((a) => a.type === "TXT"));
      assert.ok(ptr.additionals.some((a) => a.type === "A" && a.data === "127.0.0.1"));
      const types = replies.find((r) => r.id === 4343)!.answers.map((a) => a.data).sort();
      assert.deepEqual(types, ["_rpcxservices._tcp.local", "_rpcxservices.local"]);
    } finally {
      await new Promise<void>((r) => socket.destroy(() => r()));
      await s.server.shutdown({ timeout: 1000 });
    }
  });

  Deno.test("mdns: a socket that cannot be opened is an outage, retried until it can", async () => {
    // Hold a UDP port without SO_REUSEADDR so the discovery's bind fails (EADDRINUSE).
    const blocker = dgram.createSocket({ type: "udp4", reuseAddr: false });
    await new Promise<void>((r) => blocker.bind(0, "0.0.0.0", () => r()));
    const port = blocker.address().port;
    const discovery = new MdnsDiscovery("Arith", {
      timeout: 200,
      watchInterval: 500,
      socketOptions: { port },
    });
    const events: string[] = [];
    discovery.addEventListener("outage", (e) => {
      const o = e as RegistryOutageEvent;
      events.push(`outage#${o.attempt} retry ${o.retryInMs} ms`);
    });
    discovery.addEventListener("recovered", () => events.push("recovered"));
    try {
      await waitFor("an outage event", () => events.length > 0, 3000);
      assert.match(events[0], /^outage#1 retry 1000 ms$/);
      assert.ok(discovery.inOutage);
      await new Promise<void>((r) => blocker.close(() => r()));
      await waitFor("recovery", () => events.includes("recovered"), 5000);
      await discovery.ready();
      assert.equal(discovery.inOutage, false);
      assert.deepEqual(discovery.getServices(), []);
    } finally {
      try {
        blocker.close();
      } catch {
        // closed above
      }
      await discovery.close();
    }
  });

  Deno.test("mdns: an independent browser (python-zeroconf) resolves our records", async () => {
    const python = findExecutable("python3");
    let missing: string | undefined = python ? undefined : "python3 is not installed";
    if (python) {
      const probe = await runBounded(python, { args: ["-c", "import zeroconf"] });
      if (probe.code !== 0) missing = "the python zeroconf package is not installed";
    }
    if (!needs("python-zeroconf (.ci/install/40-mdns.sh)", missing)) return;
    const s = await startServer("weight=10&group=a", { ttl: 120 });
    const port = Number(s.address.split(":").at(-1));
    const browse = (seconds: number) =>
      new Deno.Command(python!, {
        args: [
          `${REPO_ROOT}/tests/support/mdns_browse.py`,
          "_rpcxservices._tcp.local.",
          `${seconds}`,
        ],
        stdout: "piped",
        stderr: "piped",
        signal: AbortSignal.timeout(30_000),
      }).output();
    try {
      const out = await browse(1.5);
      const text = decoder.decode(out.stdout);
      assert.equal(out.code, 0, text + decoder.decode(out.stderr));
      const result = JSON.parse(text) as {
        services: {
          name: string;
          server: string;
          port: number;
          addresses: string[];
          txt: string[];
        }[];
      };
      const mine = result.services.find((x) => x.port === port);
      assert.ok(mine, `python-zeroconf found our instance: ${text}`);
      assert.equal(mine.name, `${s.plugin.instance}._rpcxservices._tcp.local.`);
      assert.equal(mine.server, `${Deno.hostname().split(".")[0]}.local.`);
      assert.ok(mine.addresses.includes("127.0.0.1"), `A record: ${mine.addresses}`);
      assert.equal(mine.txt.length, 1, "one TXT string");
      assert.equal(mine.txt[0], s.plugin.text);
      assert.deepEqual(decodeMdnsText(mine.txt[0]), [
        { service: "Arith", meta: "weight=10&group=a", service_address: s.address },
      ]);

      // A browser running while the server shuts down sees the goodbye.
      const watching = browse(3);
      await delay(1500);
      await s.server.shutdown({ timeout: 1000 });
      const after = await watching;
      const seen = JSON.parse(decoder.decode(after.stdout)) as {
        added: string[];
        removed: string[];
      };
      assert.ok(seen.added.includes(mine.name), JSON.stringify(seen));
      assert.ok(seen.removed.includes(mine.name), `goodbye seen: ${JSON.stringify(seen)}`);
    } finally {
      await s.server.shutdown({ timeout: 1000 });
    }
  });

  Deno.test("mdns: Go rpcx's own MDNSRegisterPlugin and MDNSDiscovery interoperate", async () => {
    if (!await needUpstreamPeer()) return;
    await withVeth(async () => {
      const port = freePort();
      const goServer = new Deno.Command(UPSTREAM_BIN, {
        args: ["server", `127.0.0.1:${port}`, "weight=7&group=g"],
        stdout: "null",
        stderr: "piped",
      }).spawn();
      const discovery = new MdnsDiscovery("Arith", FAST);
      const xclient = new XClient("Arith", FailMode.Failtry, SelectMode.RandomSelect, discovery);
      let ours: Started | undefined;
      try {
        // Go server → our discovery and XClient.
        const key = `tcp@127.0.0.1:${port}`;
        await waitFor(
          "the Go server in our discovery",
          () => keys(discovery).includes(key),
          10_000,
        );
        assert.equal(values2(discovery, key), "weight=7&group=g");
        assert.deepEqual(await xclient.call("Mul", { A: 10, B: 20 }), { C: 200 });
        goServer.kill("SIGKILL");
        await goServer.status;
        // Our server → Go's MDNSDiscovery and XClient.
        ours = await startServer("weight=3");
        const { code, text, err, pairs } = await upstreamClient();
        assert.equal(code, 0, text + err);
        assert.equal(pairs[ours.address], "weight=3", `Go discovered our server: ${text}`);
        assert.match(text, /^10 \* 20 = 200$/m);
      } finally {
        try {
          goServer.kill("SIGKILL");
        } catch {
          // already gone
        }
        await goServer.status;
        await goServer.stderr.cancel().catch(() => {});
        await xclient.close();
        await discovery.close();
        await ours?.server.shutdown({ timeout: 1000 });
      }
    });
  });

  Deno.test("mdns: Go's MDNSDiscovery reads one TXT string: a split TXT is skipped, others still found", async () => {
    if (!await needUpstreamPeer()) return;
    await withVeth(async () => {
      const extra: [object, string, string][] = [];
      for (let i = 0; i < 5; i++) {
        extra.push([{ Ping: () => i }, `Service${i}`, `weight=${i}&group=g${i}`]);
      }
      const short = await startServer("weight=3");
      const long = await startServer("weight=9", {}, extra);
      const ours = new MdnsDiscovery("Arith", FAST);
      try {
        assert.ok(short.plugin.text.length <= 255, `short TXT: ${short.plugin.text.length} bytes`);
        assert.ok(long.plugin.text.length > 255, `long TXT: ${long.plugin.text.length} bytes`);
        // Our discovery joins the strings back: both servers.
        await waitFor("both servers in our discovery", () => keys(ours).length === 2, 5000);
        const r = await upstreamClient();
        const { code, pairs } = r;
        const text = r.text + r.err;
        // Go reads the first 255-byte string only: not JSON, so that server is skipped...
        assert.equal(pairs[long.address], undefined, `Go listed the split TXT: ${text}`);
        // ...while the rest of the network is read as usual, and called.
        assert.equal(pairs[short.address], "weight=3", `Go's view: ${text}`);
        assert.equal(code, 0, text);
        assert.match(text, /^10 \* 20 = 200$/m);
      } finally {
        await ours.close();
        await short.server.shutdown({ timeout: 1000 });
        await long.server.shutdown({ timeout: 1000 });
      }
    });
  });

  Deno.test("mdns: Go's Failover client over Go's MDNSDiscovery moves off a SIGKILLed Deno server", async () => {
    if (!await needUpstreamPeer()) return;
    await withVeth(async () => {
      const ports = [freePort(), freePort()];
      const servers = ports.map((port) =>
        new Deno.Command(Deno.execPath(), {
          args: ["run", "-A", "examples/mdns/server.ts", "--addr", `127.0.0.1:${port}`],
          cwd: REPO_ROOT,
          stdout: "piped",
          stderr: "null",
        }).spawn()
      );
      const discovery = new MdnsDiscovery("Arith", FAST);
      let go: Deno.ChildProcess | undefined;
      try {
        const want = ports.map((p) => `tcp@127.0.0.1:${p}`).sort();
        await waitFor(
          "both Deno servers announced",
          () => keys(discovery).join() === want.join(),
          20_000,
        );
        go = new Deno.Command(UPSTREAM_BIN, {
          args: ["failover", "1500", "60", "40"],
          stdout: "piped",
          stderr: "piped",
          signal: AbortSignal.timeout(60_000),
        }).spawn();
        const lines = go.stdout.pipeThrough(new TextDecoderStream()).getReader();
        let text = "";
        await bounded(
          (async () => {
            while (!/10 \* 20 = 200\n/.test(text)) {
              const { value, done } = await lines.read();
              if (done) break;
              text += value;
            }
          })(),
          30_000,
          "Go's first call",
        );
        assert.match(text, /^servers 2$/m, `Go's discovery found both Deno servers: ${text}`);
        servers[0].kill("SIGKILL");
        await servers[0].status;
        await bounded(
          (async () => {
            for (;;) {
              const { value, done } = await lines.read();
              if (done) break;
              text += value;
            }
          })(),
          60_000,
          "Go's failover run to end",
        );
        const status = await exited(go, 5000, "Go's failover client to exit");
        assert.equal(status.code, 0, text);
        assert.equal(text.match(/^10 \* 20 = 200$/gm)?.length, 60, text);
        assert.doesNotMatch(
          text,
          /^ERROR /m,
          "no call failed (rpcx logs of the dropped connection are fine)",
        );
      } finally {
        for (const s of servers) {
          try {
            s.kill("SIGKILL");
          } catch {
            // already gone
          }
          await s.status;
          await s.stdout.cancel().catch(() => {});
        }
        if (go) {
          try {
            go.kill("SIGKILL");
          } catch {
            // exited
          }
          await go.status;
          await go.stderr.cancel().catch(() => {});
        }
        await discovery.close();
      }
    });
  });
}

interface DnsReply {
  id: number;
  questions: { name: string; type: string }[];
  answers: { name: string; type: string; ttl: number; data: unknown }[];
  additionals: { name: string; type: string; ttl: number; data: unknown }[];
}

function values2(d: MdnsDiscovery, key: string): string {
  return d.getServices().find((p) => p.key === key)?.value ?? "";
}

// DNS discovery against a real DNS server: dnsmasq (.ci/install/85-dnsmasq.sh), run inside a
// private network namespace (tests/support/run_in_netns.sh: `unshare -n`, so every 127.x.y.z
// address is ours and nothing leaves the machine), with Arith servers on several loopback
// addresses and records that change while an XClient calls. Without RPCX_IN_NETNS=1 this file
// checks the arguments and re-runs itself inside the namespace; `deno task test:dns` runs the
// inner tests directly.
import assert from "node:assert/strict";
import dgram from "node:dgram";
import { Resolver } from "node:dns/promises";
import {
  FailMode,
  NoServerAvailableError,
  type RegistryOutageEvent,
  SelectMode,
  Server,
  XClient,
} from "@rpcx/core";
import { DnsDiscovery, DnsLookupError } from "@rpcx/core/dns";
import { Dnsmasq, dnsmasqBinary } from "./support/dnsmasq.ts";
import { bounded, delay, freePort, needs, REPO_ROOT, waitFor } from "./support/env.ts";
import { IN_NETNS, testInNetns } from "./support/netns.ts";
import { denoScriptJson } from "./support/child.ts";
import { CountedArith, MUL } from "./support/registry_scenarios.ts";

const decoder = new TextDecoder();

/** The number of tests inside the namespace (testFileInNetns checks that many passed). */
const INNER_TESTS = 8;

Deno.test("dns: bad arguments throw TypeError at once", () => {
  const bad: [string, () => unknown, RegExp][] = [
    ["empty domain", () => new DnsDiscovery(" ", "tcp", 8972, 1000), /domain is empty/],
    ["port 0", () => new DnsDiscovery("a.test", "tcp", 0, 1000), /port 0 is not in 1-65535/],
    ["port 65536", () => new DnsDiscovery("a.test", "tcp", 65536, 1000), /port 65536/],
    ["interval 0", () => new DnsDiscovery("a.test", "tcp", 1, 0), /intervalMs 0/],
    ["interval NaN", () => new DnsDiscovery("a.test", "tcp", 1, NaN), /intervalMs NaN/],
    [
      "timeout -1",
      () => new DnsDiscovery("a.test", "tcp", 1, 1000, { timeoutMs: -1 }),
      /timeoutMs -1/,
    ],
    [
      "host name as name server",
      () => new DnsDiscovery("a.test", "tcp", 1, 1000, { nameserver: "dns.google:53" }),
      /nameserver "dns.google:53" is not ip\[:port\]/,
    ],
    [
      "bad port of a name server",
      () => new DnsDiscovery("a.test", "tcp", 1, 1000, { nameserver: "10.0.0.1:0" }),
      /nameserver "10.0.0.1:0"/,
    ],
    [
      "IPv6 name server with a port but no brackets",
      () => new DnsDiscovery("a.test", "tcp", 1, 1000, { nameserver: "[10.0.0.1]:53" }),
      /nameserver "\[10.0.0.1\]:53"/,
    ],
  ];
  for (const [what, make, message] of bad) {
    assert.throws(make, (e) => e instanceof TypeError && message.test(e.message), what);
  }
});

Deno.test("dns permissions: a nameserver without --allow-sys=networkInterfaces throws PermissionError at once; the system's resolver needs --allow-net only", async () => {
  const script = `
    import { DnsDiscovery } from "@rpcx/core/dns";
    const out = {};
    for (const [name, options] of [["nameserver", { nameserver: "127.0.0.1" }], ["system", {}]]) {
      try {
        const d = new DnsDiscovery("localhost", "tcp", 8972, 60000, options);
        await d.ready();
        out[name] = d.getServices().map((p) => p.key).join(",");
        await d.close();
      } catch (e) {
        out[name] = { name: e.constructor.name, message: e.message, permissions: e.permissions };
      }
    }
    console.log(JSON.stringify(out));
  `;
  const r = await denoScriptJson<{ nameserver: unknown; system: string }>(script, {
    flags: ["--no-check", `--config=${REPO_ROOT}/deno.json`, "--allow-net"],
    timeoutMs: 30_000,
  });
  assert.deepEqual(r.nameserver, {
    name: "PermissionError",
    message: "dns: a nameserver needs --allow-sys=networkInterfaces",
    permissions: ["sys:networkInterfaces"],
  });
  assert.match(r.system, /^tcp@(127\.0\.0\.1|\[::1\]):8972/, "localhost via getaddrinfo");
});

if (!IN_NETNS) {
  testInNetns(
    "dns: the DNS tests pass inside a private network namespace with dnsmasq",
    "tests/dns_test.ts",
    INNER_TESTS + 2, // + the two above
    {
      // dnsmasq is started inside: skip (under CI, fail) here when it is not installed
      prepare: () => {
        const missing = dnsmasqBinary()
          ? undefined
          : "not installed (bash .ci/install/85-dnsmasq.sh)";
        return needs("dnsmasq", missing) ? undefined : false;
      },
    },
  );
} else {
  registerNetnsTests();
}

/** An Arith server on `host:port` that counts its calls. */
async function serveAt(host: string, port: number) {
  const service = new CountedArith();
  const server = new Server();
  await server.register(service, "Arith");
  await server.serve("tcp", host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`);
  const key = `tcp@${host.includes(":") ? `[${host}]` : host}:${port}`;
  return { server, service, key };
}

type Served = Awaited<ReturnType<typeof serveAt>>;

/** Resolves with the next event `type` of `target` (rejects after `ms`). */
function nextEvent<E extends Event>(target: EventTarget, type: string, ms: number): Promise<E> {
  return bounded(
    new Promise<E>((resolve) =>
      target.addEventListener(type, (e) => resolve(e as E), { once: true })
    ),
    ms,
    `a "${type}" event`,
  );
}

function xclientOf(d: DnsDiscovery, mode: SelectMode = SelectMode.RoundRobin): XClient {
  return new XClient("Arith", FailMode.Failover, mode, d, {
    connectTimeout: 1000,
    discoveryTimeout: 3000,
  });
}

/** Starts dnsmasq (or skips, failing under CI, when it is missing). */
async function startDnsmasq(
  options: Parameters<typeof Dnsmasq.start>[1],
): Promise<Dnsmasq | undefined> {
  const bin = dnsmasqBinary();
  if (!needs("dnsmasq", bin ? undefined : "not installed (bash .ci/install/85-dnsmasq.sh)")) {
    return undefined;
  }
  return await Dnsmasq.start(bin!, options);
}

async function closeAll(x: XClient | undefined, d: DnsDiscovery | undefined, servers: Served[]) {
  await x?.close();
  await d?.close();
  for (const s of servers) await s.server.close();
}

function registerNetnsTests(): void {
  Deno.test("dns: an XClient follows A records that change while it calls, within the period", async () => {
    const port = freePort();
    const servers = await Promise.all(
      ["127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5"].map((h) => serveAt(h, port)),
    );
    const [a, b, c, e] = servers;
    const ns = await startDnsmasq({ hosts: ["127.0.0.2 arith.test", "127.0.0.3 arith.test"] });
    if (!ns) return await closeAll(undefined, undefined, servers);
    const period = 500;
    const d = new DnsDiscovery("arith.test", "tcp", port, period, {
      nameserver: ns.nameserver,
      timeoutMs: 1000,
    });
    const x = xclientOf(d);
    let calling = true;
    let loop: Promise<void> | undefined;
    try {
      await bounded(d.ready(), 5000, "the first lookup");
      assert.deepEqual(d.getServices(), [{ key: a.key, value: "" }, { key: b.key, value: "" }]);
      for (let i = 0; i < 10; i++) assert.deepEqual(await x.call("Mul", MUL), { C: 200 });
      assert.deepEqual(servers.map((s) => s.service.hits), [5, 5, 0, 0]);

      // The records move to two other servers while calls go on; none fails.
      let calls = 0;
      loop = (async () => {
        while (calling) {
          assert.deepEqual(await x.call("Mul", MUL), { C: 200 });
          calls++;
          await delay(10);
        }
      })();
      const updated = nextEvent(d, "update", period + 2000);
      const t0 = Date.now();
      await ns.setHosts(["127.0.0.4 arith.test", "127.0.0.5 arith.test"]);
      await updated;
      const took = Date.now() - t0;
      console.log(`the list followed the records ${took} ms after the change (period ${period})`);
      await waitFor(
        "the XClient uses the new list",
        () =>
          x.servers.length === 2 &&
          x.servers.every((k) => k === c.key || k === e.key),
        1000,
        5,
      );
      await delay(200);
      calling = false;
      await loop;
      // Counted once the loop has stopped: a call it sent to an old server just before the list
      // changed may still be landing there (counted late, it failed the check 1 run in ~10).
      const oldHits = a.service.hits + b.service.hits;
      assert.ok(calls > 5, `calls went on during the change (${calls})`);
      // within one period (plus the round itself and this machine's load)
      assert.ok(took <= period + 1500, `records followed after ${took} ms (period ${period} ms)`);
      assert.deepEqual(d.getServices(), [{ key: c.key, value: "" }, { key: e.key, value: "" }]);
      for (let i = 0; i < 10; i++) await x.call("Mul", MUL);
      assert.equal(a.service.hits + b.service.hits, oldHits, "no call reaches the old servers");
      assert.ok(c.service.hits >= 5 && e.service.hits >= 5);

      // One more server joins the name.
      const joined = nextEvent(d, "update", period + 2000);
      await ns.setHosts(["127.0.0.3 arith.test", "127.0.0.4 arith.test", "127.0.0.5 arith.test"]);
      await joined;
      assert.deepEqual(d.getServices().map((p) => p.key), [b.key, c.key, e.key]);
    } finally {
      calling = false;
      await loop?.catch(() => {});
      await closeAll(x, d, servers);
      await ns.stop();
    }
  });

  Deno.test("dns: A and AAAA (IPv6 keys in brackets), or one family only", async () => {
    const port = freePort();
    const servers = [await serveAt("127.0.0.2", port), await serveAt("::1", port)];
    const [v4, v6] = servers;
    const ns = await startDnsmasq({ hosts: ["127.0.0.2 dual.test", "::1 dual.test"] });
    if (!ns) return await closeAll(undefined, undefined, servers);
    const made: DnsDiscovery[] = [];
    const discovery = (family: 0 | 4 | 6) => {
      const d = new DnsDiscovery("dual.test", "tcp", port, 10_000, {
        nameserver: ns.nameserver,
        family,
      });
      made.push(d);
      return d;
    };
    let x: XClient | undefined;
    try {
      const both = discovery(0);
      await bounded(both.ready(), 5000, "A/AAAA lookup");
      assert.deepEqual(both.getServices().map((p) => p.key), [v4.key, v6.key]);
      assert.equal(v6.key, `tcp@[::1]:${port}`);
      x = xclientOf(both);
      for (let i = 0; i < 4; i++) await x.call("Mul", MUL);
      assert.deepEqual([v4.service.hits, v6.service.hits], [2, 2]);
      const only4 = discovery(4);
      const only6 = discovery(6);
      await bounded(Promise.all([only4.ready(), only6.ready()]), 5000, "A, AAAA lookups");
      assert.deepEqual(only4.getServices().map((p) => p.key), [v4.key]);
      assert.deepEqual(only6.getServices().map((p) => p.key), [v6.key]);
    } finally {
      await x?.close();
      for (const d of made) await d.close();
      await closeAll(undefined, undefined, servers);
      await ns.stop();
    }
  });

  Deno.test("dns: SRV records: targets resolved, their ports and weights; targets move; the record set changes across a name-server restart", async () => {
    const [p1, p2] = [freePort(), freePort()];
    const servers = [
      await serveAt("127.0.0.2", p1),
      await serveAt("127.0.0.3", p2),
      await serveAt("127.0.0.4", p2),
    ];
    const [s1, s2, s3] = servers;
    const name = "_rpcx._tcp.arith.test";
    const ns = await startDnsmasq({
      hosts: ["127.0.0.2 a.arith.test", "127.0.0.3 b.arith.test"],
      srv: [
        { name, target: "a.arith.test", port: p1, priority: 0, weight: 10 },
        { name, target: "b.arith.test", port: p2, priority: 0, weight: 30 },
      ],
    });
    if (!ns) return await closeAll(undefined, undefined, servers);
    const period = 500;
    const d = new DnsDiscovery(name, "tcp", 0, period, {
      srv: true,
      nameserver: ns.nameserver,
      timeoutMs: 500,
      retryInitialMs: 200,
    });
    const x = xclientOf(d, SelectMode.WeightedRoundRobin);
    const outages: RegistryOutageEvent[] = [];
    d.addEventListener("outage", (e) => outages.push(e as RegistryOutageEvent));
    try {
      await bounded(d.ready(), 5000, "the SRV lookup");
      assert.deepEqual(d.getServices(), [
        { key: s1.key, value: "priority=0&weight=10" },
        { key: s2.key, value: "priority=0&weight=30" },
      ]);
      for (let i = 0; i < 40; i++) await x.call("Mul", MUL);
      assert.deepEqual(servers.map((s) => s.service.hits), [10, 30, 0], "weights of the records");

      // A target's address changes (hosts file): the key follows.
      const moved = nextEvent(d, "update", period + 2000);
      await ns.setHosts(["127.0.0.2 a.arith.test", "127.0.0.4 b.arith.test"]);
      await moved;
      assert.deepEqual(d.getServices().map((p) => p.key), [s1.key, s3.key]);

      // The name server goes away: the last list is kept and calls go on; it comes back with
      // other SRV records (only b): the list follows and "recovered" is sent.
      await ns.halt();
      await waitFor("an outage while the name server is down", () => outages.length > 0, 3000);
      const err = outages[0].error;
      assert.ok(err instanceof DnsLookupError, String(err));
      assert.equal(err.rrtype, "SRV");
      assert.equal(err.nameserver, ns.nameserver);
      assert.ok(["ETIMEOUT", "ECONNREFUSED"].includes(err.code), err.code);
      assert.deepEqual(d.getServices().map((p) => p.key), [s1.key, s3.key], "last list kept");
      for (let i = 0; i < 4; i++) assert.deepEqual(await x.call("Mul", MUL), { C: 200 });
      const recovered = nextEvent(d, "recovered", 5000);
      await ns.resume([{ name, target: "b.arith.test", port: p2, priority: 1, weight: 0 }]);
      await recovered;
      assert.deepEqual(d.getServices(), [{ key: s3.key, value: "priority=1" }]);
      const before = s1.service.hits;
      for (let i = 0; i < 4; i++) await x.call("Mul", MUL);
      assert.equal(s1.service.hits, before);
    } finally {
      await closeAll(x, d, servers);
      await ns.stop();
    }
  });

  Deno.test("dns: a name server that stops answering: ETIMEOUT outage, last list kept, calls go on, recovered after", async () => {
    const port = freePort();
    const servers = [await serveAt("127.0.0.2", port), await serveAt("127.0.0.3", port)];
    const ns = await startDnsmasq({ hosts: ["127.0.0.2 arith.test"] });
    if (!ns) return await closeAll(undefined, undefined, servers);
    const d = new DnsDiscovery("arith.test", "tcp", port, 300, {
      nameserver: ns.nameserver,
      timeoutMs: 400,
      retryInitialMs: 100,
    });
    const x = xclientOf(d);
    try {
      await bounded(d.ready(), 5000, "the first lookup");
      ns.signal("SIGSTOP");
      const outage = await nextEvent<RegistryOutageEvent>(d, "outage", 300 + 400 + 2000);
      assert.ok(outage.error instanceof DnsLookupError);
      assert.equal(outage.error.code, "ETIMEOUT");
      assert.equal(outage.error.rrtype, "A/AAAA");
      assert.match(
        outage.error.message,
        /^dns: A\/AAAA arith\.test via 127\.0\.0\.53:53: ETIMEOUT$/,
      );
      assert.ok(d.inOutage);
      assert.deepEqual(d.getServices().map((p) => p.key), [servers[0].key]);
      for (let i = 0; i < 3; i++) assert.deepEqual(await x.call("Mul", MUL), { C: 200 });
      // meanwhile the records change; once it answers again the list follows
      await Deno.writeTextFile(ns.hostsFile, "127.0.0.3 arith.test\n");
      const recovered = nextEvent(d, "recovered", 5000);
      ns.signal("SIGCONT");
      ns.signal("SIGHUP");
      await recovered;
      await waitFor("the new record", () => d.getServices()[0]?.key === servers[1].key, 3000);
      assert.ok(!d.inOutage);
    } finally {
      await closeAll(x, d, servers);
      await ns.stop();
    }
  });

  Deno.test("dns: a name server that never answers: typed outage, no list, calls fail with NoServerAvailableError naming it; close() is prompt", async () => {
    // A UDP socket that reads nothing and answers nothing.
    const silent = dgram.createSocket("udp4");
    await new Promise<void>((resolve) => silent.bind(53, "127.0.0.98", resolve));
    const d = new DnsDiscovery("arith.test", "tcp", 8972, 10_000, {
      nameserver: "127.0.0.98",
      timeoutMs: 300,
    });
    const x = new XClient("Arith", FailMode.Failfast, SelectMode.RoundRobin, d, {
      discoveryTimeout: 1500,
    });
    let slow: DnsDiscovery | undefined;
    try {
      const outage = await nextEvent<RegistryOutageEvent>(d, "outage", 300 + 2000);
      assert.ok(outage.error instanceof DnsLookupError);
      assert.equal(outage.error.code, "ETIMEOUT");
      assert.equal(outage.error.nameserver, "127.0.0.98:53");
      assert.equal(outage.attempt, 1);
      assert.equal(outage.retryInMs, 1000);
      assert.deepEqual(d.getServices(), []);
      await assert.rejects(
        x.call("Mul", MUL),
        (e) =>
          e instanceof NoServerAvailableError && /registry cannot be reached: dns: .*ETIMEOUT/.test(
            e.message,
          ),
      );
      // A lookup in flight with a long timeout: close() cancels it.
      slow = new DnsDiscovery("arith.test", "tcp", 8972, 10_000, {
        nameserver: "127.0.0.98:53",
        timeoutMs: 30_000,
      });
      await delay(100);
      const t0 = Date.now();
      await slow.close();
      assert.ok(Date.now() - t0 < 1000, `close took ${Date.now() - t0} ms`);
    } finally {
      await x.close();
      await d.close();
      await slow?.close();
      silent.close();
    }
  });

  Deno.test("dns: a name that disappears keeps the last list (as Go) with an ENOTFOUND outage; an unknown name never gets ready", async () => {
    const port = freePort();
    const servers = [await serveAt("127.0.0.2", port)];
    const ns = await startDnsmasq({ hosts: ["127.0.0.2 arith.test"] });
    if (!ns) return await closeAll(undefined, undefined, servers);
    const d = new DnsDiscovery("arith.test", "tcp", port, 300, { nameserver: ns.nameserver });
    const unknown = new DnsDiscovery("nobody.test", "tcp", port, 300, {
      nameserver: ns.nameserver,
    });
    try {
      const first = await nextEvent<RegistryOutageEvent>(unknown, "outage", 3000);
      assert.ok(first.error instanceof DnsLookupError);
      assert.equal(first.error.code, "ENOTFOUND");
      await bounded(d.ready(), 5000, "the first lookup");
      const gone = nextEvent<RegistryOutageEvent>(d, "outage", 3000);
      await ns.setHosts([]);
      const e = await gone;
      assert.ok(e.error instanceof DnsLookupError);
      assert.equal(e.error.code, "ENOTFOUND");
      assert.deepEqual(d.getServices().map((p) => p.key), [servers[0].key]);
      let ready = false;
      unknown.ready().then(() => (ready = true));
      await delay(50);
      assert.equal(ready, false);
    } finally {
      await d.close();
      await unknown.close();
      await closeAll(undefined, undefined, servers);
      await ns.stop();
    }
  });

  Deno.test("dns: examples/dns/client.ts with --nameserver, with --srv, and with the system's resolver", async () => {
    const port = freePort();
    const servers = [await serveAt("127.0.0.2", port), await serveAt("127.0.0.3", port)];
    const ns = await startDnsmasq({
      hosts: ["127.0.0.2 arith.test", "127.0.0.3 arith.test"],
      srv: [{ name: "_rpcx._tcp.arith.test", target: "arith.test", port }],
    });
    if (!ns) return await closeAll(undefined, undefined, servers);
    const resolv = `${ns.root}/resolv.conf`;
    await Deno.writeTextFile(resolv, `nameserver ${ns.address}\noptions timeout:2 attempts:1\n`);
    const run = async (flags: string[], systemResolver = false) => {
      const client = ["run", "-A", "examples/dns/client.ts", ...flags];
      // the system's resolver: /etc/resolv.conf pointing at dnsmasq, in a mount namespace of
      // its own (the machine's file is not touched)
      const cmd = systemResolver
        ? new Deno.Command("unshare", {
          args: [
            "-m",
            "--",
            "bash",
            "-c",
            'mount --bind "$1" /etc/resolv.conf && shift && exec "$@"',
            "bash",
            resolv,
            Deno.execPath(),
            ...client,
          ],
          cwd: REPO_ROOT,
          stdout: "piped",
          stderr: "piped",
          signal: AbortSignal.timeout(60_000),
        })
        : new Deno.Command(Deno.execPath(), {
          args: client,
          cwd: REPO_ROOT,
          stdout: "piped",
          stderr: "piped",
          signal: AbortSignal.timeout(60_000),
        });
      const out = await cmd.output();
      return { code: out.code, out: decoder.decode(out.stdout), err: decoder.decode(out.stderr) };
    };
    try {
      const withNs = await run(
        [
          "--name",
          "arith.test",
          "--port",
          String(port),
          "--nameserver",
          ns.nameserver,
          "--count",
          "2",
        ],
      );
      assert.equal(withNs.code, 0, withNs.err);
      assert.equal(withNs.out, "10 * 20 = 200\n10 * 20 = 200\n");
      assert.equal(servers[0].service.hits + servers[1].service.hits, 2);
      const srv = await run(
        ["--srv", "--name", "_rpcx._tcp.arith.test", "--nameserver", ns.nameserver, "--count", "1"],
      );
      assert.equal(srv.code, 0, srv.err);
      assert.equal(srv.out, "10 * 20 = 200\n");
      const system = await run(
        ["--name", "arith.test", "--port", String(port), "--count", "2"],
        true,
      );
      assert.equal(system.code, 0, `${system.err}\n${ns.logTail()}`);
      assert.equal(system.out, "10 * 20 = 200\n10 * 20 = 200\n");
      assert.match(
        ns.logTail(),
        /query\[A\] arith\.test from 127\.0\.0\.1/,
        "asked through resolv.conf",
      );
      assert.equal(servers[0].service.hits + servers[1].service.hits, 5);
      // no server under that name: the example says so and exits non-zero
      const none = await run(
        ["--name", "nobody.test", "--port", String(port), "--nameserver", ns.nameserver],
      );
      assert.notEqual(none.code, 0);
      assert.match(none.err, /failed to call: .*ENOTFOUND/);
    } finally {
      await closeAll(undefined, undefined, servers);
      await ns.stop();
    }
  });

  Deno.test("dns: clone() resolves the same name; refresh() re-resolves at once", async () => {
    const port = freePort();
    const servers = [await serveAt("127.0.0.2", port), await serveAt("127.0.0.3", port)];
    const ns = await startDnsmasq({ hosts: ["127.0.0.2 arith.test"] });
    if (!ns) return await closeAll(undefined, undefined, servers);
    const d = new DnsDiscovery("arith.test", "tcp", port, 60_000, { nameserver: ns.nameserver });
    const c = d.clone("Echo") as DnsDiscovery;
    try {
      await bounded(Promise.all([d.ready(), c.ready()]), 5000, "lookups");
      assert.deepEqual(c.getServices(), d.getServices());
      assert.equal(c.domain, "arith.test");
      await ns.setHosts(["127.0.0.3 arith.test"]);
      // dnsmasq reloads on SIGHUP a moment later: wait (bounded) until it answers the new record,
      // so that one refresh() is what moves d (seen once under load: refresh ran before the reload).
      const probe = new Resolver({ timeout: 500, tries: 1 });
      probe.setServers([ns.nameserver]);
      await waitFor("dnsmasq to answer the new record", async () => {
        const a = await probe.resolve4("arith.test").catch(() => [] as string[]);
        return a.length === 1 && a[0] === "127.0.0.3";
      }, 5000);
      await bounded(d.refresh(), 3000, "refresh");
      assert.deepEqual(d.getServices().map((p) => p.key), [servers[1].key]);
      assert.deepEqual(c.getServices().map((p) => p.key), [servers[0].key], "60 s period");
    } finally {
      await d.close();
      await c.close();
      await closeAll(undefined, undefined, servers);
      await ns.stop();
    }
  });
}

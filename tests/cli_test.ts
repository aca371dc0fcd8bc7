// The `rpcx` command line as a user runs it (a subprocess), against real etcd, ZooKeeper and
// Consul with a Go rpcx server (registered by Go's plugin) and a Deno server registered side by
// side: list, call (MsgPack, JSON, raw), set (read back from the registry and honoured by an
// XClient), watch, bench, and the errors and exit codes. mDNS: tests/cli_mdns_test.ts.
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { CodecRegistry, SerializeType, Server, type ServiceDiscovery } from "@rpcx/core";
import type { RegisterPlugin } from "@rpcx/core/extend";
import protobuf from "protobufjs";
import { EtcdDiscovery, EtcdRegisterPlugin } from "@rpcx/core/etcd";
import { ZooKeeperDiscovery, ZooKeeperRegisterPlugin } from "@rpcx/core/zookeeper";
import { ConsulDiscovery, ConsulRegisterPlugin } from "@rpcx/core/consul";
import { Echo } from "./support/echo_service.ts";
import { CountedArith, MUL, xclientOf } from "./support/registry_scenarios.ts";
import { bounded, freePort, needs, REPO_ROOT, waitFor } from "./support/env.ts";
import {
  GO_ARITH_WEIGHT_5,
  GO_PEER,
  type GoRegistry,
  type GoServer,
  runGoClient,
  startGoServer,
} from "./support/go_peer.ts";
import { withEtcd } from "./support/etcd_server.ts";
import { startZooKeeper, zooKeeperMissing } from "./support/zookeeper_server.ts";
import { startConsul } from "./support/consul_agent.ts";
import { rpcx, spawnRpcx } from "./support/rpcx_cli.ts";
import { GO_QUERY_NODES } from "./support/go_metadata.ts";
import { runBounded } from "./support/child.ts";
import zookeeper from "node-zookeeper-client";

// ---------------------------------------------------------------------------------------------
// Without a registry.

Deno.test("rpcx: --help for every command; usage errors exit 2 with one clear line", async () => {
  const top = await rpcx(["--help"]);
  assert.equal(top.code, 0);
  for (const c of ["list", "call", "watch", "set", "bench", "ui"]) {
    assert.match(top.out, new RegExp(`^  ${c} `, "m"));
    const h = await rpcx([c, "--help"]);
    assert.equal(h.code, 0, h.err);
    assert.match(h.out, new RegExp(`^Usage: rpcx ${c} `));
    if (c !== "ui") assert.match(h.out, /--registry <url>/);
  }
  const cases: [string[], RegExp][] = [
    [["nope"], /unknown command 'nope'/],
    [["list", "-r", "tcp@127.0.0.1:1", "Arith", "extra"], /too many arguments for 'list'/],
    [["list"], /required option '-r, --registry <url>' not specified/],
    [["list", "-r", "foo://x"], /unknown scheme foo:\/\//],
    [["list", "-r", "etcd:///base"], /no host:port/],
    [["call", "-r", "tcp@127.0.0.1:1", "ArithMul"], /expected Service\.Method/],
    [["call", "-r", "tcp@127.0.0.1:1", "Arith.Mul", "{A:1}"], /args are not JSON/],
    [["call", "-r", "tcp@127.0.0.1:1", "Arith.Mul", "-s", "xml"], /Allowed choices are/],
    [["call", "-r", "tcp@127.0.0.1:1", "Arith.Mul", "-t", "soon"], /--timeout must be an integer/],
    [["call", "-r", "tcp@127.0.0.1:1", "Arith.Mul", "-m", "novalue"], /--meta expects key=value/],
    [["set", "-r", "tcp@127.0.0.1:1", "Arith", "tcp@x:1", "weight"], /expected key=value/],
    [["set", "-r", "tcp@127.0.0.1:1", "Arith", "tcp@x:1", "weight=1"], /read-only/],
  ];
  for (const [args, msg] of cases) {
    const r = await rpcx(args);
    assert.equal(r.code, 2, `${args.join(" ")}: ${r.err}`);
    assert.match(r.err, msg, args.join(" "));
    assert.match(r.err, /^rpcx: [^\n]+\n$/, `one line "rpcx: …": ${JSON.stringify(r.err)}`);
    assert.equal(r.out, "");
  }
});

Deno.test("rpcx call/list/bench directly (tcp@): Deno server, MsgPack, JSON, raw, metadata", async () => {
  const server = new Server();
  await server.register(new CountedArith(), "Arith");
  await server.register(new Echo(), "Echo");
  const addr = await server.serve("tcp", "127.0.0.1:0");
  const reg = `tcp@${addr}`;
  try {
    for (const s of ["msgpack", "json"]) {
      const r = await rpcx(["call", "-r", reg, "-s", s, "Arith.Mul", '{"A":10,"B":20}']);
      assert.equal(r.code, 0, r.err);
      assert.equal(r.out, '{"C":200}\n');
    }
    const raw = await rpcx(["call", "-r", reg, "-s", "raw", "Echo.Bytes", "héllo bytes"]);
    assert.equal(raw.code, 0, raw.err);
    assert.equal(raw.out, "héllo bytes");
    const meta = await rpcx([
      "call",
      "-r",
      reg,
      "Echo.Meta",
      '{"Data":"d"}',
      "-m",
      "k1=v1",
      "-m",
      "x=y=z",
      "--show-meta",
    ]);
    assert.equal(meta.code, 0, meta.err);
    assert.equal(meta.out, '{"Data":"d"}\n');
    const { __ServerTimeout, __ServerAddress, ...echoed } = JSON.parse(meta.err);
    assert.deepEqual(echoed, { k1: "v1", x: "y=z" });
    assert.match(__ServerTimeout, /^\d+$/, "the call's timeout went along");
    assert.equal(__ServerAddress, addr, "the client adds the answering server, as Go's does");

    const fail = await rpcx(["call", "-r", reg, "Echo.Fail"]);
    assert.equal(fail.code, 1);
    assert.equal(fail.err, "rpcx: Echo.Fail: deliberate failure\n");
    const div = await rpcx(["call", "-r", reg, "Arith.Div", "{}"]);
    assert.equal(div.code, 1);
    assert.match(div.err, /^rpcx: Arith\.Div: rpcx: can't find method Div\n$/);
    const slow = await rpcx(["call", "-r", reg, "-t", "200", "Echo.Delay", '{"Ms":3000,"Tag":1}']);
    assert.equal(slow.code, 1);
    assert.match(slow.err, /Echo\.Delay: .*(timeout|timed out)/i);

    const list = await rpcx(["list", "-r", `${reg},tcp@127.0.0.1:${freePort()}`, "--json"]);
    assert.equal(list.code, 0, list.err);
    const nodes = JSON.parse(list.out) as { key: string; metadata: string; state: string }[];
    assert.equal(nodes.length, 2);
    assert.equal(nodes[0].metadata, "state=up");
    assert.match(nodes[1].metadata, /^state=down&error=/);
    assert.deepEqual(nodes.map((n) => n.state), ["up", "down"]);
    // the table's STATE column says the same (not "active" for a server that is down)
    const table = await rpcx(["list", "-r", `${reg},tcp@127.0.0.1:${freePort()}`]);
    assert.equal(table.code, 0, table.err);
    const states = table.out.trim().split("\n").slice(1).map((l) => l.split(/\s+/)[2]);
    assert.deepEqual(states, ["up", "down"], table.out);
    // every server named is down: exit 3 (README: "registry or server unreachable"), the
    // listing still printed
    const dead = `tcp@127.0.0.1:${freePort()}`;
    for (const args of [["list", "-r", dead], ["list", "-r", dead, "--json"]]) {
      const down = await rpcx(args);
      assert.equal(down.code, 3, `${args.join(" ")}: ${down.out} ${down.err}`);
      assert.match(down.out, /down/);
      assert.match(down.err, /^rpcx: the server is unreachable \(tcp@127\.0\.0\.1:\d+\)\n$/);
    }

    const bench = await rpcx([
      "bench",
      "-r",
      reg,
      "Arith.Mul",
      '{"A":2,"B":3}',
      "-n",
      "300",
      "-c",
      "5",
      "--json",
    ]);
    assert.equal(bench.code, 0, bench.err);
    const b = JSON.parse(bench.out);
    assert.equal(b.calls, 300);
    assert.equal(b.errors, 0);
    assert.ok(b.calls_per_sec > 0 && b.p99_us >= b.p50_us && b.p50_us > 0, bench.out);
    const text = await rpcx(["bench", "-r", reg, "Arith.Mul", '{"A":2,"B":3}', "-n", "50"]);
    assert.equal(text.code, 0, text.err);
    assert.match(
      text.out,
      /^50 calls, 0 errors in [\d.]+ s: [\d.]+ calls\/s, p50 \d+ µs, p99 \d+ µs/,
    );
  } finally {
    await server.close();
  }
});

Deno.test("rpcx call/bench -s protobuf: types from a .proto file, JSON in and out", async () => {
  const dir = await Deno.makeTempDir({ prefix: "rpcx-proto-" });
  const file = `${dir}/arith.proto`;
  await Deno.writeTextFile(
    file,
    `syntax = "proto3";
package example;
message ProtoArgs { int32 A = 1; int32 B = 2; }
message ProtoReply { int64 C = 1; string Note = 2; }
`,
  );
  // The server side: requests are ProtoArgs, replies ProtoReply.
  const root = await protobuf.load(file);
  const Args = root.lookupType("example.ProtoArgs");
  const Reply = root.lookupType("example.ProtoReply");
  const seen: number[][] = [];
  const server = new Server({
    codecs: new CodecRegistry().register(SerializeType.ProtoBuffer, {
      name: "protobuf",
      encode: (v) => Reply.encode(Reply.fromObject(v as Record<string, unknown>)).finish(),
      decode: (b) => {
        seen.push([...b]);
        return Args.toObject(Args.decode(b));
      },
    }),
  });
  await server.register({ Mul: (a: { A: number; B: number }) => ({ C: a.A * a.B }) }, "Arith");
  const reg = `tcp@${await server.serve("tcp", "127.0.0.1:0")}`;
  // A protobuf call's flags: the registry, the serializer and the message types.
  const protoFlags = (requestType: string) => [
    "-r",
    reg,
    "-s",
    "protobuf",
    "--proto",
    file,
    "--request-type",
    requestType,
    "--reply-type",
    "example.ProtoReply",
  ];
  const proto = protoFlags("example.ProtoArgs");
  try {
    const r = await rpcx(["call", ...proto, "Arith.Mul", '{"A":10,"B":20}']);
    assert.equal(r.code, 0, r.err);
    assert.equal(r.out, '{"C":"200","Note":""}\n'); // int64 as a string, defaults filled
    assert.deepEqual(seen[0], [0x08, 10, 0x10, 20], "protobuf bytes on the wire");
    const b = await rpcx(["bench", ...proto, "Arith.Mul", '{"A":1,"B":2}', "-n", "100", "--json"]);
    assert.equal(b.code, 0, b.err);
    assert.equal(JSON.parse(b.out).errors, 0);
    const bad = await rpcx(["call", ...proto, "Arith.Mul", '{"A":"x"}']);
    assert.equal(bad.code, 1);
    assert.match(bad.err, /example\.ProtoArgs: A: integer expected/);
    const missing = await rpcx(["call", "-r", reg, "-s", "protobuf", "Arith.Mul", "{}"]);
    assert.equal(missing.code, 2);
    assert.match(missing.err, /-s protobuf needs --proto/);
    const unknown = await rpcx(["call", ...protoFlags("Nope"), "Arith.Mul", "{}"]);
    assert.equal(unknown.code, 2);
    assert.match(unknown.err, /no message type Nope/);
  } finally {
    await server.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("rpcx: a server or registry that cannot be reached exits 3", async () => {
  const port = freePort(); // nothing listens there
  const call = await rpcx(["call", "-r", `tcp@127.0.0.1:${port}`, "-t", "2000", "Arith.Mul"]);
  assert.equal(call.code, 3, call.err);
  assert.match(call.err, /^rpcx: Arith\.Mul: dial tcp@127\.0\.0\.1:\d+: connection refused/i);
  for (
    const url of [
      `etcd://127.0.0.1:${port}/x`,
      `consul://127.0.0.1:${port}/x`,
      `zookeeper://127.0.0.1:${port}/x`,
    ]
  ) {
    // A call through a registry that cannot be reached says so (not just "no server").
    const c = await rpcx(["call", "-r", url, "-t", "8000", "Arith.Mul"]);
    assert.equal(c.code, 3, `${url}: ${c.err}`);
    assert.match(c.err, new RegExp(`^rpcx: Arith\\.Mul: registry ${url.replace(/[.]/g, "\\.")}: `));
    const t0 = Date.now();
    const r = await rpcx(["list", "-r", url]);
    assert.equal(r.code, 3, `${url}: ${r.err}`);
    assert.match(r.err, /^rpcx: (etcd|consul|zookeeper) 127\.0\.0\.1:\d+: /, url);
    assert.ok(Date.now() - t0 < 20_000, `${url} took ${Date.now() - t0} ms`);
  }
});

// ---------------------------------------------------------------------------------------------
// One scenario, three registries.

interface CliFixture {
  /** The registry URL given to rpcx. */
  url: string;
  /** Go's view of the same registry, for `rpcxpeer server`. */
  go: GoRegistry;
  /** A registry plugin for a Deno server. */
  plugin(): RegisterPlugin & { refresh(): Promise<void> };
  /** A discovery of Arith for an XClient in the test. */
  discovery(): ServiceDiscovery;
  /** Reads the node `Arith/<key>` straight from the registry. */
  readNode(key: string): Promise<string | undefined>;
  /**
   * Something that moves with every write of that node by the Go server's refresh: etcd's
   * `mod_revision`, ZooKeeper's `version`; for Consul, which leaves the `ModifyIndex` of an
   * identical write as it was, the count of the Go server's PUTs of the node.
   */
  nodeVersion(key: string): Promise<string>;
  /** Whether the registry notifies changes (watch then needs no polling to see them at once). */
  notifies: boolean;
  /** The registry's own checks of a node an operator edited (lease, session, flags). */
  checkEdited?(key: string): Promise<void>;
}

async function cliScenario(fx: CliFixture): Promise<void> {
  const deno = new Server();
  const plugin = fx.plugin();
  deno.use(plugin);
  const arith = new CountedArith();
  await deno.register(arith, "Arith", "weight=1&group=blue");
  await deno.register(new Echo(), "Echo", "");
  const denoKey = `tcp@${await deno.serve("tcp", "127.0.0.1:0")}`;
  let go: GoServer | undefined;
  if (needs("Go rpcx peer", GO_PEER ? undefined : ".cache/bin/rpcxpeer missing")) {
    go = await startGoServer(fx.go, GO_ARITH_WEIGHT_5);
  }
  const d = fx.discovery();
  const x = xclientOf(d);
  // Where the registry notifies, watch polls only once a minute: what it shows came from a
  // notification.
  const watch = spawnRpcx([
    "watch",
    "-r",
    fx.url,
    "Arith",
    "--json",
    "-i",
    fx.notifies ? "60000" : "200",
  ]);
  const events = () =>
    watch.out.split("\n").filter((l) => l !== "").map((l) =>
      JSON.parse(l) as Record<string, string>
    );
  let watchCode: number;
  try {
    const keys = [denoKey, ...(go ? [go.key] : [])].sort();
    // list: both servers, Go's weight=5 and Deno's group, all active.
    await waitFor(
      "both servers listed",
      async () => {
        const r = await rpcx(["list", "-r", fx.url, "Arith", "--json"]);
        return r.code === 0 &&
          JSON.stringify(JSON.parse(r.out).map((n: { key: string }) => n.key)) ===
            JSON.stringify(keys);
      },
      20_000,
      200,
    );
    const table = await rpcx(["list", "-r", fx.url]);
    assert.equal(table.code, 0, table.err);
    const lines = table.out.trimEnd().split("\n");
    assert.match(lines[0], /^SERVICE\s+SERVER\s+STATE\s+WEIGHT\s+GROUP\s+METADATA$/);
    assert.match(
      table.out,
      new RegExp(`^Arith\\s+${denoKey}\\s+active\\s+1\\s+blue\\s+weight=1&group=blue$`, "m"),
    );
    assert.match(table.out, new RegExp(`^Echo\\s+${denoKey}\\s+active\\s+-\\s+-\\s+-$`, "m"));
    if (go) {
      assert.match(
        table.out,
        new RegExp(`^Arith\\s+${go.key}\\s+active\\s+5\\s+-\\s+.*weight=5`, "m"),
      );
    }
    const missing = await rpcx(["list", "-r", fx.url, "Nope"]);
    assert.equal(missing.code, 1);
    assert.match(missing.err, /service Nope has no servers/);

    // call through the registry, in both serializers, and each server directly.
    for (const s of ["msgpack", "json"]) {
      const r = await rpcx(["call", "-r", fx.url, "-s", s, "Arith.Mul", '{"A":10,"B":20}']);
      assert.equal(r.code, 0, r.err);
      assert.equal(r.out, '{"C":200}\n');
    }
    for (const key of keys) {
      const r = await rpcx(["call", "-r", key, "Arith.Mul", '{"A":-7,"B":6}']);
      assert.equal(r.code, 0, r.err);
      assert.equal(r.out, '{"C":-42}\n');
    }
    const grouped = await rpcx(["call", "-r", fx.url, "-g", "blue", "Arith.Mul", '{"A":1,"B":1}']);
    assert.equal(grouped.code, 0, grouped.err);

    // set: state=inactive written in Go's layout, kept by the server's refresh, honoured by an
    // XClient; then back.
    await waitFor("XClient sees every server", () => x.servers.length === keys.length, 10_000);
    const target = go ? go.key : denoKey;
    const set = await rpcx(["set", "-r", fx.url, "Arith", target, "state=inactive"]);
    assert.equal(set.code, 0, set.err);
    const [, , written] = set.out.trim().split(" ");
    assert.match(written, /(^|&)state=inactive(&|$)/);
    assert.equal(await fx.readNode(target), written);
    assert.deepEqual(
      written.split("&"),
      [...written.split("&")].sort(),
      "keys sorted as Go's Encode",
    );
    await waitFor("XClient stops choosing it", () => !x.servers.includes(target), 10_000);
    if (go) {
      const before = arith.hits;
      for (let i = 0; i < 5; i++) assert.deepEqual(await x.call("Mul", MUL), { C: 200 });
      assert.equal(arith.hits, before + 5, "every call went to the Deno server");
    }
    // A refresh of the target server passes (Go's reads the node and writes it back; ours is
    // run here by hand), and the operator's state stays.
    if (go) {
      const edited = await fx.nodeVersion(target);
      await waitFor(
        "a refresh of the Go server to rewrite its node",
        async () => (await fx.nodeVersion(target)) !== edited,
        10_000,
        100,
      );
    } else {
      await plugin.refresh();
    }
    assert.match((await fx.readNode(target))!, /state=inactive/);
    await fx.checkEdited?.(target);
    const listed = JSON.parse((await rpcx(["list", "-r", fx.url, "Arith", "--json"])).out) as {
      key: string;
      state: string;
    }[];
    assert.equal(listed.find((n) => n.key === target)!.state, "inactive");
    const back = await rpcx(["set", "-r", fx.url, "Arith", target, "state=active", "weight=7"]);
    assert.equal(back.code, 0, back.err);
    await waitFor("XClient chooses it again", () => x.servers.includes(target), 10_000);
    assert.match((await fx.readNode(target))!, /state=active/);
    assert.match((await fx.readNode(target))!, /weight=7/);

    // Go's client honours an operator's state=inactive written by rpcx set: with the Deno server
    // inactive, every call of a Go XClient goes to the Go server.
    if (go) {
      const off = await rpcx(["set", "-r", fx.url, "Arith", denoKey, "state=inactive"]);
      assert.equal(off.code, 0, off.err);
      const before = arith.hits;
      const gc = await runGoClient(fx.go, ["--count", "6", "--wait-servers", "5s"]);
      assert.equal(gc.code, 0, gc.out + gc.err);
      assert.equal(gc.out.match(/^10 \* 20 = 200$/gm)?.length, 6, gc.out);
      assert.equal(arith.hits, before, "the Go client never chose the inactive Deno server");
      const on = await rpcx(["set", "-r", fx.url, "Arith", denoKey, "state=active"]);
      assert.equal(on.code, 0, on.err);
    }

    // watch saw the servers, then the edits as they happened.
    await waitFor("watch saw the edits", () => {
      const ev = events();
      return ev.some((e) =>
        e.type === "changed" && e.key === target && /weight=7/.test(e.metadata)
      );
    }, 10_000);
    const ev = events();
    for (const k of keys) {
      assert.ok(ev.some((e) => e.type === "added" && e.key === k), `added ${k}`);
    }
    assert.ok(ev.some((e) => e.type === "changed" && /state=inactive/.test(e.metadata)));

    // the set errors: no such node (1), group removed with an empty value.
    const none = await rpcx(["set", "-r", fx.url, "Arith", "tcp@127.0.0.1:1", "state=inactive"]);
    assert.equal(none.code, 1);
    assert.match(none.err, /no server tcp@127\.0\.0\.1:1 under service Arith/);
    const ungroup = await rpcx(["set", "-r", fx.url, "Arith", denoKey, "group="]);
    assert.equal(ungroup.code, 0, ungroup.err);
    assert.doesNotMatch((await fx.readNode(denoKey))!, /group=/);

    // bench through the registry.
    const bench = await rpcx([
      "bench",
      "-r",
      fx.url,
      "Arith.Mul",
      '{"A":2,"B":3}',
      "-n",
      "200",
      "-c",
      "4",
      "--json",
    ]);
    assert.equal(bench.code, 0, bench.err);
    assert.equal(JSON.parse(bench.out).calls, 200);

    // a graceful stop is seen by watch as a removal.
    if (go) {
      await go.kill("SIGTERM");
      // Go's Stop deletes its nodes before stopping its refresh loop, and a refresh in between
      // re-creates the node; it then lives until Go's registry session closes.
      await waitFor(
        "watch saw the Go server leave",
        () => events().some((e) => e.type === "removed" && e.key === go!.key),
        25_000,
      );
    }
  } finally {
    // Stop and clean up everything before asserting on the exit code, so that a failure here
    // can neither hide the scenario's own error nor skip the rest of the cleanup.
    watchCode = await watch.stop();
    await x.close();
    await d.close();
    await go?.stop();
    await deno.close();
  }
  assert.equal(watchCode, 0, "watch exits 0 on SIGINT");
}

Deno.test("rpcx on etcd: list, call, set, watch, bench with Go and Deno servers", async () => {
  await withEtcd(async (etcd, raw) => {
    await cliScenario({
      url: `etcd://${etcd.endpoint}/rpcx_test`,
      notifies: true,
      go: { registry: "etcd", registryAddr: etcd.endpoint, base: "/rpcx_test" },
      plugin: () =>
        new EtcdRegisterPlugin({
          servers: [etcd.endpoint],
          basePath: "/rpcx_test",
          updateInterval: 1000,
        }),
      discovery: () => new EtcdDiscovery("/rpcx_test", "Arith", [etcd.endpoint]),
      readNode: async (key) => (await raw.get(`/rpcx_test/Arith/${key}`).string()) ?? undefined,
      nodeVersion: async (key) =>
        String((await raw.get(`/rpcx_test/Arith/${key}`).exec()).kvs[0]?.mod_revision),
      // The operator's write kept the server's lease: the key still expires with its server.
      checkEdited: async (key) => {
        const r = await raw.get(`/rpcx_test/Arith/${key}`).exec();
        assert.equal(r.kvs.length, 1);
        assert.notEqual(String(r.kvs[0].lease), "0", `${key} lost its lease`);
      },
    });
  });
});

Deno.test("rpcx set: an edit a server's refresh writes back (read-then-write) is re-applied", async () => {
  await withEtcd(async (etcd, raw) => {
    const key = "/rpcx_test/Arith/tcp@127.0.0.1:9";
    const url = `etcd://${etcd.endpoint}/rpcx_test`;
    await raw.put(key).value("weight=1");
    const run = rpcx([
      "set",
      "-r",
      url,
      "Arith",
      "tcp@127.0.0.1:9",
      "state=inactive",
      "--settle",
      "1500",
    ]);
    // A refresh that read the node just before the edit writes the old value back just after.
    await waitFor("the edit written", async () => (await raw.get(key).string()) !== "weight=1");
    await raw.put(key).value("weight=1");
    const r = await run;
    assert.equal(r.code, 0, r.err);
    assert.equal(r.out, "Arith tcp@127.0.0.1:9 state=inactive&weight=1\n");
    assert.equal(await raw.get(key).string(), "state=inactive&weight=1");
    // With --settle 0 nothing is checked: the write-back wins.
    const once = rpcx(["set", "-r", url, "Arith", "tcp@127.0.0.1:9", "weight=3", "--settle", "0"]);
    await waitFor(
      "the second edit written",
      async () => /weight=3/.test((await raw.get(key).string())!),
    );
    await raw.put(key).value("state=inactive&weight=1");
    assert.equal((await once).code, 0);
    await new Promise((resolve) => setTimeout(resolve, 500));
    assert.equal(await raw.get(key).string(), "state=inactive&weight=1");
  });
});

Deno.test("rpcx list and set read metadata by Go's url.ParseQuery, not URLSearchParams (;, bad %, +, a key without =)", async () => {
  await withEtcd(async (etcd, raw) => {
    const url = `etcd://${etcd.endpoint}/rpcx_go`;
    const path = (key: string) => `/rpcx_go/Arith/${key}`;
    for (const [key, meta] of Object.entries(GO_QUERY_NODES)) await raw.put(path(key)).value(meta);
    const json = await rpcx(["list", "-r", url, "Arith", "--json"]);
    assert.equal(json.code, 0, json.err);
    const states = (JSON.parse(json.out) as { key: string; state: string }[])
      .map((n) => `${n.key} ${n.state}`);
    assert.deepEqual(states, [
      "tcp@127.0.0.1:1 active",
      "tcp@127.0.0.1:2 active",
      "tcp@127.0.0.1:3 active",
      "tcp@127.0.0.1:4 active",
    ]);
    const table = await rpcx(["list", "-r", url, "Arith"]);
    assert.equal(table.code, 0, table.err);
    const columns = table.out.trim().split("\n").slice(1)
      .map((l) => l.split(/\s{2,}/).slice(1, 5).join(" | "));
    assert.deepEqual(columns, [
      "tcp@127.0.0.1:1 | active | - | -",
      "tcp@127.0.0.1:2 | active | - | -",
      "tcp@127.0.0.1:3 | active | - | -",
      "tcp@127.0.0.1:4 | active | 2 | a b",
    ]);
    // An edit keeps the pairs Go parses and drops the others, as Go's plugins' refresh does;
    // nothing is re-escaped into a new value (x=%25zz, weight=5%3B).
    const edits: [string, string, string][] = [
      ["tcp@127.0.0.1:1", "weight=6", "state=inactive&weight=6"],
      ["tcp@127.0.0.1:2", "state=inactive", "group=a&state=inactive"],
      ["tcp@127.0.0.1:3", "group=b", "group=b&state=inactive"],
      ["tcp@127.0.0.1:4", "weight=3", "group=a+b&state=&weight=3"],
    ];
    for (const [key, set, want] of edits) {
      const r = await rpcx(["set", "-r", url, "Arith", key, set, "--settle", "100"]);
      assert.equal(r.code, 0, r.err);
      assert.equal(r.out, `Arith ${key} ${want}\n`);
      assert.equal(await raw.get(path(key)).string(), want);
    }
  });
});

Deno.test("rpcx on ZooKeeper: list, call, set, watch, bench with Go and Deno servers", async () => {
  if (!needs("ZooKeeper", zooKeeperMissing())) return;
  const zk = (await startZooKeeper())!;
  const base = `/rpcx_cli_${Date.now().toString(36)}`;
  const client = (zookeeper as unknown as {
    createClient(s: string): {
      connect(): void;
      close(): void;
      once(e: string, f: () => void): void;
      getData(
        p: string,
        cb: (e: unknown, d?: Buffer, stat?: { ephemeralOwner: Buffer; version: number }) => void,
      ): void;
    };
  }).createClient(zk.connectString);
  await new Promise<void>((resolve) => {
    client.once("connected", resolve);
    client.connect();
  });
  try {
    await cliScenario({
      url: `zookeeper://${zk.connectString}${base}`,
      notifies: false,
      go: { registry: "zookeeper", registryAddr: zk.connectString, base },
      plugin: () =>
        new ZooKeeperRegisterPlugin({
          servers: [zk.connectString],
          basePath: base,
          updateInterval: 1000,
        }),
      discovery: () => new ZooKeeperDiscovery(base, "Arith", [zk.connectString]),
      readNode: (key) =>
        new Promise((resolve, reject) =>
          client.getData(`${base}/Arith/${key}`, (e, data) => {
            if (e && (e as { code: number }).code === -101) resolve(undefined);
            else if (e) reject(e);
            else resolve(data ? data.toString("utf8") : "");
          })
        ),
      nodeVersion: (key) =>
        new Promise((resolve, reject) =>
          client.getData(`${base}/Arith/${key}`, (e, _data, stat) => {
            if (e) reject(e);
            else resolve(String(stat!.version));
          })
        ),
      // The operator's setData kept the node ephemeral, owned by its server's session.
      checkEdited: (key) =>
        new Promise((resolve, reject) =>
          client.getData(`${base}/Arith/${key}`, (e, _data, stat) => {
            if (e) return reject(e);
            try {
              assert.ok(stat!.ephemeralOwner.some((b) => b !== 0), `${key} is no longer ephemeral`);
              resolve();
            } catch (err) {
              reject(err);
            }
          })
        ),
    });
  } finally {
    client.close();
    await zk.dispose(); // stops it and removes its data directory
  }
});

Deno.test("rpcx on Consul: list, call, set, watch, bench with Go and Deno servers", async () => {
  const agent = await startConsul();
  if (!agent) return;
  const kv = async (key: string) => {
    const r = await fetch(`http://${agent.endpoint}/v1/kv/${key}`);
    if (r.status === 404) {
      await r.body?.cancel();
      return undefined;
    }
    return await r.json() as { Value: string | null; Session?: string; Flags: number }[];
  };
  // The Go side talks to Consul through this proxy, which counts the Go server's writes.
  const goRequests: string[] = [];
  const proxy = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const u = new URL(req.url);
    goRequests.push(`${req.method} ${u.pathname}`);
    const body = req.method === "GET" || req.method === "HEAD" ? undefined : await req.bytes();
    const r = await fetch(`http://${agent.endpoint}${u.pathname}${u.search}`, {
      method: req.method,
      headers: req.headers,
      body,
      signal: req.signal, // a long poll ends with its client
    });
    return new Response(r.body, { status: r.status, headers: r.headers });
  });
  try {
    await cliScenario({
      url: `consul://${agent.endpoint}/rpcx_test`,
      notifies: true,
      go: {
        registry: "consul",
        registryAddr: `127.0.0.1:${proxy.addr.port}`,
        base: "/rpcx_test",
      },
      plugin: () =>
        new ConsulRegisterPlugin({
          servers: [agent.endpoint],
          basePath: "/rpcx_test",
          updateInterval: 1000,
        }),
      discovery: () => new ConsulDiscovery("/rpcx_test", "Arith", [agent.endpoint]),
      readNode: async (key) => {
        const e = (await kv(`rpcx_test/Arith/${key}`))?.[0];
        return e ? new TextDecoder().decode(Buffer.from(e.Value ?? "", "base64")) : undefined;
      },
      nodeVersion: (key) =>
        Promise.resolve(
          String(goRequests.filter((r) => r === `PUT /v1/kv/rpcx_test/Arith/${key}`).length),
        ),
      // The operator's write kept the node's session and libkv's lock flags.
      checkEdited: async (key) => {
        const r = await fetch(`http://${agent.endpoint}/v1/kv/rpcx_test/Arith/${key}`);
        const text = await r.text();
        const [e] = JSON.parse(text) as { Session?: string }[];
        assert.ok(e.Session, `${key} lost its session`);
        assert.match(text, /"Flags":\s*3304740253564472344\b/, `libkv's lock flags kept: ${text}`);
      },
    });
  } finally {
    await bounded(proxy.shutdown(), 10_000, "the Consul proxy to stop").catch(() => {});
    await agent.stop();
  }
});

// `deno compile` (deno task compile:rpcx) puts Deno's runtime, denort, together with the command
// line's module graph into one binary. Deno fetches denort from its release server, which is not
// reachable here (nor in CI), and no registry ships it. What can be checked offline is checked:
// the graph packs, every registry client (imported dynamically) and npm package included, with
// the deno binary standing in for denort. Running the binary needs a real denort: given as
// DENORT_BIN, the second test runs it; elsewhere it is ignored (the README says so).
const DENORT = Deno.env.get("DENORT_BIN");

/** `deno compile` of the command line into `out`, with `denort` as the base binary. */
async function compileRpcx(out: string, denort: string): Promise<Deno.CommandOutput> {
  return await runBounded(Deno.execPath(), {
    args: ["compile", "-A", "--no-check", "-o", out, `${REPO_ROOT}/src/cli/main.ts`],
    cwd: REPO_ROOT,
    env: { DENORT_BIN: denort, NO_COLOR: "1" },
    timeoutMs: 300_000,
  });
}

Deno.test("rpcx: deno compile packs the command line with every registry client and npm package", async () => {
  const out = await Deno.makeTempDir({ prefix: "rpcx-compile-" });
  try {
    // The deno binary stands in for denort: the packing is what is checked, not the runtime.
    const build = await compileRpcx(`${out}/rpcx`, DENORT ?? Deno.execPath());
    const text = new TextDecoder().decode(build.stdout) + new TextDecoder().decode(build.stderr);
    assert.equal(build.code, 0, text);
    assert.match(text, /Embedded Files/);
    for (
      const pkg of [
        "commander",
        "cli-progress",
        "protobufjs",
        "@msgpack/msgpack",
        "etcd3",
        "node-zookeeper-client",
        "consul",
        "multicast-dns",
        "ioredis",
      ]
    ) {
      assert.match(
        text,
        new RegExp(`[─ ]${pkg.replace("/", "\\/")}\\b`),
        `${pkg} is packed:\n${text}`,
      );
    }
    const base = (await Deno.stat(DENORT ?? Deno.execPath())).size;
    const binary = (await Deno.stat(`${out}/rpcx`)).size;
    assert.ok(
      binary > base + 1_000_000,
      `the binary (${binary} B) holds the graph beside ${base} B`,
    );
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test({
  name: "rpcx: the compiled binary answers a call (needs DENORT_BIN, a denort of this Deno)",
  ignore: DENORT === undefined,
  async fn() {
    const out = await Deno.makeTempDir({ prefix: "rpcx-compile-" });
    const server = new Server();
    await server.register(new CountedArith(), "Arith");
    const addr = await server.serve("tcp", "127.0.0.1:0");
    try {
      const build = await compileRpcx(`${out}/rpcx`, DENORT!);
      assert.equal(build.code, 0, new TextDecoder().decode(build.stderr));
      const r = await runBounded(`${out}/rpcx`, {
        args: ["call", "-r", `tcp@${addr}`, "Arith.Mul", '{"A":10,"B":20}'],
        timeoutMs: 30_000,
      });
      assert.equal(r.code, 0, new TextDecoder().decode(r.stderr));
      assert.equal(new TextDecoder().decode(r.stdout), '{"C":200}\n');
    } finally {
      await server.close();
      await Deno.remove(out, { recursive: true });
    }
  },
});

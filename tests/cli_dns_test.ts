// `rpcx` on DNS names: list, call, watch and the admin page through a real name server (dnsmasq,
// authoritative for `.test`, on a free loopback port: no network namespace needed), A records and
// SRV records (a Go rpcx server and a Deno server as the targets); read-only.
import assert from "node:assert/strict";
import { Server } from "@rpcx/core";
import { Dnsmasq, dnsmasqBinary } from "./support/dnsmasq.ts";
import { GO_PEER, type GoServer, startGoServer } from "./support/go_peer.ts";
import { CountedArith } from "./support/registry_scenarios.ts";
import { freePort, needs, waitFor } from "./support/env.ts";
import { rpcx, spawnRpcx, uiServing } from "./support/rpcx_cli.ts";

Deno.test("rpcx on dns://: list, call, watch and ui follow A and SRV records; set is refused", async () => {
  const bin = dnsmasqBinary();
  if (!needs("dnsmasq", bin ? undefined : "no dnsmasq (bash .ci/install/85-dnsmasq.sh)")) return;
  const port = freePort();
  // the same port on two loopback addresses: the A records decide which one is listed
  const a = new Server();
  await a.register(new CountedArith(), "Arith");
  await a.serve("tcp", `127.0.0.2:${port}`);
  const b = new Server();
  await b.register(new CountedArith(), "Arith");
  await b.serve("tcp", `127.0.0.3:${port}`);
  let go: GoServer | undefined;
  if (needs("Go rpcx peer", GO_PEER ? undefined : ".cache/bin/rpcxpeer missing")) {
    go = await startGoServer(undefined, ["--services", "Arith"]);
  }
  const goPort = go ? Number(go.key.split(":").at(-1)) : undefined;
  const srv = "_rpcx._tcp.arith.test";
  const ns = await Dnsmasq.start(bin!, {
    address: "127.0.0.1",
    port: freePort(),
    hosts: ["127.0.0.2 arith.test", "127.0.0.1 go.arith.test"],
    srv: [
      { name: srv, target: "arith.test", port, priority: 0, weight: 10 },
      ...(goPort ? [{ name: srv, target: "go.arith.test", port: goPort, weight: 30 }] : []),
    ],
  });
  const url = `dns://arith.test:${port}?nameserver=${ns.nameserver}&timeout=2000`;
  let watch: ReturnType<typeof spawnRpcx> | undefined;
  let ui: ReturnType<typeof spawnRpcx> | undefined;
  const codes: number[] = [];
  try {
    const list = await rpcx(["list", "-r", url, "Arith", "--json"]);
    assert.equal(list.code, 0, list.err);
    assert.deepEqual(JSON.parse(list.out), [
      { service: "Arith", key: `tcp@127.0.0.2:${port}`, metadata: "", state: "active" },
    ]);
    // without a service: listed under `*` (the name serves every service path)
    const table = await rpcx(["list", "-r", url]);
    assert.equal(table.code, 0, table.err);
    assert.match(table.out, new RegExp(`^\\*\\s+tcp@127\\.0\\.0\\.2:${port}\\s+active\\s`, "m"));
    const call = await rpcx(["call", "-r", url, "Arith.Mul", '{"A":10,"B":20}']);
    assert.equal(call.code, 0, call.err);
    assert.equal(call.out, '{"C":200}\n');
    const set = await rpcx(["set", "-r", url, "Arith", `tcp@127.0.0.2:${port}`, "state=inactive"]);
    assert.equal(set.code, 2, set.err);
    assert.match(set.err, /read-only/);
    const unknown = await rpcx([
      "list",
      "-r",
      `dns://nope.arith.test:1?nameserver=${ns.nameserver}`,
      "Arith",
    ]);
    assert.equal(unknown.code, 1, unknown.err);
    assert.match(unknown.err, /service Arith has no servers/);
    const bad = await rpcx(["list", "-r", `dns://arith.test?nameserver=${ns.nameserver}`]);
    assert.equal(bad.code, 2, bad.err);
    assert.match(bad.err, /give the servers' port/);

    // SRV: each target with its record's port and weight; Go's server among them.
    const srvUrl = `dns://${srv}?srv=1&nameserver=${ns.nameserver}`;
    const srvList = await rpcx(["list", "-r", srvUrl, "Arith", "--json"]);
    assert.equal(srvList.code, 0, srvList.err);
    assert.deepEqual(
      JSON.parse(srvList.out).map((n: { key: string; metadata: string }) => [n.key, n.metadata]),
      [
        ...(go ? [[go.key, "priority=0&weight=30"]] : []),
        [`tcp@127.0.0.2:${port}`, "priority=0&weight=10"],
      ],
    );
    if (go) {
      const viaGo = await rpcx([
        "call",
        "-r",
        srvUrl,
        "--select-mode",
        "weighted",
        "Arith.Mul",
        '{"A":2,"B":3}',
      ]);
      assert.equal(viaGo.out, '{"C":6}\n');
      assert.equal(viaGo.code, 0, viaGo.err);
    }

    // watch and the admin page follow the records.
    watch = spawnRpcx(["watch", "-r", url, "Arith", "--json", "-i", "300"]);
    const events = () => watch!.out.split("\n").filter((l) => l !== "").map((l) => JSON.parse(l));
    await waitFor("watch lists the server", () => events().length === 1, 20_000);
    const addr = `127.0.0.1:${freePort()}`;
    ui = spawnRpcx(["ui", "-r", url, "--addr", addr, "-i", "300"]);
    await uiServing(ui!, `http://${addr}`);
    await ns.setHosts(["127.0.0.3 arith.test", "127.0.0.1 go.arith.test"]);
    await waitFor("watch sees the record move", () => {
      const e = events();
      return e.some((x) => x.type === "added" && x.key === `tcp@127.0.0.3:${port}`) &&
        e.some((x) => x.type === "removed" && x.key === `tcp@127.0.0.2:${port}`);
    }, 20_000);
    await waitFor(
      "the page shows it",
      async () => {
        const s = await (await fetch(`http://${addr}/api/nodes`)).json();
        const reg = s.registries[0];
        return reg.writable === false &&
          JSON.stringify(reg.nodes.map((n: { key: string }) => n.key)) ===
            JSON.stringify([`tcp@127.0.0.3:${port}`]);
      },
      20_000,
      200,
    );
  } finally {
    if (ui) codes.push(await ui.stop());
    if (watch) codes.push(await watch.stop());
    await ns.stop();
    await go?.stop();
    await a.close();
    await b.close();
  }
  assert.deepEqual(codes, codes.map(() => 0), "watch and ui exit 0 on SIGINT");
});

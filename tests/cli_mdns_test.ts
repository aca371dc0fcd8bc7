// The `rpcx` command line over mDNS, with a Go rpcx server (Go's mDNS plugin) and a Deno server
// announcing Arith. Multicast needs a private network namespace: without RPCX_IN_NETNS=1 this
// file has one test that re-runs it through tests/support/run_in_netns.sh; inside, the real
// test runs.
import assert from "node:assert/strict";
import { Server } from "@rpcx/core";
import { MdnsRegisterPlugin } from "@rpcx/core/mdns";
import { CountedArith } from "./support/registry_scenarios.ts";
import { needs, waitFor } from "./support/env.ts";
import { IN_NETNS, testInNetns } from "./support/netns.ts";
import { GO_PEER, type GoServer, startGoServer } from "./support/go_peer.ts";
import { rpcx, spawnRpcx } from "./support/rpcx_cli.ts";

const URL = "mdns://?timeout=500";

if (!IN_NETNS) {
  testInNetns(
    "rpcx on mDNS: the test passes inside a private network namespace",
    "tests/cli_mdns_test.ts",
    1,
  );
} else {
  Deno.test("rpcx on mDNS: list, call, watch with Go and Deno servers; set is refused", async () => {
    const deno = new Server();
    deno.use(new MdnsRegisterPlugin({ updateInterval: 1000, ttl: 30 }));
    await deno.register(new CountedArith(), "Arith", "weight=1&group=blue");
    const denoKey = `tcp@${await deno.serve("tcp", "127.0.0.1:0")}`;
    let go: GoServer | undefined;
    if (needs("Go rpcx peer", GO_PEER ? undefined : ".cache/bin/rpcxpeer missing")) {
      go = await startGoServer(
        { registry: "mdns", registryAddr: "", base: "/rpcx" },
        ["--mdns-iface", "lo", "--mdns-services", "Arith", "--weight", "5"],
      );
    }
    const watch = spawnRpcx(["watch", "-r", URL, "Arith", "--json", "-i", "300"]);
    let watchCode: number;
    try {
      const keys = [denoKey, ...(go ? [go.key] : [])].sort();
      await waitFor(
        "both servers listed",
        async () => {
          const r = await rpcx(["list", "-r", URL, "Arith", "--json"]);
          return r.code === 0 &&
            JSON.stringify(JSON.parse(r.out).map((n: { key: string }) => n.key)) ===
              JSON.stringify(keys);
        },
        30_000,
        200,
      );
      const table = await rpcx(["list", "-r", URL]);
      assert.equal(table.code, 0, table.err);
      assert.match(
        table.out,
        new RegExp(`^Arith\\s+${denoKey}\\s+active\\s+1\\s+blue\\s+weight=1&group=blue$`, "m"),
      );
      if (go) assert.match(table.out, new RegExp(`^Arith\\s+${go.key}\\s+active\\s+5\\s`, "m"));

      for (const key of keys) {
        const r = await rpcx(["call", "-r", key, "Arith.Mul", '{"A":10,"B":20}']);
        assert.equal(r.code, 0, r.err);
        assert.equal(r.out, '{"C":200}\n');
      }
      const viaMdns = await rpcx(["call", "-r", URL, "-s", "json", "Arith.Mul", '{"A":3,"B":4}']);
      assert.equal(viaMdns.code, 0, viaMdns.err);
      assert.equal(viaMdns.out, '{"C":12}\n');

      const set = await rpcx(["set", "-r", URL, "Arith", denoKey, "state=inactive"]);
      assert.equal(set.code, 2);
      assert.match(set.err, /read-only/);

      await waitFor("watch listed both", () => keys.every((k) => watch.out.includes(k)), 15_000);
      if (go) {
        await go.kill("SIGTERM"); // Go's zeroconf says goodbye
        await waitFor(
          "watch saw the Go server leave",
          () =>
            watch.out.split("\n").some((l) =>
              l.includes('"type":"removed"') && l.includes(go!.key)
            ),
          20_000,
        );
      }
    } finally {
      // Everything is stopped before the exit code is asserted: a failure there can neither
      // hide the test's own error nor leave the Go server or ours running.
      watchCode = await watch.stop();
      await go?.stop();
      await deno.shutdown({ timeout: 1000 });
    }
    assert.equal(watchCode, 0, "watch exits 0 on SIGINT");
  });
}

// Server plugins of src/plugins under load on real sockets: request and connection rate limits
// (token bucket, Go's error text), IP allow/deny lists with CIDR masks, the concurrency cap
// with its queue bound, and aliases called by the real Go rpcx client.
import assert from "node:assert/strict";
import { type CallContext, Client, ConnectionError, Server, ServiceError } from "@rpcx/core";
import type { ServerPlugin } from "@rpcx/core/extend";
import { Arith } from "../examples/arith.ts";
import { connRateLimit, reqRateLimit, TokenBucket } from "@rpcx/core/plugins/ratelimit";
import { ipAllowList, ipDenyList, IpSet, remoteIp } from "@rpcx/core/plugins/ipfilter";
import { concurrencyLimit } from "@rpcx/core/plugins/concurrency";
import { ALIAS_APPLIED_KEY, AliasPlugin } from "@rpcx/core/plugins/alias";
import { runBounded } from "./support/child.ts";
import { bounded, waitFor } from "./support/env.ts";
import { GO_PEER, needGoPeer } from "./support/go_peer.ts";

async function serve(
  plugins: ServerPlugin[],
  address = "127.0.0.1:0",
  extra?: (s: Server) => Promise<void>,
): Promise<{ server: Server; addr: string; port: string }> {
  const server = new Server({ plugins });
  await server.register(new Arith());
  await extra?.(server);
  const addr = await server.serve("tcp", address);
  return { server, addr, port: addr.slice(addr.lastIndexOf(":") + 1) };
}

Deno.test("reqRateLimit: served calls follow the bucket (at most its tokens, at least 85 %) under load; the rest get Go's error text", async () => {
  const fillInterval = 4; // 250 calls/s
  // A bucket of 100 holds 400 ms of tokens: an event-loop stall shorter than that loses none,
  // so the lower bound stays a check of the refill rate, not of the machine's load.
  const capacity = 100;
  const { server, addr } = await serve([reqRateLimit(fillInterval, capacity)]);
  const client = new Client(`tcp@${addr}`);
  let ok = 0;
  const refusals = new Map<string, number>();
  try {
    await client.connect();
    const start = performance.now();
    const until = start + 1500;
    await Promise.all(Array.from({ length: 32 }, async () => {
      while (performance.now() < until) {
        try {
          await client.call("Arith", "Mul", { A: 2, B: 3 });
          ok++;
        } catch (e) {
          assert.ok(e instanceof ServiceError, String(e));
          refusals.set(e.message, (refusals.get(e.message) ?? 0) + 1);
        }
      }
    }));
    const elapsed = performance.now() - start;
    const allowed = capacity + elapsed / fillInterval;
    assert.ok(ok <= allowed + 1, `served ${ok} > allowed ${allowed.toFixed(1)}`);
    assert.ok(ok >= allowed * 0.85, `served ${ok} < 85 % of allowed ${allowed.toFixed(1)}`);
    assert.deepEqual([...refusals.keys()], ["request reached rate limit"]);
    // Refused calls leave the connection open.
    assert.equal(client.isConnected, true);
  } finally {
    await client.close();
    await server.close();
  }
});

Deno.test("reqRateLimit with block: every call is served, no faster than the bucket", async () => {
  const fillInterval = 5;
  const capacity = 5;
  const { server, addr } = await serve([reqRateLimit(fillInterval, capacity, true)]);
  const client = new Client(`tcp@${addr}`);
  try {
    await client.connect();
    const n = 105;
    const start = performance.now();
    const replies = await Promise.all(
      Array.from({ length: n }, (_, i) => client.call("Arith", "Mul", { A: i, B: 1 })),
    );
    const elapsed = performance.now() - start;
    assert.deepEqual(replies.map((r) => (r as { C: number }).C), [...Array(n).keys()]);
    const least = (n - capacity) * fillInterval;
    assert.ok(elapsed >= least * 0.95, `${n} calls in ${elapsed.toFixed(0)} ms < ${least} ms`);
  } finally {
    await client.close();
    await server.close();
  }
});

Deno.test("reqRateLimit perConnection: each connection has its own bucket", async () => {
  const { server, addr } = await serve([reqRateLimit(60_000, 5, false, { perConnection: true })]);
  const clients = [new Client(`tcp@${addr}`), new Client(`tcp@${addr}`), new Client(`tcp@${addr}`)];
  try {
    const served = await Promise.all(clients.map(async (c) => {
      let ok = 0;
      for (let i = 0; i < 12; i++) {
        try {
          await c.call("Arith", "Mul", { A: i, B: 1 });
          ok++;
        } catch (e) {
          assert.match(String(e), /request reached rate limit/);
        }
      }
      return ok;
    }));
    assert.deepEqual(served, [5, 5, 5]);
  } finally {
    for (const c of clients) await c.close();
    await server.close();
  }
});

Deno.test("TokenBucket.wait gives up when its signal aborts", async () => {
  const b = new TokenBucket(60_000, 1);
  assert.equal(b.takeAvailable(), true);
  const ac = new AbortController();
  const waiting = b.wait(ac.signal);
  ac.abort(new Error("deadline"));
  await assert.rejects(bounded(waiting, 1000, "wait"), /deadline/);
});

Deno.test("connRateLimit: a burst of connections gets exactly the bucket's capacity; later ones are closed", async () => {
  const { server, addr } = await serve([connRateLimit(60_000, 3)]);
  const clients = Array.from({ length: 12 }, () => new Client(`tcp@${addr}`));
  try {
    const results = await Promise.allSettled(
      clients.map((c) => bounded(c.call("Arith", "Mul", { A: 4, B: 5 }), 5000, "call")),
    );
    const served = results.filter((r) => r.status === "fulfilled");
    assert.equal(served.length, 3);
    for (const r of results) {
      if (r.status === "rejected") assert.ok(r.reason instanceof ConnectionError, r.reason);
    }
    assert.equal(server.metrics().connectionsAccepted, 3);
  } finally {
    for (const c of clients) await c.close();
    await server.close();
  }
});

Deno.test("IpSet and remoteIp: addresses and CIDR masks, v4, v6 and v4-mapped v6", () => {
  const s = new IpSet(["10.0.0.0/8", "192.168.1.7", "fd00::/8", "::1"]);
  assert.equal(s.has("10.200.3.4"), true);
  assert.equal(s.has("11.0.0.1"), false);
  assert.equal(s.has("192.168.1.7"), true);
  assert.equal(s.has("192.168.1.8"), false);
  assert.equal(s.has("fd12:3456::1"), true);
  assert.equal(s.has("fe80::1"), false);
  assert.equal(s.has("::1"), true);
  assert.equal(s.has("::ffff:10.1.1.1"), true);
  assert.equal(s.has("not-an-ip"), false);
  assert.throws(() => new IpSet(["10.0.0.0/33"]), TypeError);
  assert.throws(() => new IpSet(["10.0.0/8"]), TypeError);
  assert.equal(remoteIp("[::ffff:127.0.0.1]:5000"), "::ffff:127.0.0.1");
  assert.equal(remoteIp("127.0.0.1:5000"), "127.0.0.1");
  assert.equal(remoteIp("inprocess-client-1"), undefined);
});

/**
 * Many calls at once from IPv4 loopback (127.0.0.1, seen as ::ffff:127.0.0.1 on a dual-stack
 * listener) and IPv6 loopback (::1); returns how many calls of each succeeded.
 */
async function loadFromBoth(port: string): Promise<{ v4: number; v6: number }> {
  const counts = { v4: 0, v6: 0 };
  await Promise.all(
    (["v4", "v6"] as const).flatMap((family) =>
      Array.from({ length: 10 }, async () => {
        const host = family === "v4" ? "127.0.0.1" : "[::1]";
        const c = new Client(`tcp@${host}:${port}`);
        try {
          for (let i = 0; i < 20; i++) {
            await c.call("Arith", "Mul", { A: i, B: 2 });
            counts[family]++;
          }
        } catch (e) {
          assert.ok(e instanceof ConnectionError, String(e));
        } finally {
          await c.close();
        }
      })
    ),
  );
  return counts;
}

Deno.test("ipAllowList / ipDenyList: decided by CIDR at accept, under load from IPv4 and IPv6 peers", async () => {
  const allow = await serve([ipAllowList(["127.0.0.0/8"])], "[::]:0");
  try {
    assert.deepEqual(await loadFromBoth(allow.port), { v4: 200, v6: 0 });
  } finally {
    await allow.server.close();
  }
  const deny = await serve([ipDenyList(["127.0.0.0/8"])], "[::]:0");
  try {
    assert.deepEqual(await loadFromBoth(deny.port), { v4: 0, v6: 200 });
  } finally {
    await deny.server.close();
  }
  const v6only = await serve([ipAllowList(["::/127"])], "[::]:0");
  try {
    assert.deepEqual(await loadFromBoth(v6only.port), { v4: 0, v6: 200 });
    assert.equal(v6only.server.metrics().connectionsAccepted, 10);
  } finally {
    await v6only.server.close();
  }
});

class Slow {
  running = 0;
  most = 0;
  async Work(args: { ms: number }, ctx: CallContext): Promise<number> {
    this.running++;
    this.most = Math.max(this.most, this.running);
    try {
      await new Promise((r) => setTimeout(r, args.ms));
      return ctx.seq > 0n ? 1 : 0;
    } finally {
      this.running--;
    }
  }
}

Deno.test("concurrencyLimit: never more than max running; the queue holds the next ones; beyond it, busy", async () => {
  const slow = new Slow();
  const limit = concurrencyLimit({ max: 4, queue: 8 });
  const { server, addr } = await serve([limit], "127.0.0.1:0", async (s) => {
    await s.register(slow, "Slow");
  });
  const client = new Client(`tcp@${addr}`);
  try {
    await client.connect();
    // 4 run, 8 wait, 8 are refused.
    const calls = Array.from({ length: 20 }, () => client.call("Slow", "Work", { ms: 150 }));
    const results = await Promise.allSettled(calls);
    const ok = results.filter((r) => r.status === "fulfilled").length;
    const busy = results.filter((r) =>
      r.status === "rejected" && r.reason instanceof ServiceError &&
      /server busy/.test(r.reason.message)
    ).length;
    assert.equal(ok, 12);
    assert.equal(busy, 8);
    assert.equal(slow.most, 4);
    assert.deepEqual([limit.running, limit.waiting], [0, 0]);
    // Load over time: 200 calls from 30 callers, all served, never more than 4 at once.
    slow.most = 0;
    let served = 0;
    let next = 0;
    await Promise.all(Array.from({ length: 30 }, async () => {
      while (next < 200) {
        next++;
        try {
          await client.call("Slow", "Work", { ms: 2 });
          served++;
        } catch (e) {
          assert.match(String(e), /server busy/);
        }
      }
    }));
    assert.equal(slow.most, 4);
    assert.ok(served > 0);
    assert.deepEqual([limit.running, limit.waiting], [0, 0]);
  } finally {
    await client.close();
    await server.close();
  }
});

Deno.test("concurrencyLimit: a slot comes back when a later plugin's preCall refuses the call", async () => {
  const slow = new Slow();
  const limit = concurrencyLimit({ max: 1 });
  const refuse: ServerPlugin = {
    preCall(_ctx, args) {
      if ((args as { ms: number }).ms < 0) throw new Error("refused");
      return args;
    },
  };
  const { server, addr } = await serve([limit, refuse], "127.0.0.1:0", async (s) => {
    await s.register(slow, "Slow");
  });
  const client = new Client(`tcp@${addr}`);
  try {
    for (let i = 0; i < 5; i++) {
      await assert.rejects(client.call("Slow", "Work", { ms: -1 }), /refused/);
    }
    assert.equal(limit.running, 0);
    assert.equal(await client.call("Slow", "Work", { ms: 1 }), 1);
  } finally {
    await client.close();
    await server.close();
  }
});

Deno.test("concurrencyLimit: a queued call whose deadline passes leaves the queue", async () => {
  const slow = new Slow();
  const limit = concurrencyLimit({ max: 1, queue: 5 });
  const { server, addr } = await serve([limit], "127.0.0.1:0", async (s) => {
    await s.register(slow, "Slow");
  });
  const client = new Client(`tcp@${addr}`);
  try {
    const first = client.call("Slow", "Work", { ms: 400 });
    await waitFor("the first call to run", () => slow.running === 1);
    await assert.rejects(client.call("Slow", "Work", { ms: 1 }, { timeout: 100 }));
    await waitFor("the timed-out call to leave the queue", () => limit.waiting === 0);
    await first;
    assert.equal(await client.call("Slow", "Work", { ms: 1 }), 1);
    assert.deepEqual([limit.running, limit.waiting], [0, 0]);
  } finally {
    await client.close();
    await server.close();
  }
});

Deno.test("AliasPlugin: the Go rpcx client calls Arith.Times and gets Arith.Mul's reply; the real name still works", async () => {
  if (!needGoPeer()) return;
  const aliases = new AliasPlugin().alias("Arith", "Times", "Arith", "Mul");
  const seen: string[] = [];
  const watch: ServerPlugin = {
    preCall(ctx, args) {
      seen.push(`${ctx.servicePath}.${ctx.serviceMethod} ${ctx.metadata[ALIAS_APPLIED_KEY]}`);
      return args;
    },
  };
  const { server, addr } = await serve([aliases, watch]);
  try {
    const r = await runBounded(GO_PEER!, {
      args: [
        "client",
        "--addr",
        addr,
        "--method",
        "Times",
        "--a",
        "7",
        "--b",
        "6",
        "--count",
        "50",
        "--concurrency",
        "10",
      ],
    });
    const out = new TextDecoder().decode(r.stdout).trim().split("\n");
    assert.equal(r.code, 0, new TextDecoder().decode(r.stderr));
    assert.equal(out.length, 50);
    for (const line of out) assert.equal(line, "7 ? 6 = 42");
    const names: string[] = [];
    const client = new Client(`tcp@${addr}`, {
      plugins: [{
        afterDecode: (res) => void names.push(`${res.servicePath}.${res.serviceMethod}`),
      }],
    });
    try {
      // The response comes back under the name the caller used.
      assert.deepEqual(await client.call("Arith", "Times", { A: 2, B: 4 }), { C: 8 });
      assert.deepEqual(names, ["Arith.Times"]);
      assert.deepEqual(await client.call("Arith", "Mul", { A: 3, B: 3 }), { C: 9 });
      await assert.rejects(client.call("Arith", "Div", { A: 3, B: 3 }), /can't find method Div/);
    } finally {
      await client.close();
    }
    assert.equal(seen.filter((s) => s === "Arith.Mul true").length, 51);
    assert.equal(seen.at(-1), "Arith.Mul undefined");
  } finally {
    await server.close();
  }
});

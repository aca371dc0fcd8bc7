// Circuit breakers (src/plugins/breaker.ts): the state cycle of both breakers, and the client
// plugin against real servers going down and coming back, alone and under XClient failover.
import assert from "node:assert/strict";
import {
  Client,
  ConnectionError,
  FailMode,
  MultipleServersDiscovery,
  SelectMode,
  Server,
  XClient,
} from "@rpcx/core";
import { Arith } from "../examples/arith.ts";
import {
  type Breaker,
  BreakerOpenError,
  breakerPlugin,
  ConsecutiveBreaker,
  RateBreaker,
} from "@rpcx/core/plugins/breaker";
import { delay, freePort, waitFor } from "./support/env.ts";

async function arithServer(addr = "127.0.0.1:0"): Promise<{ server: Server; addr: string }> {
  const server = new Server();
  await server.register(new Arith());
  return { server, addr: await server.serve("tcp", addr) };
}

Deno.test("ConsecutiveBreaker: closed → open after N failures in a row → half-open lets one trial → closed or open again", async () => {
  const b = new ConsecutiveBreaker(3, 50);
  b.fail();
  b.fail();
  b.success(); // a success resets the count
  b.fail();
  b.fail();
  assert.equal(b.state, "closed");
  b.fail();
  assert.equal(b.state, "open");
  assert.equal(b.ready(), false);
  await delay(60);
  assert.equal(b.state, "half-open");
  assert.equal(b.ready(), true); // the trial
  assert.equal(b.ready(), false); // only one at a time
  b.fail();
  assert.equal(b.state, "open");
  await delay(60);
  assert.equal(b.ready(), true);
  b.success();
  assert.equal(b.state, "closed");
  assert.equal(b.ready(), true);
});

Deno.test("RateBreaker: opens when the failure share over at least minSamples reaches the rate", async () => {
  const b = new RateBreaker(0.5, 10, 50);
  for (let i = 0; i < 9; i++) i < 4 ? b.success() : b.fail(); // 9 samples: too few to judge
  assert.equal(b.state, "closed");
  b.fail(); // 6 of 10 failed (judged on a failure, as rubyist/circuitbreaker does)
  assert.equal(b.state, "open");
  await delay(60);
  assert.equal(b.ready(), true);
  b.success();
  assert.equal(b.state, "closed");
  // Below the rate it stays closed however long it runs.
  for (let i = 0; i < 100; i++) i % 3 === 0 ? b.fail() : b.success();
  assert.equal(b.state, "closed");
  assert.throws(() => new RateBreaker(0, 10, 50), RangeError);
});

for (
  const [kind, gen] of [
    ["ConsecutiveBreaker", () => new ConsecutiveBreaker(3, 300)],
    ["RateBreaker", () => new RateBreaker(0.6, 5, 300)],
  ] as [string, () => Breaker][]
) {
  Deno.test(`breakerPlugin (${kind}): opens when the server is down, refuses with "breaker open" without dialing, recovers when it is back`, async () => {
    const port = freePort();
    const addr = `127.0.0.1:${port}`;
    let dials = 0;
    const breakers = breakerPlugin(gen);
    const client = new Client(`tcp@${addr}`, {
      plugins: [breakers, { connCreateFailed: () => void dials++ }],
    });
    let up: Server | undefined;
    try {
      const errors: string[] = [];
      for (let i = 0; i < 40; i++) {
        try {
          await client.call("Arith", "Mul", { A: 1, B: 1 });
        } catch (e) {
          assert.ok(e instanceof ConnectionError, String(e));
          errors.push(e instanceof BreakerOpenError ? e.message : "dial failed");
        }
      }
      const opened = errors.indexOf("breaker open");
      assert.ok(opened >= 3 && opened <= 5, `opened after ${opened} failures`);
      assert.equal(dials, opened);
      assert.deepEqual(new Set(errors.slice(opened)), new Set(["breaker open"]));
      assert.equal(breakers.breaker(`tcp@${addr}`)?.state, "open");
      ({ server: up } = await arithServer(addr));
      // Half-open after 300 ms: the trial goes through, succeeds and closes the breaker.
      await waitFor(
        "the breaker to let a trial through",
        async () => {
          try {
            return (await client.call("Arith", "Mul", { A: 6, B: 7 }) as { C: number }).C === 42;
          } catch (e) {
            assert.ok(e instanceof BreakerOpenError, String(e));
            return false;
          }
        },
        5000,
        20,
      );
      assert.equal(breakers.breaker(`tcp@${addr}`)?.state, "closed");
      const replies = await Promise.all(
        Array.from({ length: 100 }, (_, i) => client.call("Arith", "Mul", { A: i, B: 3 })),
      );
      assert.deepEqual(replies, Array.from({ length: 100 }, (_, i) => ({ C: i * 3 })));
    } finally {
      await client.close();
      await up?.close();
    }
  });
}

Deno.test("breakerPlugin under XClient Failover: a dead server's breaker opens, every call is served by the live one", async () => {
  const live = await arithServer();
  const dead = `tcp@127.0.0.1:${freePort()}`;
  const dials = new Map<string, number>();
  const breakers = breakerPlugin(() => new ConsecutiveBreaker(2, 60_000));
  const x = new XClient(
    "Arith",
    FailMode.Failover,
    SelectMode.RoundRobin,
    new MultipleServersDiscovery([{ key: dead, value: "" }, {
      key: `tcp@${live.addr}`,
      value: "",
    }]),
    {
      plugins: [breakers, {
        connCreateFailed: (a) => void dials.set(a, (dials.get(a) ?? 0) + 1),
      }],
      // Keep XClient's own health tracking out of the way: the breaker alone decides.
      failureThreshold: 1_000_000,
      retryBackoff: 1,
      maxRetryBackoff: 1,
    },
  );
  try {
    let served = 0;
    await Promise.all(Array.from({ length: 10 }, async () => {
      for (let i = 0; i < 30; i++) {
        assert.deepEqual(await x.call("Mul", { A: i, B: 2 }), { C: i * 2 });
        served++;
      }
    }));
    assert.equal(served, 300);
    assert.equal(breakers.breaker(dead)?.state, "open");
    // Dials to the dead server stop once its breaker is open (calls in flight at that moment
    // may each have dialed once).
    assert.ok((dials.get(dead) ?? 0) <= 12, `dialed the dead server ${dials.get(dead)} times`);
    assert.equal(live.server.metrics().calls, 300);
  } finally {
    await x.close();
    await live.server.close();
  }
});

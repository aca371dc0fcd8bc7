// Select modes as pure functions of the server list: ConsistentHash's stability (list order,
// servers joining and leaving, other processes) and RandomSelect's spread, then both through
// XClient over real servers.
import assert from "node:assert/strict";
import {
  ConsistentHashSelector,
  FailMode,
  type KVPair,
  MultipleServersDiscovery,
  RandomSelector,
  SelectMode,
  Server,
  XClient,
} from "@rpcx/core";
import { REPO_ROOT } from "./support/env.ts";

const servers = (n: number, from = 0) =>
  Array.from({ length: n }, (_, i) => `tcp@127.0.0.1:${9000 + from + i}`);
const pairs = (keys: string[]): KVPair[] => keys.map((key) => ({ key, value: "" }));
const USERS = Array.from({ length: 2000 }, (_, i) => ({ user: `user-${i}` }));

function mapping(keys: string[]): string[] {
  const s = new ConsistentHashSelector();
  s.update(pairs(keys));
  return USERS.map((args) => s.select("Arith", "Mul", args)!);
}

function shuffled<T>(xs: T[], seed: number): T[] {
  const out = [...xs];
  for (let i = out.length - 1; i > 0; i--) {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    const j = seed % (i + 1);
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

function counts(picks: string[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const p of picks) m.set(p, (m.get(p) ?? 0) + 1);
  return m;
}

Deno.test("ConsistentHash: the same mapping whatever the order of the server list", () => {
  const keys = servers(8);
  const want = mapping(keys);
  for (let seed = 1; seed <= 20; seed++) {
    assert.deepEqual(mapping(shuffled(keys, seed)), want, `order #${seed}`);
  }
  // Every server gets a fair share (2000 keys over 8 servers: 250 expected).
  for (const [k, n] of counts(want)) assert.ok(n > 150 && n < 350, `${k}: ${n} of 2000`);
  assert.equal(counts(want).size, 8);
});

Deno.test("ConsistentHash: a server joining takes only its share; one leaving gives only its own", () => {
  const base = [9010, 9020, 9030, 9040].map((p) => `tcp@127.0.0.1:${p}`);
  const before = mapping(base);
  // Joining first, in the middle and last in sort order: keys move only to the newcomer.
  for (const joiner of ["tcp@127.0.0.1:9001", "tcp@127.0.0.1:9025", "tcp@127.0.0.1:9099"]) {
    const after = mapping([...base, joiner]);
    let moved = 0;
    for (let i = 0; i < USERS.length; i++) {
      if (after[i] === before[i]) continue;
      moved++;
      assert.equal(after[i], joiner, `${USERS[i].user} moved between old servers`);
    }
    // 1/5 of the keys expected (400 of 2000).
    assert.ok(moved > 250 && moved < 550, `${joiner} took ${moved} of 2000 keys`);
  }
  // Leaving: only the keys of the server that left move.
  for (const leaver of base) {
    const after = mapping(base.filter((k) => k !== leaver));
    for (let i = 0; i < USERS.length; i++) {
      if (before[i] !== leaver) assert.equal(after[i], before[i], `${USERS[i].user} moved`);
      else assert.notEqual(after[i], leaver);
    }
  }
});

Deno.test("ConsistentHash: another process maps every key alike", async () => {
  const keys = servers(5);
  const code = `
    import { ConsistentHashSelector } from "@rpcx/core";
    const s = new ConsistentHashSelector();
    s.update(${JSON.stringify(pairs([...keys].reverse()))});
    const users = Array.from({ length: ${USERS.length} }, (_, i) => ({ user: "user-" + i }));
    console.log(JSON.stringify(users.map((a) => s.select("Arith", "Mul", a))));
  `;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--no-lock", code],
    cwd: REPO_ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  const theirs = JSON.parse(new TextDecoder().decode(out.stdout));
  assert.deepEqual(theirs, mapping(keys));
});

Deno.test("RandomSelect: picks spread evenly over the servers", () => {
  const s = new RandomSelector();
  const keys = servers(3);
  s.update(pairs(keys));
  const picks = counts(Array.from({ length: 3000 }, () => s.select()!));
  assert.deepEqual([...picks.keys()].sort(), keys);
  // 1000 expected each; the binomial's standard deviation is ~26.
  for (const [k, n] of picks) assert.ok(n > 850 && n < 1150, `${k}: ${n} of 3000`);
  s.update([]);
  assert.equal(s.select(), undefined);
});

Deno.test("RandomSelect and ConsistentHash through XClient over real servers", async () => {
  const names = ["a", "b", "c"];
  const hits = new Map<string, number>();
  const started: Server[] = [];
  const d = new MultipleServersDiscovery([]);
  const clients: XClient[] = [];
  try {
    const list: KVPair[] = [];
    for (const name of names) {
      const s = new Server();
      started.push(s);
      await s.register({
        Who: () => (hits.set(name, (hits.get(name) ?? 0) + 1), name),
      }, "Svc");
      list.push({ key: `tcp@${await s.serve("tcp", "127.0.0.1:0")}`, value: "" });
    }
    d.update(list);
    const random = new XClient("Svc", FailMode.Failfast, SelectMode.RandomSelect, d);
    clients.push(random);
    for (let i = 0; i < 300; i++) await random.call("Who", null);
    for (const name of names) {
      assert.ok((hits.get(name) ?? 0) > 50, `${name}: ${hits.get(name)} of 300`);
    }
    // Two ConsistentHash clients fed the list in opposite orders route every key alike.
    const d2 = new MultipleServersDiscovery([...list].reverse());
    const x = new XClient("Svc", FailMode.Failfast, SelectMode.ConsistentHash, d);
    const y = new XClient("Svc", FailMode.Failfast, SelectMode.ConsistentHash, d2);
    clients.push(x, y);
    try {
      const owners = new Set<unknown>();
      for (let i = 0; i < 30; i++) {
        const who = await x.call("Who", { user: `u${i}` });
        assert.equal(await y.call("Who", { user: `u${i}` }), who, `u${i}`);
        owners.add(who);
      }
      assert.equal(owners.size, 3, "30 keys reach all three servers");
    } finally {
      await d2.close();
    }
  } finally {
    for (const c of clients) await c.close();
    await d.close();
    for (const s of started) await s.close();
  }
});

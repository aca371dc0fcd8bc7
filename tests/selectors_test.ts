// Select modes as pure functions of the server list: ConsistentHash's stability (list order,
// servers joining and leaving, other processes) and RandomSelect's spread, then both through
// XClient over real servers.
import assert from "node:assert/strict";
import { FailMode, MultipleServersDiscovery, SelectMode, Server, XClient } from "@rpcx/core";
import { ConsistentHashSelector, type KVPair, RandomSelector } from "@rpcx/core/extend";
import { runBounded } from "./support/child.ts";
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
    import { ConsistentHashSelector } from "@rpcx/core/extend";
    const s = new ConsistentHashSelector();
    s.update(${JSON.stringify(pairs([...keys].reverse()))});
    const users = Array.from({ length: ${USERS.length} }, (_, i) => ({ user: "user-" + i }));
    console.log(JSON.stringify(users.map((a) => s.select("Arith", "Mul", a))));
  `;
  const out = await runBounded(Deno.execPath(), {
    args: ["eval", "--no-lock", code],
    cwd: REPO_ROOT,
  });
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  const theirs = JSON.parse(new TextDecoder().decode(out.stdout));
  assert.deepEqual(theirs, mapping(keys));
});

// Args of every kind a codec carries, 200 of each, all distinct: the families the key text
// used to collapse (bigint: "[object Object]"; Map, Set, ArrayBuffer: "{}") and the rest.
// A plain function, so the other-process test can run the same source.
function kinds(i: number): Record<string, unknown> {
  return {
    "bigint id": { ID: 9007199254740993n + BigInt(i) },
    "bigint": 2n ** 63n + BigInt(i),
    "nested": { user: { id: BigInt(i) * 1000003n, tags: ["a", i] } },
    "bytes": Uint8Array.of(i >> 8, i & 255, 7),
    "ArrayBuffer": Uint8Array.of(1, i & 255, i >> 8).buffer,
    "Map": new Map<unknown, unknown>([[i, "x"], ["k", [i]]]),
    "Set": new Set([i, "s"]),
    "Date": new Date(1700000000000 + i * 1000),
    "array": [null, i, undefined, "i"],
    "string": `key-${i}`,
    "float": i + 0.5,
  };
}
const KIND_NAMES = Object.keys(kinds(0));
const KIND_ARGS = Array.from({ length: 200 }, (_, i) => kinds(i));

function selectAll(s: ConsistentHashSelector, args: unknown[]): string[] {
  return args.map((a) => s.select("Users", "Get", a)!);
}

Deno.test("ConsistentHash: 300 int64 ids sent as bigint spread over the servers", () => {
  const s = new ConsistentHashSelector();
  s.update(pairs(servers(5)));
  const ids = Array.from({ length: 300 }, (_, i) => ({ ID: 9007199254740993n + BigInt(i) }));
  const per = counts(selectAll(s, ids));
  assert.equal(per.size, 5, `servers used: ${[...per.values()]}`);
  // 60 expected each.
  for (const [k, n] of per) assert.ok(n >= 30, `${k}: ${n} of 300`);
});

Deno.test("ConsistentHash: args of every kind that differ go to different keys", () => {
  const s = new ConsistentHashSelector();
  s.update(pairs(servers(5)));
  // 200 distinct values of a kind use all 5 servers (40 each expected).
  for (const kind of KIND_NAMES) {
    const per = counts(selectAll(s, KIND_ARGS.map((k) => k[kind])));
    assert.equal(per.size, 5, `${kind}: servers used ${[...per.values()]}`);
    for (const [k, n] of per) assert.ok(n >= 15, `${kind}: ${k} got ${n} of 200`);
  }
  // Pairs that printed alike: bytes that differ only by a leading zero ([0x1, 0x23] and
  // [0x12, 0x3] were both "123"), a number and its numeric string, a Date and its ISO text.
  // Two different keys meet on one of 5 servers 1 time in 5: 40 of 200 expected.
  const families: [string, (i: number) => [unknown, unknown]][] = [
    ["bytes padding", (i) => {
      const x = 1 + (i % 15), y = 16 + i;
      return [Uint8Array.of(x, y), Uint8Array.of(x * 16 + (y >> 4), y & 15)];
    }],
    ["number vs string", (i) => [i, String(i)]],
    ["nested number vs string", (i) => [{ ID: i }, { ID: String(i) }]],
    ["Date vs ISO text", (i) => {
      const d = new Date(1700000000000 + i * 60000);
      return [{ at: d }, { at: d.toISOString() }];
    }],
  ];
  for (const [name, make] of families) {
    let together = 0;
    for (let i = 0; i < 200; i++) {
      const [a, b] = make(i);
      if (s.select("Users", "Get", a) === s.select("Users", "Get", b)) together++;
    }
    assert.ok(together < 80, `${name}: ${together} of 200 pairs on one server`);
  }
});

Deno.test("ConsistentHash: equal args pick the same server in any form, in any selector", () => {
  const keys = servers(5);
  const s = new ConsistentHashSelector();
  s.update(pairs(keys));
  const t = new ConsistentHashSelector();
  t.update(pairs([...keys].reverse()));
  const big = 2n ** 60n;
  const forms = (i: number): [string, unknown, unknown][] => {
    const bytes = Uint8Array.of(0, i & 255, i >> 8, 9);
    return [
      ["property order", { A: i, B: "b", C: [i] }, { C: [i], B: "b", A: i }],
      ["number vs bigint", { ID: i }, { ID: BigInt(i) }],
      ["large number vs bigint", { ID: Number(big) + i * 256 }, { ID: big + BigInt(i * 256) }],
      ["undefined property", { A: i, B: undefined }, { A: i }],
      ["null vs undefined", [i, null], [i, undefined]],
      ["bytes in any view", bytes, new DataView(bytes.slice().buffer)],
      ["Uint8Array vs ArrayBuffer", { b: bytes }, { b: bytes.slice().buffer }],
      ["Map insertion order", new Map([["a", i], ["b", 2]]), new Map([["b", 2], ["a", i]])],
      ["Set insertion order", new Set([i, "x"]), new Set(["x", i])],
      ["Date copies", { at: new Date(i * 1000) }, { at: new Date(i * 1000) }],
    ];
  };
  for (let i = 0; i < 200; i++) {
    for (const [name, a, b] of forms(i)) {
      const want = s.select("Users", "Get", a);
      assert.equal(s.select("Users", "Get", b), want, `${name} #${i}`);
      assert.equal(s.select("Users", "Get", a), want, `${name} #${i} again`);
      assert.equal(t.select("Users", "Get", b), want, `${name} #${i}, list reversed`);
    }
  }
});

Deno.test("ConsistentHash: for keys of every kind, a server joining takes ~1/n, only to itself", () => {
  const base = [9010, 9020, 9030, 9040].map((p) => `tcp@127.0.0.1:${p}`);
  const before = new ConsistentHashSelector();
  before.update(pairs(base));
  // First, in the middle and last in sort order.
  for (const joiner of ["tcp@127.0.0.1:9001", "tcp@127.0.0.1:9025", "tcp@127.0.0.1:9099"]) {
    const after = new ConsistentHashSelector();
    after.update(pairs([...base, joiner]));
    for (const kind of KIND_NAMES) {
      let moved = 0;
      for (const k of KIND_ARGS) {
        const was = before.select("Users", "Get", k[kind]);
        const is = after.select("Users", "Get", k[kind]);
        if (is === was) continue;
        moved++;
        assert.equal(is, joiner, `${kind}: a key moved between old servers`);
      }
      // 1/5 of 200 expected: 40.
      assert.ok(moved >= 15 && moved <= 70, `${kind}: ${joiner} took ${moved} of 200`);
    }
  }
});

Deno.test("ConsistentHash: another process maps keys of every kind alike", async () => {
  const keys = servers(7);
  const code = `
    import { ConsistentHashSelector } from "@rpcx/core/extend";
    const kinds = ${kinds.toString()};
    const s = new ConsistentHashSelector();
    s.update(${JSON.stringify(pairs([...keys].reverse()))});
    const out = [];
    for (let i = 0; i < 200; i++) {
      for (const a of Object.values(kinds(i))) out.push(s.select("Users", "Get", a));
    }
    console.log(JSON.stringify(out));
  `;
  const out = await runBounded(Deno.execPath(), {
    args: ["eval", "--no-lock", code],
    cwd: REPO_ROOT,
  });
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  const s = new ConsistentHashSelector();
  s.update(pairs(keys));
  const ours = KIND_ARGS.flatMap((k) => selectAll(s, Object.values(k)));
  assert.deepEqual(JSON.parse(new TextDecoder().decode(out.stdout)), ours);
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
      // int64 ids as they arrive from Go (bigint beyond 2^53), sent with MsgPack: spread too.
      const idOwners = new Set<unknown>();
      for (let i = 0; i < 30; i++) {
        const args = { ID: 9007199254740993n + BigInt(i) };
        const who = await x.call("Who", args);
        assert.equal(await y.call("Who", args), who, `ID #${i}`);
        idOwners.add(who);
      }
      assert.equal(idOwners.size, 3, "30 bigint ids reach all three servers");
    } finally {
      await d2.close();
    }
  } finally {
    for (const c of clients) await c.close();
    await d.close();
    for (const s of started) await s.close();
  }
});

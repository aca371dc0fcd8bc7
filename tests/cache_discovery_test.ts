// CacheDiscovery (Go's client.CacheDiscovery): the file (Go's format, atomic writes), threshold,
// corrupt / stale / unreadable / unwritable files, and a client restarted while a real etcd is
// down (tests/support/etcd_server.ts) that still calls from the cached list.
import assert from "node:assert/strict";
import {
  CacheDiscovery,
  type CacheFileError,
  type CacheFileErrorEvent,
  FailMode,
  MultipleServersDiscovery,
  NoServerAvailableError,
  SelectMode,
  Server,
  setLogger,
  silentLogger,
  XClient,
} from "@rpcx/core";
import type { KVPair } from "@rpcx/core/extend";
import { EtcdDiscovery, EtcdRegisterPlugin } from "@rpcx/core/etcd";
import { type EtcdServer, startEtcd } from "./support/etcd_server.ts";
import { bounded, delay, waitFor } from "./support/env.ts";
import { CountedArith, MUL } from "./support/registry_scenarios.ts";

// The warnings the cache logs are asserted through its events here.
setLogger(silentLogger);

const A: KVPair = { key: "tcp@127.0.0.1:8972", value: "weight=10&group=a" };
const B: KVPair = { key: "tcp@[::1]:8973", value: "<x> é \u2028" };
const C: KVPair = { key: "tcp@127.0.0.1:8974", value: "" };
/** Go rpcx v1.9.4's `json.Marshal([]*KVPair{A, B})` (go run, encoding/json). */
const GO_FILE = '[{"Key":"tcp@127.0.0.1:8972","Value":"weight=10\\u0026group=a"},' +
  '{"Key":"tcp@[::1]:8973","Value":"\\u003cx\\u003e é \\u2028"}]';

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "rpcx-cache-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** A discovery that has no list yet and lists what the test says (a real BaseDiscovery). */
class Later extends MultipleServersDiscovery {
  constructor() {
    super([]);
  }
  override ready(): Promise<void> {
    return this.#ready;
  }
  #resolve!: () => void;
  #ready = new Promise<void>((r) => (this.#resolve = r));
  override update(pairs: KVPair[]): void {
    super.update(pairs);
    this.#resolve();
  }
  /** Reports an outage as a registry would. */
  fail(): void {
    this.reportOutage(new Error("registry down"), 1, 1000);
  }
}

function problems(d: CacheDiscovery): CacheFileError[] {
  const list: CacheFileError[] = [];
  d.addEventListener("cacheerror", (e) => list.push((e as CacheFileErrorEvent).error));
  return list;
}

Deno.test("cache: the file is Go's json.Marshal of []*KVPair, byte for byte, and Go's file is read", async () => {
  await withDir(async (dir) => {
    const file = `${dir}/sub/dir/discovery.json`; // directories made as Go's MkdirAll
    const d = new CacheDiscovery(0, file, new MultipleServersDiscovery([A, B]));
    await bounded(d.ready(), 3000, "ready");
    await d.flushed();
    assert.equal(await Deno.readTextFile(file), GO_FILE);
    assert.equal((await Deno.stat(file)).mode! & 0o777, 0o644);
    await d.close();
    // a file Go wrote, read back by a client whose registry has nothing yet
    const file2 = `${dir}/go.json`;
    await Deno.writeTextFile(file2, GO_FILE);
    const later = new Later();
    const e = new CacheDiscovery(0, file2, later, { fallbackAfterMs: 50 });
    await bounded(e.ready(), 3000, "ready from the file");
    assert.deepEqual(e.getServices(), [A, B]);
    assert.equal(e.fromCache, true);
    await e.close();
    // Go's field names match without case, Value may be missing or null (as Go's Unmarshal)
    await Deno.writeTextFile(file2, '[{"key":"tcp@h:1"},{"KEY":"tcp@h:2","value":null}]');
    const f = new CacheDiscovery(0, file2, new Later(), { fallbackAfterMs: 0 });
    await bounded(f.ready(), 3000, "ready from the file");
    assert.deepEqual(f.getServices(), [{ key: "tcp@h:1", value: "" }, {
      key: "tcp@h:2",
      value: "",
    }]);
    await f.close();
  });
});

Deno.test("cache: lists above the threshold are served and written (shrinking too); lists at or below it are replaced by the cached one", async () => {
  await withDir(async (dir) => {
    const file = `${dir}/c.json`;
    const inner = new MultipleServersDiscovery([A, B, C]);
    const d = new CacheDiscovery(1, file, inner);
    const seen: KVPair[][] = [];
    d.watch((p) => seen.push(p));
    try {
      await bounded(d.ready(), 3000, "ready");
      await d.flushed();
      assert.deepEqual(JSON.parse(await Deno.readTextFile(file)).length, 3);
      inner.update([A, C]); // 2 > 1: served and written (Go writes only longer lists)
      await waitFor("served", () => d.getServices().length === 2, 2000, 5);
      await d.flushed();
      assert.deepEqual(
        JSON.parse(await Deno.readTextFile(file)).map((p: { Key: string }) => p.Key),
        [A.key, C.key],
      );
      assert.equal(d.fromCache, false);
      inner.update([C]); // 1 ≤ 1: not trusted, the cached [A, C] stays
      await delay(20);
      assert.deepEqual(d.getServices(), [A, C]);
      assert.equal(d.fromCache, true);
      inner.update([]);
      await delay(20);
      assert.deepEqual(d.getServices(), [A, C]);
      await d.flushed();
      assert.equal(JSON.parse(await Deno.readTextFile(file)).length, 2, "file unchanged");
      inner.update([B, C]);
      await waitFor("the registry's list again", () => d.fromCache === false, 2000, 5);
      assert.deepEqual(d.getServices(), [B, C]);
      assert.deepEqual(seen.at(-1), [B, C]);
      // the filter applies to what is served, not to what is cached
      d.setFilter((p) => p.key === C.key);
      assert.deepEqual(d.getServices(), [C]);
      await d.flushed();
      assert.equal(JSON.parse(await Deno.readTextFile(file)).length, 2);
    } finally {
      await d.close();
    }
  });
});

Deno.test("cache: corrupt files are ignored with a 'corrupt' event, start empty, and are overwritten by the next good list", async () => {
  const bad: [string, string | Uint8Array, RegExp][] = [
    ["truncated JSON", '[{"Key":"tcp@h:1"', /not JSON/],
    ["an object", '{"Key":"tcp@h:1"}', /not a JSON list/],
    ["a number in the list", "[1]", /entry 0 is not an object/],
    ["no Key", '[{"Value":"x"}]', /entry 0 has no Key/],
    ["a Key that is no string", '[{"Key":5}]', /entry 0 has no Key/],
    ["a Value that is no string", '[{"Key":"tcp@h:1","Value":7}]', /entry 0 has a Value/],
    ["binary", new Uint8Array([0xff, 0xfe, 0x00, 0x01]), /not JSON/],
    ["over 16 MiB", new Uint8Array(16 * 1024 * 1024 + 1).fill(0x20), /over 16777216/],
  ];
  await withDir(async (dir) => {
    for (const [what, content, detail] of bad) {
      const file = `${dir}/bad.json`;
      if (typeof content === "string") await Deno.writeTextFile(file, content);
      else await Deno.writeFile(file, content);
      const later = new Later();
      const d = new CacheDiscovery(0, file, later, { fallbackAfterMs: 0 });
      const seen = problems(d);
      try {
        await waitFor(`a problem for ${what}`, () => seen.length > 0, 3000, 5);
        assert.equal(seen[0].problem, "corrupt", what);
        assert.equal(seen[0].path, file);
        assert.match(seen[0].message, detail, what);
        await delay(20);
        let ready = false;
        void d.ready().then(() => (ready = true));
        await delay(20);
        assert.equal(ready, false, `${what}: nothing served`);
        later.update([C]);
        await bounded(d.ready(), 3000, "the registry's list");
        await d.flushed();
        assert.equal(await Deno.readTextFile(file), '[{"Key":"tcp@127.0.0.1:8974","Value":""}]');
        assert.equal(seen.length, 1, what);
      } finally {
        await d.close();
      }
    }
  });
});

Deno.test("cache: a stale file (older than maxAgeMs) is not used; without maxAgeMs it is (as Go); the age is renewed while the registry answers", async () => {
  await withDir(async (dir) => {
    const file = `${dir}/old.json`;
    await Deno.writeTextFile(file, GO_FILE);
    const twoHoursAgo = new Date(Date.now() - 2 * 3600_000);
    await Deno.utime(file, twoHoursAgo, twoHoursAgo);

    const stale = new CacheDiscovery(0, file, new Later(), {
      maxAgeMs: 3600_000,
      fallbackAfterMs: 0,
    });
    const seen = problems(stale);
    await waitFor("the stale event", () => seen.length > 0, 3000, 5);
    assert.equal(seen[0].problem, "stale");
    assert.match(seen[0].message, /written \d+ ms ago, over maxAgeMs 3600000/);
    await delay(50);
    assert.deepEqual(stale.getServices(), []);
    await stale.close();

    const noLimit = new CacheDiscovery(0, file, new Later(), { fallbackAfterMs: 0 });
    await bounded(noLimit.ready(), 3000, "served from the old file");
    assert.deepEqual(noLimit.getServices(), [A, B]);
    await noLimit.close();

    // The registry answers with the same list for a long time: the file's age keeps renewing,
    // so a client restarted later still uses it.
    const inner = new MultipleServersDiscovery([A, B]);
    const live = new CacheDiscovery(0, file, inner, { maxAgeMs: 400 });
    await bounded(live.ready(), 3000, "ready");
    await delay(1000); // 2.5 × maxAgeMs with no change of the list
    await live.flushed();
    const age = Date.now() - (await Deno.stat(file)).mtime!.getTime();
    assert.ok(age < 400, `the file was confirmed ${age} ms ago`);
    await live.close();
    const next = new CacheDiscovery(0, file, new Later(), { maxAgeMs: 400, fallbackAfterMs: 0 });
    await bounded(next.ready(), 3000, "a restarted client uses it");
    await next.close();
  });
});

Deno.test("cache: an unwritable path ('write' event, list served from memory, retried at the next change); an unreadable one ('read')", async () => {
  await withDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/plain`, "a file, not a directory");
    const file = `${dir}/plain/cache.json`; // unwritable even for root
    const inner = new MultipleServersDiscovery([A]);
    const d = new CacheDiscovery(0, file, inner);
    const seen = problems(d);
    await bounded(d.ready(), 3000, "ready");
    await d.flushed();
    assert.deepEqual(d.getServices(), [A]);
    // its parent is no directory: it can be neither read at start nor written
    assert.deepEqual(seen.map((p) => p.problem), ["read", "write"]);
    assert.ok(seen[1].cause instanceof Error);
    assert.match(seen[1].message, /^cache file .*\/plain\/cache\.json: write: /);
    inner.update([A, C]);
    await waitFor("served", () => d.getServices().length === 2, 2000, 5);
    await d.flushed();
    assert.deepEqual(seen.map((p) => p.problem), ["read", "write", "write"], "tried again");
    assert.deepEqual(d.cached, [A, C]);
    await d.close();

    // a directory where the file should be: 'read' at start, and the writes fail too
    await Deno.mkdir(`${dir}/adir`);
    const e = new CacheDiscovery(0, `${dir}/adir`, new MultipleServersDiscovery([A]));
    const seen2 = problems(e);
    await bounded(e.ready(), 3000, "ready");
    await e.flushed();
    assert.deepEqual(seen2.map((p) => p.problem), ["read", "write"]);
    await e.close();
    assert.deepEqual([...Deno.readDirSync(dir)].map((x) => x.name).sort(), ["adir", "plain"]);
  });
});

Deno.test("cache: writes are atomic (a reader never sees a partial file) and leave no temp file", async () => {
  await withDir(async (dir) => {
    const file = `${dir}/c.json`;
    const inner = new MultipleServersDiscovery([A]);
    const d = new CacheDiscovery(0, file, inner);
    await bounded(d.ready(), 3000, "ready");
    // a big list, so that a non-atomic write would be seen half done
    const big = (n: number) =>
      Array.from(
        { length: 2000 },
        (_, i) => ({ key: `tcp@10.0.${n}.${i}:8972`, value: "x".repeat(50) }),
      );
    let reads = 0;
    const partial: string[] = [];
    let writing = true;
    const reader = (async () => {
      while (writing) {
        const text = await Deno.readTextFile(file).catch(() => undefined);
        if (text !== undefined) {
          reads++;
          try {
            const list = JSON.parse(text);
            if (!(Array.isArray(list) && (list.length === 1 || list.length === 2000))) {
              partial.push(text.slice(0, 80));
            }
          } catch {
            partial.push(`${text.length} chars: ${text.slice(-40)}`);
          }
        }
        await delay(0);
      }
    })();
    for (let n = 0; n < 30; n++) {
      inner.update(big(n));
      await d.flushed();
    }
    writing = false;
    await reader;
    assert.deepEqual(partial, [], "reads of a file half written");
    assert.ok(reads > 10, `${reads} reads`);
    assert.equal(JSON.parse(await Deno.readTextFile(file))[0].Key, "tcp@10.0.29.0:8972");
    assert.deepEqual([...Deno.readDirSync(dir)].map((x) => x.name), ["c.json"]);
    await d.close();
  });
});

Deno.test("cache: Go's default file, argument checks, clone() into its own file, events passed on, close() closes the wrapped discovery", async () => {
  const d = new CacheDiscovery(0, "", new Later());
  assert.equal(d.file, ".cache/discovery.json");
  await d.close();
  assert.throws(() => new CacheDiscovery(-1, "x", new Later()), /threshold -1/);
  assert.throws(() => new CacheDiscovery(1.5, "x", new Later()), /threshold 1.5/);
  assert.throws(
    () => new CacheDiscovery(0, "x", new Later(), { maxAgeMs: -5 }),
    /maxAgeMs -5 is not a number of ms >= 0/,
  );
  await withDir(async (dir) => {
    const inner = new Later();
    const e = new CacheDiscovery(0, `${dir}/c.json`, inner, { fallbackAfterMs: 0 });
    const c = e.clone("Echo/v2") as CacheDiscovery;
    assert.equal(c.file, `${dir}/c.Echo%2Fv2.json`);
    const noExt = new CacheDiscovery(0, `${dir}/.hidden`, new Later()).clone("S") as CacheDiscovery;
    assert.equal(noExt.file, `${dir}/.hidden.S`);
    const events: string[] = [];
    e.addEventListener("outage", () => events.push("outage"));
    e.addEventListener("recovered", () => events.push("recovered"));
    inner.fail();
    assert.equal(e.inOutage, true);
    inner.update([A]);
    await bounded(e.ready(), 3000, "ready");
    assert.deepEqual(events, ["outage"]); // MultipleServers never recovers by itself
    await c.close();
    await noExt.close();
    let closed = false;
    const realClose = inner.close.bind(inner);
    inner.close = () => {
      closed = true;
      return realClose();
    };
    await e.close();
    assert.ok(closed);
  });
});

// ---------------------------------------------------------------------------------------------
// With a real etcd.

async function serveRegistered(etcd: EtcdServer, basePath: string) {
  const server = new Server();
  server.use(
    new EtcdRegisterPlugin({
      servers: [etcd.endpoint],
      basePath,
      updateInterval: 1000,
      expired: 30_000, // long enough to outlive the outage: the key is still there after it
    }),
  );
  const service = new CountedArith();
  await server.register(service, "Arith");
  const addr = await server.serve("tcp", "127.0.0.1:0");
  return { server, service, key: `tcp@${addr}` };
}

function cachedEtcd(etcd: EtcdServer, basePath: string, file: string): CacheDiscovery {
  return new CacheDiscovery(
    0,
    file,
    new EtcdDiscovery(basePath, "Arith", [etcd.endpoint], {
      retryInitialMs: 100,
      retryMaxMs: 500,
    }),
  );
}

function xclientOf(d: CacheDiscovery | EtcdDiscovery): XClient {
  return new XClient("Arith", FailMode.Failover, SelectMode.RoundRobin, d, {
    connectTimeout: 1000,
    discoveryTimeout: 3000,
  });
}

Deno.test("cache + etcd: a client started while etcd is down calls from the file; when etcd is back and the list changes, the cache follows", async () => {
  const etcd = await startEtcd();
  if (!etcd) return;
  const dir = await Deno.makeTempDir({ prefix: "rpcx-cache-etcd-" });
  const file = `${dir}/arith.json`;
  const basePath = "/rpcx_cache_test";
  const s1 = await serveRegistered(etcd, basePath);
  let s2: Awaited<ReturnType<typeof serveRegistered>> | undefined;
  const closers: (() => Promise<void>)[] = [];
  try {
    // Client A, with etcd up: the file is written.
    const dA = cachedEtcd(etcd, basePath, file);
    const xA = xclientOf(dA);
    closers.push(() => xA.close(), () => dA.close());
    assert.deepEqual(await xA.call("Mul", MUL), { C: 200 });
    await dA.flushed();
    assert.deepEqual(JSON.parse(await Deno.readTextFile(file)), [{ Key: s1.key, Value: "" }]);

    // etcd stops. A goes on from its list.
    await etcd.halt();
    assert.deepEqual(await xA.call("Mul", MUL), { C: 200 });

    // Without the cache, a client started now finds no server (the old behaviour)...
    const plain = new EtcdDiscovery(basePath, "Arith", [etcd.endpoint], { retryInitialMs: 100 });
    const xPlain = new XClient("Arith", FailMode.Failover, SelectMode.RoundRobin, plain, {
      discoveryTimeout: 1500,
    });
    closers.push(() => xPlain.close(), () => plain.close());
    await assert.rejects(xPlain.call("Mul", MUL), NoServerAvailableError);

    // ...a NEW client B with the cache calls the server from the file.
    const dB = cachedEtcd(etcd, basePath, file);
    const xB = xclientOf(dB);
    closers.push(() => xB.close(), () => dB.close());
    let outages = 0;
    dB.addEventListener("outage", () => outages++);
    const t0 = Date.now();
    assert.deepEqual(await xB.call("Mul", MUL), { C: 200 });
    const firstCallMs = Date.now() - t0;
    console.log(`client B's first call during the outage took ${firstCallMs} ms`);
    assert.equal(dB.fromCache, true);
    assert.ok(outages >= 1, "B saw the outage");
    assert.ok(dB.inOutage);
    assert.deepEqual(dB.getServices(), [{ key: s1.key, value: "" }]);
    assert.ok(firstCallMs < 1000 + 1000, `served within fallbackAfterMs (${firstCallMs} ms)`);
    const hits = s1.service.hits;
    for (let i = 0; i < 3; i++) await xB.call("Mul", MUL);
    assert.equal(s1.service.hits, hits + 3);

    // etcd comes back; a second server registers: B's list and the file follow.
    await etcd.resume();
    await waitFor("B recovered", () => !dB.inOutage && !dB.fromCache, 10_000);
    s2 = await serveRegistered(etcd, basePath);
    await waitFor("B lists the new server", () => dB.getServices().length === 2, 10_000);
    await dB.flushed();
    const keys = () =>
      Deno.readTextFile(file).then((t) =>
        JSON.parse(t).map((p: { Key: string }) => p.Key).sort().join(",")
      );
    assert.equal(await keys(), [s1.key, s2.key].sort().join(","));
    for (let i = 0; i < 4; i++) await xB.call("Mul", MUL);
    assert.ok(s2.service.hits >= 2, "B calls the new server");

    // the first server leaves (graceful shutdown unregisters it): the file shrinks with it
    await s1.server.shutdown({ timeout: 1000 });
    await waitFor("B drops the first server", () => dB.getServices().length === 1, 10_000);
    await dB.flushed();
    assert.equal(await keys(), s2.key);
  } finally {
    for (const close of closers.reverse()) await close().catch(() => {});
    await s2?.server.close();
    await s1.server.close();
    await etcd.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

// The admin page (`rpcx ui`) in headless Chromium driven by puppeteer-core: it lists a Go server
// and a Deno server registered in etcd, a click deactivates one and an XClient stops choosing
// it, Save writes weight and group, and the page follows the registry live. A screenshot is
// written to $RPCX_UI_SCREENSHOT (default /tmp/rpcx-admin-ui.png).
import assert from "node:assert/strict";
import puppeteer, { type Browser } from "puppeteer-core";
import { Etcd3 } from "etcd3";
import { Server } from "@rpcx/core";
import { EtcdDiscovery, EtcdRegisterPlugin } from "@rpcx/core/etcd";
import { CountedArith, MUL, xclientOf } from "./support/registry_scenarios.ts";
import { findExecutable, freePort, needs, waitFor } from "./support/env.ts";
import { GO_ARITH_WEIGHT_5, GO_PEER, type GoServer, startGoServer } from "./support/go_peer.ts";
import { startEtcd } from "./support/etcd_server.ts";
import { rpcx, spawnRpcx, uiServing } from "./support/rpcx_cli.ts";
import { serveAdmin } from "@rpcx/core/cli";
import { GO_QUERY_NODES } from "./support/go_metadata.ts";

const CHROMIUM = findExecutable("/usr/bin/chromium", "chromium", "chromium-browser");
const SCREENSHOT = Deno.env.get("RPCX_UI_SCREENSHOT") ?? "/tmp/rpcx-admin-ui.png";

Deno.test("rpcx ui in Chromium: Go and Deno servers listed, a click deactivates one, XClient follows", async () => {
  if (!needs("chromium", CHROMIUM ? undefined : "not installed (.ci/install/70-chromium.sh)")) {
    return;
  }
  const etcd = await startEtcd();
  if (!etcd) return;
  const raw = new Etcd3({ hosts: etcd.endpoint });
  const url = `etcd://${etcd.endpoint}/rpcx_test`;
  const deno = new Server();
  deno.use(
    new EtcdRegisterPlugin({
      servers: [etcd.endpoint],
      basePath: "/rpcx_test",
      updateInterval: 1000,
    }),
  );
  const arith = new CountedArith();
  await deno.register(arith, "Arith", "weight=1");
  const denoKey = `tcp@${await deno.serve("tcp", "127.0.0.1:0")}`;
  let go: GoServer | undefined;
  if (needs("Go rpcx peer", GO_PEER ? undefined : ".cache/bin/rpcxpeer missing")) {
    go = await startGoServer(
      { registry: "etcd", registryAddr: etcd.endpoint, base: "/rpcx_test" },
      GO_ARITH_WEIGHT_5,
    );
  }
  const addr = `127.0.0.1:${freePort()}`;
  // Two registries: etcd, and the Deno server named directly (read-only, listed by heartbeat).
  const ui = spawnRpcx(["ui", "-r", url, "-r", denoKey, "--addr", addr, "-i", "300"]);
  const d = new EtcdDiscovery("/rpcx_test", "Arith", [etcd.endpoint]);
  const x = xclientOf(d);
  let browser: Browser | undefined;
  let code: number | undefined;
  const node = async (key: string) => await raw.get(`/rpcx_test/Arith/${key}`).string();
  try {
    await uiServing(ui, `http://${addr}`);
    browser = await puppeteer.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
    });
    const page = await browser.newPage();
    await page.setViewport({ width: 1100, height: 520 });
    await page.goto(`http://${addr}/`);
    const keys = [denoKey, ...(go ? [go.key] : [])];
    const section = `section[data-registry="${url}"]`;
    const row = (key: string) => `${section} tr[data-service="Arith"][data-key="${key}"]`;
    const direct = `section[data-registry="${denoKey}"] tr[data-key="${denoKey}"]`;
    await page.waitForSelector(direct, { timeout: 20_000 });
    assert.equal(
      await page.$eval(`${direct} button.toggle`, (e) => e.hasAttribute("disabled")),
      true,
    );
    assert.match(
      await page.$eval(`section[data-registry="${denoKey}"] h2`, (e) => e.textContent ?? ""),
      /\(read-only\)$/,
    );
    for (const k of keys) await page.waitForSelector(row(k), { timeout: 20_000 });
    const stateOf = (key: string) => page.$eval(`${row(key)} .state`, (e) => e.textContent);
    for (const k of keys) assert.equal(await stateOf(k), "active");
    if (go) {
      assert.equal(
        await page.$eval(
          `${row(go.key)} .weight`,
          (e) => (e as unknown as { value: string }).value,
        ),
        "5",
      );
    }

    // A click deactivates the Go server (the Deno one without Go): written in Go's layout, shown
    // live, and the XClient stops choosing it.
    await waitFor("XClient sees every server", () => x.servers.length === keys.length, 10_000);
    const target = go ? go.key : denoKey;
    await page.click(`${row(target)} button.toggle`);
    const textIs = (sel: string, text: string) =>
      page.waitForFunction(
        `document.querySelector(${JSON.stringify(sel)})?.textContent === ${JSON.stringify(text)}`,
        { timeout: 10_000 },
      );
    await textIs(`${row(target)} .state`, "inactive");
    assert.match((await node(target))!, /(^|&)state=inactive(&|$)/);
    await waitFor("XClient stops choosing it", () => !x.servers.includes(target), 10_000);
    if (go) {
      const before = arith.hits;
      for (let i = 0; i < 6; i++) assert.deepEqual(await x.call("Mul", MUL), { C: 200 });
      assert.equal(arith.hits, before + 6, "every call went to the Deno server");
    }
    assert.equal(
      await page.$eval(`${row(target)} button.toggle`, (e) => e.textContent),
      "Activate",
    );

    // Weight and group of the Deno server, typed and saved (keys sorted, as Go's Encode).
    const want = go ? "group=canary&weight=9" : "group=canary&state=inactive&weight=9";
    await page.click(`${row(denoKey)} .weight`, { count: 3 });
    await page.type(`${row(denoKey)} .weight`, "9");
    await page.click(`${row(denoKey)} .group`);
    await page.type(`${row(denoKey)} .group`, "canary");
    await page.click(`${row(denoKey)} button.save`);
    await waitFor("weight and group written", async () => {
      const v = await node(denoKey);
      return v === want;
    }, 10_000);
    await textIs(`${row(denoKey)} .meta`, want);

    // Live: a change made outside the page (a new server) shows up without a reload.
    const extra = new Server();
    extra.use(
      new EtcdRegisterPlugin({
        servers: [etcd.endpoint],
        basePath: "/rpcx_test",
        updateInterval: 1000,
      }),
    );
    await extra.register(new CountedArith(), "Arith", "weight=2");
    const extraKey = `tcp@${await extra.serve("tcp", "127.0.0.1:0")}`;
    try {
      await page.waitForSelector(row(extraKey), { timeout: 10_000 });
      await page.screenshot({ path: SCREENSHOT, fullPage: true });
      console.log(`screenshot: ${SCREENSHOT}`);
    } finally {
      await extra.close();
    }
    await page.waitForSelector(row(extraKey), { hidden: true, timeout: 10_000 });

    // And back: Activate puts the server in the XClient's choice again.
    await page.click(`${row(target)} button.toggle`);
    await waitFor("XClient chooses it again", () => x.servers.includes(target), 10_000);
    assert.match((await node(target))!, /state=active/);
  } finally {
    await browser?.close();
    code = await ui.stop();
    await x.close();
    await d.close();
    await go?.stop();
    await deno.close();
    raw.close();
    await etcd.stop();
  }
  assert.equal(code, 0, "rpcx ui exits 0 on SIGINT");
});

Deno.test("rpcx ui reads metadata by Go's url.ParseQuery, on the server and so on the page (;, bad %, +, a key without =)", async () => {
  const etcd = await startEtcd();
  if (!etcd) return;
  const raw = new Etcd3({ hosts: etcd.endpoint });
  const registry = `etcd://${etcd.endpoint}/rpcx_go`;
  for (const [key, meta] of Object.entries(GO_QUERY_NODES)) {
    await raw.put(`/rpcx_go/Arith/${key}`).value(meta);
  }
  const ui = await serveAdmin({ registries: [registry], addr: "127.0.0.1:0", interval: 60_000 });
  let browser: Browser | undefined;
  // Each server as Go's client reads it: metadata Go cannot parse is ignored.
  const want = [
    ["tcp@127.0.0.1:1", "active", "", ""],
    ["tcp@127.0.0.1:2", "active", "", ""],
    ["tcp@127.0.0.1:3", "active", "", ""],
    ["tcp@127.0.0.1:4", "active", "2", "a b"],
  ];
  try {
    type Node = { key: string; state: string; weight?: string; groups: string[] };
    let nodes: Node[] = [];
    await waitFor("the nodes listed", async () => {
      const r = await fetch(new URL("/api/nodes", ui.url));
      nodes = (await r.json()).registries[0].nodes;
      return nodes.length === want.length;
    }, 10_000);
    assert.deepEqual(
      nodes.map((n) => [n.key, n.state, n.weight ?? "", (n.groups ?? []).join(",")]),
      want,
    );
    if (!needs("chromium", CHROMIUM ? undefined : "not installed (.ci/install/70-chromium.sh)")) {
      return;
    }
    browser = await puppeteer.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
    });
    const page = await browser.newPage();
    await page.goto(ui.url);
    const row = (key: string) => `tr[data-service="Arith"][data-key="${key}"]`;
    for (const [key] of want) await page.waitForSelector(row(key), { timeout: 20_000 });
    const shown = [];
    for (const [key] of want) {
      shown.push([
        key,
        await page.$eval(`${row(key)} .state`, (e) => e.textContent ?? ""),
        await page.$eval(`${row(key)} .weight`, (e) => (e as unknown as { value: string }).value),
        await page.$eval(`${row(key)} .group`, (e) => (e as unknown as { value: string }).value),
      ]);
    }
    assert.deepEqual(shown, want);
  } finally {
    await browser?.close();
    await ui.shutdown();
    raw.close();
    await etcd.stop();
  }
});

Deno.test("rpcx ui POST /api/set: bad requests get a 4xx naming what is wrong", async () => {
  const reg = `tcp@127.0.0.1:${freePort()}`;
  const ui = await serveAdmin({ registries: [reg], addr: "127.0.0.1:0", interval: 60_000 });
  try {
    const post = async (body: string, type = "application/json") => {
      const r = await fetch(new URL("/api/set", ui.url), {
        method: "POST",
        headers: { "content-type": type },
        body,
      });
      return { status: r.status, error: (await r.json()).error as string };
    };
    assert.deepEqual(await post("garbage"), { status: 400, error: "body is not JSON" });
    assert.deepEqual(await post("{}", "text/plain"), {
      status: 415,
      error: "send the body with Content-Type: application/json",
    });
    const set = { service: "Arith", key: "tcp@127.0.0.1:1", set: ["state=inactive"] };
    const other = await post(JSON.stringify({ registry: "etcd://127.0.0.1:1/x", ...set }));
    assert.deepEqual(other, {
      status: 404,
      error: `registry etcd://127.0.0.1:1/x is not on this page (it shows ${reg})`,
    });
    for (const notObject of ["null", "3", '"x"']) {
      const r = await post(notObject);
      assert.equal(r.status, 400, notObject);
      assert.match(r.error, /^expected \{registry, service, key, set/, notObject);
    }
    const shape = await post(JSON.stringify({ registry: reg, service: "Arith" }));
    assert.equal(shape.status, 400);
    assert.match(shape.error, /^expected \{registry, service, key, set/);
    const readOnly = await post(JSON.stringify({ registry: reg, ...set }));
    assert.equal(readOnly.status, 400);
    assert.match(readOnly.error, /no registry to write to/);
  } finally {
    await ui.shutdown();
  }
});

Deno.test("rpcx ui reads its registry from RPCX_REGISTRY, as the other commands do", async () => {
  const reg = `tcp@127.0.0.1:${freePort()}`;
  const addr = `127.0.0.1:${freePort()}`;
  const ui = spawnRpcx(["ui", "--addr", addr, "-i", "60000"], { RPCX_REGISTRY: reg });
  let code: number | undefined;
  try {
    await uiServing(ui, `http://${addr}`, "the page up");
    const snapshot = await (await fetch(`http://${addr}/api/nodes`)).json();
    assert.deepEqual(snapshot.registries.map((r: { url: string }) => r.url), [reg]);
  } finally {
    code = await ui.stop();
  }
  assert.equal(code, 0);
});

Deno.test("rpcx ui binds 127.0.0.1:8080 by default: loopback only", async () => {
  // 8080 is the default; no test takes it otherwise (tests use freePort(), 20000-31999).
  try {
    Deno.listen({ hostname: "0.0.0.0", port: 8080 }).close();
  } catch (e) {
    throw new Error(`this test needs port 8080 free (rpcx ui's default): ${e}`);
  }
  const reg = `tcp@127.0.0.1:${freePort()}`;
  const ui = spawnRpcx(["ui", "-r", reg, "-i", "60000"]);
  let code: number | undefined;
  try {
    await uiServing(ui, "http://127.0.0.1:8080", "the page up");
    const res = await fetch("http://127.0.0.1:8080/api/nodes");
    assert.equal(res.status, 200);
    await res.body?.cancel();
    // Bound to 127.0.0.1, not to every address: 127.0.0.2 (loopback too, on Linux) and the
    // machine's other addresses find nothing listening.
    const others = [
      "127.0.0.2",
      ...Deno.networkInterfaces()
        .filter((i) => i.family === "IPv4" && !i.address.startsWith("127."))
        .map((i) => i.address),
    ];
    for (const hostname of others) {
      await assert.rejects(
        Deno.connect({ hostname, port: 8080 }).then((c) => c.close()),
        Deno.errors.ConnectionRefused,
        hostname,
      );
    }
  } finally {
    code = await ui.stop();
  }
  assert.equal(code, 0);
});

Deno.test("rpcx ui re-applies an edit a server's refresh wrote back (in the background)", async () => {
  const etcd = await startEtcd();
  if (!etcd) return;
  const raw = new Etcd3({ hosts: etcd.endpoint });
  const registry = `etcd://${etcd.endpoint}/rpcx_test`;
  const key = `tcp@127.0.0.1:${freePort()}`;
  const path = `/rpcx_test/Arith/${key}`;
  await raw.put(path).value("weight=1");
  const addr = `127.0.0.1:${freePort()}`;
  // The CLI's settle: the default 1000 ms.
  const ui = spawnRpcx(["ui", "-r", registry, "--addr", addr, "-i", "60000"]);
  let code: number | undefined;
  try {
    await uiServing(ui, `http://${addr}`, "the page up");
    const res = await fetch(`http://${addr}/api/set`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ registry, service: "Arith", key, set: ["state=inactive"] }),
    });
    const at = Date.now();
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { metadata: "state=inactive&weight=1" });
    // A server's refresh that read the node before the edit writes the old value back.
    await raw.put(path).value("weight=1");
    assert.ok(Date.now() - at < 800, "the write-back landed before the check (1000 ms)");
    assert.equal(await raw.get(path).string(), "weight=1");
    await waitFor("the edit re-applied", async () => {
      return (await raw.get(path).string()) === "state=inactive&weight=1";
    }, 10_000);
    // Once: the node keeps it (no more writes after the check found it held).
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(await raw.get(path).string(), "state=inactive&weight=1");
  } finally {
    code = await ui.stop();
    raw.close();
    await etcd.stop();
  }
  assert.equal(code, 0);
});

Deno.test("rpcx ui on a port that is taken exits 1 with one line saying so", async () => {
  const taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    const addr = `127.0.0.1:${taken.addr.port}`;
    const r = await rpcx(["ui", "-r", `tcp@127.0.0.1:${freePort()}`, "--addr", addr], 30_000);
    assert.equal(r.code, 1, r.err);
    assert.equal(r.err, `rpcx: ui: cannot listen on ${addr}: address already in use\n`);
  } finally {
    taken.close();
  }
});

// The admin page (`rpcx ui`) against pages it did not serve. A real page of another origin,
// served by a second local HTTP server and opened in headless Chromium, tries every way to
// write through rpcx ui (a text/plain POST with no preflight, a beacon, a form post) and to read
// from it (fetch in cors and no-cors mode, a <script> include, an EventSource, a frame); a page
// whose DNS name was rebound to rpcx ui's address tries the same from inside its origin. The
// registry node in a real etcd must stay as it was, nothing may be read, and every such request
// must be refused by rpcx ui itself (403), not only kept from the page by the browser. Then the
// page rpcx ui serves still works, and so do clients that are not browsers (curl-like fetch).
// Also: credentials (basic auth) and the refusal to bind beyond loopback without them.
import assert from "node:assert/strict";
import puppeteer, { type Browser, type Page } from "puppeteer-core";
import { Etcd3 } from "etcd3";
import { findExecutable, freePort, needs, waitFor } from "./support/env.ts";
import { startEtcd } from "./support/etcd_server.ts";
import { type CliProcess, rpcx, spawnRpcx, uiServing } from "./support/rpcx_cli.ts";
import { rawExchange } from "./support/raw_http.ts";

const CHROMIUM = findExecutable("/usr/bin/chromium", "chromium", "chromium-browser");
const NO_CHROMIUM = CHROMIUM ? undefined : "not installed (.ci/install/70-chromium.sh)";

// The attacker's page. `?ui=` is where rpcx ui is (absolute, or "/" after a DNS rebinding).
const ATTACK_HTML = `<!doctype html>
<html><head><meta charset="utf-8"><title>another site</title></head>
<body>
<a id="link" href="#">the admin page</a>
<iframe name="sink"></iframe>
<script>
const ui = new URLSearchParams(location.search).get("ui");
document.getElementById("link").href = ui;
const write = (registry, key) =>
  JSON.stringify({ registry, service: "Arith", key, set: ["state=inactive", "weight=0"] });
const settled = (p, ms) => Promise.race([p, new Promise((r) => setTimeout(() => r("timeout"), ms))]);
window.attacks = {
  // A simple request: text/plain, no custom header, so the browser sends it without preflight.
  async textPost(registry, key) {
    try {
      const r = await fetch(ui + "api/set", { method: "POST", mode: "no-cors",
        headers: { "content-type": "text/plain" }, body: write(registry, key) });
      return r.type === "opaque" ? "opaque" : r.status + " " + await r.text();
    } catch (e) {
      return "refused: " + e.name;
    }
  },
  // Possible only from the same origin (a rebound name): JSON needs a preflight elsewhere.
  async jsonPost(registry, key) {
    try {
      const r = await fetch(ui + "api/set", { method: "POST",
        headers: { "content-type": "application/json" }, body: write(registry, key) });
      return r.status + " " + await r.text();
    } catch (e) {
      return "refused: " + e.name;
    }
  },
  beacon(registry, key) {
    return navigator.sendBeacon(ui + "api/set", write(registry, key));
  },
  // A form: its text/plain encoding (name=value) makes the body the JSON rpcx ui reads.
  form(registry, key) {
    const json = write(registry, key);
    const f = document.createElement("form");
    f.method = "POST";
    f.enctype = "text/plain";
    f.action = ui + "api/set";
    f.target = "sink";
    const i = document.createElement("input");
    i.name = json.slice(0, -1) + ',"pad":"';
    i.value = '"}';
    f.append(i);
    document.body.append(f);
    const loaded = new Promise((r) => document.querySelector("iframe").onload = () => r("loaded"));
    f.submit();
    return settled(loaded, 10000);
  },
  async readCors() {
    try {
      const r = await fetch(ui + "api/nodes");
      return r.status + " " + await r.text();
    } catch (e) {
      return "refused: " + e.name;
    }
  },
  async readNoCors() {
    try {
      const r = await fetch(ui + "api/nodes", { mode: "no-cors" });
      return r.type + " " + r.status + " " + await r.text();
    } catch (e) {
      return "refused: " + e.name;
    }
  },
  script() {
    const s = document.createElement("script");
    s.src = ui + "api/nodes";
    const done = new Promise((r) => { s.onload = () => r("load"); s.onerror = () => r("error"); });
    document.body.append(s);
    return settled(done, 10000);
  },
  events() {
    const e = new EventSource(ui + "api/events");
    const done = new Promise((r) => {
      e.onmessage = (m) => r(m.data);
      e.onerror = () => r("error");
    });
    return settled(done, 10000).finally(() => e.close());
  },
  frame() {
    const f = document.createElement("iframe");
    f.id = "framed";
    f.src = ui;
    const done = new Promise((r) => f.onload = () => r("loaded"));
    document.body.append(f);
    return settled(done, 10000);
  },
};
</script>
</body></html>`;

/**
 * Every request the page sends to URLs starting with `prefix`, with the status its answer had on
 * the wire (0: none), seen through the DevTools protocol: also for answers the browser then
 * kept from the page (CORS, CORP, ORB), which puppeteer's own events report without a status.
 */
class Watch {
  #sent = new Map<string, { url: string; method: string }>();
  // By request id, for any request: CDP does not order the extra-info events with the others.
  #status = new Map<string, number>();
  private constructor(readonly prefix: string) {}
  static async on(page: Page, prefix: string): Promise<Watch> {
    const w = new Watch(prefix);
    const cdp = await page.createCDPSession();
    cdp.on("Network.requestWillBeSent", (e) => {
      if (e.request.url.startsWith(prefix) && !w.#sent.has(e.requestId)) {
        w.#sent.set(e.requestId, { url: e.request.url, method: e.request.method });
      }
    });
    // The status on the wire, also of answers the browser then kept from the page.
    const status = (id: string, code: number) => {
      if (!w.#status.has(id)) w.#status.set(id, code);
    };
    cdp.on("Network.responseReceivedExtraInfo", (e) => status(e.requestId, e.statusCode));
    cdp.on("Network.responseReceived", (e) => status(e.requestId, e.response.status));
    await cdp.send("Network.enable");
    return w;
  }
  /** The requests seen: method, URL and status (0: no answer yet). */
  get seen(): { url: string; method: string; status: number }[] {
    return [...this.#sent].map(([id, r]) => ({ ...r, status: this.#status.get(id) ?? 0 }));
  }
  /**
   * Waits until `atLeast` requests were answered (rpcx ui answers a write once it is done; a
   * page that got framed may add a stream of its own).
   */
  async settled(atLeast: number): Promise<void> {
    const answered = () => this.seen.filter((r) => r.status !== 0);
    await waitFor(
      `${atLeast} requests to ${this.prefix} answered`,
      () => answered().length >= atLeast,
      20_000,
    ).catch((e) => {
      throw new Error(`${e.message}: ${JSON.stringify(this.seen)}`);
    });
  }
}

async function launch(): Promise<Browser> {
  return await puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-dev-shm-usage",
      // Two names for 127.0.0.1: another site (evil.test) and a rebound name (rebind.test).
      "--host-resolver-rules=MAP evil.test 127.0.0.1, MAP rebind.test 127.0.0.1",
    ],
  });
}

Deno.test("rpcx ui refuses pages of other origins and rebound names; its own page and curl work", async (t) => {
  if (!needs("chromium", NO_CHROMIUM)) return;
  const etcd = await startEtcd();
  if (!etcd) return;
  const raw = new Etcd3({ hosts: etcd.endpoint });
  const registry = `etcd://${etcd.endpoint}/rpcx_test`;
  const key = `tcp@127.0.0.1:${freePort()}`;
  const path = `/rpcx_test/Arith/${key}`;
  const node = async () => await raw.get(path).string();
  await raw.put(path).value("weight=1");
  const uiPort = freePort();
  const uiOrigin = `http://127.0.0.1:${uiPort}`;
  const attacker = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    () => new Response(ATTACK_HTML, { headers: { "content-type": "text/html; charset=utf-8" } }),
  );
  const ui: CliProcess = spawnRpcx([
    "ui",
    "-r",
    registry,
    "--addr",
    `127.0.0.1:${uiPort}`,
    "-i",
    "300",
  ]);
  let browser: Browser | undefined;
  let code: number | undefined;
  try {
    await uiServing(ui, uiOrigin);
    browser = await launch();

    for (const site of ["127.0.0.1", "evil.test"]) {
      // 127.0.0.1:<other port> is the same site as rpcx ui (only the port differs), evil.test
      // another site: the browser sends `Sec-Fetch-Site: same-site` / `cross-site`.
      await t.step(`a page of ${site}:<another port> neither writes nor reads`, async () => {
        const page = await browser!.newPage();
        const watch = await Watch.on(page, uiOrigin);
        await raw.put(path).value("weight=1");
        try {
          await page.goto(
            `http://${site}:${attacker.addr.port}/?ui=${encodeURIComponent(`${uiOrigin}/`)}`,
          );
          const run = (name: string) =>
            page.evaluate(
              `window.attacks.${name}(${JSON.stringify(registry)}, ${JSON.stringify(key)})`,
            );
          // Each write on its own: which ones got through (the node put back after each).
          const wrote: string[] = [];
          let sent = 0;
          for (const name of ["textPost", "beacon", "form"]) {
            const r = await run(name);
            await watch.settled(++sent);
            const now = await node();
            if (now !== "weight=1") {
              wrote.push(`${name} (${r}) made the node ${now}`);
              await raw.put(path).value("weight=1");
            }
          }
          assert.deepEqual(wrote, [], "the registry node is unchanged");
          const reads: Record<string, unknown> = {};
          for (const name of ["readCors", "readNoCors", "script", "events", "frame"]) {
            reads[name] = await run(name);
          }
          for (const [name, r] of Object.entries(reads)) {
            assert.ok(!String(r).includes(key), `${name} read the registry: ${r}`);
          }
          assert.equal(reads.events, "error");
          await watch.settled(8);
          // The framed page is not shown (no clickjacking): its frame holds no admin page.
          const framed = page.frames().find((f) => f.url().startsWith(uiOrigin));
          const title = await framed?.evaluate("document.title").catch(() => "");
          assert.notEqual(title, "rpcx registry admin", "the admin page was framed");
          // And rpcx ui itself refused each one: the browser got no data to keep from the page.
          assert.deepEqual(
            watch.seen.filter((s) => s.status !== 403),
            [],
            `every request to rpcx ui is refused: ${JSON.stringify(watch.seen)}`,
          );
        } finally {
          await page.close();
        }
      });
    }

    await t.step(
      "a rebound DNS name (same origin to the browser) neither writes nor reads",
      async () => {
        // The attacker's page comes from the attacker's server at rebind.test:<port>; then the
        // attacker's DNS sends rebind.test to 127.0.0.1 and its server goes away: the page's
        // next requests reach whatever listens there, here a fresh rpcx ui. The browser sees
        // one origin throughout.
        const port = freePort();
        const rebound = `http://rebind.test:${port}`;
        const theirs = Deno.serve(
          { hostname: "127.0.0.1", port, onListen() {} },
          () => new Response(ATTACK_HTML, { headers: { "content-type": "text/html" } }),
        );
        const page = await browser!.newPage();
        const watch = await Watch.on(page, `${rebound}/api/`);
        await raw.put(path).value("weight=1");
        let ours: CliProcess | undefined;
        let stopped: number | undefined;
        try {
          await page.goto(`${rebound}/attack?ui=/`);
          await theirs.shutdown();
          ours = spawnRpcx(["ui", "-r", registry, "--addr", `127.0.0.1:${port}`, "-i", "300"]);
          await waitFor("rpcx ui listening", () => ours!.out.includes("rpcx ui: "), 30_000);
          const run = (name: string) =>
            page.evaluate(
              `window.attacks.${name}(${JSON.stringify(registry)}, ${JSON.stringify(key)})`,
            );
          const read = String(await run("readCors"));
          assert.ok(!read.includes(key), `the page read the registry: ${read}`);
          const wrote = String(await run("jsonPost"));
          const simple = String(await run("textPost"));
          await watch.settled(3);
          assert.equal(await node(), "weight=1", "the registry node is unchanged");
          assert.deepEqual([read, wrote, simple].map((r) => r.slice(0, 4)), [
            "403 ",
            "403 ",
            "403 ",
          ]);
          assert.deepEqual(watch.seen.filter((s) => s.status !== 403), []);
        } finally {
          await page.close();
          await theirs.shutdown();
          stopped = await ours?.stop();
        }
        assert.equal(stopped, 0, "the second rpcx ui exits 0 on SIGINT");
      },
    );

    await t.step(
      "not a browser: curl-like requests work, forged browser headers do not",
      async () => {
        const nodes = await fetch(`${uiOrigin}/api/nodes`);
        assert.equal(nodes.status, 200);
        assert.ok((await nodes.text()).includes(key));
        const post = (headers: Record<string, string>, set = ["weight=2"]) =>
          fetch(`${uiOrigin}/api/set`, {
            method: "POST",
            headers,
            body: JSON.stringify({ registry, service: "Arith", key, set }),
          }).then(async (r) => ({ status: r.status, body: await r.json() }));
        const json = { "content-type": "application/json" };
        // Not JSON: a form's or a simple request's content type is refused before anything else.
        for (
          const type of ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data"]
        ) {
          assert.equal((await post({ "content-type": type })).status, 415, type);
        }
        // What a browser sends for another site's page, even without an Origin header.
        assert.equal((await post({ ...json, "sec-fetch-site": "cross-site" })).status, 403);
        assert.equal((await post({ ...json, "sec-fetch-site": "same-site" })).status, 403);
        assert.equal((await post({ ...json, origin: "null" })).status, 403);
        assert.equal((await post({ ...json, origin: "http://127.0.0.1:1" })).status, 403);
        const crossRead = await fetch(`${uiOrigin}/api/nodes`, {
          headers: { "sec-fetch-site": "cross-site", "sec-fetch-dest": "script" },
        });
        assert.equal(crossRead.status, 403);
        assert.ok(!(await crossRead.text()).includes(key));
        // A Host that is a name but not localhost: what a rebound page sends.
        const rebound = await rawExchange(
          uiPort,
          `GET /api/nodes HTTP/1.1\r\nHost: rebind.test:${uiPort}\r\nConnection: close\r\n\r\n`,
        );
        assert.equal(rebound.status, 403);
        assert.ok(!new TextDecoder().decode(rebound.body).includes(key));
        // IP addresses and localhost names cannot be rebound: served.
        for (
          const host of [`localhost:${uiPort}`, `admin.localhost:${uiPort}`, `[::1]:${uiPort}`]
        ) {
          const r = await rawExchange(
            uiPort,
            `GET /api/nodes HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`,
          );
          assert.equal(r.status, 200, host);
        }
        assert.equal(await node(), "weight=1");
        // curl: no Origin, no Sec-Fetch-*, JSON.
        const ok = await post(json);
        assert.equal(ok.status, 200, JSON.stringify(ok.body));
        assert.equal(ok.body.metadata, "weight=2");
        assert.equal(await node(), "weight=2");
        const same = await post({ ...json, origin: uiOrigin, "sec-fetch-site": "same-origin" }, [
          "weight=1",
        ]);
        assert.equal(same.status, 200);
        assert.equal(await node(), "weight=1");
      },
    );

    await t.step(
      "the page rpcx ui serves still works, also as localhost and from a link",
      async () => {
        const row = `section[data-registry="${registry}"] tr[data-key="${key}"]`;
        const page = await browser!.newPage();
        try {
          await page.goto(`${uiOrigin}/`);
          await page.waitForSelector(`${row} button.toggle`, { timeout: 20_000 });
          await page.click(`${row} button.toggle`);
          await waitFor("the page deactivated the node", async () => {
            return /(^|&)state=inactive(&|$)/.test((await node()) ?? "");
          }, 10_000);
          // The same page reached as localhost.
          await page.goto(`http://localhost:${uiPort}/`);
          await page.waitForSelector(`${row} button.toggle`, { timeout: 20_000 });
          await page.waitForFunction(
            `document.querySelector(${
              JSON.stringify(`${row} button.toggle`)
            })?.textContent === "Activate"`,
            { timeout: 10_000 },
          );
          await page.click(`${row} button.toggle`);
          await waitFor("the page activated the node", async () => {
            return /(^|&)state=active(&|$)/.test((await node()) ?? "");
          }, 10_000);
          // A link from another site opens the page (a top-level navigation), and it works.
          await page.goto(
            `http://evil.test:${attacker.addr.port}/?ui=${encodeURIComponent(`${uiOrigin}/`)}`,
          );
          await Promise.all([page.waitForNavigation({ timeout: 20_000 }), page.click("#link")]);
          assert.equal(page.url(), `${uiOrigin}/`);
          await page.waitForSelector(`${row} button.toggle`, { timeout: 20_000 });
        } finally {
          await page.close();
        }
      },
    );
  } finally {
    await browser?.close();
    code = await ui.stop();
    await attacker.shutdown();
    raw.close();
    await etcd.stop();
  }
  assert.equal(code, 0, "rpcx ui exits 0 on SIGINT");
});

Deno.test("rpcx ui beyond loopback: refused without --auth or --no-auth", async () => {
  const reg = `tcp@127.0.0.1:${freePort()}`;
  const port = freePort();
  const r = await rpcx(["ui", "-r", reg, "--addr", `0.0.0.0:${port}`], 30_000);
  assert.equal(r.code, 2, r.err);
  assert.match(
    r.err,
    /0\.0\.0\.0:\d+ is reachable from other machines.*--auth user:pass.*--no-auth/,
  );
  // --no-auth: served, as asked.
  const ui = spawnRpcx(["ui", "-r", reg, "--addr", `0.0.0.0:${port}`, "--no-auth"]);
  let code: number | undefined;
  try {
    await uiServing(ui, `http://0.0.0.0:${port}`);
    const res = await fetch(`http://127.0.0.1:${port}/api/nodes`);
    assert.equal(res.status, 200);
    await res.body?.cancel();
  } finally {
    code = await ui.stop();
  }
  assert.equal(code, 0);
});

Deno.test("rpcx ui --auth (or RPCX_UI_AUTH): basic auth on every request, the browser's page works", async () => {
  if (!needs("chromium", NO_CHROMIUM)) return;
  const reg = `tcp@127.0.0.1:${freePort()}`;
  const port = freePort();
  const ui = spawnRpcx(
    ["ui", "-r", reg, "--addr", `0.0.0.0:${port}`, "--allow-host", "admin.test"],
    {
      RPCX_UI_AUTH: "ops:s3cret:x",
    },
  );
  const base = `http://127.0.0.1:${port}`;
  const basic = (s: string) => ({ authorization: `Basic ${btoa(s)}` });
  let browser: Browser | undefined;
  let code: number | undefined;
  try {
    await uiServing(ui, `http://0.0.0.0:${port}`);
    for (const path of ["/", "/api/nodes", "/api/events"]) {
      const res = await fetch(base + path);
      assert.equal(res.status, 401, path);
      assert.match(res.headers.get("www-authenticate") ?? "", /^Basic realm="rpcx ui"/);
      await res.body?.cancel();
    }
    const wrong = await fetch(`${base}/api/nodes`, { headers: basic("ops:s3cret") });
    assert.equal(wrong.status, 401);
    await wrong.body?.cancel();
    const right = await fetch(`${base}/api/nodes`, { headers: basic("ops:s3cret:x") });
    assert.equal(right.status, 200);
    assert.ok((await right.text()).includes(reg));
    // The handler runs once authorized: a tcp@ registry is read-only.
    const set = await fetch(`${base}/api/set`, {
      method: "POST",
      headers: { ...basic("ops:s3cret:x"), "content-type": "application/json" },
      body: JSON.stringify({ registry: reg, service: "Arith", key: reg, set: ["weight=2"] }),
    });
    assert.equal(set.status, 400);
    assert.match((await set.json()).error, /no registry to write to/);
    // Credentials the browser would add on its own do not make another site's request pass.
    const forged = await fetch(`${base}/api/nodes`, {
      headers: { ...basic("ops:s3cret:x"), "sec-fetch-site": "cross-site" },
    });
    assert.equal(forged.status, 403);
    await forged.body?.cancel();
    // A name given with --allow-host is accepted, another is not.
    const get = (host: string) =>
      rawExchange(
        port,
        `GET /api/nodes HTTP/1.1\r\nHost: ${host}\r\nAuthorization: Basic ${
          btoa("ops:s3cret:x")
        }\r\nConnection: close\r\n\r\n`,
      );
    assert.equal((await get(`admin.test:${port}`)).status, 200);
    assert.equal((await get(`other.test:${port}`)).status, 403);

    browser = await launch();
    const page = await browser.newPage();
    await page.authenticate({ username: "ops", password: "s3cret:x" });
    await page.goto(`${base}/`);
    // The live stream (EventSource) carries the credentials too: the registry shows up.
    await page.waitForSelector(`section[data-registry="${reg}"] h2`, { timeout: 20_000 });
  } finally {
    await browser?.close();
    code = await ui.stop();
  }
  assert.equal(code, 0);
});

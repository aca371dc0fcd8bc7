// examples/http in a real browser: headless Chromium (puppeteer-core) loads the example page from
// one origin, the page calls the rpcx port (another origin) with fetch through JSON-RPC 2.0 under
// CORS, and the test reads the answer from the page; with CORS off the browser refuses to hand
// the answer to the page.
import assert from "node:assert/strict";
import puppeteer, { type Browser } from "puppeteer-core";
import { findExecutable, freePort, needs } from "./support/env.ts";
import { startExampleServer } from "./support/examples.ts";
import { Server } from "@rpcx/core";
import { Arith } from "../examples/arith.ts";

const CHROMIUM = findExecutable("/usr/bin/chromium", "chromium", "chromium-browser");

async function withBrowser(fn: (browser: Browser) => Promise<void>): Promise<void> {
  const browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
  });
  try {
    await fn(browser);
  } finally {
    await browser.close();
  }
}

Deno.test("examples/http: the page calls Arith.Mul through JSON-RPC across origins (CORS)", async () => {
  if (!needs("chromium", CHROMIUM ? undefined : "not installed (.ci/install/70-chromium.sh)")) {
    return;
  }
  const rpcxPort = freePort();
  const pagePort = freePort();
  const server = startExampleServer("http", [
    "--addr",
    `127.0.0.1:${rpcxPort}`,
    "--page",
    String(pagePort),
  ]);
  try {
    await server.ready;
    await withBrowser(async (browser) => {
      const page = await browser.newPage();
      // The page's origin is 127.0.0.1:pagePort, the rpcx port another origin.
      await page.goto(`http://127.0.0.1:${pagePort}/?rpcx=127.0.0.1:${rpcxPort}`);
      await page.waitForSelector("#result[data-done]", { timeout: 20_000 });
      assert.equal(await page.$eval("#result", (e) => e.textContent), "10 * 20 = 200");
      // And again from the page's form, with other numbers.
      await page.$eval("#a", (e) => e.setAttribute("value", "6"));
      await page.$eval("#b", (e) => e.setAttribute("value", "7"));
      await page.click("#mul");
      await page.waitForSelector('#result[data-done="2"]', { timeout: 20_000 });
      assert.equal(await page.$eval("#result", (e) => e.textContent), "6 * 7 = 42");
    });
  } finally {
    await server.stop();
  }
});

Deno.test("without CORS the browser keeps the answer from a page of another origin", async () => {
  if (!needs("chromium", CHROMIUM ? undefined : "not installed (.ci/install/70-chromium.sh)")) {
    return;
  }
  // CORS off: Go's default too. It counts the connections it accepts and the calls it runs.
  let accepted = 0;
  let calls = 0;
  const server = new Server({
    plugins: [{ connAccept: () => void accepted++, preCall: (_ctx, args) => (calls++, args) }],
  });
  await server.register(new Arith(), "Arith");
  const addr = await server.serve("tcp", "127.0.0.1:0");
  const html = await Deno.readTextFile(new URL("../examples/http/index.html", import.meta.url));
  const pages = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    () => new Response(html, { headers: { "content-type": "text/html; charset=utf-8" } }),
  );
  try {
    await withBrowser(async (browser) => {
      const page = await browser.newPage();
      // What the browser itself says about each request it refused under CORS.
      const cdp = await page.createCDPSession();
      await cdp.send("Network.enable");
      const refused: string[] = [];
      cdp.on("Network.loadingFailed", (e) => {
        if (e.corsErrorStatus) refused.push(e.corsErrorStatus.corsError);
      });
      await page.goto(`http://127.0.0.1:${pages.addr.port}/?rpcx=${addr}`);
      await page.waitForSelector("#result[data-done]", { timeout: 20_000 });
      assert.match(await page.$eval("#result", (e) => e.textContent ?? ""), /^error: /);
      // The server was up and reached (a server that is down or answers 500 fails here), its
      // preflight answer had no Access-Control-Allow-Origin, so the call was never sent.
      assert.ok(accepted >= 1, "the browser reached the rpcx port");
      assert.deepEqual(refused, ["PreflightMissingAllowOriginHeader"]);
      assert.equal(calls, 0, "the browser never sent the call itself");
    });
  } finally {
    await pages.shutdown();
    await server.close();
  }
});

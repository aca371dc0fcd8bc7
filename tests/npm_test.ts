// The npm form (issue 24, tools/build_npm.ts): built, packed and installed with npm into an
// empty project, every subpath imports under Node and Bun, a Server and a Client talk in-process
// there, serveMetrics is scraped, the `rpcx` bin lists, edits and watches a real etcd and serves
// the admin page under both, and the .d.ts files type-check with Node's types alone (errors only
// in the files tools/check_neutral.ts still lists as PENDING). Installed alone (no optional peer
// dependency), none of the peers comes along, the subpaths needing none import and call, the
// others fail naming their package, and `rpcx` names a missing registry client or protobufjs.
import assert from "node:assert/strict";
import { join } from "node:path";
import { denoJson, npmTools, optionalImport, srcImports, toolPackages } from "../tools/_npm.ts";
import { judge, parseDiagnostics } from "../tools/check_neutral.ts";
import { Etcd3 } from "etcd3";
import { needs, waitFor } from "./support/env.ts";
import { spawnRpcx } from "./support/rpcx_cli.ts";
import { startEtcd } from "./support/etcd_server.ts";
import { bunBinary, nodeBinary, runBounded } from "./support/runtimes.ts";
import { installBare, installPackage } from "./support/npm_package.ts";
import { REGISTRY_NPM_PACKAGES } from "../src/cli/registry/open.ts";

const manifest = denoJson();
const SUBPATHS = Object.keys(manifest.exports).map((s) => manifest.name + s.slice(1));

const install = installPackage;

/** Imports every subpath, then serves and calls Arith.Mul in-process; prints one JSON line. */
const CONSUMER = `
const counts = {};
for (const s of ${JSON.stringify(SUBPATHS)}) counts[s] = Object.keys(await import(s)).length;
const { Client, Server } = await import("@rpcx/core");
const server = new Server();
await server.register({ Mul: (a) => ({ C: a.A * a.B }) }, "Arith");
await server.serve("inprocess", "npm");
const client = new Client("inprocess@npm");
const reply = await client.call("Arith", "Mul", { A: 6, B: 7 }, { timeout: 60_000 });
await client.close();
await server.close();
console.log(JSON.stringify({ counts, reply }));
`;

/** Node or Bun as the tests run them: the command and its arguments before a script. */
interface JsRuntime {
  name: string;
  cmd: string;
  pre: string[];
}

/** Node, or undefined (the test skipped; under CI, failed) when it is not on PATH. */
function nodeOrSkip(): JsRuntime | undefined {
  const node = nodeBinary();
  if (!needs("node", node ? undefined : "node is not on PATH")) return undefined;
  return { name: "node", cmd: node!, pre: [] };
}

/** Bun, or undefined (the test skipped; under CI, failed) when there is none. */
function bunOrSkip(): JsRuntime | undefined {
  const bun = bunBinary();
  if (!needs("bun", bun ? undefined : "no bun (.ci/install/80-bun.sh, $RPCX_BUN)")) {
    return undefined;
  }
  return { name: "bun", cmd: bun!, pre: ["run"] };
}

/** Node and Bun, those of them there are. */
function jsRuntimes(): JsRuntime[] {
  return [nodeOrSkip(), bunOrSkip()].filter((rt) => rt !== undefined);
}

/**
 * Writes `script` as `file` into the installed `project` and runs it with `rt` (60 s at most):
 * asserts it exited 0 and returns the last line it printed, parsed as JSON.
 */
// deno-lint-ignore no-explicit-any
async function runJson(rt: JsRuntime, project: string, file: string, script: string): Promise<any> {
  await Deno.writeTextFile(join(project, file), script);
  const r = await runBounded(rt.cmd, [...rt.pre, file], { cwd: project, timeoutMs: 60_000 });
  assert.equal(r.code, 0, `${rt.name}: exit ${r.code}\n${r.stdout}${r.stderr}`);
  return JSON.parse(r.stdout.trim().split("\n").pop()!);
}

async function consumer(rt: JsRuntime): Promise<void> {
  const out = await runJson(rt, await install(), "consumer.mjs", CONSUMER);
  for (const s of SUBPATHS) assert.ok(out.counts[s] > 0, `${s} exports nothing`);
  assert.deepEqual(out.reply, { C: 42 });
}

/**
 * Runs `fn` for the npm form installed once, with Node and Bun (those there are) and a fresh
 * etcd holding the node `key` (`/rpcx_test/Arith/tcp@127.0.0.1:9` = `weight=1`) under `registry`
 * (`etcd://…/rpcx_test`), read and written through `raw`.
 */
async function withEtcdNode(
  fn: (
    o: { runtimes: JsRuntime[]; project: string; registry: string; key: string; raw: Etcd3 },
  ) => Promise<void>,
): Promise<void> {
  const runtimes = jsRuntimes();
  if (runtimes.length === 0) return;
  const project = await install();
  const etcd = await startEtcd();
  if (!etcd) return;
  const raw = new Etcd3({ hosts: etcd.endpoint });
  const registry = `etcd://${etcd.endpoint}/rpcx_test`;
  const key = "/rpcx_test/Arith/tcp@127.0.0.1:9";
  try {
    await raw.put(key).value("weight=1");
    await fn({ runtimes, project, registry, key, raw });
  } finally {
    raw.close();
    await etcd.stop();
  }
}

Deno.test("npm form: package.json names every deno.json export, the bin, the core's dependencies and the rest as optional peers", async () => {
  const { packageJson } = await import("../tools/build_npm.ts");
  const pkg = packageJson() as {
    exports: Record<string, unknown>;
    bin: Record<string, string>;
    dependencies: Record<string, string>;
    peerDependencies: Record<string, string>;
    peerDependenciesMeta: Record<string, { optional: boolean }>;
  };
  for (const sub of Object.keys(manifest.exports)) assert.ok(sub in pkg.exports, sub);
  assert.equal(pkg.bin.rpcx, "./bin/rpcx.js");
  for (const dep of ["@msgpack/msgpack", "lossless-json", "commander"]) {
    assert.equal(`npm:${dep}@${pkg.dependencies[dep]}`, manifest.imports[dep]);
  }
  // A registry's client and a plugin's library: optional peers at deno.json's ranges; so is
  // protobufjs (loaded by `rpcx … --proto` only).
  for (const dep of ["etcd3", "@grpc/grpc-js", "ioredis", "prom-client", "protobufjs"]) {
    assert.ok(!(dep in pkg.dependencies), dep);
    assert.equal(`npm:${dep}@${pkg.peerDependencies[dep]}`, manifest.imports[dep]);
  }
  assert.deepEqual(
    Object.keys(pkg.peerDependenciesMeta),
    Object.keys(pkg.peerDependencies),
  );
  assert.ok(Object.values(pkg.peerDependenciesMeta).every((m) => m.optional === true));
  // Every package of src/ is in one of the two, by where it is imported.
  const imports = srcImports(manifest);
  for (const [name, { imports: by }] of Object.entries(imports)) {
    const peer = by.every(optionalImport);
    assert.equal(name in pkg.peerDependencies, peer, name);
    assert.equal(name in pkg.dependencies, !peer, name);
  }
  // Test-only packages stay out.
  for (const dep of ["puppeteer-core", "parse-prometheus-text-format"]) {
    assert.ok(!(dep in pkg.dependencies) && !(dep in pkg.peerDependencies), dep);
  }
  // NEEDS (the README's table) is what each subpath's registry folder or plugin file imports.
  for (const [sub, file] of Object.entries(manifest.exports)) {
    const rel = file.replace(/^\.\//, "");
    const unit = /^src\/registry\/[^/]+\//.exec(rel)?.[0] ?? rel;
    const used = Object.entries(imports)
      .filter(([, { imports: by }]) => by.some((i) => !i.lazy && i.file.startsWith(unit)))
      .map(([name]) => name);
    const subpath = manifest.name + sub.slice(1);
    assert.deepEqual(used.sort(), [...(NEEDS[subpath] ?? [])].sort(), subpath);
  }
  // The CLI names what a registry needs: exactly the packages its folder imports.
  for (const [scheme, packages] of Object.entries(REGISTRY_NPM_PACKAGES)) {
    const folder = `src/registry/${scheme}/`;
    const used = Object.entries(imports)
      .filter(([, { imports: by }]) => by.some((i) => i.file.startsWith(folder)))
      .map(([name]) => name);
    assert.deepEqual([...packages].sort(), used.sort(), scheme);
  }
});

/**
 * The optional peers each subpath needs (the README's table under "Node and Bun"); the other
 * subpaths need none.
 */
const NEEDS: Record<string, string[]> = {
  "@rpcx/core/etcd": ["etcd3", "@grpc/grpc-js"],
  "@rpcx/core/zookeeper": ["node-zookeeper-client"],
  "@rpcx/core/consul": ["consul"],
  "@rpcx/core/mdns": ["multicast-dns"],
  "@rpcx/core/redis": ["ioredis"],
  "@rpcx/core/plugins/tracing": ["@opentelemetry/api"],
  "@rpcx/core/plugins/metrics": ["prom-client"],
};

/**
 * Imports every subpath (each of {@linkcode NEEDS} fails: its error kept), serves and calls
 * Arith.Mul in-process; prints one JSON line.
 */
const BARE = `
const counts = {};
const failed = {};
for (const s of ${JSON.stringify(SUBPATHS)}) {
  try {
    counts[s] = Object.keys(await import(s)).length;
  } catch (e) {
    failed[s] = { code: e.code, message: e.message };
  }
}
const { Client, Server } = await import("@rpcx/core");
const server = new Server();
await server.register({ Mul: (a) => ({ C: a.A * a.B }) }, "Arith");
await server.serve("inprocess", "bare");
const client = new Client("inprocess@bare");
const reply = await client.call("Arith", "Mul", { A: 6, B: 7 }, { timeout: 60_000 });
await client.close();
await server.close();
console.log(JSON.stringify({ counts, failed, reply }));
`;

Deno.test("npm form (node, bun): `npm install @rpcx/core` alone installs no optional peer; the core works; rpcx (node, bun, deno) names the missing registry client and protobufjs", async () => {
  const runtimes = jsRuntimes();
  if (runtimes.length === 0) return;
  const project = await installBare();
  const pkg = JSON.parse(
    await Deno.readTextFile(join(project, "node_modules/@rpcx/core/package.json")),
  );
  const peers = Object.keys(pkg.peerDependencies ?? {});
  assert.ok(peers.includes("etcd3"), `etcd3 is no optional peer: ${JSON.stringify(pkg)}`);
  // None of them anywhere in node_modules (hoisted or nested).
  const found: string[] = [];
  // Every node_modules folder, nested ones too: the packages in it (`name`, `@scope/name`).
  const scan = (modules: string) => {
    let entries: Deno.DirEntry[];
    try {
      entries = [...Deno.readDirSync(modules)];
    } catch {
      return; // no node_modules here
    }
    for (const e of entries) {
      if (!e.isDirectory) continue;
      const names = e.name.startsWith("@")
        ? [...Deno.readDirSync(join(modules, e.name))].map((s) => `${e.name}/${s.name}`)
        : [e.name];
      for (const name of names) {
        if (peers.includes(name)) found.push(join(modules, name));
        scan(join(modules, name, "node_modules"));
      }
    }
  };
  scan(join(project, "node_modules"));
  assert.deepEqual(found, [], "optional peers installed");
  await Deno.writeTextFile(
    join(project, "x.proto"),
    'syntax = "proto3";\nmessage A { int32 a = 1; }\nservice S { rpc M (A) returns (A); }\n',
  );
  for (const rt of runtimes) {
    const out = await runJson(rt, project, "bare.mjs", BARE);
    assert.deepEqual(out.reply, { C: 42 }, rt.name);
    // The subpaths that need no peer import (the core, /extend, /protocol, /stream, /cli, ...);
    // the others fail with the runtime's own error naming a package they need.
    assert.deepEqual(
      Object.keys(out.counts).sort(),
      SUBPATHS.filter((s) => !(s in NEEDS)).sort(),
      `${rt.name}: ${JSON.stringify(out.failed)}`,
    );
    for (const [s, n] of Object.entries(out.counts)) {
      assert.ok((n as number) > 0, `${rt.name}: ${s} exports nothing`);
    }
    for (const [s, packages] of Object.entries(NEEDS)) {
      const e = out.failed[s];
      assert.equal(e?.code, "ERR_MODULE_NOT_FOUND", `${rt.name}: ${s}: ${JSON.stringify(e)}`);
      assert.ok(packages.some((p) => e.message.includes(`'${p}'`)), `${rt.name}: ${e.message}`);
    }

    const rpcx = (...args: string[]) =>
      runBounded(rt.cmd, [...rt.pre, "node_modules/.bin/rpcx", ...args], {
        cwd: project,
        timeoutMs: 30_000,
      });
    // An optional package missing: a usage error (exit 2) that says what to install.
    const missing: [string[], string | RegExp][] = [
      [
        ["list", "-r", "etcd://127.0.0.1:1/x"],
        "rpcx: etcd:// needs the npm packages etcd3 and @grpc/grpc-js: npm install etcd3 @grpc/grpc-js\n",
      ],
      [
        ["list", "-r", "zk://127.0.0.1:1/x"],
        "rpcx: zookeeper:// needs the npm package node-zookeeper-client: npm install node-zookeeper-client\n",
      ],
      [
        ["gen", "--proto", "x.proto"],
        "rpcx: gen: --proto needs the npm package protobufjs: npm install protobufjs\n",
      ],
      [
        [
          "call",
          "-r",
          "tcp@127.0.0.1:1",
          "-s",
          "protobuf",
          "--proto",
          "x.proto",
          "--request-type",
          "A",
          "--reply-type",
          "A",
          "S.M",
          "{}",
        ],
        /^rpcx: (?:call: )?--proto needs the npm package protobufjs: npm install protobufjs\n$/,
      ],
    ];
    for (const [args, want] of missing) {
      const r = await rpcx(...args);
      const what = `${rt.name}: rpcx ${args.join(" ")}`;
      if (typeof want === "string") assert.equal(r.stderr, want, what);
      else assert.match(r.stderr, want, what);
      assert.equal(r.code, 2, what);
    }
  }
  // Deno running the installed bin (node_modules resolution) says the same.
  const deno = await runBounded(
    Deno.execPath(),
    ["run", "-A", "node_modules/@rpcx/core/bin/rpcx.js", "list", "-r", "etcd://127.0.0.1:1/x"],
    { cwd: project, timeoutMs: 60_000 },
  );
  assert.equal(
    deno.stderr,
    "rpcx: etcd:// needs the npm packages etcd3 and @grpc/grpc-js: npm install etcd3 @grpc/grpc-js\n",
    "deno",
  );
  assert.equal(deno.code, 2, "deno");
});

Deno.test("npm form (node): npm installs it; every subpath imports; an in-process call works", async () => {
  const node = nodeOrSkip();
  if (node) await consumer(node);
});

Deno.test("npm form (bun): every subpath imports; an in-process call works", async () => {
  const bun = bunOrSkip();
  if (bun) await consumer(bun);
});

Deno.test("npm form (node): the rpcx bin prints its help, and so does @rpcx/core/cli run as the script", async () => {
  const node = nodeOrSkip()?.cmd;
  if (!node) return;
  const project = await install();
  // The bin; then the module itself (Node 20 has no import.meta.main: the seam's isMain
  // compares it with the script), through a link as npm's bins are.
  await Deno.symlink(
    join(project, "node_modules/@rpcx/core/src/cli/mod.js"),
    join(project, "cli-link.js"),
  ).catch((e) => {
    if (!(e instanceof Deno.errors.AlreadyExists)) throw e;
  });
  for (const script of ["node_modules/.bin/rpcx", "cli-link.js"]) {
    const r = await runBounded(node, [script, "--help"], { cwd: project, timeoutMs: 30_000 });
    assert.equal(r.code, 0, `${script}: ${r.stderr}`);
    assert.match(r.stdout, /Usage: rpcx/, script);
  }
  const usage = await runBounded(node, ["cli-link.js", "nosuchcommand"], {
    cwd: project,
    timeoutMs: 30_000,
  });
  assert.equal(usage.code, 2, usage.stderr);
});

Deno.test("npm form (node, bun): the rpcx bin lists, edits and watches a real etcd", () =>
  withEtcdNode(async ({ runtimes, project, registry: url, key, raw }) => {
    for (const [i, rt] of runtimes.entries()) {
      const rpcx = (...args: string[]) =>
        runBounded(rt.cmd, [...rt.pre, "node_modules/.bin/rpcx", ...args], {
          cwd: project,
          timeoutMs: 30_000,
        });
      const list = await rpcx("list", "-r", url, "--json");
      assert.equal(list.code, 0, `${rt.name}: ${list.stderr}`);
      assert.deepEqual(JSON.parse(list.stdout), [{
        service: "Arith",
        key: "tcp@127.0.0.1:9",
        metadata: i === 0 ? "weight=1" : `weight=${i + 1}`,
        state: "active",
      }], rt.name);

      const set = await rpcx("set", "-r", url, "Arith", "tcp@127.0.0.1:9", `weight=${i + 2}`);
      assert.equal(set.code, 0, `${rt.name}: ${set.stderr}`);
      assert.equal(set.stdout, `Arith tcp@127.0.0.1:9 weight=${i + 2}\n`, rt.name);
      assert.equal(await raw.get(key).string(), `weight=${i + 2}`, rt.name);

      const watch = await rpcx("watch", "-r", url, "--json", "--duration", "300");
      assert.equal(watch.code, 0, `${rt.name}: ${watch.stderr}`);
      assert.deepEqual(JSON.parse(watch.stdout), {
        type: "added",
        service: "Arith",
        key: "tcp@127.0.0.1:9",
        metadata: `weight=${i + 2}`,
      }, rt.name);

      const missing = await rpcx("set", "-r", url, "Arith", "tcp@127.0.0.1:10", "weight=1");
      assert.equal(missing.code, 1, `${rt.name}: ${missing.stderr}`);
      assert.match(missing.stderr, /^rpcx: .*tcp@127\.0\.0\.1:10/, rt.name);
    }
  }));

/**
 * Counts calls with the metrics plugin, serves them with serveMetrics and scrapes them (GET,
 * HEAD, a wrong path, the same port again), then shuts down; prints one JSON line.
 */
const METRICS = `
const { Client, Server } = await import("@rpcx/core");
const { serveMetrics, serverMetrics } = await import("@rpcx/core/plugins/metrics");
const metrics = serverMetrics();
const server = new Server({ plugins: [metrics] });
await server.register({ Mul: (a) => ({ C: a.A * a.B }) }, "Arith");
await server.serve("inprocess", "metrics");
const client = new Client("inprocess@metrics");
for (let i = 0; i < 3; i++) await client.call("Arith", "Mul", { A: i, B: 2 }, { timeout: 60_000 });
await client.close();
await server.close();
const endpoint = await serveMetrics(metrics.registry, { port: 0 });
const url = "http://" + endpoint.addr;
const res = await fetch(url + "/metrics");
const text = await res.text();
const head = await fetch(url + "/metrics", { method: "HEAD" });
const other = await fetch(url + "/other");
await other.body?.cancel();
let again;
try {
  await serveMetrics(metrics.registry, { port: Number(endpoint.addr.split(":").pop()) });
  again = "listened";
} catch (e) {
  again = e.code;
}
const t0 = Date.now();
await endpoint.shutdown();
console.log(JSON.stringify({
  addr: endpoint.addr,
  status: res.status,
  type: res.headers.get("content-type"),
  calls: /^rpcx_server_calls_total\\{[^}]*method="Mul"[^}]*\\} (\\d+)/m.exec(text)?.[1] ?? text,
  head: [head.status, await head.text()],
  other: other.status,
  again,
  shutdownMs: Date.now() - t0,
}));
`;

Deno.test("npm form (node, bun): serveMetrics is scraped, refuses a taken port, and shuts down with the process ending by itself", async () => {
  const runtimes = jsRuntimes();
  if (runtimes.length === 0) return;
  const project = await install();
  for (const rt of runtimes) {
    const out = await runJson(rt, project, "metrics.mjs", METRICS);
    assert.match(out.addr, /^127\.0\.0\.1:\d+$/, rt.name);
    assert.equal(out.status, 200, rt.name);
    assert.equal(out.type, "text/plain; version=0.0.4; charset=utf-8", rt.name);
    assert.equal(out.calls, "3", rt.name);
    assert.deepEqual(out.head, [200, ""], rt.name);
    assert.equal(out.other, 404, rt.name);
    assert.equal(out.again, "EADDRINUSE", rt.name);
    assert.ok(out.shutdownMs < 2000, `${rt.name}: shutdown took ${out.shutdownMs} ms`);
  }
});

Deno.test("npm form (node, bun): rpcx ui serves the admin page from etcd, writes an edit, and exits 0 on SIGINT", () =>
  withEtcdNode(async ({ runtimes, project, registry, key, raw }) => {
    for (const [i, rt] of runtimes.entries()) {
      const ui = spawnRpcx(["ui", "-r", registry, "--addr", "127.0.0.1:0", "-i", "60000"], {}, {
        cmd: rt.cmd,
        pre: [...rt.pre, "node_modules/.bin/rpcx"],
        cwd: project,
      });
      let code: number | undefined;
      try {
        await waitFor(
          `${rt.name}: the page up`,
          () => /rpcx ui: http:\/\/\S+\//.test(ui.out),
          30_000,
        );
        const url = /rpcx ui: (http:\/\/\S+\/)/.exec(ui.out)![1];
        const page = await fetch(url);
        assert.equal(page.status, 200, rt.name);
        assert.match(await page.text(), /<html/i, rt.name);
        assert.equal(page.headers.get("x-frame-options"), "DENY", rt.name);
        // The page may answer before its first read of the registry is in (seen under Bun on a
        // loaded machine: an empty list once): wait, bounded, for the node to be listed.
        const listed = async () =>
          ((await (await fetch(new URL("/api/nodes", url))).json()).registries[0].nodes as {
            key: string;
          }[]).map((n) => n.key);
        let keys: string[] = [];
        await waitFor(`${rt.name}: the node listed`, async () => {
          keys = await listed();
          return keys.length > 0;
        }, 10_000);
        assert.deepEqual(keys, ["tcp@127.0.0.1:9"], rt.name);
        const set = await fetch(new URL("/api/set", url), {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({
            registry,
            service: "Arith",
            key: "tcp@127.0.0.1:9",
            set: [`weight=${i + 5}`],
          }),
        });
        assert.deepEqual(await set.json(), { metadata: `weight=${i + 5}` }, rt.name);
        assert.equal(await raw.get(key).string(), `weight=${i + 5}`, rt.name);
        // Another origin's page is refused (the guard runs there too).
        const foreign = await fetch(new URL("/api/nodes", url), {
          headers: { "sec-fetch-site": "cross-site" },
        });
        assert.equal(foreign.status, 403, rt.name);
        await foreign.body?.cancel();
        // The live stream is open when SIGINT comes: shutdown ends it.
        const events = await fetch(new URL("/api/events", url));
        const reader = events.body!.getReader();
        assert.match(new TextDecoder().decode((await reader.read()).value), /^retry: 1000/);
        code = await ui.stop();
        for (;;) if ((await reader.read()).done) break;
      } finally {
        code ??= await ui.stop();
      }
      assert.equal(code, 0, `${rt.name}: rpcx ui exits 0 on SIGINT`);
    }
  }));

Deno.test("npm form: its .d.ts type-check with Node's types alone, errors only from PENDING files", async () => {
  const node = nodeOrSkip()?.cmd;
  if (!node) return;
  const project = await install();
  const tools = join(await npmTools(toolPackages()), "node_modules");
  await Deno.writeTextFile(
    join(project, "types.ts"),
    SUBPATHS.map((s, i) => `import * as m${i} from "${s}";\nexport { m${i} };\n`).join(""),
  );
  await Deno.writeTextFile(
    join(project, "tsconfig.json"),
    JSON.stringify({
      compilerOptions: {
        target: "es2022",
        module: "nodenext",
        moduleResolution: "nodenext",
        lib: ["es2023"],
        types: ["node"],
        typeRoots: [join(tools, "@types")],
        strict: true,
        noEmit: true,
        skipLibCheck: false,
      },
      files: ["types.ts"],
    }),
  );
  const out = await runBounded(
    node,
    [join(tools, "typescript/bin/tsc"), "-p", "tsconfig.json", "--pretty", "false"],
    { cwd: project, timeoutMs: 300_000 },
  );
  assert.notEqual(out.code, undefined, "tsc ran longer than 300 s and was killed");
  const text = out.stdout + out.stderr;
  const prefix = "node_modules/@rpcx/core/";
  const ours = parseDiagnostics(text).filter((d) => d.file.startsWith(prefix));
  const others = parseDiagnostics(text).filter((d) => !d.file.startsWith(prefix));
  // Errors in the dependencies' own .d.ts are theirs (none today).
  assert.deepEqual(others.map((d) => `${d.file}:${d.line} ${d.text}`), []);
  const { failing } = judge(
    ours.map((d) => ({ ...d, file: d.file.slice(prefix.length).replace(/\.d\.ts$/, ".ts") })),
  );
  assert.deepEqual(failing.map((d) => `${d.file}:${d.line} ${d.text}`), []);
  assert.ok(out.code === 0 || ours.length > 0, text);
});

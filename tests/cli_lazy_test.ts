// `@rpcx/core/cli` loads a registry's module and npm client only when a URL names it. Proved by
// running the command line offline (`--cached-only`) from a fresh DENO_DIR whose npm cache lacks
// the npm packages of every registry folder (src/registry/<name>/, the packages their files
// import, read from deno.json: tests/support/registry_folders.ts): `rpcx list`/`call` on servers named directly work there, and a
// URL naming a registry fails for want of that registry's packages (so the check does see what
// is loaded). Then, per registry, a DENO_DIR holding only that registry's packages: `rpcx list`
// of its URL gets as far as the registry (unreachable, or a usage error after loading), never to
// another registry's package. Registries come from the folders, so a new one is covered as is.
import assert from "node:assert/strict";
import { Server } from "@rpcx/core";
import { runBounded } from "./support/child.ts";
import { freePort, REPO_ROOT } from "./support/env.ts";
import { CountedArith } from "./support/registry_scenarios.ts";
import { registryFolders } from "./support/registry_folders.ts";

const decoder = new TextDecoder();

/** Each registry folder with an operator, and the npm packages its files import. */
async function registryPackages(): Promise<Map<string, string[]>> {
  return new Map(
    (await registryFolders()).filter((f) => f.operator).map((f) => [f.name, f.packages]),
  );
}

/** The npm cache of this machine's DENO_DIR. */
async function npmCache(): Promise<string> {
  const r = await runBounded(Deno.execPath(), { args: ["info", "--json"], timeoutMs: 30_000 });
  assert.equal(r.code, 0, decoder.decode(r.stderr));
  return `${JSON.parse(decoder.decode(r.stdout)).npmCache}/registry.npmjs.org`;
}

/**
 * A new DENO_DIR whose npm cache is this machine's (hard links) less `without`. Removed when the
 * test ends.
 */
async function denoDirWithout(cache: string, without: readonly string[]): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "rpcx-cli-lazy-" });
  const to = `${dir}/npm/registry.npmjs.org`;
  await Deno.mkdir(`${dir}/npm`, { recursive: true });
  let r = await runBounded("cp", { args: ["-al", cache, to], timeoutMs: 60_000 });
  if (r.code !== 0) r = await runBounded("cp", { args: ["-r", cache, to], timeoutMs: 120_000 });
  assert.equal(r.code, 0, decoder.decode(r.stderr));
  for (const name of without) {
    await Deno.remove(`${to}/${name}`, { recursive: true }).catch((e) => {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    });
  }
  return dir;
}

/** `rpcx ...args` through `@rpcx/core/cli` (src/cli/mod.ts), offline, from `denoDir`. */
async function rpcxOffline(denoDir: string, args: string[]) {
  const r = await runBounded(Deno.execPath(), {
    args: ["run", "--cached-only", "-A", "src/cli/mod.ts", ...args],
    cwd: REPO_ROOT,
    env: { DENO_DIR: denoDir, NO_COLOR: "1" },
    timeoutMs: 120_000,
    what: `rpcx ${args.join(" ")} (DENO_DIR ${denoDir})`,
  });
  return { code: r.code, out: decoder.decode(r.stdout), err: decoder.decode(r.stderr) };
}

/** A missing npm package, as Deno reports it under --cached-only. */
const NOT_CACHED = /npm package not found in cache: "([^"]+)"/;

/**
 * A URL of `registry` that gets as far as the registry and fails there: unreachable (exit 3),
 * or for a registry without a known form, a usage error (exit 2) after its module loaded.
 */
function failingUrl(registry: string, closedPort: number): { url: string; code: number } {
  switch (registry) {
    case "etcd":
    case "zookeeper":
    case "consul":
    case "redis":
      return { url: `${registry}://127.0.0.1:${closedPort}/x`, code: 3 };
    default: // e.g. mdns (no multicast off this machine's loopback): its module loaded only
      return { url: `${registry}://127.0.0.1:${closedPort}/x?no-such-parameter=1`, code: 2 };
  }
}

const registries = await registryPackages();
const allPackages = [...new Set([...registries.values()].flat())];

Deno.test("cli lazy: registries found by folder, each with its npm packages", () => {
  // the scan works: the registries the command line had from the start are there
  for (const r of ["etcd", "zookeeper", "consul", "redis", "mdns", "dns"]) {
    assert.ok(registries.has(r), `src/registry/${r}/operator.ts`);
  }
  assert.deepEqual(registries.get("etcd"), ["@grpc/grpc-js", "etcd3"]);
  assert.deepEqual(registries.get("dns"), []);
});

Deno.test("cli lazy: rpcx list/call on tcp@ load no registry's npm client; a registry URL loads its own", async () => {
  const server = new Server();
  await server.register(new CountedArith(), "Arith");
  const addr = await server.serve("tcp", "127.0.0.1:0");
  const cache = await npmCache();
  const bare = await denoDirWithout(cache, allPackages);
  try {
    const list = await rpcxOffline(bare, ["list", "-r", `tcp@${addr}`, "--json"]);
    assert.equal(list.code, 0, list.err);
    assert.deepEqual(JSON.parse(list.out).map((n: { state: string }) => n.state), ["up"]);
    assert.equal(list.err, "");
    const call = await rpcxOffline(bare, [
      "call",
      "-r",
      `tcp@${addr}`,
      "Arith.Mul",
      '{"A":6,"B":7}',
    ]);
    assert.equal(call.code, 0, call.err);
    assert.equal(call.out, '{"C":42}\n');

    // The check sees what is loaded: a registry URL needs that registry's packages.
    const closed = freePort();
    for (const [registry, packages] of registries) {
      if (packages.length === 0) continue;
      const r = await rpcxOffline(bare, ["list", "-r", failingUrl(registry, closed).url]);
      assert.notEqual(r.code, 0, `${registry}: ${r.out}`);
      const missing = NOT_CACHED.exec(r.err)?.[1];
      assert.ok(missing && packages.includes(missing), `${registry} wants its own: ${r.err}`);
    }
  } finally {
    await server.close();
    await Deno.remove(bare, { recursive: true });
  }
});

Deno.test("cli lazy: a registry's URL needs only that registry's npm packages", async () => {
  const cache = await npmCache();
  const closed = freePort();
  for (const [registry, own] of registries) {
    const others = allPackages.filter((p) => !own.includes(p));
    const dir = await denoDirWithout(cache, others);
    try {
      const { url, code } = failingUrl(registry, closed);
      const r = await rpcxOffline(dir, ["list", "-r", url]);
      assert.doesNotMatch(r.err, NOT_CACHED, `${registry} loaded another registry's package`);
      assert.equal(r.code, code, `${registry}: ${r.err}`);
      assert.match(r.err, /^rpcx: [^\n]+\n$/, `${registry}: one line: ${r.err}`);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  }
});

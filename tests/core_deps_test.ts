// The core never loads a registry adapter's npm client (audit claim 9), and a fresh machine
// runs examples/inprocess/main.ts with only the core's own npm packages: checked offline
// (`--cached-only`) against a new DENO_DIR that holds just those packages, so an eager install
// of every npm package in deno.lock (etcd3 → grpc-js, protobufjs, ...) fails the test.
import assert from "node:assert/strict";
import { runBounded } from "./support/child.ts";
import { REPO_ROOT } from "./support/env.ts";
import { registryFolders } from "./support/registry_folders.ts";

/** The registry folders (from deno.json's subpaths: a new registry needs no edit here). */
const REGISTRIES = await registryFolders();

/** npm packages of the registry adapters (and the heavy trees they bring). */
const ADAPTER_PACKAGES = [
  ...new Set(REGISTRIES.flatMap((r) => r.packages)),
  "protobufjs", // etcd3's gRPC tree
  // the plugins' (src/plugins/, under @rpcx/core/plugins/*)
  "@opentelemetry/api",
  "prom-client",
];

interface DenoInfo {
  modules: { specifier: string; kind?: string }[];
  npmPackages: Record<string, { name: string; dependencies: string[]; localPath?: string }>;
}

async function info(root: string): Promise<DenoInfo> {
  const out = await runBounded(Deno.execPath(), {
    args: ["info", "--json", root],
    cwd: REPO_ROOT,
    timeoutMs: 120_000,
  });
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  return JSON.parse(new TextDecoder().decode(out.stdout));
}

/** The npm packages (id `name@version…`) the module graph of `root` loads, with their deps. */
async function npmClosure(root: string): Promise<{ ids: Set<string>; info: DenoInfo }> {
  const i = await info(root);
  const ids = new Set<string>();
  const pending = i.modules
    .filter((m) => m.specifier.startsWith("npm:"))
    .map((m) => m.specifier.replace(/^npm:\/?/, ""))
    .map((spec) => Object.keys(i.npmPackages).find((id) => id === spec || id.startsWith(spec)))
    .filter((id): id is string => id !== undefined);
  while (pending.length) {
    const id = pending.pop()!;
    if (ids.has(id)) continue;
    ids.add(id);
    pending.push(...(i.npmPackages[id]?.dependencies ?? []));
  }
  return { ids, info: i };
}

for (
  const root of ["mod.ts", "src/extend.ts", "src/protocol/mod.ts", "examples/inprocess/main.ts"]
) {
  Deno.test(`core deps: deno info ${root} has no registry adapter and none of its npm clients`, async () => {
    assert.ok(ADAPTER_PACKAGES.includes("etcd3") && ADAPTER_PACKAGES.includes("ioredis"));
    const { ids, info: i } = await npmClosure(root);
    const names = [...ids].map((id) => i.npmPackages[id].name);
    for (const p of ADAPTER_PACKAGES) assert.ok(!names.includes(p), `${root} loads npm:${p}`);
    const folders = REGISTRIES.map((r) => `registry/${r.name}`).join("|");
    const adapters = i.modules.filter((m) =>
      new RegExp(`/src/(${folders}|plugins)/`).test(m.specifier)
    );
    assert.deepEqual(adapters.map((m) => m.specifier), []);
  });
}

Deno.test("core deps: examples/inprocess/main.ts runs offline from a DENO_DIR holding only the core's npm packages, printing only its result", async () => {
  const { ids, info: i } = await npmClosure("examples/inprocess/main.ts");
  const denoDir = await Deno.makeTempDir({ prefix: "rpcx-fresh-deno-dir-" });
  try {
    for (const id of ids) {
      const pkg = i.npmPackages[id];
      // <cache>/npm/registry.npmjs.org/<name>/<version>: copy <name>/ (packument and tarball)
      const from = pkg.localPath!.replace(/\/[^/]+$/, "");
      const to = `${denoDir}/npm/registry.npmjs.org/${pkg.name}`;
      await Deno.mkdir(to.replace(/\/[^/]+$/, ""), { recursive: true });
      const cp = await runBounded("cp", { args: ["-r", from, to], timeoutMs: 30_000 });
      assert.equal(cp.code, 0, `copy ${from}`);
    }
    const out = await runBounded(Deno.execPath(), {
      args: ["run", "--cached-only", "examples/inprocess/main.ts"],
      cwd: REPO_ROOT,
      env: { DENO_DIR: denoDir, NO_COLOR: "1" },
      timeoutMs: 120_000,
    });
    const stderr = new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 0, stderr);
    assert.equal(new TextDecoder().decode(out.stdout), "10 * 20 = 200\n");
    assert.equal(stderr, "", "nothing but the result (no download, no build-script warning)");
  } finally {
    await Deno.remove(denoDir, { recursive: true });
  }
});

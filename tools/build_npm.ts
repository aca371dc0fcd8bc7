// `deno task build:npm`: the npm form of the package (issue 24) in dist/npm/ — ESM JavaScript
// and .d.ts files compiled by npm's tsc (one file per source file, so subpaths and the lazy
// imports of the CLI keep their shape), a package.json with every subpath of deno.json's
// `exports`, the npm packages the core and the `rpcx` command load as dependencies, those only a
// registry folder, a plugin or a lazy import() loads as optional peer dependencies, and the `rpcx`
// command as its bin.
// `npm install ./dist/npm` installs it; Node >= 20 and Bun import `@rpcx/core`, `@rpcx/core/etcd`,
// ... from it as Deno does. tests/npm_test.ts installs it and runs it under Node and Bun.
//
// Usage: deno run -A tools/build_npm.ts [--out dir]   (default dist/npm, emptied first)
import { join, resolve } from "node:path";
import { type DenoJson, denoJson, emitJs, npmDependencies, ROOT } from "./_npm.ts";

/** The npm `exports` entry of one deno.json export (`./src/x.ts` → `./src/x.js` + `.d.ts`). */
function npmEntry(file: string): { types: string; default: string } {
  const base = file.replace(/\.ts$/, "");
  return { types: `${base}.d.ts`, default: `${base}.js` };
}

/** package.json of the npm form. */
export function packageJson(manifest: DenoJson = denoJson()): Record<string, unknown> {
  const { dependencies, peers } = npmDependencies(manifest);
  const exports: Record<string, unknown> = {};
  for (const [sub, file] of Object.entries(manifest.exports)) exports[sub] = npmEntry(file);
  exports["./package.json"] = "./package.json";
  return {
    name: manifest.name,
    version: manifest.version,
    description:
      "rpcx (github.com/smallnest/rpcx) for TypeScript: server, client and registries that speak Go rpcx's wire protocol",
    license: manifest.license,
    type: "module",
    engines: { node: ">=20" },
    exports,
    bin: { rpcx: "./bin/rpcx.js" },
    files: ["mod.js", "mod.d.ts", "src/", "bin/", "README.md", "LICENSE"],
    dependencies,
    // A registry's client, the plugins' libraries and protobufjs (`rpcx … --proto`): optional,
    // installed by the user of that subpath (the README's table); see `optionalImport`.
    peerDependencies: peers,
    peerDependenciesMeta: Object.fromEntries(
      Object.keys(peers).map((name) => [name, { optional: true }]),
    ),
  };
}

/** The `rpcx` command's launcher (Node's and Bun's entry; Deno runs src/cli/main.ts). */
const BIN = `#!/usr/bin/env node
import process from "node:process";
import { runRpcx } from "../src/cli/mod.js";

process.exit(await runRpcx(process.argv.slice(2)));
`;

/** Builds the npm form into `out` (emptied first). Returns `out`. */
export async function buildNpm(out: string = join(ROOT, "dist", "npm")): Promise<string> {
  const manifest = denoJson();
  await Deno.remove(out, { recursive: true }).catch((e) => {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  });
  await Deno.mkdir(out, { recursive: true });
  const entries = [
    ...Object.values(manifest.exports).map((f) => f.replace(/^\.\//, "")),
    "src/cli/main.ts",
  ];
  await emitJs(entries, out, true);
  await Deno.writeTextFile(
    join(out, "package.json"),
    JSON.stringify(packageJson(manifest), null, 2) + "\n",
  );
  await Deno.mkdir(join(out, "bin"));
  await Deno.writeTextFile(join(out, "bin", "rpcx.js"), BIN, { mode: 0o755 });
  for (const f of ["README.md", "LICENSE"]) await Deno.copyFile(join(ROOT, f), join(out, f));
  return out;
}

if (import.meta.main) {
  const i = Deno.args.indexOf("--out");
  const out = await buildNpm(i >= 0 ? resolve(Deno.args[i + 1]) : undefined);
  console.log(`build:npm: ${out}`);
}

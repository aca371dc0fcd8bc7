// The npm form of the package (tools/build_npm.ts) built and installed with npm (the README's
// `npm install --install-links <dist> <peers…>`) into an empty project, once per test process:
// tests/npm_test.ts and tests/runtimes_interop_test.ts run Node and Bun there as a user of the
// package would. `installPackage()` installs every optional peer dependency too (the tests use
// every subpath); `installBare()` none (a core-only user: `npm install @rpcx/core`).
import { join } from "node:path";
import { buildNpm } from "../../tools/build_npm.ts";
import { run } from "../../tools/_npm.ts";

let dist: Promise<string> | undefined;
let installed: Promise<string> | undefined;
let bare: Promise<string> | undefined;

/** A temporary folder removed when the test process ends. */
async function tempDir(prefix: string): Promise<string> {
  const tmp = await Deno.makeTempDir({ prefix });
  globalThis.addEventListener("unload", () => Deno.removeSync(tmp, { recursive: true }));
  return tmp;
}

/** The package built once per process. */
function built(): Promise<string> {
  return dist ??= (async () => await buildNpm(join(await tempDir("rpcx-npm-dist-"), "dist")))();
}

/** A new project (`"type": "module"`) with the package and `extra` installed as the README says. */
async function project(extra: string[]): Promise<string> {
  const folder = join(await tempDir("rpcx-npm-"), "project");
  await Deno.mkdir(folder);
  await Deno.writeTextFile(
    join(folder, "package.json"),
    JSON.stringify({ name: "consumer", private: true, type: "module" }),
  );
  // Exactly the README's command: a folder installed with --install-links (a plain
  // `npm install <folder>` only symlinks it and leaves its dependencies out), then the peers of
  // the subpaths used; offline from npm's cache when it has them.
  await run("npm", [
    "install",
    "--install-links",
    await built(),
    ...extra,
    "--no-audit",
    "--no-fund",
    "--prefer-offline",
    "--ignore-scripts",
    "--loglevel=error",
  ], folder);
  return folder;
}

/**
 * Builds the package and installs it with all its optional peer dependencies (at its
 * `peerDependencies` ranges) into a new project; resolves with the project folder.
 */
export function installPackage(): Promise<string> {
  return installed ??= (async () => {
    const pkg = JSON.parse(await Deno.readTextFile(join(await built(), "package.json")));
    const peers = Object.entries(pkg.peerDependencies as Record<string, string>)
      .map(([name, range]) => `${name}@${range}`);
    return await project(peers);
  })();
}

/** The package alone (no optional peer dependency) in a new project: `npm install @rpcx/core`. */
export function installBare(): Promise<string> {
  return bare ??= project([]);
}

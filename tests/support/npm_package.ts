// The npm form of the package (tools/build_npm.ts) built, packed and installed with npm into an
// empty project, once per test process: tests/npm_test.ts and tests/runtimes_interop_test.ts run
// Node and Bun there as a user of the package would.
import { join } from "node:path";
import { buildNpm } from "../../tools/build_npm.ts";
import { run } from "../../tools/_npm.ts";

let installed: Promise<string> | undefined;

/**
 * Builds, packs and installs the package into a new project (`"type": "module"`); resolves with
 * the project folder (removed when the test process ends).
 */
export function installPackage(): Promise<string> {
  return installed ??= (async () => {
    const tmp = await Deno.makeTempDir({ prefix: "rpcx-npm-" });
    globalThis.addEventListener("unload", () => Deno.removeSync(tmp, { recursive: true }));
    const dist = await buildNpm(join(tmp, "dist"));
    const packed = await run("npm", ["pack", "--pack-destination", tmp, "--silent"], dist);
    const tgz = join(tmp, packed.trim().split("\n").pop()!);
    const project = join(tmp, "project");
    await Deno.mkdir(project);
    await Deno.writeTextFile(
      join(project, "package.json"),
      JSON.stringify({ name: "consumer", private: true, type: "module" }),
    );
    await run("npm", [
      "install",
      tgz,
      "--no-audit",
      "--no-fund",
      "--prefer-offline",
      "--ignore-scripts",
      "--loglevel=error",
    ], project);
    return project;
  })();
}

// The npm form of the package (tools/build_npm.ts) built and installed with npm (the README's
// `npm install --install-links <dist>`) into an
// empty project, once per test process: tests/npm_test.ts and tests/runtimes_interop_test.ts run
// Node and Bun there as a user of the package would.
import { join } from "node:path";
import { buildNpm } from "../../tools/build_npm.ts";
import { run } from "../../tools/_npm.ts";

let installed: Promise<string> | undefined;

/**
 * Builds the package and installs it, as the README says, into a new project (`"type": "module"`); resolves with
 * the project folder (removed when the test process ends).
 */
export function installPackage(): Promise<string> {
  return installed ??= (async () => {
    const tmp = await Deno.makeTempDir({ prefix: "rpcx-npm-" });
    globalThis.addEventListener("unload", () => Deno.removeSync(tmp, { recursive: true }));
    const dist = await buildNpm(join(tmp, "dist"));
    const project = join(tmp, "project");
    await Deno.mkdir(project);
    await Deno.writeTextFile(
      join(project, "package.json"),
      JSON.stringify({ name: "consumer", private: true, type: "module" }),
    );
    // Exactly the README's command: a folder installed with --install-links (a plain
    // `npm install <folder>` only symlinks it and leaves its dependencies out).
    await run("npm", [
      "install",
      "--install-links",
      dist,
      "--no-audit",
      "--no-fund",
      "--prefer-offline",
      "--ignore-scripts",
      "--loglevel=error",
    ], project);
    return project;
  })();
}

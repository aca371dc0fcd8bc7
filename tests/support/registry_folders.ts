// The registries as their folders declare them: every `src/registry/<name>/` folder that
// deno.json exports as a subpath (`@rpcx/core/<name>`), with the npm packages its files import
// (read from deno.json's import map) and whether it has an `operator.ts` (the command line's).
// Tests derive their registry lists from here, so adding a registry needs no test edit.
import { REPO_ROOT } from "./env.ts";

/** One registry folder. */
export interface RegistryFolder {
  /** The folder's name, e.g. `etcd`. */
  name: string;
  /** The npm packages its files import, sorted (e.g. `["@grpc/grpc-js", "etcd3"]`). */
  packages: string[];
  /** Whether it has `operator.ts`. */
  operator: boolean;
}

const config = JSON.parse(await Deno.readTextFile(`${REPO_ROOT}/deno.json`)) as {
  exports: Record<string, string>;
  imports: Record<string, string>;
};

/** The npm package name of an import-map target (`npm:@grpc/grpc-js@^1` → `@grpc/grpc-js`). */
function packageName(target: string): string {
  return target.replace(/^npm:/, "").replace(/(.)@.*$/, "$1");
}

/** The registry folders exported by deno.json, sorted by name. */
export async function registryFolders(): Promise<RegistryFolder[]> {
  const names = Object.values(config.exports)
    .map((p) => /^\.\/src\/registry\/([^/]+)\/mod\.ts$/.exec(p)?.[1])
    .filter((n): n is string => n !== undefined)
    .sort();
  const out: RegistryFolder[] = [];
  for (const name of names) {
    const path = `${REPO_ROOT}/src/registry/${name}`;
    const packages = new Set<string>();
    let operator = false;
    for await (const f of Deno.readDir(path)) {
      if (!f.name.endsWith(".ts")) continue;
      if (f.name === "operator.ts") operator = true;
      const text = await Deno.readTextFile(`${path}/${f.name}`);
      for (const m of text.matchAll(/^\s*(?:import|export)\b[^;]*?from\s+"([^".][^"]*)"/gms)) {
        const target = config.imports[m[1]];
        if (target?.startsWith("npm:")) packages.add(packageName(target));
      }
    }
    out.push({ name, packages: [...packages].sort(), operator });
  }
  return out;
}

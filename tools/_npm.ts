// Shared by the tools that run npm's TypeScript over the package (check_neutral.ts, build_npm.ts):
// the package's manifest (deno.json), the npm packages src/ imports, and a node_modules folder
// holding pinned tools plus those packages, installed once per set with npm (outside the repo,
// so worktrees and CI share it and `.cache/`, the shared build output, stays read-only).
import { createHash } from "node:crypto";
import { homedir } from "node:os";
import { dirname, join, relative } from "node:path";

/** The repository root (absolute). */
export const ROOT: string = join(dirname(new URL(import.meta.url).pathname), "..");

/** npm's TypeScript (tsc 7, native) used by both tools. */
export const TYPESCRIPT = { typescript: "7.0.2" };
/** Node's types for the oldest Node we support (engines: >=20): an API newer than it fails the check. */
export const NODE_TYPES = { "@types/node": "20.19.43" };

/** What the tools read from deno.json. */
export interface DenoJson {
  name: string;
  version: string;
  license: string;
  exports: Record<string, string>;
  imports: Record<string, string>;
}

/** deno.json of the repository. */
export function denoJson(): DenoJson {
  return JSON.parse(Deno.readTextFileSync(join(ROOT, "deno.json")));
}

/** Every file under `dir` (absolute paths, sorted) whose name passes `keep`. */
export function walk(dir: string, keep: (name: string) => boolean): string[] {
  const out: string[] = [];
  for (const e of Deno.readDirSync(dir)) {
    const path = join(dir, e.name);
    if (e.isDirectory) out.push(...walk(path, keep));
    else if (keep(e.name)) out.push(path);
  }
  return out.sort();
}

/** Code lines of a TypeScript file: lines that start a comment (`//`, `*`, `/*`) dropped. */
export function codeLines(text: string): string {
  return text.split("\n").filter((l) => !/^\s*(\*|\/\/|\/\*)/.test(l)).join("\n");
}

/** One import of an npm package by the published code. */
export interface SrcImport {
  /** The importing file, repo-relative (`src/registry/etcd/client.ts`). */
  file: string;
  /** `import("pkg")` or `import type … from "pkg"`: nothing loads it when the file loads. */
  lazy: boolean;
}

/**
 * Every npm package the published code (mod.ts and src/, tests excluded) imports, as
 * `{ name: { range, imports } }`: the range from deno.json's `imports` (`npm:` cut), and where it
 * is imported. A bare import that deno.json does not map throws: it would not resolve in the npm
 * form either.
 */
export function srcImports(
  manifest: DenoJson = denoJson(),
): Record<string, { range: string; imports: SrcImport[] }> {
  const files = [
    join(ROOT, "mod.ts"),
    ...walk(join(ROOT, "src"), (n) => n.endsWith(".ts") && !n.endsWith("_test.ts")),
  ];
  const out: Record<string, { range: string; imports: SrcImport[] }> = {};
  // A static import/export (`type` after the keyword: type-only), a side-effect import, or a
  // dynamic import().
  const re =
    /(?:^|\n)\s*(?:(import|export)\s+(type\s+)?[^;"]*?\bfrom|import)\s*"([^".][^"]*)"|\bimport\(\s*"([^".][^"]*)"\s*\)/g;
  for (const file of files) {
    const text = codeLines(Deno.readTextFileSync(file));
    for (const m of text.matchAll(re)) {
      const spec = m[3] ?? m[4];
      if (
        spec.startsWith("node:") || spec === manifest.name || spec.startsWith(`${manifest.name}/`)
      ) {
        continue;
      }
      const target = manifest.imports[spec];
      if (!target?.startsWith("npm:")) {
        throw new Error(`${relative(ROOT, file)} imports "${spec}", which deno.json does not map`);
      }
      const at = target.lastIndexOf("@");
      const name = target.slice(4, at);
      (out[name] ??= { range: target.slice(at + 1), imports: [] }).imports.push({
        file: relative(ROOT, file),
        lazy: m[4] !== undefined || m[2] !== undefined,
      });
    }
  }
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => a.localeCompare(b)));
}

/**
 * The npm packages the published code imports, as `{ name: range }` (deno.json's ranges, sorted).
 */
export function srcDependencies(manifest: DenoJson = denoJson()): Record<string, string> {
  return Object.fromEntries(
    Object.entries(srcImports(manifest)).map(([name, { range }]) => [name, range]),
  );
}

/**
 * Whether an import of a package leaves it optional for the npm form: imported by a registry's
 * own folder (`src/registry/<name>/`) or a plugin (`src/plugins/`), which only a user of that
 * subpath (or the CLI's lazy `load()` of it) loads, or imported lazily (`import("pkg")`, a
 * type-only import) anywhere.
 */
export function optionalImport(i: SrcImport): boolean {
  return i.lazy || /^src\/registry\/[^/]+\//.test(i.file) || i.file.startsWith("src/plugins/");
}

/**
 * src/'s npm packages split for the npm package.json: `dependencies`, which the core and the
 * `rpcx` command load, and `peers`, imported only where {@linkcode optionalImport} says (the
 * package's optional peer dependencies: a user installs those of the subpaths they use).
 */
export function npmDependencies(
  manifest: DenoJson = denoJson(),
): { dependencies: Record<string, string>; peers: Record<string, string> } {
  const dependencies: Record<string, string> = {};
  const peers: Record<string, string> = {};
  for (const [name, { range, imports }] of Object.entries(srcImports(manifest))) {
    (imports.every(optionalImport) ? peers : dependencies)[name] = range;
  }
  return { dependencies, peers };
}

/** The exact versions deno.lock resolved for `deps` (so the tools check what Deno checks). */
export function lockedVersions(deps: Record<string, string>): Record<string, string> {
  const lock = JSON.parse(Deno.readTextFileSync(join(ROOT, "deno.lock"))) as {
    specifiers: Record<string, string>;
  };
  const out: Record<string, string> = {};
  for (const name of Object.keys(deps)) {
    const hit = Object.entries(lock.specifiers).find(([k]) =>
      k.startsWith(`npm:${name}@`) && !k.slice(`npm:${name}@`.length).includes("/")
    );
    if (!hit) throw new Error(`deno.lock has no version of npm:${name}`);
    out[name] = hit[1].replace(/_.*$/, "");
  }
  return out;
}

/** Runs a command; throws with its output when it fails. Returns its stdout. */
export async function run(cmd: string, args: string[], cwd: string = ROOT): Promise<string> {
  const out = await new Deno.Command(cmd, { args, cwd, stdout: "piped", stderr: "piped" }).output();
  const text = new TextDecoder().decode(out.stdout);
  if (!out.success) {
    const err = new TextDecoder().decode(out.stderr);
    throw new Error(`${cmd} ${args.join(" ")} (in ${cwd}) exited ${out.code}\n${text}${err}`);
  }
  return text;
}

/**
 * A folder whose node_modules holds exactly `packages` (`{ name: version }`), installed with npm
 * the first time and reused after (one folder per set, under $RPCX_TOOLS_DIR or
 * ~/.cache/rpcx-npm-tools). Installs into a temporary folder that is renamed at the end, so two
 * runs at once never see half an install. Lifecycle scripts are not run.
 */
export async function npmTools(packages: Record<string, string>): Promise<string> {
  const base = Deno.env.get("RPCX_TOOLS_DIR") ?? join(homedir(), ".cache", "rpcx-npm-tools");
  const spec = JSON.stringify(Object.entries(packages).sort(([a], [b]) => a.localeCompare(b)));
  const key = createHash("sha256").update(spec).digest("hex").slice(0, 16);
  const dir = join(base, key);
  try {
    Deno.statSync(join(dir, ".complete"));
    return dir;
  } catch {
    // not installed yet
  }
  Deno.mkdirSync(base, { recursive: true });
  const tmp = Deno.makeTempDirSync({ dir: base, prefix: `.${key}-` });
  try {
    Deno.writeTextFileSync(
      join(tmp, "package.json"),
      JSON.stringify({ private: true, dependencies: packages }, null, 2),
    );
    await run("npm", [
      "install",
      "--no-audit",
      "--no-fund",
      "--ignore-scripts",
      "--loglevel=error",
    ], tmp);
    Deno.writeTextFileSync(join(tmp, ".complete"), spec);
    try {
      Deno.renameSync(tmp, dir);
    } catch (e) {
      // Another run finished the same set first: use its folder.
      try {
        Deno.statSync(join(dir, ".complete"));
      } catch {
        throw e;
      }
    }
  } finally {
    try {
      Deno.removeSync(tmp, { recursive: true });
    } catch {
      // renamed into place
    }
  }
  return dir;
}

/**
 * tsconfig `paths` that resolve bare imports into the tools' `modules` folder (the sources live
 * outside any node_modules tree). A path mapping to a package folder reads its `types`/`main`
 * only, not `exports`, so a package typed through `exports["."].types` alone gets its own entry.
 */
export function modulePaths(modules: string): Record<string, string[]> {
  const paths: Record<string, string[]> = { "*": [`${modules}/*`] };
  for (const name of Object.keys(srcDependencies())) {
    let pkg: { types?: string; typings?: string; exports?: Record<string, unknown> };
    try {
      pkg = JSON.parse(Deno.readTextFileSync(join(modules, name, "package.json")));
    } catch {
      continue;
    }
    const root = pkg.exports?.["."] as { types?: unknown } | undefined;
    if (!pkg.types && !pkg.typings && typeof root?.types === "string") {
      paths[name] = [join(modules, name, root.types)];
    }
  }
  return paths;
}

/** The npm packages the tools install: tsc, Node's types and src/'s dependencies (deno.lock's versions). */
export function toolPackages(manifest: DenoJson = denoJson()): Record<string, string> {
  return { ...TYPESCRIPT, ...NODE_TYPES, ...lockedVersions(srcDependencies(manifest)) };
}

/**
 * Compiles `entries` (repo-relative .ts files) and everything they import to ESM JavaScript
 * (ES2022) under `outDir`, mirroring the repo's layout (`src/x.ts` → `outDir/src/x.js`), with
 * relative `.ts` imports rewritten to `.js`. No type check (`deno check` does that); with
 * `declarations`, `.d.ts` files beside them. Returns the tools' `node_modules` folder, which
 * holds the npm packages src/ imports.
 */
export async function emitJs(
  entries: string[],
  outDir: string,
  declarations = false,
): Promise<string> {
  const tools = await npmTools(toolPackages());
  const work = Deno.makeTempDirSync({ prefix: "rpcx-emit-" });
  try {
    const tsconfig = {
      compilerOptions: {
        target: "es2022",
        module: "esnext",
        moduleResolution: "bundler",
        types: ["node"],
        typeRoots: [join(tools, "node_modules", "@types")],
        paths: modulePaths(join(tools, "node_modules")),
        noCheck: true,
        declaration: declarations,
        rewriteRelativeImportExtensions: true,
        allowImportingTsExtensions: true,
        rootDir: ROOT,
        outDir,
        newLine: "lf",
      },
      files: entries.map((f) => join(ROOT, f)),
    };
    Deno.writeTextFileSync(join(work, "tsconfig.json"), JSON.stringify(tsconfig, null, 2));
    await run("node", [
      join(tools, "node_modules", "typescript", "bin", "tsc"),
      "-p",
      join(work, "tsconfig.json"),
      "--pretty",
      "false",
    ]);
    return join(tools, "node_modules");
  } finally {
    Deno.removeSync(work, { recursive: true });
  }
}

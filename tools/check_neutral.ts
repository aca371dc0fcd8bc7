// `deno task check:neutral`: type-checks every export of the package (and the `rpcx` command)
// with npm's TypeScript, Node's types (@types/node for Node 20) and no Deno types, so runtime
// APIs outside the runtime seam (src/runtime, src/adapter) show up as type errors. Issue 24.
//
// Files waiting for their step of the seam work were listed in PENDING with the reason: their
// errors were reported and tolerated, every other file had to have none, and a PENDING file
// without errors failed the check too, so the list only shrank. Since step A6 (the sockets) it is
// empty, and tests/layout_test.ts keeps it empty: every file must type-check without Deno.
//
// Usage: deno run -A tools/check_neutral.ts [--verbose]
import { join, relative } from "node:path";
import { denoJson, modulePaths, npmTools, ROOT, toolPackages } from "./_npm.ts";

/**
 * src/ files whose errors under Node's types are tolerated, with the step that removes them
 * (PLAN-seam.md §5). Empty since step A6; tests/layout_test.ts keeps it empty.
 */
export const PENDING: Record<string, string> = {};

/** npm packages without types: Deno types them as `any`, so the check does too. */
const UNTYPED = ["cli-progress", "multicast-dns", "node-zookeeper-client"];

/** One tsc diagnostic. */
export interface Diagnostic {
  file: string;
  line: number;
  code: string;
  text: string;
}

/** Parses `tsc --pretty false` output (`file(line,col): error TSnnnn: text` plus indented lines). */
export function parseDiagnostics(out: string): Diagnostic[] {
  const found: Diagnostic[] = [];
  for (const line of out.split("\n")) {
    const m = /^(.+?)\((\d+),\d+\): error (TS\d+): (.*)$/.exec(line);
    if (m) found.push({ file: m[1], line: Number(m[2]), code: m[3], text: m[4] });
    else if (line.trim() && found.length) found.at(-1)!.text += `\n${line}`;
  }
  return found;
}

/** Runs tsc over the exports; returns its diagnostics with paths relative to the repo. */
export async function neutralDiagnostics(): Promise<Diagnostic[]> {
  const manifest = denoJson();
  const tools = await npmTools(toolPackages(manifest));
  const modules = join(tools, "node_modules");
  const work = Deno.makeTempDirSync({ prefix: "rpcx-neutral-" });
  try {
    Deno.writeTextFileSync(
      join(work, "untyped.d.ts"),
      UNTYPED.map((m) => `declare module "${m}";\n`).join(""),
    );
    const paths = modulePaths(modules);
    for (const [sub, file] of Object.entries(manifest.exports)) {
      paths[manifest.name + sub.slice(1)] = [join(ROOT, file)];
    }
    const tsconfig = {
      compilerOptions: {
        target: "es2022",
        module: "esnext",
        moduleResolution: "bundler",
        // Node 20's language: an ES2024+ API (Promise.withResolvers, ...) is an error too.
        lib: ["es2023"],
        types: ["node"],
        typeRoots: [join(modules, "@types")],
        strict: true,
        noEmit: true,
        allowImportingTsExtensions: true,
        skipLibCheck: true,
        paths,
      },
      files: [
        join(work, "untyped.d.ts"),
        ...Object.values(manifest.exports).map((f) => join(ROOT, f)),
        join(ROOT, "src/cli/main.ts"),
      ],
    };
    Deno.writeTextFileSync(join(work, "tsconfig.json"), JSON.stringify(tsconfig, null, 2));
    const out = await new Deno.Command("node", {
      args: [
        join(modules, "typescript/bin/tsc"),
        "-p",
        join(work, "tsconfig.json"),
        "--pretty",
        "false",
      ],
      cwd: ROOT,
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
    const found = parseDiagnostics(text);
    if (!out.success && found.length === 0) throw new Error(`tsc failed:\n${text}`);
    return found.map((d) => ({ ...d, file: relative(ROOT, join(ROOT, d.file)) }));
  } finally {
    Deno.removeSync(work, { recursive: true });
  }
}

/** Splits diagnostics into tolerated (PENDING files) and failing, and lists stale PENDING files. */
export function judge(found: Diagnostic[]): {
  tolerated: Map<string, number>;
  failing: Diagnostic[];
  stale: string[];
} {
  const tolerated = new Map<string, number>();
  const failing: Diagnostic[] = [];
  for (const d of found) {
    if (d.file in PENDING) tolerated.set(d.file, (tolerated.get(d.file) ?? 0) + 1);
    else failing.push(d);
  }
  const stale = Object.keys(PENDING).filter((f) => !tolerated.has(f));
  return { tolerated, failing, stale };
}

if (import.meta.main) {
  const verbose = Deno.args.includes("--verbose");
  const found = await neutralDiagnostics();
  const { tolerated, failing, stale } = judge(found);
  const total = [...tolerated.values()].reduce((a, b) => a + b, 0);
  for (const d of verbose ? found : failing) {
    console.log(`${d.file}:${d.line} ${d.code} ${d.text}`);
  }
  console.log(
    `check:neutral: ${total} tolerated error(s) in ${tolerated.size} PENDING file(s); ` +
      `${failing.length} elsewhere`,
  );
  for (const f of stale) console.log(`stale: ${f} has no error now: delete it from PENDING`);
  if (failing.length || stale.length) Deno.exit(1);
}

// Node and Bun for the tests that run the package outside Deno (issue 24): where their binaries
// are, the package compiled to JavaScript, and a child process run with a bound.
import { join } from "node:path";
import { emitJs } from "../../tools/_npm.ts";
import { findExecutable, REPO_ROOT } from "./env.ts";

/** `node` on PATH, or undefined. */
export function nodeBinary(): string | undefined {
  return findExecutable("node");
}

/**
 * Bun: `$RPCX_BUN`, else the one `.ci/install/80-bun.sh` installs (`.cache/bun/`), else `bun` on
 * PATH; undefined when none is there.
 */
export function bunBinary(): string | undefined {
  const own = Deno.env.get("RPCX_BUN");
  return findExecutable(
    ...(own ? [own] : []),
    join(REPO_ROOT, ".cache/bun/node_modules/.bin/bun"),
    "bun",
  );
}

/** What a bounded child did. */
export interface ChildResult {
  /** Exit status, or undefined when it was killed at the bound. */
  code: number | undefined;
  stdout: string;
  stderr: string;
  /** How long it ran, in ms. */
  ms: number;
}

/**
 * Runs `cmd args` to its end, or kills it (SIGKILL) after `timeoutMs` (then `code` is
 * undefined). Never rejects for the child's own failure.
 */
export async function runBounded(
  cmd: string,
  args: string[],
  { timeoutMs = 20_000, cwd, env }: {
    timeoutMs?: number;
    cwd?: string;
    env?: Record<string, string>;
  } = {},
): Promise<ChildResult> {
  const start = performance.now();
  const child = new Deno.Command(cmd, { args, cwd, env, stdout: "piped", stderr: "piped" })
    .spawn();
  let killed = false;
  const timer = setTimeout(() => {
    killed = true;
    try {
      child.kill("SIGKILL");
    } catch {
      // exited
    }
  }, timeoutMs);
  try {
    const out = await child.output();
    return {
      code: killed ? undefined : out.code,
      stdout: new TextDecoder().decode(out.stdout),
      stderr: new TextDecoder().decode(out.stderr),
      ms: performance.now() - start,
    };
  } finally {
    clearTimeout(timer);
  }
}

let emitted: Promise<string> | undefined;

/**
 * The package's sources compiled to JavaScript (npm's tsc, no bundling) in a temporary folder
 * laid out as the repo (`<dir>/mod.js`, `<dir>/src/...`), once per test process. Returns the
 * folder, whose `node_modules` (a link to the tools' own) holds src/'s npm dependencies.
 */
export function emittedSources(): Promise<string> {
  return emitted ??= (async () => {
    const dir = await Deno.makeTempDir({ prefix: "rpcx-emitted-" });
    globalThis.addEventListener("unload", () => Deno.removeSync(dir, { recursive: true }));
    const modules = await emitJs(
      ["mod.ts", "src/protocol/mod.ts", "src/native/mod.ts", "src/runtime/mod.ts"],
      dir,
    );
    await Deno.symlink(modules, join(dir, "node_modules"));
    // ESM: Node reads .js as CommonJS without it.
    await Deno.writeTextFile(join(dir, "package.json"), JSON.stringify({ type: "module" }));
    return dir;
  })();
}

// Node and Bun for the tests that run the package outside Deno (issue 24): where their binaries
// are, the package compiled to JavaScript, and a child process run with a bound.
import assert from "node:assert/strict";
import { join } from "node:path";
import { emitJs } from "../../tools/_npm.ts";
import { bounded, findExecutable, needs, REPO_ROOT } from "./env.ts";
import { startReady } from "./child.ts";
import { installPackage } from "./npm_package.ts";

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

/** A JavaScript runtime the portable tests run the npm package under. */
export interface Target {
  name: "node" | "bun";
  /** The binary and the arguments before a script, or undefined (skipped; under CI it fails). */
  command(): { cmd: string; pre: string[] } | undefined;
}

/** Node and Bun. */
export const TARGETS: readonly Target[] = [
  {
    name: "node",
    command: () => {
      const node = nodeBinary();
      return needs("node", node ? undefined : "node is not on PATH")
        ? { cmd: node!, pre: [] }
        : undefined;
    },
  },
  {
    name: "bun",
    command: () => {
      const bun = bunBinary();
      return needs("bun", bun ? undefined : "no bun (.ci/install/80-bun.sh, $RPCX_BUN)")
        ? { cmd: bun!, pre: ["run"] }
        : undefined;
    },
  },
];

/** The installed package's project folder and runtime_peer.js in it. */
export interface RuntimePeer {
  project: string;
  script: string;
}

/** Set inside a network namespace (tests/support/netns.ts): a project made outside it. */
export const PEER_PROJECT_ENV = "RPCX_RUNTIME_PEER_PROJECT";

let peer: Promise<RuntimePeer> | undefined;

/**
 * The npm package installed into a new project (tests/support/npm_package.ts), with
 * tests/support/runtime_peer.ts compiled into it (once per test process): tsc writes
 * tests/support/runtime_peer.js and what it imports (echo_service.js, examples/arith.js, ...) into
 * the project, where their "@rpcx/core" imports resolve to the installed package. With
 * `$RPCX_RUNTIME_PEER_PROJECT` (a run inside a network namespace, which has no registry to
 * install from), that project is used as it is.
 */
export function runtimePeer(): Promise<RuntimePeer> {
  return peer ??= (async () => {
    const given = Deno.env.get(PEER_PROJECT_ENV);
    const project = given || await installPackage();
    if (!given) await emitJs(["tests/support/runtime_peer.ts"], project);
    return { project, script: join(project, "tests/support/runtime_peer.js") };
  })();
}

/** Our peer (runtime_peer.js) running as a server under a target. */
export interface OursServer {
  /** What it printed after LISTENING. */
  addr: string;
  child: Deno.ChildProcess;
  /** SIGTERM (or `signal`), and the exit awaited (SIGKILL after 10 s). */
  stop(signal?: Deno.Signal): Promise<void>;
  /** Its stderr so far. */
  stderrText(): string;
}

/** Starts `runtime_peer.js <args>` under `run` and waits for its LISTENING line. */
export async function startOurs(
  run: { cmd: string; pre: string[] },
  args: string[],
  what = "our server's LISTENING line",
): Promise<OursServer> {
  const { project, script } = await runtimePeer();
  const ours = await startReady(run.cmd, [...run.pre, script, ...args], {
    ready: /LISTENING (\S+)\n/,
    what,
    cwd: project,
    timeoutMs: 30_000,
    stopSignal: "SIGTERM",
    stderr: "piped",
  });
  return { addr: ours.match[1], child: ours.child, stop: ours.stop, stderrText: ours.stderrText };
}

/** Runs `runtime_peer.js <args>` under `run` to its end, within `timeoutMs`. */
export async function runOurs(
  run: { cmd: string; pre: string[] },
  args: string[],
  timeoutMs = 60_000,
): Promise<ChildResult> {
  const { project, script } = await runtimePeer();
  return await runBounded(run.cmd, [...run.pre, script, ...args], { cwd: project, timeoutMs });
}

/** A running child whose stdout lines are kept with the time each arrived. */
export interface Lines {
  readonly lines: { at: number; text: string }[];
  /** Waits (bounded) for the exit; its code, stdout and stderr. */
  end(ms: number): Promise<{ code: number; out: string; err: string }>;
  /** Sends `signal` if running. */
  signal(signal: Deno.Signal): void;
  /** SIGKILL if running; waits for it. */
  stop(): Promise<void>;
}

/** Runs `cmd args`, keeping its stdout lines as they arrive (stderr kept for the end). */
export function spawnLines(cmd: string, args: string[], cwd?: string): Lines {
  const child = new Deno.Command(cmd, { args, cwd, stdout: "piped", stderr: "piped" }).spawn();
  const stderr = new Response(child.stderr).text();
  const lines: { at: number; text: string }[] = [];
  const reading = (async () => {
    let rest = "";
    for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) {
      const parts = (rest + chunk).split("\n");
      rest = parts.pop()!;
      for (const text of parts) lines.push({ at: performance.now(), text });
    }
  })();
  const kill = () => {
    try {
      child.kill("SIGKILL");
    } catch {
      // exited
    }
  };
  return {
    lines,
    signal(signal) {
      try {
        child.kill(signal);
      } catch {
        // exited
      }
    },
    async end(ms) {
      const status = await bounded(child.status, ms, `${cmd} ${args[0]} to exit`).catch((e) => {
        kill();
        throw e;
      });
      await bounded(reading, 5000, `${cmd}'s stdout`);
      return { code: status.code, out: lines.map((l) => l.text).join("\n"), err: await stderr };
    },
    async stop() {
      kill();
      await child.status;
      await reading.catch(() => {});
      await stderr.catch(() => {});
    },
  };
}

/** A `// <name>` code block of the README's "Node and Bun" section (server.mjs, client.mjs). */
export function readmeBlock(name: string): string {
  const readme = Deno.readTextFileSync(join(REPO_ROOT, "README.md"));
  const section = readme.slice(readme.indexOf("\n## Node and Bun\n"));
  const m = section.match(
    new RegExp("```js\n// " + name.replace(".", "\\.") + "\n([\\s\\S]*?)\n```"),
  );
  assert.ok(m, `README: no ${name} block under "## Node and Bun"`);
  return m[1];
}

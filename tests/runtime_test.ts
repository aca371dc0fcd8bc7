// The runtime seam (issue 24, src/runtime + src/adapter): the adapter in use fits the runtime,
// timers unreferenced through it let the process end on Deno, Node and Bun, signals and exit
// go through it, and its Deno adapter's view of Deno (DenoApi) matches Deno's real types.
import assert from "node:assert/strict";
import { join } from "node:path";
import type { DenoApi } from "../src/adapter/deno/_deno.ts";
import { runtime } from "../src/runtime/mod.ts";
import { needs, REPO_ROOT } from "./support/env.ts";
import { bunBinary, emittedSources, nodeBinary, runBounded } from "./support/runtimes.ts";

// deno check fails here when DenoApi asks for something Deno does not have (or types otherwise).
const _realDeno: DenoApi = Deno;

/** A child script (plain JS, so Node and Bun run it too) that uses the seam at `url`. */
function childScript(url: string, mode: "unref" | "ref" | "signal" | "process"): string {
  return `
const { runtime } = await import(${JSON.stringify(url)});
const rt = runtime();
const mode = ${JSON.stringify(mode)};
console.log("runtime " + rt.name);
if (mode === "unref") {
  rt.timers.unref(setTimeout(() => console.log("fired"), 60_000));
  rt.timers.unref(setInterval(() => console.log("fired"), 60_000));
} else if (mode === "ref") {
  const t = setTimeout(() => console.log("fired"), 300);
  rt.timers.unref(t);
  rt.timers.ref(t);
} else if (mode === "signal") {
  const keep = setInterval(() => {}, 60_000);
  const remove = rt.process.onSignals(["SIGINT", "SIGTERM"], () => {
    remove();
    remove();
    clearInterval(keep);
    console.log("signalled");
    rt.process.exit(3);
  });
  console.log("ready");
} else {
  console.log(JSON.stringify({
    args: rt.process.args(),
    env: rt.process.env("RPCX_SEAM_PROBE") ?? null,
    os: rt.process.os(),
  }));
}
`;
}

interface Target {
  name: "deno" | "node" | "bun";
  /** The command and its arguments before the script path. */
  command(): Promise<{ cmd: string; pre: string[]; url: string } | undefined>;
}

const TARGETS: Target[] = [
  {
    name: "deno",
    command: () =>
      Promise.resolve({
        cmd: Deno.execPath(),
        pre: ["run", "-A", "--no-lock", "--quiet"],
        url: new URL("../src/runtime/mod.ts", import.meta.url).href,
      }),
  },
  {
    name: "node",
    command: async () => {
      const node = nodeBinary();
      if (!needs("node", node ? undefined : "node is not on PATH")) return undefined;
      const dir = await emittedSources();
      return { cmd: node!, pre: [], url: `file://${dir}/src/runtime/mod.js` };
    },
  },
  {
    name: "bun",
    command: async () => {
      const bun = bunBinary();
      if (!needs("bun", bun ? undefined : "no bun (.ci/install/80-bun.sh, $RPCX_BUN)")) {
        return undefined;
      }
      const dir = await emittedSources();
      return { cmd: bun!, pre: ["run"], url: `file://${dir}/src/runtime/mod.js` };
    },
  },
];

async function writeChild(script: string): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "rpcx-runtime-child-" });
  const path = join(dir, "child.mjs");
  await Deno.writeTextFile(path, script);
  return path;
}

Deno.test("runtime: Deno's adapter is the one in use under Deno", () => {
  assert.equal(runtime().name, "deno");
  assert.equal(runtime().process.os(), Deno.build.os);
  assert.ok(runtime().ffi !== undefined);
});

for (const target of TARGETS) {
  Deno.test(`runtime (${target.name}): a 60 s timeout and interval unreferenced through the seam let the process end`, async () => {
    const c = await target.command();
    if (!c) return;
    const r = await runBounded(c.cmd, [...c.pre, await writeChild(childScript(c.url, "unref"))], {
      timeoutMs: 20_000,
      cwd: REPO_ROOT,
    });
    assert.equal(r.code, 0, `exit ${r.code} after ${Math.round(r.ms)} ms\n${r.stdout}${r.stderr}`);
    assert.equal(r.stdout.trim(), `runtime ${target.name}`);
  });

  Deno.test(`runtime (${target.name}): a timer referenced again through the seam holds the process until it fires`, async () => {
    const c = await target.command();
    if (!c) return;
    const r = await runBounded(c.cmd, [...c.pre, await writeChild(childScript(c.url, "ref"))], {
      timeoutMs: 20_000,
      cwd: REPO_ROOT,
    });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), `runtime ${target.name}\nfired`);
  });

  Deno.test(`runtime (${target.name}): onSignals calls the handler on SIGTERM, its remover is idempotent, exit sets the status`, async () => {
    const c = await target.command();
    if (!c) return;
    const path = await writeChild(childScript(c.url, "signal"));
    const child = new Deno.Command(c.cmd, {
      args: [...c.pre, path],
      cwd: REPO_ROOT,
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const killer = setTimeout(() => child.kill("SIGKILL"), 20_000);
    try {
      const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
      let out = "";
      while (!out.includes("ready")) {
        const { value, done } = await reader.read();
        if (done) break;
        out += value;
      }
      assert.match(out, /ready/);
      child.kill("SIGTERM");
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        out += value;
      }
      const status = await child.status;
      await child.stderr.cancel();
      assert.equal(status.code, 3, out);
      assert.equal(out.trim(), `runtime ${target.name}\nready\nsignalled`);
    } finally {
      clearTimeout(killer);
    }
  });

  Deno.test(`runtime (${target.name}): args, env and os through the seam`, async () => {
    const c = await target.command();
    if (!c) return;
    const r = await runBounded(
      c.cmd,
      [...c.pre, await writeChild(childScript(c.url, "process")), "--one", "two"],
      { timeoutMs: 20_000, cwd: REPO_ROOT, env: { RPCX_SEAM_PROBE: "yes" } },
    );
    assert.equal(r.code, 0, r.stderr);
    const [first, json] = r.stdout.trim().split("\n");
    assert.equal(first, `runtime ${target.name}`);
    assert.deepEqual(JSON.parse(json), { args: ["--one", "two"], env: "yes", os: Deno.build.os });
  });
}

Deno.test("runtime (deno): env() is undefined without --allow-env, and does not prompt", async () => {
  const url = new URL("../src/runtime/mod.ts", import.meta.url).href;
  const r = await runBounded(
    Deno.execPath(),
    ["run", "--no-lock", "--quiet", "--no-prompt", await writeChild(childScript(url, "process"))],
    { timeoutMs: 20_000, cwd: REPO_ROOT, env: { RPCX_SEAM_PROBE: "yes" } },
  );
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout.trim().split("\n")[1]), {
    args: [],
    env: null,
    os: Deno.build.os,
  });
});

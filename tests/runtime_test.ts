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
const { runtime, PermissionError } = await import(${JSON.stringify(url)});
const RpcxError = Object.getPrototypeOf(PermissionError);
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
  let permissions = "granted";
  try {
    rt.process.requirePermissions(["net", "sys:hostname", "sys:networkInterfaces"], "probe needs them");
  } catch (e) {
    permissions = { name: e.name, rpcx: e instanceof RpcxError, permissions: e.permissions, message: e.message };
  }
  console.log(JSON.stringify({
    args: rt.process.args(),
    env: rt.process.env("RPCX_SEAM_PROBE") ?? null,
    os: rt.process.os(),
    main: rt.process.isMain(import.meta),
    notMain: rt.process.isMain({ url: "file:///elsewhere/child.mjs" }),
    terminal: [1, 2].map((s) => rt.process.isTerminal(s)),
    hostname: rt.process.hostname() ?? null,
    loopback: rt.process.networkInterfaces()
      .filter((i) => i.address === "127.0.0.1" || i.address === "::1")
      .map((i) => i.family + " " + i.name).sort(),
    permissions,
  }));
  // 1 MiB in one write, all of it (a pipe takes 64 KiB at a time), then a line on stderr.
  await rt.process.write(1, new TextEncoder().encode("x".repeat(1 << 20) + "\\n"));
  await rt.process.write(2, new TextEncoder().encode("to stderr\\n"));
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

const childDir = await Deno.makeTempDir({ prefix: "rpcx-runtime-child-" });
globalThis.addEventListener("unload", () => Deno.removeSync(childDir, { recursive: true }));

async function writeChild(script: string): Promise<string> {
  const dir = await Deno.makeTempDir({ dir: childDir });
  const path = join(dir, "child.mjs");
  await Deno.writeTextFile(path, script);
  return path;
}

/**
 * Runs `cmd args` in the repository (with `env`), sends it SIGTERM once its stdout has said
 * "ready", and reads on to its end (SIGKILL after `ms`): its exit code, stdout and stderr.
 */
async function termOnceReady(
  cmd: string,
  args: string[],
  ms: number,
  env?: Record<string, string>,
): Promise<{ code: number; out: string; err: string }> {
  const child = new Deno.Command(cmd, {
    args,
    cwd: REPO_ROOT,
    stdout: "piped",
    stderr: "piped",
    env,
  }).spawn();
  const killer = setTimeout(() => child.kill("SIGKILL"), ms);
  try {
    const err = new Response(child.stderr).text();
    const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let out = "";
    let signalled = false;
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      out += value;
      if (!signalled && out.includes("ready")) {
        signalled = true;
        child.kill("SIGTERM");
      }
    }
    return { code: (await child.status).code, out, err: await err };
  } finally {
    clearTimeout(killer);
  }
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
    const { code, out } = await termOnceReady(c.cmd, [...c.pre, path], 20_000);
    assert.match(out, /ready/);
    assert.equal(code, 3, out);
    assert.equal(out.trim(), `runtime ${target.name}\nready\nsignalled`);
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
    const [first, json, written] = r.stdout.split("\n");
    assert.equal(first, `runtime ${target.name}`);
    assert.deepEqual(JSON.parse(json), {
      args: ["--one", "two"],
      env: "yes",
      os: Deno.build.os,
      main: true,
      notMain: false,
      terminal: [false, false],
      hostname: Deno.hostname(),
      loopback: loopbackInterfaces(),
      permissions: "granted",
    });
    assert.equal(written, "x".repeat(1 << 20));
    assert.equal(r.stderr, "to stderr\n");
  });
}

/** This host's loopback addresses as the seam lists them ("IPv4 lo", ...), from Deno's own list. */
function loopbackInterfaces(): string[] {
  return Deno.networkInterfaces()
    .filter((i) => i.address === "127.0.0.1" || i.address === "::1")
    .map((i) => `${i.family} ${i.name}`).sort();
}

Deno.test("runtime (deno): without permissions env, hostname and interfaces are empty, requirePermissions throws PermissionError; nothing prompts", async () => {
  const url = new URL("../src/runtime/mod.ts", import.meta.url).href;
  const r = await runBounded(
    Deno.execPath(),
    ["run", "--no-lock", "--quiet", "--no-prompt", await writeChild(childScript(url, "process"))],
    { timeoutMs: 20_000, cwd: REPO_ROOT, env: { RPCX_SEAM_PROBE: "yes" } },
  );
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout.split("\n")[1]), {
    args: [],
    env: null,
    os: Deno.build.os,
    main: true,
    notMain: false,
    terminal: [false, false],
    hostname: null,
    loopback: [],
    permissions: {
      name: "PermissionError",
      rpcx: true,
      permissions: ["net", "sys:hostname", "sys:networkInterfaces"],
      message: "probe needs them",
    },
  });
});

/** The native library of this checkout (`deno task build:native`), or undefined. */
function nativeLibrary(): string | undefined {
  const path = `${REPO_ROOT}/native/target/release/librpcx_native.so`;
  try {
    return Deno.statSync(path).isFile ? path : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Runs in Node or Bun against the compiled package: a Server and a Client talking in-process
 * (a call with a 60 s timeout, whose timer must not hold the process after it), then the wire
 * codec: what auto and native load, and, when native loads, that its frames equal the TS ones.
 */
function coreScript(dir: string): string {
  return `
const core = await import(${JSON.stringify(`file://${dir}/mod.js`)});
const protocol = await import(${JSON.stringify(`file://${dir}/src/protocol/mod.js`)});
const native = await import(${JSON.stringify(`file://${dir}/src/native/mod.js`)});
const server = new core.Server();
await server.register({ Mul: (a) => ({ C: a.A * a.B }) }, "Arith");
await server.serve("inprocess", "seam");
const client = new core.Client("inprocess@seam");
const reply = await client.call("Arith", "Mul", { A: 6, B: 7 }, { timeout: 60_000 });
await client.close();
await server.close();
const auto = native.loadWireCodec("auto");
let loaded;
let sameBytes = null;
try {
  const codec = native.loadWireCodec("native");
  loaded = codec.name;
  const payload = new TextEncoder().encode("hello ".repeat(200));
  const msgs = [
    protocol.createMessage({ servicePath: "Arith", serviceMethod: "Mul", seq: 1n, payload }),
    protocol.createMessage({
      servicePath: "Arith", serviceMethod: "Mul", seq: 2n, payload,
      compressType: protocol.CompressType.Gzip,
    }),
  ];
  const a = codec.encodeMessages(msgs);
  const b = protocol.encodeMessages(msgs);
  const back = codec.gunzip(codec.gzip(payload), 1 << 20);
  sameBytes = a.length === b.length && a.every((x, i) => x === b[i]) &&
    back.length === payload.length && back.every((x, i) => x === payload[i]);
} catch (e) {
  loaded = e.constructor.name + ":" + e.reason;
}
console.log(JSON.stringify({ reply, auto: auto.name, reason: auto.fallbackReason ?? null, native: loaded, sameBytes }));
`;
}

for (const target of TARGETS.filter((t) => t.name !== "deno")) {
  Deno.test(`runtime (${target.name}): new Server() and an in-process call run from the compiled JS; the process ends by itself`, async () => {
    const c = await target.command();
    if (!c) return;
    const dir = await emittedSources();
    const r = await runBounded(c.cmd, [...c.pre, await writeChild(coreScript(dir))], {
      timeoutMs: 30_000,
      cwd: REPO_ROOT,
      env: { RPCX_NATIVE_LIB: "" },
    });
    assert.equal(r.code, 0, `exit ${r.code} after ${Math.round(r.ms)} ms\n${r.stdout}${r.stderr}`);
    const out = JSON.parse(r.stdout.trim().split("\n").pop()!);
    assert.deepEqual(out.reply, { C: 42 });
    assert.equal(out.auto, "ts");
    if (target.name === "node") {
      // Node has no FFI: auto serves with TS silently, native says why.
      assert.match(out.reason, /node runtime has no FFI/);
      assert.equal(out.native, "NativeCodecUnavailableError:unsupported");
    } else {
      // Bun has FFI; the compiled package has no local build beside it.
      assert.equal(out.native, "NativeCodecUnavailableError:load-failed");
    }
  });
}

Deno.test("runtime (bun): the native library loads through bun:ffi and frames and gzips as the TS codec does", async () => {
  const c = await TARGETS.find((t) => t.name === "bun")!.command();
  if (!c) return;
  const lib = nativeLibrary();
  if (!needs("the native library", lib ? undefined : "run deno task build:native")) return;
  const dir = await emittedSources();
  const r = await runBounded(c.cmd, [...c.pre, await writeChild(coreScript(dir))], {
    timeoutMs: 30_000,
    cwd: REPO_ROOT,
    env: { RPCX_NATIVE_LIB: lib! },
  });
  assert.equal(r.code, 0, `${r.stdout}${r.stderr}`);
  const out = JSON.parse(r.stdout.trim().split("\n").pop()!);
  assert.deepEqual(out.reply, { C: 42 });
  assert.equal(out.auto, "native", out.reason);
  assert.equal(out.native, "native");
  assert.equal(out.sameBytes, true);
});

/**
 * A Server with a readTimeout (so serve() starts its watchdog timer, unreferenced through the
 * seam) that shuts down and exits on SIGTERM through `shutdownOnSignals` (signals and exit
 * through the seam).
 */
function signalServerScript(dir: string): string {
  return `
const core = await import(${JSON.stringify(`file://${dir}/mod.js`)});
const server = new core.Server({ readTimeout: 60_000 });
await server.register({ Mul: (a) => ({ C: a.A * a.B }) }, "Arith");
await server.serve("inprocess", "signals");
server.shutdownOnSignals({ timeout: 5_000 });
const keep = setInterval(() => {}, 60_000);
console.log("ready");
`;
}

for (const target of TARGETS.filter((t) => t.name !== "deno")) {
  Deno.test(`runtime (${target.name}): a Server's watchdog and shutdownOnSignals run from the compiled JS: SIGTERM shuts down and exits 0`, async () => {
    const c = await target.command();
    if (!c) return;
    const dir = await emittedSources();
    const { code, out, err } = await termOnceReady(
      c.cmd,
      [...c.pre, await writeChild(signalServerScript(dir))],
      30_000,
      { RPCX_NATIVE_LIB: "" },
    );
    assert.equal(code, 0, `${out}${err}`);
    assert.equal(out.trim(), "ready");
  });
}

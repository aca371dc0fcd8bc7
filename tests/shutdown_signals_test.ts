// shutdownOnSignals under Node, Bun and Deno with the HTTP side of the rpcx port in use: a
// bounded stress loop (rounds × runtimes) of a server process (the README's server.mjs, with a
// short shutdown bound), 0-3 HTTP callers of several kinds (a keep-alive connection left open
// after its answer, a curl-like caller that closes after its answer, a request head cut short, a
// connection that sends nothing), and SIGINT at a random moment (before, during or after the
// calls). Each process must exit 0 within the shutdown bound plus EXIT_GRACE; with `exit: false`
// it must end on its own within the same bound, which it does only when shutdown closed every
// connection (an HTTP socket left open keeps the event loop alive). Every caller must see its
// connection closed.
import assert from "node:assert/strict";
import net from "node:net";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { Client } from "@rpcx/core";
import { EXIT_GRACE } from "../src/server/_lifecycle.ts";
import { bounded, delay, REPO_ROOT, waitFor } from "./support/env.ts";
import {
  emittedSources,
  type Lines,
  readmeBlock,
  runtimePeer,
  spawnLines,
  TARGETS,
} from "./support/runtimes.ts";

/** Rounds per runtime and `exit` setting; the shutdown bound (ms) each server is given. */
const ROUNDS = 6;
const SHUTDOWN_MS = 1500;
/** Start-up bound of a server process (ms), and slack for a loaded machine past the bound. */
const START_MS = 20_000;
const SLACK_MS = 2000;

const BODY = JSON.stringify({
  jsonrpc: "2.0",
  method: "Arith.Mul",
  params: { A: 1, B: 2 },
  id: 1,
});
const REQUEST = "POST / HTTP/1.1\r\nHost: x\r\nX-JSONRPC-2.0: true\r\n" +
  `Content-Type: application/json\r\nContent-Length: ${BODY.length}\r\n\r\n${BODY}`;

type Kind = "keepalive" | "curl" | "partial" | "silent";
const KINDS: readonly Kind[] = ["keepalive", "curl", "partial", "silent"];

function serverSource(modUrl: string, exit: boolean): string {
  return `import { Server } from ${JSON.stringify(modUrl)};
class Arith { Mul(args) { return { C: args.A * args.B }; } }
const server = new Server();
await server.register(new Arith(), "Arith");
server.shutdownOnSignals({ timeout: ${SHUTDOWN_MS}, exit: ${exit} });
console.log("listening on " + await server.serve("tcp", "127.0.0.1:0"));
`;
}

/** One caller of `kind`; resolves when the server closed its connection (or after `ms`: false). */
function caller(port: number, kind: Kind, answered: () => void): {
  closed: Promise<boolean>;
  socket: net.Socket;
} {
  const socket = net.connect(port, "127.0.0.1");
  socket.on("error", () => {});
  let timer: ReturnType<typeof setTimeout> | undefined;
  const closed = new Promise<boolean>((resolve) => {
    socket.on("close", () => resolve(true));
    timer = setTimeout(() => resolve(false), START_MS);
  }).finally(() => clearTimeout(timer));
  socket.on("connect", () => {
    if (kind === "keepalive" || kind === "curl") socket.write(REQUEST);
    else if (kind === "partial") socket.write(REQUEST.slice(0, 20));
    if (kind === "partial" || kind === "silent") answered();
  });
  socket.on("data", () => {
    answered();
    if (kind === "curl") socket.end();
  });
  socket.on("close", answered);
  return { closed, socket };
}

async function round(
  cmd: string,
  args: string[],
  label: string,
): Promise<void> {
  const child = new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).spawn();
  const stderr = new Response(child.stderr).text();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let out = "";
  const startTimer = setTimeout(() => child.kill("SIGKILL"), START_MS);
  while (!out.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) break;
    out += value;
  }
  clearTimeout(startTimer);
  const port = Number(out.match(/listening on \S+:(\d+)/)?.[1]);
  if (!(port > 0)) {
    child.kill("SIGKILL");
    assert.fail(`${label}: no address in ${JSON.stringify(out)}: ${await stderr}`);
  }
  const calls = Math.floor(Math.random() * 4);
  const early = Math.random() < 0.5;
  const killAt = Math.random() * 20;
  const kinds: Kind[] = [];
  const callers: ReturnType<typeof caller>[] = [];
  const answers: Promise<void>[] = [];
  let signalled = 0;
  const signal = () => {
    signalled = performance.now();
    child.kill("SIGINT");
  };
  const early_ = early ? setTimeout(signal, killAt) : undefined;
  for (let i = 0; i < calls; i++) {
    const kind = KINDS[Math.floor(Math.random() * KINDS.length)];
    kinds.push(kind);
    answers.push(new Promise<void>((r) => callers.push(caller(port, kind, r))));
    await new Promise((r) => setTimeout(r, Math.random() * 5));
  }
  const what = `${label}: callers ${kinds.join(",") || "none"}, SIGINT ${
    early ? `at ${killAt.toFixed(1)} ms` : "after the answers"
  }`;
  if (!early) {
    let t: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      Promise.all(answers),
      new Promise((r) => t = setTimeout(r, START_MS)),
    ]);
    clearTimeout(t);
    await new Promise((r) => setTimeout(r, killAt));
    signal();
  }
  const bound = SHUTDOWN_MS + EXIT_GRACE + SLACK_MS;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const status = await Promise.race([
    child.status,
    new Promise<undefined>((r) =>
      timer = setTimeout(() => r(undefined), bound + (early ? killAt : 0))
    ),
  ]);
  clearTimeout(timer);
  clearTimeout(early_);
  const took = performance.now() - signalled;
  try {
    if (status === undefined) child.kill("SIGKILL");
    await reader.cancel().catch(() => {});
    assert.ok(status !== undefined, `${what}: still running ${bound} ms after SIGINT`);
    assert.equal(status.code, 0, `${what}: exit ${status.code}: ${await stderr}`);
    assert.ok(took < bound, `${what}: exited ${took.toFixed(0)} ms after SIGINT`);
    for (const [i, c] of callers.entries()) {
      assert.ok(
        await c.closed,
        `${what}: caller ${i} (${kinds[i]}) never saw its connection close`,
      );
    }
  } finally {
    await child.status;
    await stderr;
    for (const c of callers) c.socket.destroy();
  }
}

for (
  const target of [...TARGETS, {
    name: "deno" as const,
    command: () => ({
      cmd: Deno.execPath(),
      pre: ["run", "-A", `--config=${join(REPO_ROOT, "deno.json")}`],
    }),
  }]
) {
  Deno.test({
    name:
      `shutdownOnSignals on ${target.name}: HTTP callers and SIGINT at random moments, each process ends within the bound`,
    sanitizeResources: false,
    sanitizeOps: false,
    fn: async () => {
      const command = target.command();
      if (!command) return;
      const dir = target.name === "deno" ? REPO_ROOT : await emittedSources();
      const modUrl = target.name === "deno"
        ? pathToFileURL(join(REPO_ROOT, "mod.ts")).href
        : pathToFileURL(join(dir, "mod.js")).href;
      const tmp = await Deno.makeTempDir({ prefix: "rpcx-signals-" });
      try {
        for (const exit of [true, false]) {
          const script = join(tmp, `server_${exit}.mjs`);
          await Deno.writeTextFile(script, serverSource(modUrl, exit));
          for (let r = 0; r < ROUNDS; r++) {
            await round(
              command.cmd,
              [...command.pre, script],
              `${target.name} exit:${exit} round ${r}`,
            );
          }
        }
      } finally {
        await Deno.remove(tmp, { recursive: true });
      }
    },
  });
}

// The README's Node example server (server.mjs under "## Node and Bun", as written but on a free
// port: `shutdownOnSignals()` with its default bound) under Node and Bun from the npm package, and
// under Deno, with rpcx clients connected and calling when SIGINT or SIGTERM comes (a newcomer
// reported a Node server that did not exit on SIGINT): an idle connected Client, a Client with
// four callers back to back, and the runtime's own XClient calling every 2 ms (runtime_peer
// xcall). The process must exit 0 before the shutdown bound (10 s) passes, so by its shutdown,
// not by the EXIT_GRACE exit after it; every call must settle and the runtime's client must end.

/** shutdownOnSignals()'s default bound (ms), the one server.mjs runs with. */
const README_SHUTDOWN_MS = 10_000;
/** Rounds per runtime and signal. */
const README_ROUNDS = 3;

interface ReadmeRun {
  server: { cmd: string; args: string[]; cwd: string };
  peer: { cmd: string; pre: string[]; cwd: string };
}

async function readmeRound(run: ReadmeRun, signal: Deno.Signal, label: string): Promise<number> {
  const server = spawnLines(run.server.cmd, run.server.args, run.server.cwd);
  const clients: Client[] = [];
  let peer: Lines | undefined;
  let signalled = 0;
  let stopCalling = false;
  try {
    await waitFor(
      `${label}: server.mjs's listening line`,
      () => server.lines.some((l) => l.text.startsWith("listening on ")),
      START_MS,
      20,
    );
    const addr = server.lines.find((l) => l.text.startsWith("listening on "))!.text.slice(13);
    const idle = new Client(`tcp@${addr}`);
    const busy = new Client(`tcp@${addr}`);
    clients.push(idle, busy);
    assert.deepEqual(await idle.call("Arith", "Mul", { A: 2, B: 3 }), { C: 6 });
    let answered = 0;
    const failedBefore: string[] = [];
    const loops = Array.from({ length: 4 }, async (_, i) => {
      while (!stopCalling) {
        try {
          const r = await busy.call("Arith", "Mul", { A: i, B: 2 }, { timeout: 5000 });
          assert.deepEqual(r, { C: i * 2 });
          answered++;
        } catch (e) {
          if (!signalled) failedBefore.push(`${(e as Error).name}: ${(e as Error).message}`);
          return;
        }
      }
    });
    peer = spawnLines(run.peer.cmd, [
      ...run.peer.pre,
      "xcall",
      "--addr",
      addr,
      "--count",
      "1000000",
      "--interval",
      "2",
    ], run.peer.cwd);
    await waitFor(
      `${label}: calls answered before the signal`,
      () => answered >= 50 && peer!.lines.length >= 5,
      START_MS,
      10,
    );
    await delay(Math.random() * 200);
    signalled = performance.now();
    server.signal(signal);
    const end = await server.end(README_SHUTDOWN_MS + EXIT_GRACE + SLACK_MS);
    const took = performance.now() - signalled;
    assert.equal(end.code, 0, `${label}: exit ${end.code}: ${end.err}`);
    assert.ok(
      took < README_SHUTDOWN_MS,
      `${label}: exited ${took.toFixed(0)} ms after ${signal}, not before the shutdown bound`,
    );
    assert.equal(end.err, "", `${label}: server.mjs's stderr`);
    assert.deepEqual(failedBefore, [], `${label}: calls failed before ${signal}`);
    await bounded(Promise.all(loops), 15_000, `${label}: the callers' calls to settle`);
    // The runtime's own client sees the server gone and ends (exit 1 at its first failure).
    const p = await peer.end(20_000);
    assert.equal(p.code, 1, `${label}: the ${run.peer.cmd} client: ${p.out} ${p.err}`);
    assert.match(p.out, /^10 \* 20 = 200 from /m);
    return took;
  } finally {
    stopCalling = true;
    for (const c of clients) await c.close();
    await peer?.stop();
    await server.stop();
  }
}

for (
  const target of [...TARGETS, {
    name: "deno" as const,
    command: () => ({ cmd: Deno.execPath(), pre: ["run", "-A", "--no-check"] }),
  }]
) {
  Deno.test({
    name:
      `README's server.mjs on ${target.name}: SIGINT and SIGTERM while rpcx clients are connected and calling (Deno's, ${target.name}'s own XClient); exit 0 before the shutdown bound`,
    sanitizeResources: false,
    sanitizeOps: false,
    fn: async () => {
      const command = target.command();
      if (!command) return;
      let source = readmeBlock("server.mjs").replace('"127.0.0.1:8972"', '"127.0.0.1:0"');
      let run: ReadmeRun;
      let tmp: string | undefined;
      if (target.name === "deno") {
        tmp = await Deno.makeTempDir({ prefix: "rpcx-signals-readme-" });
        source = source.replace(
          '"@rpcx/core"',
          JSON.stringify(pathToFileURL(join(REPO_ROOT, "mod.ts")).href),
        );
        await Deno.writeTextFile(join(tmp, "server.mjs"), source);
        const pre = [...command.pre, `--config=${join(REPO_ROOT, "deno.json")}`];
        run = {
          server: { cmd: command.cmd, args: [...pre, join(tmp, "server.mjs")], cwd: tmp },
          peer: {
            cmd: command.cmd,
            pre: [...pre, join(REPO_ROOT, "tests/support/runtime_peer.ts")],
            cwd: REPO_ROOT,
          },
        };
      } else {
        const { project, script } = await runtimePeer();
        await Deno.writeTextFile(join(project, "readme_signals_server.mjs"), source);
        run = {
          server: {
            cmd: command.cmd,
            args: [...command.pre, "readme_signals_server.mjs"],
            cwd: project,
          },
          peer: { cmd: command.cmd, pre: [...command.pre, script], cwd: project },
        };
      }
      try {
        const took: string[] = [];
        for (const signal of ["SIGINT", "SIGTERM"] as const) {
          for (let r = 0; r < README_ROUNDS; r++) {
            const ms = await readmeRound(run, signal, `${target.name} ${signal} round ${r}`);
            took.push(`${signal} ${ms.toFixed(0)} ms`);
          }
        }
        console.log(`${target.name}: exited after ${took.join(", ")}`);
      } finally {
        if (tmp) await Deno.remove(tmp, { recursive: true });
      }
    },
  });
}

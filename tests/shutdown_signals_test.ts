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
import { EXIT_GRACE } from "../src/server/_lifecycle.ts";
import { REPO_ROOT } from "./support/env.ts";
import { emittedSources, TARGETS } from "./support/runtimes.ts";

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

// Go parity, issue 29 (server): registerOnShutdown (Go's RegisterOnShutdown), registerOnRestart
// (Go's RegisterOnRestart) and graceful restart (Go's Restart; rpcx-examples graceful_restart):
// a new process takes over the port (reusePort) while the old one drains, under load from Go's
// client, and no call is lost.
import assert from "node:assert/strict";
import { Client, SerializeType, Server } from "@rpcx/core";
import { GO_PEER, needGoPeer } from "./support/go_peer.ts";
import { bounded, delay, freePort, REPO_ROOT, waitFor } from "./support/env.ts";
import { runtimePeer, TARGETS } from "./support/runtimes.ts";

async function mulServer(options: ConstructorParameters<typeof Server>[0] = {}) {
  const server = new Server(options);
  await server.register({ Mul: (a: { A: number; B: number }) => ({ C: a.A * a.B }) }, "Arith");
  return server;
}

Deno.test("registerOnShutdown (Go's RegisterOnShutdown): called once when shutdown begins, awaited within its bound, errors reported; not by close()", async () => {
  const reported: string[] = [];
  const server = await mulServer({
    onError: (where, e) => void reported.push(`${where}: ${(e as Error).message}`),
  });
  const events: string[] = [];
  server.registerOnShutdown(async (s) => {
    assert.equal(s, server);
    events.push("slow begins");
    await delay(150);
    events.push("slow done");
  });
  server.registerOnShutdown(() => {
    events.push("failing");
    throw new Error("hook failed");
  });
  await server.serve("tcp", "127.0.0.1:0");
  const first = server.shutdown({ timeout: 5000 });
  const second = server.shutdown();
  await Promise.all([first, second]);
  assert.deepEqual(events, ["slow begins", "failing", "slow done"]);
  assert.deepEqual(reported, ["registerOnShutdown function: hook failed"]);

  // A function that never ends holds shutdown no longer than its timeout.
  const stuck = await mulServer();
  stuck.registerOnShutdown(() => new Promise(() => {}));
  await stuck.serve("tcp", "127.0.0.1:0");
  const t0 = Date.now();
  await bounded(stuck.shutdown({ timeout: 300 }), 5000, "shutdown with a stuck hook");
  assert.ok(Date.now() - t0 < 3000, `bounded by its timeout (${Date.now() - t0} ms)`);

  // close() is not a shutdown: no call.
  const closing = await mulServer();
  let called = 0;
  closing.registerOnShutdown(() => void called++);
  await closing.serve("tcp", "127.0.0.1:0");
  await closing.close();
  assert.equal(called, 0);
});

Deno.test("restart refuses what it cannot hand over (RestartError), and the server goes on serving: no reusePort (names on an in-memory network are not handed over), a new process that ends or is not ready in time (it is ended)", async () => {
  const server = await mulServer();
  const restarts: number[] = [];
  server.registerOnRestart(() => void restarts.push(Date.now()));
  const fixed = await server.serve("tcp", "127.0.0.1:0");
  const client = new Client(`tcp@${fixed}`, { serializeType: SerializeType.JSON });
  const pidFile = await Deno.makeTempFile();
  try {
    await assert.rejects(
      server.restart({ command: ["true"] }),
      (e: unknown) =>
        (e as Error).name === "RestartError" && /without reusePort/.test((e as Error).message),
    );
    assert.equal(restarts.length, 0, "refused before the onRestart functions");

    const shared = new Server();
    await shared.register({ Mul: (a: { A: number; B: number }) => ({ C: a.A * a.B }) }, "Arith");
    let sharedCalls = 0;
    shared.registerOnRestart(() => void sharedCalls++);
    const addr = await shared.serve("tcp", "127.0.0.1:0", { reusePort: true });
    // A name on an in-memory network is this process's own: not handed over, no reusePort asked.
    await shared.serve("inprocess", `restart-${crypto.randomUUID()}`);
    const sharedClient = new Client(`tcp@${addr}`, { serializeType: SerializeType.JSON });
    try {
      await assert.rejects(
        shared.restart({ command: ["sh", "-c", "exit 3"] }),
        (e: unknown) =>
          (e as Error).name === "RestartError" && /exit code 3/.test((e as Error).message),
      );
      // Never says it serves: ended after readyTimeout.
      const t0 = Date.now();
      await assert.rejects(
        shared.restart({
          command: ["sh", "-c", `echo $$ > ${pidFile}; exec sleep 30`],
          readyTimeout: 500,
        }),
        (e: unknown) =>
          (e as Error).name === "RestartError" && /did not serve/.test((e as Error).message),
      );
      assert.ok(Date.now() - t0 < 5000);
      const pid = Number((await Deno.readTextFile(pidFile)).trim());
      assert.ok(pid > 0);
      await waitFor(
        "the late process to be ended",
        async () => !(await Deno.stat(`/proc/${pid}`).then(() => true, () => false)),
        5000,
      );
      assert.equal(sharedCalls, 2, "the onRestart functions ran for each attempt");
      assert.deepEqual(await sharedClient.call("Arith", "Mul", { A: 3, B: 3 }), { C: 9 });
    } finally {
      await sharedClient.close();
      await shared.close();
    }
    assert.deepEqual(await client.call("Arith", "Mul", { A: 2, B: 3 }), { C: 6 });
    const local = new Server();
    try {
      await local.serve("inprocess", `restart-${crypto.randomUUID()}`);
      await assert.rejects(
        local.restart({ command: ["true"] }),
        (e: unknown) =>
          (e as Error).name === "RestartError" && /serves no address/.test((e as Error).message),
      );
    } finally {
      await local.close();
    }
  } finally {
    await client.close();
    await server.close();
    await Deno.remove(pidFile).catch(() => {});
  }
  await assert.rejects(server.restart(), (e: unknown) => (e as Error).name === "ServerClosedError");
});

/** A child whose stdout lines (its own and its successors', who share it) are collected. */
function spawnLines(cmd: string, args: string[], cwd?: string, env?: Record<string, string>) {
  const child = new Deno.Command(cmd, { args, cwd, env, stdout: "piped", stderr: "inherit" })
    .spawn();
  const lines: string[] = [];
  const reading = (async () => {
    let text = "";
    try {
      for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) {
        text += chunk;
        let i;
        while ((i = text.indexOf("\n")) >= 0) {
          lines.push(text.slice(0, i));
          text = text.slice(i + 1);
        }
      }
    } catch {
      // cancelled
    }
  })();
  const line = async (re: RegExp, ms: number) => {
    await waitFor(`a line ${re}`, () => lines.some((l) => re.test(l)), ms, 20);
    return lines.find((l) => re.test(l))!.match(re)!;
  };
  return { child, lines, line, reading };
}

function killQuietly(pid: number | undefined, signal: Deno.Signal = "SIGKILL") {
  if (!pid) return;
  try {
    Deno.kill(pid, signal);
  } catch {
    // gone
  }
}

/**
 * The server program (`cmd args... --addr A`, tests/support/restart_server.ts or its Node/Bun
 * form) restarted under load from Go's client: the new process takes over the port while the
 * old one drains; every call sent is answered OK. `host` is the address's host as given to
 * `serve` (`localhost`, or "" for `:port`). The server is started with a stale
 * RPCX_RESTART_LISTENERS (as a grandchild of a restart would inherit it: it names fd 3 and a
 * parent that is not this one): ignored, and no process has it once serving.
 */
async function restartUnderLoad(
  cmd: string,
  args: string[],
  cwd?: string,
  { host = "127.0.0.1", count = 6000 }: { host?: string; count?: number } = {},
) {
  const port = freePort();
  const addr = `${host}:${port}`;
  // Go's client dials the loopback for a wildcard address.
  const dial = host === "" ? `127.0.0.1:${port}` : addr;
  const stale = `1 tcp@${addr}=3 tcp@127.0.0.1:${port}=3`;
  const server = spawnLines(cmd, [...args, "--addr", addr], cwd, {
    RPCX_RESTART_LISTENERS: stale,
  });
  const COUNT = count;
  let load: ReturnType<typeof spawnLines> | undefined;
  let newPid: number | undefined;
  try {
    const oldPid = Number((await server.line(/^LISTENING \S+ (\d+)$/, 20_000))[1]);
    // Go's client: Failtry (the example's), 8 workers, one call per 10 ms each: ~7 s or more.
    load = spawnLines(GO_PEER!, [
      "client",
      "--addr",
      dial,
      "--count",
      String(COUNT),
      "--concurrency",
      "8",
      "--interval",
      "10ms",
      "--failmode",
      "failtry",
      "--timeout",
      "10s",
      "--tolerate-errors",
    ]);
    await waitFor("300 calls answered before the restart", () => load!.lines.length >= 300, 20_000);
    const admin = new Client(`tcp@${dial}`, { serializeType: SerializeType.JSON });
    assert.equal(await admin.call("Admin", "Restart", null), "restarting");
    await admin.close();
    const [outcome] = await server.line(/^RESTART(ED|-FAILED) .*$/, 40_000);
    assert.match(outcome, /^RESTARTED /);
    const [, , next, oldServed] = outcome.match(/^RESTARTED (\d+) (\d+) (\d+)$/)!;
    newPid = Number(next);
    // Neither the first process (given a stale value) nor the new one keeps the handover's
    // variable in its environment for what it starts.
    await server.line(new RegExp(`^ENV ${newPid} `), 10_000);
    assert.deepEqual(
      server.lines.filter((l) => l.startsWith("ENV ")),
      [`ENV ${oldPid} none`, `ENV ${newPid} none`],
    );
    assert.notEqual(newPid, oldPid);
    assert.ok(server.lines.includes(`RESTARTING ${oldPid}`), "registerOnRestart ran");
    assert.ok(server.lines.includes(`SHUTDOWN ${oldPid}`), "registerOnShutdown ran");
    assert.equal((await bounded(server.child.status, 10_000, "the old process's exit")).code, 0);
    const sentWhenHandedOver = load.lines.length;

    const status = await bounded(load.child.status, 90_000, "Go's client to finish");
    await bounded(load.reading, 5000, "Go's client's output");
    const ok = load.lines.filter((l) => l === "10 * 20 = 200").length;
    const errors = load.lines.filter((l) => l.startsWith("ERROR"));
    assert.deepEqual(errors, [], "no call failed");
    assert.equal(status.code, 0);
    assert.equal(load.lines.length, COUNT, "one line per call sent");
    assert.equal(ok, COUNT, "every call sent answered OK");
    assert.ok(sentWhenHandedOver < COUNT, "the load went on after the handover");

    killQuietly(newPid, "SIGTERM");
    const [, newServed] = await server.line(new RegExp(`^SERVED ${newPid} (\\d+)$`), 15_000);
    newPid = undefined;
    const served = [Number(oldServed), Number(newServed)];
    assert.ok(served[0] >= Math.min(300, COUNT) && served[1] > 0, `both served: ${served}`);
    assert.ok(served[0] + served[1] >= COUNT, `every call served: ${served}`);
  } finally {
    killQuietly(newPid);
    try {
      load?.child.kill("SIGKILL");
    } catch {
      // exited
    }
    try {
      server.child.kill("SIGKILL");
    } catch {
      // exited
    }
    await bounded(server.child.status, 10_000, "the server's exit").catch(() => {});
    await server.child.stdout.cancel().catch(() => {});
    if (load) await load.child.status;
  }
}

Deno.test("restart (Go's Restart, rpcx-examples graceful_restart) under load from Go's client on Deno: the new process takes over the port while the old one drains; every call sent is answered OK", async () => {
  if (!needGoPeer()) return;
  await restartUnderLoad(Deno.execPath(), [
    "run",
    "-A",
    `${REPO_ROOT}/tests/support/restart_server.ts`,
  ]);
});

for (const target of TARGETS) {
  // Node before 22.12 has no reusePort: there the listening socket itself is handed over.
  for (const how of target.name === "bun" ? ["reusePort", "inherit"] : ["inherit"]) {
    // The address as given to serve (which the new process gives again), not as bound, names the
    // socket handed over: a host name and a wildcard host too (a shorter load for those).
    for (const host of how === "inherit" ? ["127.0.0.1", "localhost", ""] : ["127.0.0.1"]) {
      Deno.test(`restart under load from Go's client on ${target.name}, ${how === "inherit" ? "the listening socket handed over" : "reusePort"}, serving ${host}:port (the npm package; the new process is the runtime's own command line): every call sent is answered OK`, async () => {
        const run = target.command();
        if (!run || !needGoPeer()) return;
        const { project, script } = await runtimePeer();
        await restartUnderLoad(
          run.cmd,
          [
            ...run.pre,
            script,
            "restart-serve",
            ...(how === "inherit" ? ["--inherit"] : []),
          ],
          project,
          { host, count: host === "127.0.0.1" ? 6000 : 1200 },
        );
      });
    }
  }
}

for (const target of TARGETS) {
  Deno.test(`restart on ${target.name}: a handed-over descriptor no serve() claims is closed once the restart's report deadline passed (no port left accepting into a queue nobody reads)`, async () => {
    const run = target.command();
    if (!run) return;
    const { project, script } = await runtimePeer();
    // The process as a restart would start it: descriptor 3 inherited and named for an address it
    // does not serve (a plain file stands in for the socket), a report deadline 6 s ahead.
    const held = await Deno.makeTempFile({ prefix: "rpcx_restart_fd_" });
    const deadline = Date.now() + 6000;
    const server = spawnLines(
      "bash",
      [
        "-c",
        `exec 3<"${held}"; exec "$@"`,
        "bash",
        run.cmd,
        ...run.pre,
        script,
        "restart-serve",
        "--inherit", // without reusePort (Node 20 has none)
        "--addr",
        `127.0.0.1:${freePort()}`,
      ],
      project,
      {
        // bash execs the runtime: its parent is this test process.
        RPCX_RESTART_LISTENERS: `${Deno.pid} tcp@127.0.0.1:${freePort()}=3`,
        RPCX_RESTART_NOTIFY: `127.0.0.1:1 0 ${deadline}`,
      },
    );
    const fd3 = (pid: number) => Deno.readLink(`/proc/${pid}/fd/3`).catch(() => "closed");
    try {
      const pid = Number((await server.line(/^LISTENING \S+ (\d+)$/, 20_000))[1]);
      await server.line(new RegExp(`^ENV ${pid} none$`), 5000);
      const before = await fd3(pid);
      if (Date.now() < deadline - 500) assert.equal(before, held, "inherited, kept until then");
      await waitFor("the unclaimed descriptor closed", async () => await fd3(pid) !== held, 20_000);
      assert.ok(Date.now() >= deadline - 100, "not before the deadline");
    } finally {
      try {
        server.child.kill("SIGKILL");
      } catch {
        // exited
      }
      await bounded(server.child.status, 10_000, "the server's exit").catch(() => {});
      await server.child.stdout.cancel().catch(() => {});
      await Deno.remove(held).catch(() => {});
    }
  });
}

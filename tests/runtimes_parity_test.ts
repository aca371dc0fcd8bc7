// Last session's fixes, tested on Deno then, run under Node and Bun from the npm package as a user
// installs it (tests/support/runtimes.ts) and under Deno, each by the same program
// (tests/support/runtime_peer.ts; on Deno the TypeScript itself): per runtime,
// - Server.register again under a name in use replaces the service whole and advertises it again
//   with its new metadata (Go's Register; runtime_peer register-twice with the in-process
//   registry, and runtime_peer serve --meta-again with a real etcd);
// - directoryHandlers with a missing folder: the first use with uploads on creates it (mkdir -p),
//   downloads alone do not, and a download from it is FileNotFoundError naming the file asked,
//   never the server's folder; our Deno client and the runtime's own (sendFile, downloadFile);
// - the `rpcx` bin (the npm form's, under Node and Bun; src/cli/main.ts on Deno): `rpcx list -r
//   tcp@…` exits 3 when none of the servers named answers, 0 when one does (`call`, `bench` of a
//   server that does not answer: 3 too);
// - Server.restart() of a server serving http or ws without reusePort, or unix (reusePort or not:
//   a path is one process's), is refused with RestartError naming that address (also beside a tcp port that could be handed over), before
//   the onRestart functions, and the server goes on serving (runtime_peer restart-refused).
// No child may write to stderr.
import assert from "node:assert/strict";
import { join } from "node:path";
import { Client, Server } from "@rpcx/core";
import { EtcdDiscovery } from "@rpcx/core/etcd";
import { downloadFile, FileNotFoundError, sendFile } from "@rpcx/core/stream";
import { freePort, removeAtExit, REPO_ROOT, waitFor } from "./support/env.ts";
import { type ReadyChild, startReady } from "./support/child.ts";
import { startEtcd } from "./support/etcd_server.ts";
import { sha256File, xclientFor } from "./support/stream_files.ts";
import { runBounded, runtimePeer, TARGETS } from "./support/runtimes.ts";

/** How a runtime runs runtime_peer and the `rpcx` bin, and where. */
interface Runner {
  name: string;
  cmd: string;
  /** Before runtime_peer's arguments. */
  peer: string[];
  /** Before rpcx's arguments. */
  rpcx: string[];
  cwd: string;
}

/** Node and Bun (the installed npm package), or undefined (skipped; under CI failed); Deno. */
const RUNNERS: { name: string; runner: () => Promise<Runner | undefined> }[] = [
  ...TARGETS.map((t) => ({
    name: t.name,
    runner: async () => {
      const run = t.command();
      if (!run) return undefined;
      const { project, script } = await runtimePeer();
      return {
        name: t.name,
        cmd: run.cmd,
        peer: [...run.pre, script],
        rpcx: [...run.pre, "node_modules/.bin/rpcx"],
        cwd: project,
      };
    },
  })),
  {
    name: "deno",
    runner: () =>
      Promise.resolve({
        name: "deno",
        cmd: Deno.execPath(),
        peer: ["run", "-A", "--no-check", join(REPO_ROOT, "tests/support/runtime_peer.ts")],
        rpcx: ["run", "-A", "--no-check", join(REPO_ROOT, "src/cli/main.ts")],
        cwd: REPO_ROOT,
      }),
  },
];

const enc = new TextEncoder();

for (const { name, runner } of RUNNERS) {
  Deno.test(`register twice under one name on ${name}: the second service replaces the first whole (no error, the first's Mul gone) and is advertised again with its new metadata`, async () => {
    const r = await runner();
    if (!r) return;
    const out = await runBounded(r.cmd, [...r.peer, "register-twice"], {
      cwd: r.cwd,
      timeoutMs: 60_000,
    });
    assert.equal(out.code, 0, `${name}: exit ${out.code}\n${out.stdout}${out.stderr}`);
    assert.equal(out.stdout, "OK replaced-and-readvertised\nPASS\n");
    assert.equal(out.stderr, "", `${name}: stderr`);
  });

  Deno.test(`register again on ${name} with a real registry (etcd): once serving, Arith registered again with new metadata is advertised again with it (Go's Register calls DoRegister every time), and still answers`, async () => {
    const r = await runner();
    if (!r) return;
    const etcd = await startEtcd();
    if (!etcd) return;
    const base = `/rpcx_parity_${name}_${Date.now().toString(36)}`;
    let ours: ReadyChild | undefined;
    let discovery: EtcdDiscovery | undefined;
    try {
      ours = await startReady(r.cmd, [
        ...r.peer,
        "serve",
        "--addr",
        "127.0.0.1:0",
        "--services",
        "Arith",
        "--meta",
        "v=1",
        "--meta-again",
        "v=2",
        "--registry",
        "etcd",
        "--registry-addr",
        etcd.endpoint,
        "--base",
        base,
        // A refresh (every 10 s) writes the node's own value back: v=2 below is the new register.
        "--update-interval",
        "10000",
      ], {
        ready: /LISTENING (\S+)\n/,
        what: `${name}'s serve LISTENING line`,
        cwd: r.cwd,
        timeoutMs: 30_000,
        stopSignal: "SIGTERM",
        stderr: "piped",
      });
      const key = `tcp@${ours.match[1]}`;
      const d = discovery = new EtcdDiscovery(base, "Arith", [etcd.endpoint]);
      const seen = (value: string) => () =>
        d.getServices().length === 1 && d.getServices()[0].key === key &&
        d.getServices()[0].value === value;
      await waitFor(`${name}: ${key} advertised with v=1`, seen("v=1"), 15_000, 20);
      ours.child.kill("SIGUSR2");
      // Old code never writes v=2 (its refresh writes the node's v=1 back): the bound is slack.
      await waitFor(`${name}: ${key} advertised again with v=2`, seen("v=2"), 15_000, 20);
      const client = new Client(key);
      try {
        assert.deepEqual(await client.call("Arith", "Mul", { A: 6, B: 7 }), { C: 42 });
      } finally {
        await client.close();
      }
    } finally {
      await discovery?.close();
      await ours?.stop();
      await etcd.stop();
    }
    assert.equal((await ours.child.status).code, 0, `${name}: exit on SIGTERM`);
    assert.equal(ours.stderrText(), "", `${name}: stderr`);
  });

  Deno.test(`restart on ${name}: http and ws served without reusePort, and unix with or without it, are refused with RestartError naming the address (also beside a tcp port that could be handed over), before onRestart; the server goes on serving`, async () => {
    const r = await runner();
    if (!r) return;
    const out = await runBounded(r.cmd, [...r.peer, "restart-refused"], {
      cwd: r.cwd,
      timeoutMs: 60_000,
    });
    assert.equal(out.code, 0, `${name}: exit ${out.code}\n${out.stdout}${out.stderr}`);
    assert.equal(
      out.stdout,
      "OK http\nOK ws\nOK unix\nOK unix-reuseport\nOK tcp-then-http\nPASS\n",
    );
    assert.equal(out.stderr, "", `${name}: stderr`);
  });

  Deno.test(`directoryHandlers with a missing folder on ${name}: uploads create it (mkdir -p), downloads alone do not; a download from it is FileNotFoundError for the file asked (Deno's client and ${name}'s)`, async () => {
    const r = await runner();
    if (!r) return;
    const base = await Deno.makeTempDir({ prefix: `rpcx_parity_${name}_` });
    removeAtExit(base);
    // A folder made at a server's first use: by Deno's upload (first), by a download of a file
    // not there (then the runtime's own client uploads); a folder for downloads alone.
    const root1 = `${base}/one/files/in/here`;
    const root2 = `${base}/two/files/in/here`;
    const onlyDown = `${base}/nothing`;
    const start = (args: string[]) =>
      startReady(r.cmd, [...r.peer, "data-serve", ...args], {
        ready: /LISTENING (\S+)\n/,
        what: `${name}'s data-serve LISTENING line`,
        cwd: r.cwd,
        timeoutMs: 30_000,
        stopSignal: "SIGTERM",
        stderr: "piped",
      });
    // (each one started is stopped, also when a later one fails to start)
    const servers: ReadyChild[] = [];
    const clients: ReturnType<typeof xclientFor>[] = [];
    const dataCall = (addr: string, args: string[]) =>
      runBounded(r.cmd, [...r.peer, "data-call", "--addr", addr, ...args], {
        cwd: r.cwd,
        timeoutMs: 60_000,
      });
    const notFound = (file: string, folder: string) => (e: unknown) => {
      assert.ok(e instanceof FileNotFoundError, `${name}: ${e}`);
      assert.equal(e.fileName, file);
      assert.ok(!e.message.includes(folder), `${name}: ${e.message} names the server's folder`);
      return true;
    };
    try {
      for (
        const args of [["--dir", root1], ["--dir", root2], ["--dir", onlyDown, "--downloads-only"]]
      ) {
        servers.push(await start(args));
      }
      const [up1, up2, down] = servers.map((s) => s.match[1]);
      clients.push(...[up1, up2, down].map((a) => xclientFor("_filetransfer", a)));
      const [x1, x2, y] = clients;
      // Uploads on, the first use an upload: the folder is made (with its parents).
      const sent = await sendFile(x1, ReadableStream.from([enc.encode("hello")]), {
        fileName: "a.txt",
        fileSize: 5,
      });
      assert.deepEqual(sent, { bytes: 5, confirmed: true });
      assert.equal(await Deno.readTextFile(`${root1}/a.txt`), "hello");
      // Uploads on, the first use a download of a file not there: that file not found, and the
      // folder made; then the runtime's own client uploads into it.
      await assert.rejects(downloadFile(x2, "c.txt", `${base}/c.txt`), notFound("c.txt", root2));
      assert.ok((await Deno.stat(root2)).isDirectory, `${name}: the folder made at the first use`);
      const src = `${base}/b.txt`;
      await Deno.writeTextFile(src, "bonjour");
      const upB = await dataCall(up2, ["--op", "upload", "--file", src]);
      assert.equal(upB.code, 0, `${name}: upload: ${upB.stdout}${upB.stderr}`);
      assert.equal(JSON.parse(upB.stdout).bytes, 7);
      assert.equal(await sha256File(`${root2}/b.txt`), await sha256File(src));

      // Downloads alone: the folder is not made; a download is the file not found, on both clients.
      await assert.rejects(
        downloadFile(y, "b.txt", `${base}/got.txt`),
        notFound("b.txt", onlyDown),
      );
      const got = await dataCall(down, [
        "--op",
        "download",
        "--name",
        "b.txt",
        "--out",
        `${base}/got.txt`,
      ]);
      assert.equal(got.code, 1, `${name}: download: ${got.stdout}${got.stderr}`);
      assert.deepEqual(JSON.parse(got.stdout), {
        op: "download",
        error: 'FileNotFoundError: rpcx: no such file: "b.txt"',
      });
      await assert.rejects(Deno.stat(onlyDown), Deno.errors.NotFound);
    } finally {
      for (const c of clients) await c.close();
      for (const s of servers) await s.stop();
    }
    for (const s of servers) {
      assert.equal((await s.child.status).code, 0, `${name}: exit on SIGTERM`);
      assert.equal(s.stderrText(), "", `${name}: a server's stderr`);
    }
  });

  Deno.test(`rpcx list on ${name} (${name === "deno" ? "src/cli/main.ts" : "the npm form's bin"}): exit 3 when none of the servers named answers (table and --json, the listing still printed), 0 when one does; call and bench of one that does not answer exit 3 too`, async () => {
    const r = await runner();
    if (!r) return;
    const rpcx = async (...args: string[]) => {
      const out = await runBounded(r.cmd, [...r.rpcx, ...args], {
        cwd: r.cwd,
        timeoutMs: 60_000,
        env: { NO_COLOR: "1" },
      });
      assert.notEqual(out.code, undefined, `${name}: rpcx ${args.join(" ")} did not end in 60 s`);
      return out;
    };
    const server = new Server();
    await server.register({ Mul: (a: { A: number; B: number }) => ({ C: a.A * a.B }) }, "Arith");
    const live = `tcp@${await server.serve("tcp", "127.0.0.1:0")}`;
    try {
      const dead = `tcp@127.0.0.1:${freePort()}`;
      const dead2 = `tcp@127.0.0.1:${freePort()}`;
      for (const json of [[], ["--json"]]) {
        const one = await rpcx("list", "-r", dead, ...json);
        assert.equal(one.code, 3, `${name} ${json}: ${one.stdout} ${one.stderr}`);
        assert.match(one.stdout, /down/);
        assert.equal(one.stderr, `rpcx: the server is unreachable (${dead})\n`);
        const two = await rpcx("list", "-r", `${dead},${dead2}`, ...json);
        assert.equal(two.code, 3, `${name} ${json}: ${two.stdout} ${two.stderr}`);
        assert.equal(two.stderr, `rpcx: all 2 servers are unreachable (${dead}, ${dead2})\n`);
        const some = await rpcx("list", "-r", `${live},${dead}`, ...json);
        assert.equal(some.code, 0, `${name} ${json}: ${some.stdout} ${some.stderr}`);
        assert.match(some.stdout, /up/);
        assert.equal(some.stderr, "");
      }
      // Its siblings: a call and a bench of a server named directly that does not answer.
      for (const cmd of [["call"], ["bench", "-n", "3"]]) {
        const out = await rpcx(cmd[0], "-r", dead, ...cmd.slice(1), "Arith.Mul", '{"A":1,"B":2}');
        assert.equal(out.code, 3, `${name} ${cmd[0]}: ${out.stdout} ${out.stderr}`);
        assert.equal(out.stderr, `rpcx: Arith.Mul: dial ${dead}: connection refused\n`);
      }
    } finally {
      await server.close();
    }
  });
}

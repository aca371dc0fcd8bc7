// Go's own rpcx-examples programs, unchanged (tests/interop/go-examples, built by
// .ci/install/55-goexamples.sh into .cache/bin/goex/<example>-<side>), against ours (examples/<same
// name>), both ways: Go's client against our server, our client against Go's server. Each
// program runs in its own process on free loopback ports given by its flags; every run is bounded
// in time; the assertions are on what the programs print (Go's clients log to stderr) and, for
// file transfer, on the bytes that arrived (sha256). Programs that read or write a hard-coded
// file (abc.txt) run in a temporary directory holding what they expect.
import assert from "node:assert/strict";
import { delay, needs, REPO_ROOT, waitFor } from "./support/env.ts";
import { freePort } from "./support/env.ts";
import { runBounded } from "./support/child.ts";

const GOEX = `${REPO_ROOT}/.cache/bin/goex`;
const PROGRAMS = [
  "oneclient",
  "pool",
  "sticky",
  "reflection",
  "restart",
  "graceful_restart",
  "tcpcopy",
  "handler",
  "broadcast",
  "filetransfer",
  "file_download",
  "stream",
];

function needGoExamples(): boolean {
  const missing = PROGRAMS.flatMap((p) => [`${p}-client`, `${p}-server`]).filter((b) => {
    try {
      return !Deno.statSync(`${GOEX}/${b}`).isFile;
    } catch {
      return true;
    }
  });
  return needs(
    "Go's rpcx-examples programs (.cache/bin/goex, .ci/install/55-goexamples.sh)",
    missing.length ? `missing ${missing.join(", ")}` : undefined,
  );
}

/** A process whose stdout and stderr are collected as text (together, in arrival order). */
interface Proc {
  readonly pid: number;
  text(): string;
  /** Its stdout alone (Go's fmt.Print*, our console.log; not Go's log lines, on stderr). */
  stdout(): string;
  /** Waits (at most `ms`) until the output matches `re`; returns the match. */
  waitText(re: RegExp, ms: number, what?: string): Promise<RegExpMatchArray>;
  /** Whether it has exited. */
  exited(): boolean;
  /** Its exit code once ended (killed after `ms`, then the test fails on the code). */
  done(ms: number): Promise<number>;
  /** Sends `signal` unless exited and waits for the end (SIGKILL after 5 s). Safe twice. */
  stop(signal?: Deno.Signal): Promise<void>;
}

function spawn(cmd: string, args: string[], cwd = REPO_ROOT): Proc {
  const child = new Deno.Command(cmd, {
    args,
    cwd,
    stdout: "piped",
    stderr: "piped",
    stdin: "null",
  }).spawn();
  let out = "";
  let stdout = "";
  let code: number | undefined;
  const drain = async (s: ReadableStream<Uint8Array>, isStdout: boolean) => {
    try {
      for await (const t of s.pipeThrough(new TextDecoderStream())) {
        out += t;
        if (isStdout) stdout += t;
      }
    } catch { /* closed */ }
  };
  const drained = Promise.all([drain(child.stdout, true), drain(child.stderr, false)]);
  // A process it started (a graceful restart's successor) shares its pipes: once it exited,
  // what is left is read for at most 1 s.
  const status = child.status.then(async (s) => {
    let t: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([drained, new Promise((r) => t = setTimeout(r, 1000))]);
    clearTimeout(t);
    code = s.code;
    return s.code;
  });
  const kill = (signal: Deno.Signal) => {
    try {
      child.kill(signal);
    } catch { /* gone */ }
  };
  const stop = async (signal: Deno.Signal = "SIGKILL") => {
    if (code === undefined) kill(signal);
    const t = setTimeout(() => kill("SIGKILL"), 5000);
    await status;
    clearTimeout(t);
  };
  return {
    pid: child.pid,
    text: () => out,
    stdout: () => stdout,
    exited: () => code !== undefined,
    async waitText(re, ms, what) {
      await waitFor(
        what ?? `output ${re} (so far: ${JSON.stringify(out)})`,
        () => re.test(out),
        ms,
        20,
      )
        .catch((e) => {
          throw new Error(`${(e as Error).message}; output: ${JSON.stringify(out)}`);
        });
      return out.match(re)!;
    },
    async done(ms) {
      const t = setTimeout(() => kill("SIGKILL"), ms);
      const c = await status;
      clearTimeout(t);
      return c;
    },
    stop,
  };
}

/** Go's example program `<example>-<side>` with `flags`, in `cwd` (default: the repository). */
function go(example: string, side: "client" | "server", flags: string[], cwd?: string): Proc {
  return spawn(`${GOEX}/${example}-${side}`, flags, cwd);
}

/** Ours: `deno run -A examples/<example>/<side>.ts` with `flags`. */
function ours(example: string, side: "client" | "server", flags: string[]): Proc {
  return spawn(Deno.execPath(), ["run", "-A", `examples/${example}/${side}.ts`, ...flags]);
}

/** Waits until something accepts on 127.0.0.1:`port` (a Go example server prints nothing). */
async function accepting(port: number, ms = 20_000): Promise<void> {
  await waitFor(
    `127.0.0.1:${port} to accept`,
    async () => {
      try {
        (await Deno.connect({ hostname: "127.0.0.1", port })).close();
        return true;
      } catch {
        return false;
      }
    },
    ms,
    50,
  );
}

/** Runs a client to its end (bounded by `ms`) and returns its exit code and output. */
async function run(p: Proc, ms = 30_000): Promise<{ code: number; out: string }> {
  const code = await p.done(ms);
  return { code, out: p.text() };
}

/** Our server on fresh ports: `flags(ports)`, ready once it printed its listening line. */
async function ourServer(example: string, flags: string[]): Promise<Proc> {
  const p = ours(example, "server", flags);
  try {
    await p.waitText(/listening on \S+/, 30_000, `our ${example} server's listening line`);
  } catch (e) {
    await p.stop();
    throw e;
  }
  return p;
}

/** Go's server with `flags` (in `cwd`), ready once `port` accepts. */
async function goServer(
  example: string,
  flags: string[],
  port: number,
  cwd?: string,
): Promise<Proc> {
  const p = go(example, "server", flags, cwd);
  try {
    await accepting(port);
  } catch (e) {
    await p.stop();
    throw new Error(`${(e as Error).message}; Go's ${example} server printed ${p.text()}`);
  }
  return p;
}

const count = (text: string, re: RegExp) => text.match(new RegExp(re, "gm"))?.length ?? 0;

Deno.test("rpcx-examples oneclient: Go's client against our server, ours against Go's (one OneClient, Arith.Mul and echo.Say)", async () => {
  if (!needGoExamples()) return;
  const port = freePort();
  const addr = `127.0.0.1:${port}`;
  const server = await ourServer("oneclient", ["--addr", addr]);
  try {
    const r = await run(go("oneclient", "client", ["-addr", addr]));
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /\d \d\d:\d\d:\d\d 10 \* 20 = 200\n.*\d echo hello world\n$/);
  } finally {
    await server.stop();
  }
  const goPort = freePort();
  const g = await goServer("oneclient", ["-addr", `127.0.0.1:${goPort}`], goPort);
  try {
    const r = await run(ours("oneclient", "client", ["--addr", `127.0.0.1:${goPort}`]));
    assert.equal(r.code, 0, r.out);
    assert.equal(r.out, "10 * 20 = 200\necho hello world\n");
  } finally {
    await g.stop();
  }
});

Deno.test("rpcx-examples pool: Go's XClientPool of 10 against our server (100 calls), our XClientPool against Go's", async () => {
  if (!needGoExamples()) return;
  const addr = `127.0.0.1:${freePort()}`;
  const server = await ourServer("pool", ["--addr", addr]);
  try {
    const r = await run(go("pool", "client", ["-addr", addr]));
    assert.equal(r.code, 0, r.out);
    assert.equal(count(r.out, /10 \* 20 = 200$/), 100, r.out);
  } finally {
    await server.stop();
  }
  const goPort = freePort();
  const g = await goServer("pool", ["-addr", `127.0.0.1:${goPort}`], goPort);
  try {
    const r = await run(ours("pool", "client", ["--addr", `127.0.0.1:${goPort}`]));
    assert.equal(r.code, 0, r.out);
    assert.equal(r.out, "10 * 20 = 200\n".repeat(100));
  } finally {
    await g.stop();
  }
});

/**
 * What a sticky client printed, checked: every run stays with its first server until that one
 * shuts down (5 s after the start), so the replies change at most once, and only away from the
 * first server (200) to the second (20000). Go's example has a race of its own, in Go's client as
 * in ours: when the server it stuck to goes, the next call selects again at random (Go's
 * `selectClient` drops a closed sticky client), and if it picks the server that is down, Failtry
 * retries that same server and the program ends with the dial error (about 1 run in 4). That
 * outcome is accepted only as exactly that: replies all from the first server, then a refused dial
 * to `down`.
 */
function assertSticky(code: number, out: string, down: string) {
  const replies = [...out.matchAll(/10 \* 20 = (\d+)$/gm)].map((m) => Number(m[1]));
  if (code !== 0) {
    assert.ok(
      replies.length >= 1 && replies.every((c) => c === 200) &&
        new RegExp(`failed to call: dial tcp[@ ]${down.replace(/\./g, "\\.")}.*refused`).test(out),
      `exit ${code}, not the example's own race (the first server picked again while down): ${out}`,
    );
    return;
  }
  assert.equal(replies.length, 10, `10 replies: ${replies}`);
  const changes = replies.filter((c, i) => i > 0 && c !== replies[i - 1]).length;
  assert.ok(
    changes === 0 || (changes === 1 && replies[0] === 200 && replies[9] === 20000),
    `sticky: ${replies}`,
  );
}

Deno.test("rpcx-examples sticky: Go's sticky client against our two servers (the first shuts down after 5 s and comes back), ours against Go's", async () => {
  if (!needGoExamples()) return;
  const [p1, p2] = [freePort(), freePort()];
  const server = await ourServer("sticky", [
    "--addr1",
    `127.0.0.1:${p1}`,
    "--addr2",
    `127.0.0.1:${p2}`,
  ]);
  const client = go("sticky", "client", [
    "-addr1",
    `tcp@127.0.0.1:${p1}`,
    "-addr2",
    `tcp@127.0.0.1:${p2}`,
  ]);
  try {
    const r = await run(client, 40_000);
    assertSticky(r.code, r.out, `127.0.0.1:${p1}`);
    await server.waitText(/restarted/, 5000, "our first server serving again");
  } finally {
    await client.stop();
    await server.stop();
  }
  const [g1, g2] = [freePort(), freePort()];
  const g = go("sticky", "server", ["-addr1", `127.0.0.1:${g1}`, "-addr2", `127.0.0.1:${g2}`]);
  try {
    await accepting(g1);
    await accepting(g2);
    const r = await run(
      ours("sticky", "client", [
        "--addr1",
        `tcp@127.0.0.1:${g1}`,
        "--addr2",
        `tcp@127.0.0.1:${g2}`,
      ]),
      40_000,
    );
    assertSticky(r.code, r.out, `127.0.0.1:${g1}`);
  } finally {
    await g.stop();
  }
});

/**
 * A reflection client's printout with each service's block (from its `package` line) sorted: Go's
 * server lists its services from a map, in an order that changes from run to run (and the blank
 * lines between them go with the order).
 */
function servicesUnordered(out: string): string[] {
  return out.split(/^(?=package )/m).map((b) => b.trimEnd()).sort();
}

Deno.test("rpcx-examples reflection: Go's client prints the same text from our server as from Go's; our client prints what Go's does", async () => {
  if (!needGoExamples()) return;
  const goPort = freePort();
  const g = await goServer("reflection", ["-addr", `127.0.0.1:${goPort}`], goPort);
  let fromGo: string;
  try {
    const r = await run(go("reflection", "client", ["-addr", `127.0.0.1:${goPort}`]));
    assert.equal(r.code, 0, r.out);
    fromGo = r.out;
    const o = await run(ours("reflection", "client", ["--addr", `127.0.0.1:${goPort}`]));
    assert.equal(o.code, 0, o.out);
    assert.deepEqual(servicesUnordered(o.out), servicesUnordered(fromGo));
  } finally {
    await g.stop();
  }
  const addr = `127.0.0.1:${freePort()}`;
  const server = await ourServer("reflection", ["--addr", addr]);
  try {
    const r = await run(go("reflection", "client", ["-addr", addr]));
    assert.equal(r.code, 0, r.out);
    assert.deepEqual(servicesUnordered(r.out), servicesUnordered(fromGo));
  } finally {
    await server.stop();
  }
});

Deno.test("rpcx-examples restart: Go's client against our server stopped and started again between its calls (all three answered); ours against Go's", async () => {
  if (!needGoExamples()) return;
  const addr = `127.0.0.1:${freePort()}`;
  let server = await ourServer("restart", ["--addr", addr]);
  const client = go("restart", "client", ["-addr", addr]);
  try {
    await client.waitText(/#1, /, 10_000);
    await server.stop("SIGTERM");
    server = await ourServer("restart", ["--addr", addr]);
    const r = await run(client, 40_000);
    assert.equal(r.code, 0, r.out);
    assert.doesNotMatch(r.out, /failed to call/);
    assert.equal(count(r.out, /#[123], 10 \* 20 = 200$/), 3, r.out);
    assert.equal(count(server.text(), /^C= 200$/), 2, server.text());
  } finally {
    await client.stop();
    await server.stop();
  }
  const goPort = freePort();
  const goAddr = `127.0.0.1:${goPort}`;
  let g = await goServer("restart", ["-addr", goAddr], goPort);
  const mine = ours("restart", "client", ["--addr", goAddr, "--interval", "3000"]);
  try {
    await mine.waitText(/#1, /, 20_000);
    await g.stop();
    g = await goServer("restart", ["-addr", goAddr], goPort);
    const r = await run(mine, 30_000);
    assert.equal(r.code, 0, r.out);
    assert.equal(r.out, "#1, 10 * 20 = 200\n#2, 10 * 20 = 200\n#3, 10 * 20 = 200\n");
    assert.equal(count(g.text(), /^C= 200$/), 2, g.text());
  } finally {
    await mine.stop();
    await g.stop();
  }
});

Deno.test("rpcx-examples graceful_restart: Go's client (which exits at its first failed call) calls on while our server restarts (SIGHUP: a new process takes the port, the old drains); ours against Go's", async () => {
  if (!needGoExamples()) return;
  const addr = `127.0.0.1:${freePort()}`;
  const server = await ourServer("graceful_restart", ["--addr", addr]);
  const oldPid = Number(server.text().match(/pid (\d+)/)![1]);
  const client = go("graceful_restart", "client", ["-addr", addr]);
  let newPid: number | undefined;
  try {
    await delay(1500);
    assert.ok(!client.exited(), `Go's client failed before the restart: ${client.text()}`);
    Deno.kill(oldPid, "SIGHUP");
    const m = await server.waitText(/restarted: pid \d+ handed over to pid (\d+)/, 30_000);
    newPid = Number(m[1]);
    assert.equal(await server.done(10_000), 0, server.text());
    // The old process is gone: Go's client now calls the new one only.
    await delay(2000);
    assert.ok(!client.exited(), `Go's client failed: ${client.text()}`);
    const ssOut = new TextDecoder().decode(
      (await new Deno.Command("ss", { args: ["-tnp", "state", "established"] }).output()).stdout,
    );
    assert.match(ssOut, new RegExp(`${addr.replace(/\./g, "\\.")}\\s.*pid=${newPid},`));
  } finally {
    // The new process is made to outlive the old one: found by its parent (while that lives)
    // and by the port (once reparented), even when its "handed over" line never came.
    const port = Number(addr.split(":").pop());
    const strays = new Set([...(newPid ? [newPid] : []), ...await childrenOf(oldPid)]);
    await client.stop();
    await server.stop();
    for (const pid of await listenersOn(port)) strays.add(pid);
    for (const pid of strays) {
      try {
        Deno.kill(pid, "SIGKILL");
      } catch { /* gone */ }
    }
  }
  assert.doesNotMatch(client.text(), /failed to call/);
  const goPort = freePort();
  const g = await goServer("graceful_restart", ["-addr", `127.0.0.1:${goPort}`], goPort);
  try {
    const r = await run(
      ours("graceful_restart", "client", ["--addr", `127.0.0.1:${goPort}`, "--count", "2000"]),
    );
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /2000 calls answered\n$/);
  } finally {
    await g.stop();
  }
});

/** The stdout of `cmd args` (bounded: 5 s), "" when it cannot run. */
async function outputOf(cmd: string, args: string[]): Promise<string> {
  try {
    const out = await runBounded(cmd, { args, timeoutMs: 5000, what: cmd });
    return new TextDecoder().decode(out.stdout);
  } catch {
    return "";
  }
}

/** The processes listening on TCP `port` (`ss -tlnp`). */
async function listenersOn(port: number): Promise<number[]> {
  const out = await outputOf("ss", ["-Htlnp", "sport", "=", `:${port}`]);
  return [...out.matchAll(/pid=(\d+),/g)].map((m) => Number(m[1]));
}

/** The children of `pid` (`pgrep -P`). */
async function childrenOf(pid: number): Promise<number[]> {
  const out = await outputOf("pgrep", ["-P", String(pid)]);
  return out.split("\n").filter((l) => /^\d+$/.test(l)).map(Number);
}

/** An rpcx request frame of Arith.Mul {A:10,B:20} in JSON (Go's client: no metadata), as text. */
const REQUEST_FRAME = new RegExp(
  String.raw`\x08\x00[\s\S]\x10[\s\S]{12}\x00\x00\x00\x05Arith\x00\x00\x00\x03Mul` +
    String.raw`\x00{7}\x0f\{"A":10,"B":20\}`,
);
/** The same from our client, whose metadata has `__ServerTimeout` (its call's timeout). */
const OUR_REQUEST_FRAME = new RegExp(
  String.raw`\x08\x00[\s\S]\x10[\s\S]{12}\x00\x00\x00\x05Arith\x00\x00\x00\x03Mul` +
    String.raw`\x00\x00\x00\x1b\x00\x00\x00\x0f__ServerTimeout\x00\x00\x00\x04\d{4}` +
    String.raw`\x00\x00\x00\x0f\{"A":10,"B":20\}`,
);

Deno.test("rpcx-examples tcpcopy: Go's client against our server with the tee (its request's bytes copied to stdout); ours against Go's", async () => {
  if (!needGoExamples()) return;
  const addr = `127.0.0.1:${freePort()}`;
  const server = await ourServer("tcpcopy", ["--addr", addr]);
  try {
    const r = await run(go("tcpcopy", "client", ["-addr", addr]));
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /\d 10 \* 20 = 200\n$/);
    // The request frame as Go's client sent it: magic, version 0, JSON, the body.
    await server.waitText(REQUEST_FRAME, 5000, "the request's bytes copied");
    assert.match(server.text(), /C= 200\n/);
  } finally {
    await server.stop();
  }
  const goPort = freePort();
  const g = await goServer("tcpcopy", ["-addr", `127.0.0.1:${goPort}`], goPort);
  try {
    const r = await run(ours("tcpcopy", "client", ["--addr", `127.0.0.1:${goPort}`]));
    assert.equal(r.code, 0, r.out);
    assert.equal(r.out, "10 * 20 = 200\n");
    await g.waitText(OUR_REQUEST_FRAME, 5000, "the request's bytes copied by Go's tee");
    assert.match(g.text(), /C= 200\n/);
  } finally {
    await g.stop();
  }
});

Deno.test("rpcx-examples handler: Go's client against our raw handler (Go's AddHandler), ours against Go's", async () => {
  if (!needGoExamples()) return;
  const addr = `127.0.0.1:${freePort()}`;
  const server = await ourServer("handler", ["--addr", addr]);
  const client = go("handler", "client", ["-addr", addr]);
  try {
    // Go's client calls once a second until stopped, and exits at its first failure.
    await client.waitText(/(10 \* 20 = 200\n[\s\S]*){3}/, 15_000, "three replies");
    assert.ok(!client.exited(), client.text());
    assert.doesNotMatch(client.text(), /failed/);
  } finally {
    await client.stop();
    await server.stop();
  }
  const goPort = freePort();
  const g = await goServer("handler", ["-addr", `127.0.0.1:${goPort}`], goPort);
  try {
    const r = await run(
      ours("handler", "client", ["--addr", `127.0.0.1:${goPort}`, "--interval", "100"]),
    );
    assert.equal(r.code, 0, r.out);
    assert.equal(r.out, "10 * 20 = 200\n".repeat(3));
  } finally {
    await g.stop();
  }
});

Deno.test("rpcx-examples broadcast: Go's Broadcast against our two servers, ours (broadcast and inform) against Go's", async () => {
  if (!needGoExamples()) return;
  const [p1, p2] = [freePort(), freePort()];
  const server = await ourServer("broadcast", [
    "--addr1",
    `127.0.0.1:${p1}`,
    "--addr2",
    `127.0.0.1:${p2}`,
  ]);
  const client = go("broadcast", "client", [
    "-addr1",
    `tcp@127.0.0.1:${p1}`,
    "-addr2",
    `tcp@127.0.0.1:${p2}`,
  ]);
  try {
    // Go's client broadcasts once a second until stopped, and exits at its first failure (as
    // when one of the servers does not answer).
    await client.waitText(/(10 \* 20 = (200|20000)\n[\s\S]*){3}/, 15_000, "three broadcasts");
    assert.ok(!client.exited(), client.text());
  } finally {
    await client.stop();
    await server.stop();
  }
  const [g1, g2] = [freePort(), freePort()];
  const g = go("broadcast", "server", ["-addr1", `127.0.0.1:${g1}`, "-addr2", `127.0.0.1:${g2}`]);
  try {
    await accepting(g1);
    await accepting(g2);
    const r = await run(
      ours("broadcast", "client", [
        "--addr1",
        `tcp@127.0.0.1:${g1}`,
        "--addr2",
        `tcp@127.0.0.1:${g2}`,
        "--interval",
        "100",
      ]),
    );
    assert.equal(r.code, 0, r.out);
    assert.equal(
      r.out,
      "10 * 20 = 200, 20000\n".repeat(3) +
        `receipt 127.0.0.1:${g1}: 200\nreceipt 127.0.0.1:${g2}: 20000\n`,
    );
    // Go's example.Arith (the first server) prints each call: 3 broadcasts and the inform.
    assert.equal(count(g.text(), /^call: 10 \* 20 = 200$/), 4, g.text());
  } finally {
    await g.stop();
  }
});

/** Hex sha256 of `bytes`. */
async function sha256(bytes: Uint8Array): Promise<string> {
  const d = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>));
  return [...d].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * The file the transfer tests send: about 300 KB of printable ASCII lines (Go's filetransfer
 * server prints what it received with %s), every line different, a size that is no multiple of
 * Go's 1 KiB transfer buffer nor of our 64 KiB one.
 */
const TRANSFER_TEXT = (() => {
  let s = "";
  for (let i = 0; s.length < 300_000; i++) {
    s += `line ${i}: ${((i * 2654435761) >>> 0).toString(16)} ${"abcdefghij".slice(i % 10)}\n`;
  }
  return s + "end without a newline";
})();
const TRANSFER_BYTES = new TextEncoder().encode(TRANSFER_TEXT);

/** Runs `fn` with fresh temporary directories, removed afterwards. */
async function withTempDirs(n: number, fn: (dirs: string[]) => Promise<void>): Promise<void> {
  const dirs: string[] = [];
  try {
    for (let i = 0; i < n; i++) dirs.push(await Deno.makeTempDir({ prefix: "goex-" }));
    await fn(dirs);
  } finally {
    for (const d of dirs) await Deno.remove(d, { recursive: true }).catch(() => {});
  }
}

// Go's log.Println line (log.LstdFlags: date and time).
const goLog = (text: string) => new RegExp(String.raw`^\d{4}/\d\d/\d\d \d\d:\d\d:\d\d ${text}\n$`);

Deno.test("rpcx-examples filetransfer: Go's SendFile of abc.txt into our server's directory (same sha256), our sendFile into Go's server (which prints the content)", async () => {
  if (!needGoExamples()) return;
  const want = await sha256(TRANSFER_BYTES);
  await withTempDirs(3, async ([goCwd, ourDir, goServerCwd]) => {
    // Go's client sends ./abc.txt (hard-coded) with meta foo=bar, rate unlimited.
    await Deno.writeFile(`${goCwd}/abc.txt`, TRANSFER_BYTES);
    const addr = `127.0.0.1:${freePort()}`;
    const server = await ourServer("filetransfer", [
      "--addr",
      addr,
      "--transfer-addr",
      `127.0.0.1:${freePort()}`,
      "--dir",
      ourDir,
    ]);
    try {
      const r = await run(go("filetransfer", "client", ["-addr", addr], goCwd));
      assert.equal(r.code, 0, r.out);
      assert.match(r.out, goLog("send ok"));
      // Stored once all FileSize bytes came (Go's client returns once it wrote them).
      await server.waitText(/saved abc\.txt\n/, 10_000, "our server's 'saved abc.txt'");
      assert.ok(
        server.text().includes(
          `received file name: abc.txt, size: ${TRANSFER_BYTES.length}, meta: { foo: "bar" }\n`,
        ),
        server.text(),
      );
      assert.deepEqual([...Deno.readDirSync(ourDir)].map((e) => e.name), ["abc.txt"]);
      assert.equal(await sha256(await Deno.readFile(`${ourDir}/abc.txt`)), want);
    } finally {
      await server.stop();
    }

    const goPort = freePort();
    const g = await goServer(
      "filetransfer",
      ["-addr", `127.0.0.1:${goPort}`, "-transfer-addr", `127.0.0.1:${freePort()}`],
      goPort,
      goServerCwd,
    );
    try {
      // Go's server has no download handler: upload only.
      const r = await run(
        ours("filetransfer", "client", [
          "--addr",
          `127.0.0.1:${goPort}`,
          "--file",
          `${goCwd}/abc.txt`,
          "--upload-only",
        ]),
      );
      assert.equal(r.code, 0, r.out);
      assert.equal(r.out, `send ok: ${TRANSFER_BYTES.length} bytes\n`);
      // Go's handler reads to the end, then prints `file content: %s\n`.
      const head =
        `received file name: abc.txt, size: ${TRANSFER_BYTES.length}, meta: map[foo:bar]\n` +
        "file content: ";
      await waitFor(
        "Go's server to print the whole file",
        // (ASCII: as many characters as bytes; a pipe may hand the print over in pieces)
        () => g.stdout().length >= head.length + TRANSFER_TEXT.length + 1,
        10_000,
        20,
      ).catch((e) => {
        throw new Error(`${(e as Error).message}; Go's server printed ${g.text().slice(0, 300)}…`);
      });
      assert.ok(g.stdout().startsWith(head), g.stdout().slice(0, 300));
      assert.ok(g.stdout().endsWith("\n"), g.stdout().slice(-300));
      const got = new TextEncoder().encode(g.stdout().slice(head.length, -1));
      assert.equal(got.length, TRANSFER_BYTES.length);
      assert.equal(await sha256(got), want);
    } finally {
      await g.stop();
    }
  });
});

Deno.test("rpcx-examples file_download: Go's DownloadFile of abc.txt from our server's directory (same sha256), our downloadFile from Go's server", async () => {
  if (!needGoExamples()) return;
  const want = await sha256(TRANSFER_BYTES);
  await withTempDirs(4, async ([goCwd, ourDir, goServerCwd, saveDir]) => {
    await Deno.writeFile(`${ourDir}/abc.txt`, TRANSFER_BYTES);
    const addr = `127.0.0.1:${freePort()}`;
    const server = await ourServer("filetransfer", [
      "--addr",
      addr,
      "--transfer-addr",
      `127.0.0.1:${freePort()}`,
      "--dir",
      ourDir,
    ]);
    try {
      // Go's client asks for abc.txt (meta foo=bar) and writes it to ./abc.txt.
      const r = await run(go("file_download", "client", ["-addr", addr], goCwd));
      assert.equal(r.code, 0, r.out);
      assert.match(r.out, goLog("received"));
      assert.equal(await sha256(await Deno.readFile(`${goCwd}/abc.txt`)), want);
      await server.waitText(/send ok\n/, 10_000, "our server's 'send ok'");
      assert.ok(
        server.text().includes(`received file name: abc.txt, meta: { foo: "bar" }\n`),
        server.text(),
      );
    } finally {
      await server.stop();
    }

    // Go's server sends ./abc.txt (hard-coded) whatever the name asked for.
    await Deno.writeFile(`${goServerCwd}/abc.txt`, TRANSFER_BYTES);
    const goPort = freePort();
    const g = await goServer(
      "file_download",
      ["-addr", `127.0.0.1:${goPort}`, "-transfer-addr", `127.0.0.1:${freePort()}`],
      goPort,
      goServerCwd,
    );
    try {
      // Go's server has no upload handler: download only.
      const save = `${saveDir}/abc.txt`;
      const r = await run(
        ours("filetransfer", "client", [
          "--addr",
          `127.0.0.1:${goPort}`,
          "--download",
          "abc.txt",
          "--save",
          save,
          "--download-only",
        ]),
      );
      assert.equal(r.code, 0, r.out);
      assert.equal(r.out, `received: ${TRANSFER_BYTES.length} bytes into ${save}\n`);
      assert.equal(await sha256(await Deno.readFile(save)), want);
      await waitFor("Go's server's 'send ok'", () => g.stdout().endsWith("send ok\n"), 10_000, 20)
        .catch((e) => {
          throw new Error(`${(e as Error).message}; Go's server printed ${g.text()}`);
        });
      assert.equal(g.stdout(), "received file name: abc.txt, meta: map[foo:bar]\nsend ok\n");
    } finally {
      await g.stop();
    }
  });
});

// Ten lines `#i: <unix seconds>`, as both stream clients write them, each echoed back.
const TEN_LINES = new RegExp(
  "^" + Array.from({ length: 10 }, (_, i) => String.raw`#${i}: \d{10}\n`).join("") + "$",
);

Deno.test("rpcx-examples stream: Go's Stream client (10 lines, 1 s apart) echoed by our stream service, ours echoed by Go's", async () => {
  if (!needGoExamples()) return;
  const addr = `127.0.0.1:${freePort()}`;
  const server = await ourServer("stream", [
    "--addr",
    addr,
    "--transfer-addr",
    `127.0.0.1:${freePort()}`,
  ]);
  try {
    // Go's client prints what comes back (io.Copy to stdout) and closes 1 s after its last line.
    const client = go("stream", "client", ["-addr", addr]);
    const r = await run(client, 40_000);
    assert.equal(r.code, 0, r.out);
    assert.match(client.stdout(), TEN_LINES);
    await server.waitText(/127\.0\.0\.1:\d+ closed\n/, 10_000, "our server's '<addr> closed'");
    assert.ok(server.text().includes(`received args, meta: { foo: "bar" }\n`), server.text());
  } finally {
    await server.stop();
  }

  const goPort = freePort();
  const g = await goServer(
    "stream",
    ["-addr", `127.0.0.1:${goPort}`, "-transfer-addr", `127.0.0.1:${freePort()}`],
    goPort,
  );
  try {
    // Go's server only echoes bytes: no typed message stream (--lines-only).
    const r = await run(
      ours("stream", "client", [
        "--addr",
        `127.0.0.1:${goPort}`,
        "--lines",
        "10",
        "--interval",
        "100",
        "--lines-only",
      ]),
    );
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, TEN_LINES);
    await waitFor(
      "Go's server's '<addr> closed'",
      () => g.stdout().endsWith("closed\n"),
      10_000,
      20,
    )
      .catch((e) => {
        throw new Error(`${(e as Error).message}; Go's server printed ${g.text()}`);
      });
    assert.match(g.stdout(), /^received args, meta: map\[foo:bar\]\n127\.0\.0\.1:\d+ closed\n$/);
  } finally {
    await g.stop();
  }
});

Deno.test("tests/interop/go-examples are rpcx-examples' files unchanged (git blob ids of UPSTREAM.blobs)", async () => {
  const dir = `${REPO_ROOT}/tests/interop/go-examples`;
  const lines = (await Deno.readTextFile(`${dir}/UPSTREAM.blobs`)).trim().split("\n");
  const listed = new Set<string>();
  for (const line of lines) {
    const [blob, path] = line.split(/\s+/);
    listed.add(path);
    const bytes = await Deno.readFile(`${dir}/${path}`);
    const head = new TextEncoder().encode(`blob ${bytes.length}\0`);
    const all = new Uint8Array(head.length + bytes.length);
    all.set(head);
    all.set(bytes, head.length);
    const sha = new Uint8Array(await crypto.subtle.digest("SHA-1", all));
    assert.equal([...sha].map((b) => b.toString(16).padStart(2, "0")).join(""), blob, path);
  }
  for (const p of PROGRAMS) {
    for (const side of ["client", "server"]) assert.ok(listed.has(`${p}/${side}/${side}.go`), p);
  }
});

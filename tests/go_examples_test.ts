// Go's own rpcx-examples programs, unchanged (tests/interop/go-examples, built by
// .ci/install/55-goexamples.sh into .cache/bin/goex/<example>-<side>), against ours (examples/<same
// name>), both ways: Go's client against our server, our client against Go's server. Each
// program runs in its own process on free loopback ports given by its flags; every run is bounded
// in time; the assertions are on what the programs print (Go's clients log to stderr) and, for
// file transfer, on the bytes that arrived (sha256). Programs that read or write a hard-coded
// file (abc.txt) run in a temporary directory holding what they expect. The processes and the
// frame of a run (server ready, client to its end, both stopped): tests/support/go_examples.ts.
import assert from "node:assert/strict";
import { delay, freePort, REPO_ROOT } from "./support/env.ts";
import { runBounded } from "./support/child.ts";
import {
  count,
  go,
  goServer,
  needGoExamples,
  ours,
  ourServer,
  pair,
  type Proc,
  PROGRAMS,
} from "./support/go_examples.ts";

Deno.test("rpcx-examples oneclient: Go's client against our server, ours against Go's (one OneClient, Arith.Mul and echo.Say)", async () => {
  if (!needGoExamples()) return;
  await pair("go", "ours", "oneclient", {}, (client) => {
    assert.match(client.text(), /\d \d\d:\d\d:\d\d 10 \* 20 = 200\n.*\d echo hello world\n$/);
  });
  await pair("ours", "go", "oneclient", {}, (client) => {
    assert.equal(client.text(), "10 * 20 = 200\necho hello world\n");
  });
});

Deno.test("rpcx-examples pool: Go's XClientPool of 10 against our server (100 calls), our XClientPool against Go's", async () => {
  if (!needGoExamples()) return;
  await pair("go", "ours", "pool", {}, (client) => {
    assert.equal(count(client.text(), /10 \* 20 = 200$/), 100, client.text());
  });
  await pair("ours", "go", "pool", {}, (client) => {
    assert.equal(client.text(), "10 * 20 = 200\n".repeat(100));
  });
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
  const sticky = { servers: 2, ms: 40_000, anyExit: true };
  await pair("go", "ours", "sticky", sticky, async (client, server, [down]) => {
    assertSticky(client.exitCode()!, client.text(), down);
    await server.waitText(/restarted/, 5000, "our first server serving again");
  });
  await pair("ours", "go", "sticky", sticky, (client, _, [down]) => {
    assertSticky(client.exitCode()!, client.text(), down);
  });
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
  let fromGo = "";
  await pair("go", "go", "reflection", {}, (client) => {
    fromGo = client.text();
  });
  const same = (client: Proc) => {
    assert.deepEqual(servicesUnordered(client.text()), servicesUnordered(fromGo));
  };
  await pair("ours", "go", "reflection", {}, same);
  await pair("go", "ours", "reflection", {}, same);
});

/**
 * The restart example, `client`'s client (ours: 3 s between calls) against the other side's
 * server, stopped after the client's first reply (ours by SIGTERM: it shuts down gracefully) and
 * started again on the same address: the client exits 0, the new server answered the last two
 * calls; then `check(client)`.
 */
async function restartBetweenCalls(client: "go" | "ours", check: (client: Proc) => void) {
  const port = freePort();
  const addr = `127.0.0.1:${port}`;
  const start = () =>
    client === "go"
      ? ourServer("restart", ["--addr", addr])
      : goServer("restart", ["-addr", addr], [port]);
  let server = await start();
  const c = client === "go"
    ? go("restart", "client", ["-addr", addr])
    : ours("restart", "client", ["--addr", addr, "--interval", "3000"]);
  try {
    await c.waitText(/#1, /, 20_000);
    await server.stop(client === "go" ? "SIGTERM" : "SIGKILL");
    server = await start();
    assert.equal(await c.done(40_000), 0, c.text());
    check(c);
    assert.equal(count(server.text(), /^C= 200$/), 2, server.text());
  } finally {
    await c.stop();
    await server.stop();
  }
}

Deno.test("rpcx-examples restart: Go's client against our server stopped and started again between its calls (all three answered); ours against Go's", async () => {
  if (!needGoExamples()) return;
  await restartBetweenCalls("go", (client) => {
    assert.doesNotMatch(client.text(), /failed to call/);
    assert.equal(count(client.text(), /#[123], 10 \* 20 = 200$/), 3, client.text());
  });
  await restartBetweenCalls("ours", (client) => {
    assert.equal(client.text(), "#1, 10 * 20 = 200\n#2, 10 * 20 = 200\n#3, 10 * 20 = 200\n");
  });
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
  await pair("ours", "go", "graceful_restart", { clientFlags: ["--count", "2000"] }, (mine) => {
    assert.match(mine.text(), /2000 calls answered\n$/);
  });
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
  await pair("go", "ours", "tcpcopy", {}, async (client, server) => {
    assert.match(client.text(), /\d 10 \* 20 = 200\n$/);
    // The request frame as Go's client sent it: magic, version 0, JSON, the body.
    await server.waitText(REQUEST_FRAME, 5000, "the request's bytes copied");
    assert.match(server.text(), /C= 200\n/);
  });
  await pair("ours", "go", "tcpcopy", {}, async (client, g) => {
    assert.equal(client.text(), "10 * 20 = 200\n");
    await g.waitText(OUR_REQUEST_FRAME, 5000, "the request's bytes copied by Go's tee");
    assert.match(g.text(), /C= 200\n/);
  });
});

Deno.test("rpcx-examples handler: Go's client against our raw handler (Go's AddHandler), ours against Go's", async () => {
  if (!needGoExamples()) return;
  // Go's client calls once a second until stopped, and exits at its first failure.
  const until = { output: /(10 \* 20 = 200\n[\s\S]*){3}/, what: "three replies" };
  await pair("go", "ours", "handler", { until }, (client) => {
    assert.doesNotMatch(client.text(), /failed/);
  });
  await pair("ours", "go", "handler", { clientFlags: ["--interval", "100"] }, (client) => {
    assert.equal(client.text(), "10 * 20 = 200\n".repeat(3));
  });
});

Deno.test("rpcx-examples broadcast: Go's Broadcast against our two servers, ours (broadcast and inform) against Go's", async () => {
  if (!needGoExamples()) return;
  // Go's client broadcasts once a second until stopped, and exits at its first failure (as when
  // one of the servers does not answer).
  const until = { output: /(10 \* 20 = (200|20000)\n[\s\S]*){3}/, what: "three broadcasts" };
  await pair("go", "ours", "broadcast", { servers: 2, until }, () => {});
  const interval = ["--interval", "100"];
  await pair(
    "ours",
    "go",
    "broadcast",
    { servers: 2, clientFlags: interval },
    (client, g, addrs) => {
      assert.equal(
        client.text(),
        "10 * 20 = 200, 20000\n".repeat(3) +
          `receipt ${addrs[0]}: 200\nreceipt ${addrs[1]}: 20000\n`,
      );
      // Go's example.Arith (the first server) prints each call: 3 broadcasts and the inform.
      assert.equal(count(g.text(), /^call: 10 \* 20 = 200$/), 4, g.text());
    },
  );
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
    await pair("go", "ours", "filetransfer", {
      serverFlags: ["--transfer-addr", `127.0.0.1:${freePort()}`, "--dir", ourDir],
      goCwd,
    }, async (client, server) => {
      assert.match(client.text(), goLog("send ok"));
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
    });

    // Go's server has no download handler: upload only.
    await pair("ours", "go", "filetransfer", {
      serverFlags: ["-transfer-addr", `127.0.0.1:${freePort()}`],
      clientFlags: ["--file", `${goCwd}/abc.txt`, "--upload-only"],
      goCwd: goServerCwd,
    }, async (client, g) => {
      assert.equal(client.text(), `send ok: ${TRANSFER_BYTES.length} bytes\n`);
      // Go's handler reads to the end, then prints `file content: %s\n`.
      const head =
        `received file name: abc.txt, size: ${TRANSFER_BYTES.length}, meta: map[foo:bar]\n` +
        "file content: ";
      // (ASCII: as many characters as bytes; a pipe may hand the print over in pieces)
      await g.waitStdout(
        (out) => out.length >= head.length + TRANSFER_TEXT.length + 1,
        10_000,
        "Go's server to print the whole file",
      );
      assert.ok(g.stdout().startsWith(head), g.stdout().slice(0, 300));
      assert.ok(g.stdout().endsWith("\n"), g.stdout().slice(-300));
      const got = new TextEncoder().encode(g.stdout().slice(head.length, -1));
      assert.equal(got.length, TRANSFER_BYTES.length);
      assert.equal(await sha256(got), want);
    });
  });
});

Deno.test("rpcx-examples file_download: Go's DownloadFile of abc.txt from our server's directory (same sha256), our downloadFile from Go's server", async () => {
  if (!needGoExamples()) return;
  const want = await sha256(TRANSFER_BYTES);
  await withTempDirs(4, async ([goCwd, ourDir, goServerCwd, saveDir]) => {
    await Deno.writeFile(`${ourDir}/abc.txt`, TRANSFER_BYTES);
    // Go's client asks for abc.txt (meta foo=bar) and writes it to ./abc.txt.
    await pair("go", "ours", "file_download", {
      server: "filetransfer",
      serverFlags: ["--transfer-addr", `127.0.0.1:${freePort()}`, "--dir", ourDir],
      goCwd,
    }, async (client, server) => {
      assert.match(client.text(), goLog("received"));
      assert.equal(await sha256(await Deno.readFile(`${goCwd}/abc.txt`)), want);
      await server.waitText(/send ok\n/, 10_000, "our server's 'send ok'");
      assert.ok(
        server.text().includes(`received file name: abc.txt, meta: { foo: "bar" }\n`),
        server.text(),
      );
    });

    // Go's server sends ./abc.txt (hard-coded) whatever the name asked for, and has no upload
    // handler: download only.
    await Deno.writeFile(`${goServerCwd}/abc.txt`, TRANSFER_BYTES);
    const save = `${saveDir}/abc.txt`;
    await pair("ours", "go", "filetransfer", {
      server: "file_download",
      serverFlags: ["-transfer-addr", `127.0.0.1:${freePort()}`],
      clientFlags: ["--download", "abc.txt", "--save", save, "--download-only"],
      goCwd: goServerCwd,
    }, async (client, g) => {
      assert.equal(client.text(), `received: ${TRANSFER_BYTES.length} bytes into ${save}\n`);
      assert.equal(await sha256(await Deno.readFile(save)), want);
      await g.waitStdout((out) => out.endsWith("send ok\n"), 10_000, "Go's server's 'send ok'");
      assert.equal(g.stdout(), "received file name: abc.txt, meta: map[foo:bar]\nsend ok\n");
    });
  });
});

// Ten lines `#i: <unix seconds>`, as both stream clients write them, each echoed back.
const TEN_LINES = new RegExp(
  "^" + Array.from({ length: 10 }, (_, i) => String.raw`#${i}: \d{10}\n`).join("") + "$",
);

Deno.test("rpcx-examples stream: Go's Stream client (10 lines, 1 s apart) echoed by our stream service, ours echoed by Go's", async () => {
  if (!needGoExamples()) return;
  // Go's client prints what comes back (io.Copy to stdout) and closes 1 s after its last line.
  await pair("go", "ours", "stream", {
    serverFlags: ["--transfer-addr", `127.0.0.1:${freePort()}`],
    ms: 40_000,
  }, async (client, server) => {
    assert.match(client.stdout(), TEN_LINES);
    await server.waitText(/127\.0\.0\.1:\d+ closed\n/, 10_000, "our server's '<addr> closed'");
    assert.ok(server.text().includes(`received args, meta: { foo: "bar" }\n`), server.text());
  });

  // Go's server only echoes bytes: no typed message stream (--lines-only).
  await pair("ours", "go", "stream", {
    serverFlags: ["-transfer-addr", `127.0.0.1:${freePort()}`],
    clientFlags: ["--lines", "10", "--interval", "100", "--lines-only"],
  }, async (client, g) => {
    assert.match(client.text(), TEN_LINES);
    await g.waitStdout((out) => out.endsWith("closed\n"), 10_000, "Go's server's '<addr> closed'");
    assert.match(g.stdout(), /^received args, meta: map\[foo:bar\]\n127\.0\.0\.1:\d+ closed\n$/);
  });
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

// TCP keep-alive periods as the kernel has them on real sockets (`ss -tnoi`: each established
// socket's `timer:(keepalive,<time left>,0)`), client and server, on Deno and (the npm package)
// Node and Bun. Go's defaults: client one minute (Option.TCPKeepAlivePeriod), server three
// (server.WithTCPKeepAlivePeriod). Node and Bun set them by default (node:net's setKeepAlive
// takes a period at no cost); Deno's own sockets cannot take one, so on Deno a plain TCP
// connection keeps the system's period unless the option is given (README, the
// `tcpKeepAlivePeriod` rows).
import assert from "node:assert/strict";
import { Client, Server } from "@rpcx/core";
import { delay, waitFor } from "./support/env.ts";
import { runtimePeer, startOurs, TARGETS } from "./support/runtimes.ts";

/** The keep-alive time left (s) of each established TCP socket with `port` at one end. */
async function keepAlives(
  port: number,
): Promise<{ local: string; peer: string; left: number | undefined; other?: string }[]> {
  const out = await new Deno.Command("ss", {
    args: ["-tnoi", "state", "established", `( sport = :${port} or dport = :${port} )`],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const rows = [];
  for (const line of new TextDecoder().decode(out.stdout).split("\n")) {
    const m = line.match(/^\s*\d+\s+\d+\s+(\S+)\s+(\S+)(.*)$/);
    if (!m) continue;
    const t = m[3].match(/timer:\(keepalive,([^,]+),/);
    // ss shows one timer: a retransmission or probe one (`on`, `persist`) hides keep-alive's.
    const other = m[3].match(/timer:\((?!keepalive)[^)]*\)/)?.[0];
    rows.push({ local: m[1], peer: m[2], left: t ? seconds(t[1]) : undefined, other });
  }
  return rows;
}

/** ss's time: "59sec", "2min59sec", "119min", "1h59min", "500ms". */
function seconds(text: string): number {
  const m = text.match(/^(?:(\d+)h)?(?:(\d+)min)?(?:(\d+)sec)?(?:(\d+)ms)?$/);
  if (!m) throw new Error(`ss time ${text}`);
  const [h, min, sec, ms] = m.slice(1).map((x) => Number(x ?? 0));
  return h * 3600 + min * 60 + sec + ms / 1000;
}

const SYSTEM = Number(Deno.readTextFileSync("/proc/sys/net/ipv4/tcp_keepalive_time").trim());

/** The server side's and the client side's time left, once both sockets are there. */
async function sides(port: number) {
  let rows: Awaited<ReturnType<typeof keepAlives>> = [];
  await waitFor("both ends in ss, no other timer hiding keep-alive's", async () => {
    rows = await keepAlives(port);
    return rows.length === 2 && rows.every((r) => r.other === undefined);
  }, 10_000);
  const server = rows.find((r) => r.local.endsWith(`:${port}`))!;
  const client = rows.find((r) => r.peer.endsWith(`:${port}`))!;
  return { server: server.left, client: client.left, rows };
}

/** Asserts `left` (s) is what a period of `period` s leaves a few seconds after the call. */
function near(left: number | undefined, period: number, what: string) {
  assert.ok(left !== undefined, `${what}: no keep-alive timer`);
  // ss prints whole minutes past an hour ("119min"), seconds below.
  const slack = period >= 3600 ? 75 : 15;
  assert.ok(left <= period && left >= period - slack, `${what}: ${left} s left of ${period} s`);
}

async function arith(
  options: ConstructorParameters<typeof Server>[0] = {},
  listen: Parameters<Server["serve"]>[2] = {},
) {
  const server = new Server(options);
  await server.register({ Mul: (a: { A: number; B: number }) => ({ C: a.A * a.B }) }, "Arith");
  const addr = await server.serve("tcp", "127.0.0.1:0", listen);
  return { server, addr, port: Number(addr.split(":")[1]) };
}

Deno.test("keep-alive on Deno: a Server's tcp port (node:net by default) has Go's 180 s, Deno's own sockets (a dial, nodeSockets: false) the system's period; tcpKeepAlivePeriod sets Go's periods on both sides", async () => {
  {
    const { server, addr, port } = await arith();
    const client = new Client(`tcp@${addr}`);
    try {
      await client.call("Arith", "Mul", { A: 2, B: 3 });
      const s = await sides(port);
      near(s.server, 180, "server (default: node:net)");
      near(s.client, SYSTEM, "client (default: Deno's socket)");
    } finally {
      await client.close();
      await server.close();
    }
  }
  {
    const { server, addr, port } = await arith({}, { nodeSockets: false });
    const client = new Client(`tcp@${addr}`);
    try {
      await client.call("Arith", "Mul", { A: 2, B: 3 });
      const s = await sides(port);
      near(s.server, SYSTEM, "server (nodeSockets: false)");
    } finally {
      await client.close();
      await server.close();
    }
  }
  {
    const { server, addr, port } = await arith({ tcpKeepAlivePeriod: 180_000 });
    const client = new Client(`tcp@${addr}`, { tcpKeepAlivePeriod: 60_000 });
    try {
      await client.call("Arith", "Mul", { A: 2, B: 3 });
      const s = await sides(port);
      near(s.server, 180, "server (180 000 ms)");
      near(s.client, 60, "client (60 000 ms)");
    } finally {
      await client.close();
      await server.close();
    }
  }
  {
    const { server, addr, port } = await arith({ tcpKeepAlivePeriod: 0 });
    const client = new Client(`tcp@${addr}`, { tcpKeepAlivePeriod: 0 });
    try {
      await client.call("Arith", "Mul", { A: 2, B: 3 });
      const s = await sides(port);
      assert.equal(s.server, undefined, `server (0): ${JSON.stringify(s.rows)}`);
      assert.equal(s.client, undefined, `client (0): ${JSON.stringify(s.rows)}`);
    } finally {
      await client.close();
      await server.close();
    }
  }
});

for (const target of TARGETS) {
  Deno.test(`keep-alive on ${target.name}: Go's periods by default (client 60 s, server 180 s), as set; 0 turns it off`, async () => {
    const run = target.command();
    if (!run) return;
    const { project, script } = await runtimePeer();
    for (
      const c of [
        { serverFlags: [], clientFlags: [], server: 180, client: 60 },
        {
          serverFlags: ["--keepalive", "45000"],
          clientFlags: ["--keepalive", "30000"],
          server: 45,
          client: 30,
        },
        {
          serverFlags: ["--keepalive", "0"],
          clientFlags: ["--keepalive", "0"],
          server: undefined,
          client: undefined,
        },
      ]
    ) {
      const ours = await startOurs(run, [
        "serve",
        "--addr",
        "127.0.0.1:0",
        "--services",
        "Arith",
        ...c.serverFlags,
      ]);
      const port = Number(ours.addr.split(":")[1]);
      const child = new Deno.Command(run.cmd, {
        args: [...run.pre, script, "idle", "--addr", ours.addr, "--ms", "20000", ...c.clientFlags],
        cwd: project,
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      try {
        const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
        let text = "";
        await waitFor("the idle client's CALLED line", async () => {
          const { value, done } = await reader.read();
          if (done) throw new Error(`the client ended: ${text}`);
          text += value;
          return text.includes("CALLED");
        }, 30_000);
        reader.releaseLock();
        await delay(100);
        const s = await sides(port);
        const what = `${target.name} ${JSON.stringify(c.serverFlags)}`;
        if (c.server === undefined) {
          assert.equal(s.server, undefined, `${what} server: ${JSON.stringify(s.rows)}`);
          assert.equal(s.client, undefined, `${what} client: ${JSON.stringify(s.rows)}`);
        } else {
          near(s.server, c.server, `${what} server`);
          near(s.client, c.client!, `${what} client`);
        }
      } finally {
        try {
          child.kill("SIGKILL");
        } catch { /* gone */ }
        await child.status;
        await child.stdout.cancel().catch(() => {});
        await child.stderr.cancel().catch(() => {});
        await ours.stop();
      }
    }
  });
}

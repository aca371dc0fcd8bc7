import assert from "node:assert/strict";
import { exited, runBounded } from "./support/child.ts";
import { freePort, REPO_ROOT, waitForPort } from "./support/env.ts";

async function run(args: string[]): Promise<{ code: number; out: string }> {
  const out = await runBounded(Deno.execPath(), { args, cwd: REPO_ROOT });
  return {
    code: out.code,
    out: new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr),
  };
}

Deno.test("example inprocess/main.ts prints 10 * 20 = 200 without any permission", async () => {
  const r = await run(["run", "examples/inprocess/main.ts"]);
  assert.equal(r.code, 0, r.out);
  assert.match(r.out, /^10 \* 20 = 200$/m);
});

Deno.test("examples peer2peer and multiple: server + client pairs over TCP", async () => {
  const [p1, p2, p3] = [freePort(), freePort(), freePort()];
  const servers = [
    new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "examples/peer2peer/server.ts", "--addr", `127.0.0.1:${p1}`],
      cwd: REPO_ROOT,
      stdout: "null",
    }).spawn(),
    new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        "examples/multiple/server.ts",
        "--addr1",
        `127.0.0.1:${p2}`,
        "--addr2",
        `127.0.0.1:${p3}`,
      ],
      cwd: REPO_ROOT,
      stdout: "null",
    }).spawn(),
  ];
  const codes: number[] = [];
  try {
    await Promise.all([waitForPort(p1), waitForPort(p2), waitForPort(p3)]);
    const a = await run(["run", "-A", "examples/peer2peer/client.ts", "--addr", `127.0.0.1:${p1}`]);
    assert.equal(a.code, 0, a.out);
    assert.match(a.out, /^10 \* 20 = 200$/m);
    const b = await run([
      "run",
      "-A",
      "examples/multiple/client.ts",
      "--addr1",
      `127.0.0.1:${p2}`,
      "--addr2",
      `127.0.0.1:${p3}`,
    ]);
    assert.equal(b.code, 0, b.out);
    assert.equal(b.out.match(/^10 \* 20 = 200$/gm)?.length, 2);
    const dead = await run(["run", "-A", "examples/peer2peer/client.ts", "--addr", "127.0.0.1:1"]);
    assert.notEqual(dead.code, 0, "client exits non-zero when the call fails");
  } finally {
    // Stop both servers before asserting anything about them, so one failure cannot leave the
    // other running or hide the test's own failure.
    for (const s of servers) {
      try {
        s.kill("SIGTERM");
      } catch {
        // already gone
      }
    }
    const exits = servers.map((s) => exited(s, 10_000, "an example server to exit on SIGTERM"));
    codes.push(...(await Promise.all(exits)).map((st) => st.code));
  }
  assert.deepEqual(codes, [0, 0], "both servers exit cleanly on SIGTERM");
});

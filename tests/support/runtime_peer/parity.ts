// Last session's Deno-only server fixes as tests/support/runtime_peer.ts runs them under Node, Bun
// (from the installed npm package) and Deno (tests/runtimes_parity_test.ts):
//   runtime_peer.js register-twice
//     Server.register of a name in use replaces the service whole and tells the registry plugins
//     again with the new metadata (Go's Register: serviceMap[name] = service, DoRegister).
//   runtime_peer.js restart-refused
//     Server.restart() of a server serving http or ws without reusePort (alone, or beside a tcp
//     port this runtime can hand over), or unix (with reusePort or not), is refused with
//     RestartError naming that address, before the onRestart functions, and the server goes on
//     serving.
// Each prints "OK <check>" per check and "PASS" at the end (exit 0), or "FAIL <check>: <error>"
// at the first failure (exit 1). Portable: "@rpcx/core" and node: built-ins only.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import {
  Client,
  InprocessRegisterPlugin,
  InprocessRegistry,
  RestartError,
  Server,
  ServiceError,
} from "@rpcx/core";
import { type Check, printChecks } from "./checklist.ts";

class Arith {
  Add(a: { A: number; B: number }) {
    return { C: a.A + a.B };
  }
  Mul(a: { A: number; B: number }) {
    return { C: a.A * a.B };
  }
}

class OnlyAdd {
  Add(a: { A: number; B: number }) {
    return { C: a.A + a.B + 1000 };
  }
}

/** `register-twice`: see the file's head. */
export function registerTwice(): Promise<number> {
  return printChecks([
    ["replaced-and-readvertised", async () => {
      const registry = new InprocessRegistry();
      const server = new Server();
      server.use(new InprocessRegisterPlugin({ registry }));
      const addr = await server.serve("tcp", "127.0.0.1:0");
      const client = new Client(`tcp@${addr}`);
      try {
        await server.register(new Arith(), "Arith", "v=1");
        assert.deepEqual(registry.list("Arith"), [{ key: `tcp@${addr}`, value: "v=1" }]);
        assert.deepEqual(await client.call("Arith", "Mul", { A: 2, B: 3 }), { C: 6 });
        // Again under the same name: no error; the new one answers, the old one's Mul is gone.
        await server.register(new OnlyAdd(), "Arith", "v=2");
        assert.deepEqual(server.services, ["Arith"]);
        assert.deepEqual(await client.call("Arith", "Add", { A: 2, B: 3 }), { C: 1005 });
        await assert.rejects(
          client.call("Arith", "Mul", { A: 2, B: 3 }),
          (e: unknown) => e instanceof ServiceError && e.message === "rpcx: can't find method Mul",
        );
        // Advertised again, with the new metadata.
        assert.deepEqual(registry.list("Arith"), [{ key: `tcp@${addr}`, value: "v=2" }]);
      } finally {
        await client.close();
        await server.close();
      }
    }],
  ]);
}

/**
 * Whether this runtime has reusePort: Node before 22.12 has none (serve throws a TypeError there;
 * restart hands a tcp socket served without it over instead).
 */
const hasReusePort = "Deno" in globalThis || "bun" in process.versions ||
  Number(process.versions.node.split(".")[0]) > 22 ||
  (Number(process.versions.node.split(".")[0]) === 22 &&
    Number(process.versions.node.split(".")[1]) >= 12);

/** `restart-refused`: see the file's head. */
export function restartRefused(): Promise<number> {
  const unixPath = () => join(tmpdir(), `rpcx-restart-${randomUUID()}.sock`);
  // What each case serves, and what the refusal says; the address it must name is the last.
  const noReuse = /served without reusePort/;
  const socket = /is a Unix socket: its path cannot be shared/;
  const cases: [string, RegExp, { network: string; address: string; reusePort?: boolean }[]][] = [
    ["http", noReuse, [{ network: "http", address: "127.0.0.1:0" }]],
    ["ws", noReuse, [{ network: "ws", address: "127.0.0.1:0" }]],
    // A Unix socket's path is one process's alone, reusePort or not (the network ignores it).
    ["unix", socket, [{ network: "unix", address: unixPath() }]],
    ["unix-reuseport", socket, [{ network: "unix", address: unixPath(), reusePort: true }]],
    // Beside a tcp port restart could hand over (with reusePort, or on Node 20 its socket
    // itself): the http port alone is what refuses.
    ["tcp-then-http", noReuse, [
      { network: "tcp", address: "127.0.0.1:0", reusePort: hasReusePort },
      { network: "http", address: "127.0.0.1:0" },
    ]],
  ];
  return printChecks(cases.map(([name, refusal, serves]): Check => [name, async () => {
    const server = new Server();
    await server.register(new Arith(), "Arith");
    let restarts = 0;
    server.registerOnRestart(() => void restarts++);
    const bound: string[] = [];
    const clients: Client[] = [];
    try {
      for (const s of serves) {
        const reusePort = s.reusePort ? { reusePort: true } : {};
        bound.push(`${s.network}@${await server.serve(s.network, s.address, reusePort)}`);
      }
      const refused = bound[bound.length - 1];
      await assert.rejects(
        server.restart({ command: [process.execPath, "-e", "0"], readyTimeout: 5000 }),
        (e: unknown) => {
          assert.ok(e instanceof RestartError, `not a RestartError: ${e}`);
          assert.match(e.message, refusal);
          assert.ok(e.message.includes(refused), `${e.message} names ${refused}`);
          return true;
        },
      );
      assert.equal(restarts, 0, "refused before the onRestart functions");
      // Still serving, on every address.
      for (const addr of bound) {
        const client = new Client(addr);
        clients.push(client);
        assert.deepEqual(await client.call("Arith", "Mul", { A: 6, B: 7 }), { C: 42 }, addr);
      }
    } finally {
      for (const c of clients) await c.close();
      await server.close();
    }
  }]));
}

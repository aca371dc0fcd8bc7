// The library logger (src/log/logger.ts): level filtering and line format of consoleLogger, and
// the server's default error reporting going through the logger set with setLogger.
import assert from "node:assert/strict";
import {
  Client,
  consoleLogger,
  type LogFields,
  type Logger,
  LogLevel,
  Server,
  setLogger,
  silentLogger,
} from "@rpcx/core";
import { Arith } from "../examples/arith.ts";
import { runBounded } from "./support/child.ts";
import { REPO_ROOT, waitFor } from "./support/env.ts";

Deno.test("consoleLogger: drops records below its level; one line per record with its fields", () => {
  const lines: string[] = [];
  const original = console.error;
  console.error = (line: string) => void lines.push(line);
  try {
    const log = consoleLogger(LogLevel.Warn);
    log.debug("d");
    log.info("i");
    log.warn("registry unreachable", { registry: "etcd", addr: "127.0.0.1:2379", n: 3 });
    log.error("boom", { error: new Error("bad frame"), note: "two words" });
    silentLogger.error("never");
    consoleLogger(LogLevel.Debug).debug("shown");
  } finally {
    console.error = original;
  }
  assert.deepEqual(lines, [
    "WARN registry unreachable registry=etcd addr=127.0.0.1:2379 n=3",
    'ERROR boom error="bad frame" note="two words"',
    "DEBUG shown",
  ]);
});

Deno.test("Server: errors it reports (a throwing plugin hook) go to the library logger by default", async () => {
  const records: { msg: string; fields?: LogFields }[] = [];
  const push = (msg: string, fields?: LogFields) => void records.push({ msg, fields });
  const memory: Logger = { debug: push, info: push, warn: push, error: push };
  const previous = setLogger(memory);
  const server = new Server({
    plugins: [{
      name: "clumsy",
      connClose() {
        throw new Error("connClose broke");
      },
    }],
  });
  try {
    await server.register(new Arith());
    const addr = await server.serve("tcp", "127.0.0.1:0");
    const client = new Client(`tcp@${addr}`);
    assert.deepEqual(await client.call("Arith", "Mul", { A: 2, B: 5 }), { C: 10 });
    await client.close();
    await waitFor("the connClose failure to be logged", () => records.length > 0);
    assert.match(records[0].msg, /^rpcx server: .*clumsy.*connClose/);
    assert.equal(records[0].fields?.error, "connClose broke");
  } finally {
    await server.close();
    setLogger(previous);
  }
});

Deno.test("by default the library logs only warnings and errors: the process's first logger and consoleLogger()", async () => {
  // A fresh process: the logger the library uses before any setLogger call.
  const script = `
    import { consoleLogger, setLogger, silentLogger } from "@rpcx/core";
    const byDefault = setLogger(silentLogger);
    for (const log of [byDefault, consoleLogger()]) {
      log.debug("d");
      log.info("i");
      log.warn("w", { k: 1 });
      log.error("e");
    }
  `;
  const out = await runBounded(Deno.execPath(), {
    args: ["eval", "--config", `${REPO_ROOT}/deno.json`, "--ext=ts", script],
    cwd: REPO_ROOT,
    env: { NO_COLOR: "1" },
  });
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  assert.equal(new TextDecoder().decode(out.stderr), "WARN w k=1\nERROR e\nWARN w k=1\nERROR e\n");
});

// Our Client's checklist against a server of Arith and Echo (tests/support/echo_service.ts, the Go
// peer's server.go): one list, run in process by tests/interop_networks_test.ts and by
// runtime_peer.js `call` under Node and Bun; and how runtime_peer.js's check modes run and report
// their checks. Portable: "@rpcx/core" and node: built-ins only.
import assert from "node:assert/strict";
import { type Client, CompressType, SerializeType } from "@rpcx/core";

/** The client options the checklist is run with (heartbeats every 100 ms). */
export const CHECKLIST_OPTIONS = {
  connectTimeout: 10_000,
  heartbeat: true,
  heartbeatInterval: 100,
};

/** Resolves `p`, or rejects after `ms`. */
export function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/** A named check. */
export type Check = [string, () => Promise<void>];

/**
 * The checks, by name: Arith.Mul, heartbeat, oneway (its note `note`), gzip, 1 MiB of bytes,
 * 1000 calls in flight.
 */
export function clientChecks(client: Client, note: string): Check[] {
  return [
    ["mul", async () => {
      assert.deepEqual(await client.call("Arith", "Mul", { A: 10, B: 20 }), { C: 200 });
    }],
    ["heartbeat", async () => {
      await client.heartbeat({ timeout: 2000 });
      const beats = await client.call<{ Count: number }>("Echo", "Heartbeats", {});
      assert.ok(beats.Count >= 1, `Go answered ${beats.Count} heartbeats`);
    }],
    ["oneway", async () => {
      await client.send("Echo", "Note", { Text: note });
      // Go runs each request in its own goroutine: the note may land after a later call.
      for (let i = 0;; i++) {
        const notes = await client.call<{ Last: string }>("Echo", "Notes", {});
        if (notes.Last === note) return;
        if (i === 100) throw new Error(`the oneway note never arrived: ${notes.Last}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    }],
    ["gzip", async () => {
      const data = "y".repeat(9000);
      const meta: Record<string, string> = {};
      assert.deepEqual(
        await client.call("Echo", "Big", { Data: data }, {
          compressType: CompressType.Gzip,
          replyMetadata: meta,
        }),
        { Data: data },
      );
      assert.equal(meta["x-req-compressed"], "gzip", "Go saw a gzip request");
    }],
    ["bytes-1mib", async () => {
      // random throughout (getRandomValues fills at most 64 KiB a call): a piece of it lost,
      // repeated or out of place changes the bytes, at any offset
      const mib = new Uint8Array(1 << 20);
      for (let o = 0; o < mib.length; o += 65536) {
        crypto.getRandomValues(mib.subarray(o, o + 65536));
      }
      const back = await client.call<Uint8Array>("Echo", "Bytes", mib, {
        serializeType: SerializeType.SerializeNone,
      });
      assert.deepEqual(back, mib);
    }],
    ["concurrent-1000", async () => {
      const tags = await within(
        Promise.all(
          Array.from(
            { length: 1000 },
            (_, i) =>
              client.call<{ Tag: number }>("Echo", "Delay", { Ms: 300, Tag: i }).then((r) => r.Tag),
          ),
        ),
        15_000,
        "1000 calls in flight",
      );
      assert.deepEqual(tags, Array.from({ length: 1000 }, (_, i) => i));
    }],
  ];
}

/**
 * Runs `checks` in order, each bounded by 20 s, telling `log` "OK <name>" as each passes; at the
 * first failure throws an Error "<name>: <its error's stack>".
 */
export async function runChecks(
  checks: Check[],
  log: (line: string) => void = () => {},
): Promise<void> {
  for (const [name, check] of checks) {
    try {
      await within(check(), 20_000, name);
    } catch (e) {
      throw new Error(`${name}: ${(e as Error)?.stack ?? e}`);
    }
    log(`OK ${name}`);
  }
}

/**
 * Runs `checks` as runtime_peer.js's check modes report them: "OK <name>" for each, then "PASS"
 * (resolves 0); at the first failure "FAIL <name>: <error>" (resolves 1).
 */
export async function printChecks(checks: Check[]): Promise<number> {
  try {
    await runChecks(checks, console.log);
  } catch (e) {
    console.log(`FAIL ${(e as Error).message}`);
    return 1;
  }
  console.log("PASS");
  return 0;
}

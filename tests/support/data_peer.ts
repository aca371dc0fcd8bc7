// The Go peer's file transfer and stream modes (tests/interop/go/data.go): `rpcxpeer
// data-server` (Go's NewFileTransfer + NewStreamService) and `rpcxpeer data-client` (Go's
// XClient.SendFile / DownloadFile / Stream), both printing one JSON line per transfer.

import { bounded, freePort } from "./env.ts";
import { GO_PEER } from "./go_peer.ts";

/** One JSON line of data-server or data-client. */
export interface DataEvent {
  event: string;
  fileName?: string;
  fileSize?: number;
  meta?: Record<string, string>;
  bytes: number;
  sha256?: string;
  samples?: Record<string, number>;
  ms?: number;
  count?: number;
  error?: string;
  text?: string;
}

/** A running `rpcxpeer data-server`. */
export interface GoDataServer {
  /** The rpcx address, `host:port`. */
  readonly addr: string;
  /** The file transfer's data address. */
  readonly transferAddr: string;
  /** The stream service's data address. */
  readonly streamAddr: string;
  /** Every event printed so far. */
  readonly events: DataEvent[];
  /** Resolves with the first event (from now or before) that `pred` accepts, within `ms`. */
  waitEvent(pred: (e: DataEvent) => boolean, ms?: number): Promise<DataEvent>;
  /** Kills it (SIGKILL) and waits. Safe to call twice. */
  stop(): Promise<void>;
}

/** Starts `rpcxpeer data-server` with `extra` flags; resolves once it listens. */
export async function startGoDataServer(extra: string[] = []): Promise<GoDataServer> {
  const transferAddr = `127.0.0.1:${freePort()}`;
  const streamAddr = `127.0.0.1:${freePort()}`;
  const child = new Deno.Command(GO_PEER!, {
    args: [
      "data-server",
      "--addr",
      "127.0.0.1:0",
      "--transfer-addr",
      transferAddr,
      "--stream-addr",
      streamAddr,
      ...extra,
    ],
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const events: DataEvent[] = [];
  const waiters = new Set<() => void>();
  let addr = "";
  let listening: () => void = () => {};
  const ready = new Promise<void>((r) => (listening = r));
  const reading = (async () => {
    let text = "";
    for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) {
      text += chunk;
      let i;
      while ((i = text.indexOf("\n")) >= 0) {
        const line = text.slice(0, i);
        text = text.slice(i + 1);
        const m = line.match(/^LISTENING (\S+)/);
        if (m) {
          addr = m[1];
          listening();
        } else if (line.startsWith("{")) {
          events.push(JSON.parse(line));
          for (const w of waiters) w();
        }
      }
    }
  })();
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    try {
      child.kill("SIGKILL");
    } catch {
      // exited
    }
    await child.status;
    await reading.catch(() => {});
  };
  try {
    await bounded(ready, 15_000, "the Go data-server's LISTENING line");
  } catch (e) {
    await stop();
    throw e;
  }
  return {
    addr,
    transferAddr,
    streamAddr,
    events,
    stop,
    waitEvent(pred, ms = 30_000) {
      return bounded(
        new Promise<DataEvent>((resolve) => {
          const check = () => {
            const e = events.find(pred);
            if (e) {
              waiters.delete(check);
              resolve(e);
            }
          };
          waiters.add(check);
          check();
        }),
        ms,
        "a Go data-server event",
      );
    },
  };
}

/** Runs `rpcxpeer data-client` against `addr`; its JSON line and exit code. */
export async function runGoDataClient(
  addr: string,
  args: string[],
  timeoutMs = 120_000,
): Promise<DataEvent & { code: number; stderr: string }> {
  const out = await new Deno.Command(GO_PEER!, {
    args: ["data-client", "--addr", addr, ...args],
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(timeoutMs),
  }).output();
  const text = new TextDecoder().decode(out.stdout).trim().split("\n").at(-1) ?? "";
  const stderr = new TextDecoder().decode(out.stderr);
  if (!text.startsWith("{")) throw new Error(`data-client printed no result: ${text} ${stderr}`);
  return { ...JSON.parse(text), code: out.code, stderr };
}

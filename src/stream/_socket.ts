/**
 * The data connections' sockets, through the runtime seam (`runtime().sockets`: Deno's own on
 * Deno, `node:net` on Node and Bun). TCP (`host:port`, `tcp@host:port`) and Unix sockets
 * (`unix@/path`). No half-close: the seam's connections close both ways at once, so every
 * protocol here ends a direction by what it sends (a size, an end frame), never by a FIN.
 *
 * @module
 */
import { runtime } from "../runtime/mod.ts";
import type { SocketTarget } from "../runtime/types.ts";
import { splitHostPort } from "../transport/address.ts";
import type { Connection, Listener } from "../transport/network.ts";
import { DataConnectionError } from "./errors.ts";

/** A connected socket: read, write, close (the transport's {@linkcode Connection}). */
export type RawConn = Connection;

/** Accepts sockets until closed. */
export interface RawListener {
  /** The bound address, `host:port` (real port) or `unix@path`. */
  readonly address: string;
  /** The next socket, or null once closed. */
  accept(): Promise<RawConn | null>;
  /** Stops accepting; resolves once the address is free. Idempotent. */
  close(): Promise<void>;
}

/** A data address split: `network` is `tcp` or `unix`. */
export interface DataAddress {
  /** `tcp` or `unix`. */
  network: "tcp" | "unix";
  /** `host:port` or the socket path. */
  address: string;
}

/**
 * Splits a data address: a bare `host:port` (what Go rpcx advertises) is TCP; otherwise
 * `network@address` with `tcp`, `tcp4`, `tcp6` or `unix`. Throws TypeError for another network.
 */
export function parseDataAddress(addr: string): DataAddress {
  const at = addr.indexOf("@");
  if (at < 0) return { network: "tcp", address: addr };
  const network = addr.slice(0, at);
  const address = addr.slice(at + 1);
  if (network === "tcp" || network === "tcp4" || network === "tcp6") {
    return { network: "tcp", address };
  }
  if (network === "unix") return { network: "unix", address };
  throw new TypeError(`data address ${JSON.stringify(addr)}: network ${network} not supported`);
}

function target({ network, address }: DataAddress): SocketTarget {
  if (network === "unix") return { transport: "unix", path: address };
  return { transport: "tcp", ...splitHostPort(address) };
}

/**
 * Listens on a data address (`host:port`, `tcp@host:port`, `unix@/path`). Rejects with the
 * seam's `ListenError` (Go's message) when it cannot.
 */
export async function listenData(addr: string): Promise<RawListener> {
  const parsed = parseDataAddress(addr);
  const listener: Listener = await runtime().sockets.listen(target(parsed), {
    network: parsed.network,
    address: parsed.address,
  });
  const bound = parsed.network === "unix" ? `unix@${parsed.address}` : listener.address;
  const it = listener[Symbol.asyncIterator]();
  let closing: Promise<void> | undefined;
  return {
    address: bound,
    async accept(): Promise<RawConn | null> {
      if (closing) return null;
      const r = await it.next();
      return r.done ? null : r.value;
    },
    close(): Promise<void> {
      return (closing ??= Promise.resolve(listener.close()).then(() => {}, () => {}));
    },
  };
}

/**
 * Dials a data address within `timeoutMs` (Go: `net.DialTimeout("tcp", reply.Addr,
 * option.ConnectTimeout)`). Rejects with {@linkcode DataConnectionError} (the seam's
 * `DialError` as `cause`) when it cannot, or on timeout.
 */
export async function dialData(addr: string, timeoutMs: number): Promise<RawConn> {
  const parsed = parseDataAddress(addr);
  const label = `${parsed.network}@${parsed.address}`;
  try {
    return await runtime().sockets.connect(target(parsed), {
      network: parsed.network,
      label,
      timeout: timeoutMs,
    });
  } catch (e) {
    throw new DataConnectionError(`rpcx: ${(e as Error).message}`, { cause: e });
  }
}

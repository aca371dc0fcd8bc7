/**
 * The data connections' sockets: the only file of `src/stream` that calls Deno's socket API (a
 * runtime seam moves it later). TCP (`host:port`, `tcp@host:port`) and Unix sockets
 * (`unix@/path`).
 *
 * @module
 */
import { joinHostPort, splitHostPort } from "../transport/address.ts";
import { DataConnectionError } from "./errors.ts";

/** A connected socket: read, write, half-close, close. */
export interface RawConn {
  /** Our end (`host:port` or a socket path). */
  readonly localAddress: string;
  /** The peer's end. */
  readonly remoteAddress: string;
  /** Reads into `p`: the count, or null at the end. */
  read(p: Uint8Array): Promise<number | null>;
  /** Writes from `p`: the count taken. */
  write(p: Uint8Array): Promise<number>;
  /** Ends our direction (FIN); reads go on. */
  closeWrite(): Promise<void>;
  /** Closes both directions. Idempotent. */
  close(): void;
}

/** Accepts sockets until closed. */
export interface RawListener {
  /** The bound address, `host:port` (real port) or `unix@path`. */
  readonly address: string;
  /** The next socket, or null once closed. */
  accept(): Promise<RawConn | null>;
  /** Stops accepting. Idempotent. */
  close(): void;
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

function addrText(a: Deno.Addr): string {
  if (a.transport === "unix" || a.transport === "unixpacket") return (a as Deno.UnixAddr).path;
  const n = a as Deno.NetAddr;
  return joinHostPort(n.hostname, n.port);
}

class DenoRawConn implements RawConn {
  readonly #conn: Deno.Conn;
  readonly localAddress: string;
  readonly remoteAddress: string;
  #closed = false;

  constructor(conn: Deno.Conn) {
    this.#conn = conn;
    this.localAddress = addrText(conn.localAddr);
    this.remoteAddress = addrText(conn.remoteAddr);
    if (conn.localAddr.transport === "tcp") {
      const tcp = conn as Deno.TcpConn;
      try {
        tcp.setNoDelay(true);
        // Go's file transfer listener: keep-alive on (period 3 min; Deno sets no period).
        tcp.setKeepAlive(true);
      } catch {
        // not fatal
      }
    }
  }
  read(p: Uint8Array): Promise<number | null> {
    return this.#conn.read(p);
  }
  write(p: Uint8Array): Promise<number> {
    return this.#conn.write(p);
  }
  closeWrite(): Promise<void> {
    return this.#conn.closeWrite();
  }
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#conn.close();
    } catch {
      // already closed by Deno
    }
  }
}

/**
 * Listens on a data address (`host:port`, `tcp@host:port`, `unix@/path`). Throws Deno's error
 * (AddrInUse, PermissionDenied...) when it cannot.
 */
export function listenData(addr: string): RawListener {
  const { network, address } = parseDataAddress(addr);
  const listener = network === "unix"
    ? Deno.listen({ transport: "unix", path: address })
    : Deno.listen({ ...splitHostPort(address), transport: "tcp" });
  const bound = network === "unix" ? `unix@${address}` : addrText(listener.addr);
  let closed = false;
  return {
    address: bound,
    async accept(): Promise<RawConn | null> {
      while (!closed) {
        try {
          return new DenoRawConn(await listener.accept());
        } catch (e) {
          if (closed || e instanceof Deno.errors.BadResource) return null;
          // A failed accept (EMFILE, a reset before accept): Go retries after a pause.
          await new Promise((r) => setTimeout(r, 5));
        }
      }
      return null;
    },
    close(): void {
      if (closed) return;
      closed = true;
      try {
        listener.close();
      } catch {
        // closed
      }
      if (network === "unix") {
        try {
          Deno.removeSync(address);
        } catch {
          // gone
        }
      }
    },
  };
}

/**
 * Dials a data address within `timeoutMs` (Go: `net.DialTimeout("tcp", reply.Addr,
 * option.ConnectTimeout)`). Rejects with {@linkcode DataConnectionError} (Deno's error as
 * `cause`) when it cannot, or on timeout.
 */
export async function dialData(addr: string, timeoutMs: number): Promise<RawConn> {
  const { network, address } = parseDataAddress(addr);
  const dialing = network === "unix"
    ? Deno.connect({ transport: "unix", path: address })
    : Deno.connect({ ...splitHostPort(address), transport: "tcp" });
  let timer: ReturnType<typeof setTimeout> | undefined;
  let timedOut = false;
  try {
    const conn = await Promise.race([
      dialing,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          timedOut = true;
          reject(new DataConnectionError(`rpcx: dial ${addr}: timed out after ${timeoutMs} ms`));
        }, timeoutMs);
      }),
    ]);
    return new DenoRawConn(conn);
  } catch (e) {
    if (timedOut) dialing.then((c) => c.close(), () => {});
    if (e instanceof DataConnectionError) throw e;
    throw new DataConnectionError(`rpcx: dial ${addr}: ${(e as Error).message}`, { cause: e });
  } finally {
    clearTimeout(timer);
  }
}

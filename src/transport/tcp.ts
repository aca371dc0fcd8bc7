/**
 * The `tcp` network (also `tcp4`, `tcp6`), with TLS as an option of the dialer and the listener,
 * as Go rpcx has it (`client.Option.TLSConfig`, `server.WithTLSConfig`).
 *
 * @module
 */
import { joinHostPort, splitHostPort } from "./address.ts";
import { DialError, DialTimeoutError, ListenError, type SocketError } from "./errors.ts";
import type {
  Connection,
  DialOptions,
  Listener,
  ListenOptions,
  Network,
  TlsOptions,
} from "./network.ts";
import { withTimeout } from "./_stream.ts";
import { dialTls, listenNode } from "./_node_tls.ts";
import { denoDialError, denoListenError, denoSocketError } from "../adapter/deno/errors.ts";

function netAddr(a: Deno.Addr): string {
  const n = a as Deno.NetAddr;
  return n.hostname === undefined ? "" : joinHostPort(n.hostname, n.port);
}

/** A Deno socket as a {@linkcode Connection}. */
export class SocketConnection implements Connection {
  readonly #conn: Deno.Conn;
  readonly network: string;
  /** TCP_NODELAY is still to be set, before the first write. */
  #noDelay: boolean;

  /**
   * Wraps `conn` (a TCP, TLS or Unix socket) for `network`. With `noDelay`, TCP_NODELAY is set
   * before the first write (as Go sets it on every TCP connection): nothing is in flight before
   * that write, so it behaves as if set at once, and a connection that never writes (an idle
   * accepted one) never pays for it.
   */
  constructor(conn: Deno.Conn, network: string, noDelay = false) {
    this.#conn = conn;
    this.network = network;
    this.#noDelay = noDelay;
  }
  /** Our end. */
  get localAddress(): string {
    const a = this.#conn.localAddr;
    return a.transport === "unix" ? (a as Deno.UnixAddr).path : netAddr(a);
  }
  /** The peer's end. */
  get remoteAddress(): string {
    const a = this.#conn.remoteAddr;
    return a.transport === "unix" ? (a as Deno.UnixAddr).path : netAddr(a);
  }
  /** Reads into `p`; rejects with a `SocketError` (`PeerGoneError` when the peer went). */
  read(p: Uint8Array): Promise<number | null> {
    return this.#conn.read(p).catch((e) => {
      throw this.#error("read", e);
    });
  }
  #error(op: "read" | "write", e: unknown): SocketError {
    let local = "", remote = "";
    try {
      local = this.localAddress;
      remote = this.remoteAddress;
    } catch {
      // closed
    }
    return denoSocketError(e, {
      op,
      network: this.network,
      localAddress: local,
      remoteAddress: remote,
    });
  }
  /** Writes from `p`. */
  write(p: Uint8Array): Promise<number> {
    if (this.#noDelay) {
      this.#noDelay = false;
      try {
        (this.#conn as Deno.TcpConn).setNoDelay?.(true);
      } catch {
        // not fatal
      }
    }
    return this.#conn.write(p).catch((e) => {
      throw this.#error("write", e);
    });
  }
  /** Closes the socket. */
  close(): void {
    this.#conn.close();
  }
}

/** Maps a Deno dial error to the transport's typed errors. */
export const dialError: (address: string, e: unknown) => DialError = denoDialError;

/**
 * Opens a TCP connection to `hostname:port` for `network`, with TLS when `tls` is set (on
 * `node:tls`, see `_node_tls.ts`); the handshake is done before it resolves, all within `timeout`
 * ms. `label` names the address in errors.
 */
export async function dialTcp(
  label: string,
  network: string,
  hostname: string,
  port: number,
  timeout: number,
  tls: TlsOptions | undefined,
): Promise<Connection> {
  if (tls) return await dialTls(label, network, hostname, port, timeout, tls);
  const dialing = Deno.connect({ hostname, port, transport: "tcp" });
  let conn: Deno.TcpConn;
  try {
    conn = await withTimeout(dialing, timeout, () => new DialTimeoutError(label, timeout));
  } catch (e) {
    dialing.then((c) => c.close(), () => {});
    throw dialError(label, e);
  }
  try {
    conn.setNoDelay(true);
    conn.setKeepAlive(true);
  } catch {
    // not fatal
  }
  return new SocketConnection(conn, network);
}

/** Whether Deno runs with `--unstable-net` (its unstable network API is there). */
function hasUnstableNet(): boolean {
  return typeof (Deno as { listenDatagram?: unknown }).listenDatagram === "function";
}

/**
 * Deno's Node layer fails `listen` on an address that is not this host's with `EINVAL` where the
 * OS said `EADDRNOTAVAIL` (Deno 2.9): `Deno.listen` on the same address tells the real reason.
 */
function nodeLayerListenError(address: string, e: unknown): unknown {
  const code = (e as { cause?: { code?: unknown } })?.cause?.code;
  if (!(e instanceof ListenError) || e.reason !== "other" || code !== "EINVAL") return e;
  try {
    const { hostname, port } = splitHostPort(address);
    Deno.listen({ hostname, port, transport: "tcp" }).close();
  } catch (real) {
    return denoListenError("tcp", address, real);
  }
  return e;
}

/**
 * Listens on TCP `address` for `network`: with TLS when `options.tls` (on `node:tls`, which bounds
 * each handshake by `options.handshakeTimeout`), else with `Deno.listen`. `reusePort` sets
 * SO_REUSEPORT: through `Deno.listen` when Deno runs with `--unstable-net`, else through
 * `node:net` (Deno ends the process when `Deno.listen` is asked for it without the flag).
 */
export function listenStream(
  network: string,
  address: string,
  options: ListenOptions,
): Promise<Listener> {
  if (options.tls || (options.reusePort && !hasUnstableNet())) {
    return listenNode(network, address, options).catch((e) => {
      throw nodeLayerListenError(address, e);
    });
  }
  const { hostname, port } = splitHostPort(address);
  let listener: Deno.Listener;
  try {
    listener = Deno.listen({
      hostname,
      port,
      transport: "tcp",
      // Go listens with the system's maximum (net.core.somaxconn, 4096 on current Linux); Deno's
      // default of 511 drops connections that arrive in bursts (the client then waits 1 s to retry).
      tcpBacklog: options.backlog ?? 4096,
      ...(options.reusePort ? { reusePort: true } : {}),
    } as Deno.TcpListenOptions);
  } catch (e) {
    return Promise.reject(denoListenError("tcp", address, e));
  }
  return Promise.resolve(new SocketListener(listener, network));
}

/** Wraps a Deno listener; every accepted socket becomes a {@linkcode SocketConnection}. */
export class SocketListener implements Listener {
  readonly #listener: Deno.Listener;
  readonly network: string;
  readonly address: string;
  #closed = false;
  /** The pending `accept()`: Deno frees the listening socket only once it has settled. */
  #accepting: Promise<unknown> | undefined;
  #released: Promise<void> | undefined;

  /** Wraps `listener` for `network`. */
  constructor(listener: Deno.Listener, network: string) {
    this.#listener = listener;
    this.network = network;
    const a = listener.addr;
    this.address = a.transport === "unix" ? (a as Deno.UnixAddr).path : netAddr(a);
  }
  /** Stops accepting; resolves once the address is free again (idempotent). */
  close(): Promise<void> {
    if (this.#released) return this.#released;
    this.#closed = true;
    try {
      this.#listener.close();
    } catch {
      // closed
    }
    // Deno releases the socket when the accept in progress ends (it fails with BadResource
    // right after close()); until then listening again on the address fails with AddrInUse.
    const pending = this.#accepting;
    this.#released = pending ? pending.then(() => {}, () => {}) : Promise.resolve();
    return this.#released;
  }
  /** The accepted connections. */
  async *[Symbol.asyncIterator](): AsyncIterator<Connection> {
    while (!this.#closed) {
      let conn: Deno.Conn;
      try {
        const accepting = this.#listener.accept();
        this.#accepting = accepting;
        conn = await accepting;
      } catch (e) {
        if (this.#closed || e instanceof Deno.errors.BadResource) return;
        // A failed accept (e.g. too many open files): go on after a pause, as Go does.
        await new Promise((r) => setTimeout(r, 5));
        continue;
      } finally {
        this.#accepting = undefined;
      }
      yield new SocketConnection(
        conn,
        this.network,
        typeof (conn as Deno.TcpConn).setNoDelay === "function",
      );
    }
  }
}

function tcpNamed(name: string): Network {
  return {
    name,
    async dial(address: string, options: DialOptions = {}): Promise<Connection> {
      const label = `${name}@${address}`;
      let hostname: string, port: number;
      try {
        ({ hostname, port } = splitHostPort(address));
      } catch (e) {
        throw new DialError(label, (e as Error).message, { cause: e });
      }
      return await dialTcp(label, name, hostname, port, options.timeout ?? 1000, options.tls);
    },
    listen(address: string, options: ListenOptions = {}): Promise<Listener> {
      return listenStream(name, address, options);
    },
  };
}

/**
 * The `tcp` network: `host:port`; TLS when the options carry `tls`. `tcp4` and `tcp6` are the
 * same network under Go's other names.
 *
 * @example
 * ```ts
 * import { tcpNetwork } from "@rpcx/core";
 * const listener = await tcpNetwork.listen("127.0.0.1:0");
 * const conn = await tcpNetwork.dial(listener.address);
 * conn.close();
 * listener.close();
 * ```
 */
export const tcpNetwork: Network = tcpNamed("tcp");

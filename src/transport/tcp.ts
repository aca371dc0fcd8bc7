/**
 * The `tcp` network (also `tcp4`, `tcp6`), with TLS as an option of the dialer and the listener,
 * as Go rpcx has it (`client.Option.TLSConfig`, `server.WithTLSConfig`).
 *
 * @module
 */
import { joinHostPort, splitHostPort } from "./address.ts";
import {
  ConnectionRefusedError,
  DialError,
  DialTimeoutError,
  TlsHandshakeError,
} from "./errors.ts";
import type {
  Connection,
  DialOptions,
  Listener,
  ListenOptions,
  Network,
  TlsOptions,
} from "./network.ts";
import { withTimeout } from "./_stream.ts";
import { listenMutualTls } from "./_node_tls.ts";

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
  /** Reads into `p`. */
  read(p: Uint8Array): Promise<number | null> {
    return this.#conn.read(p);
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
    return this.#conn.write(p);
  }
  /** Closes the socket. */
  close(): void {
    this.#conn.close();
  }
}

/** Whether `e` (from Deno) means nothing listens there. */
export function isRefusal(e: unknown): boolean {
  return e instanceof Deno.errors.ConnectionRefused || e instanceof Deno.errors.NotFound;
}

/** Maps a Deno dial error to the transport's typed errors. */
export function dialError(address: string, e: unknown): DialError {
  if (e instanceof DialError) return e;
  if (isRefusal(e)) return new ConnectionRefusedError(address, { cause: e });
  return new DialError(address, (e as Error)?.message ?? String(e), { cause: e });
}

/**
 * Opens a TCP connection to `hostname:port`, with TLS when `tls` is set; the handshake is done
 * before it resolves. `label` names the address in errors.
 */
export async function dialTcp(
  label: string,
  hostname: string,
  port: number,
  timeout: number,
  tls: TlsOptions | undefined,
): Promise<Deno.Conn> {
  let opened: Deno.Conn | undefined;
  const attempt = async (): Promise<Deno.Conn> => {
    if (!tls) {
      const c = await Deno.connect({ hostname, port, transport: "tcp" });
      opened = c;
      try {
        c.setNoDelay(true);
        c.setKeepAlive(true);
      } catch {
        // not fatal
      }
      return c;
    }
    let conn: Deno.TlsConn;
    if (tls.certChain && tls.privateKey) {
      conn = await Deno.connectTls({
        hostname,
        port,
        caCerts: tls.caCerts,
        cert: tls.certChain,
        key: tls.privateKey,
      });
      opened = conn;
    } else {
      const raw = await Deno.connect({ hostname, port, transport: "tcp" });
      opened = raw;
      try {
        raw.setNoDelay(true);
      } catch {
        // not fatal
      }
      conn = await Deno.startTls(raw, {
        hostname: tls.serverName ?? hostname,
        caCerts: tls.caCerts,
      });
      opened = conn;
    }
    try {
      await conn.handshake();
    } catch (e) {
      throw new TlsHandshakeError(label, (e as Error).message, { cause: e });
    }
    return conn;
  };
  try {
    return await withTimeout(attempt(), timeout, () => new DialTimeoutError(label, timeout), () => {
      try {
        opened?.close();
      } catch {
        // closed
      }
    });
  } catch (e) {
    try {
      opened?.close();
    } catch {
      // closed
    }
    throw dialError(label, e);
  }
}

/** Listens on TCP `address` (TLS when `options.tls`); returns the raw Deno listener. */
export function listenTcp(address: string, options: ListenOptions): Deno.Listener {
  const { hostname, port } = splitHostPort(address);
  const tls = options.tls;
  const base = {
    hostname,
    port,
    // Go listens with the system's maximum (net.core.somaxconn, 4096 on current Linux); Deno's
    // default of 511 drops connections that arrive in bursts (the client then waits 1 s to retry).
    tcpBacklog: options.backlog ?? 4096,
    ...(options.reusePort ? { reusePort: true } : {}),
  };
  if (!tls) return Deno.listen({ ...base, transport: "tcp" } as Deno.TcpListenOptions);
  if (!tls.certChain || !tls.privateKey) {
    throw new TypeError("listen with TLS: tls.certChain and tls.privateKey are required");
  }
  return Deno.listenTls({ ...base, cert: tls.certChain, key: tls.privateKey });
}

/** Wraps a Deno listener; every accepted socket becomes a {@linkcode SocketConnection}. */
export class SocketListener implements Listener {
  readonly #listener: Deno.Listener;
  readonly network: string;
  readonly address: string;
  #closed = false;

  /** Wraps `listener` for `network`. */
  constructor(listener: Deno.Listener, network: string) {
    this.#listener = listener;
    this.network = network;
    const a = listener.addr;
    this.address = a.transport === "unix" ? (a as Deno.UnixAddr).path : netAddr(a);
  }
  /** Stops accepting. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#listener.close();
    } catch {
      // closed
    }
  }
  /** The accepted connections. */
  async *[Symbol.asyncIterator](): AsyncIterator<Connection> {
    while (!this.#closed) {
      let conn: Deno.Conn;
      try {
        conn = await this.#listener.accept();
      } catch (e) {
        if (this.#closed || e instanceof Deno.errors.BadResource) return;
        // A failed accept (e.g. too many open files): go on after a pause, as Go does.
        await new Promise((r) => setTimeout(r, 5));
        continue;
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
      const conn = await dialTcp(label, hostname, port, options.timeout ?? 1000, options.tls);
      return new SocketConnection(conn, name);
    },
    listen(address: string, options: ListenOptions = {}): Promise<Listener> {
      if (options.tls?.requireClientCert) return listenMutualTls(name, address, options.tls);
      return Promise.resolve(new SocketListener(listenTcp(address, options), name));
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

/** Whether `e` is the peer going away (reset, broken pipe): not worth a report. */
export function isPeerGone(e: unknown): boolean {
  return e instanceof Deno.errors.ConnectionReset || e instanceof Deno.errors.BrokenPipe ||
    e instanceof Deno.errors.UnexpectedEof;
}

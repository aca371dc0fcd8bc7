/**
 * Sockets on Deno: `Deno.connect`/`Deno.listen` for plain TCP and Unix sockets (Deno's own
 * sockets carry rpcx frames faster than its Node layer; see the figures below), and the Node
 * adapter's `node:net`/`node:tls` for TLS (Deno's own TLS cannot free a socket still in its
 * handshake nor ask for client certificates; see `adapter/node/tls.ts`), for `reusePort`
 * without `--unstable-net` (`Deno.listen({ reusePort })` ends the process without that flag),
 * for a TCP keep-alive period (`keepAlive`: `Deno.TcpConn.setKeepAlive` has none), and for a
 * listener asked for with `nodeSockets` (its sockets can go to node:http whole).
 *
 * Why Deno's own sockets for plain tcp and unix: `deno run -A bench/sockets.ts` (Deno 2.9.6, our
 * server loaded by Go's client and by ours; medians of 5 rounds on tcp, 3 on unix, the two stacks
 * alternating; a 2-core machine under a load average of 8, so single runs varied up to 3x), as
 * calls/s and p50 µs, Deno sockets → node:net on Deno:
 *
 * | tcp, client and calls in flight | Deno sockets | node:net | node / Deno |
 * | --- | --- | --- | --- |
 * | Go, 1 | 7,135, 92 µs | 6,109, 115 µs | 0.86 |
 * | Go, 100 (10 connections) | 18,946, 3,179 µs | 27,767, 2,908 µs | 1.47 |
 * | ours, 1 | 12,412, 51 µs | 9,294, 63 µs | 0.75 |
 * | ours, 100 (1 connection) | 48,308, 1,191 µs | 41,245, 1,065 µs | 0.85 |
 *
 * On unix node:net was slower in every cell (0.80-0.95). With one call in flight Deno's sockets
 * answered 20-25 % sooner in every round; only Go's 100 calls over 10 connections went faster on
 * node:net, within a spread of 13,000-37,000 calls/s per round. Not "as fast", so Deno keeps its
 * own sockets for frames.
 *
 * Step A8 (issue 28) measured the listener alone (`bench/sockets.ts --listener`: our server's
 * port on Deno sockets or on node:net, every client unchanged; the node:net side already with
 * the leaner `NodeSocketConnection`; 5 rounds × 3 s, load average 3.0-3.5): node:net ÷ Deno
 * 0.94 (Go, 1), 0.82 (Go, 100), 0.77 (ours, 1: p50 86 → 109 µs), 0.91 (ours, 100). node:http on
 * a node:net socket serves HTTP faster than through the stream adapter (README, "HTTP on the rpcx
 * port"), so a port may ask for node:net (`nodeSockets`), but the default stayed Deno's sockets:
 * rpcx frames are the port's main traffic.
 *
 * Issue 28 then found Deno's own sockets unfair on a saturated port: with 1000 connections each
 * waiting for an answer (Go's `rpcxpeer bench --pool 1000 --concurrency 1000`, rpcx frames, or
 * `http-bench`, HTTP invoke), some connections were answered over and over (p50 22-73 ms) while
 * others waited for their first answer until the load stopped (p99 3.2-6.2 s: 30-100x the
 * median), on our server and equally on a bare `Deno.listen` read loop with no rpcx or node:http
 * code; yielding to the event loop before each read (`setImmediate`, `setTimeout(0)`, one shared
 * turn gate) did not change it, so it is in Deno's scheduling of socket reads, not in ours. The
 * listen queue is not it (4096 deep as Go's, `ListenOverflows` and `TCPSynRetrans` +0 over such a
 * run, all 1000 accepted within 0.3 s). `node:net` on Deno serves the same load fairly (p99 1.1-1.5
 * s at p50 0.25-0.32 s: 4-5x; bare loop p99 0.55-1.2 s), so a Server's tcp port listens with
 * node:net by default since (`Server.serve` passes `nodeSockets: true` unless told otherwise);
 * `nodeSockets: false` asks for Deno's sockets (faster with few connections, as above). A bare
 * `listen` (the stream server's data port, `tcpNetwork.listen`) and dialing keep Deno's sockets.
 *
 * @module
 */
import { joinHostPort } from "../../transport/address.ts";
import { DialTimeoutError, type SocketError } from "../../transport/errors.ts";
import type { Connection, Listener } from "../../transport/network.ts";
import { deadline, delay } from "../../_internal/async.ts";
import type {
  SocketConnectOptions,
  SocketListenOptions,
  Sockets,
  SocketTarget,
} from "../../runtime/types.ts";
import { nodeSockets } from "../node/sockets.ts";
import {
  deno,
  type DenoAddr,
  type DenoConn,
  type DenoListener,
  type DenoTcpConn,
} from "./_deno.ts";
import { denoDialError, denoListenError, denoSocketError } from "./errors.ts";

function addressOf(a: DenoAddr): string {
  if (a.transport === "unix") return a.path ?? "";
  return a.hostname === undefined ? "" : joinHostPort(a.hostname, a.port ?? 0);
}

/** A Deno socket as a {@linkcode Connection}. */
export class DenoConnection implements Connection {
  readonly #conn: DenoConn;
  readonly network: string;
  /** TCP_NODELAY is still to be set, before the first write. */
  #noDelay: boolean;

  /**
   * Wraps `conn` (a TCP or Unix socket) for `network`. With `noDelay`, TCP_NODELAY is set before
   * the first write (as Go sets it on every TCP connection): nothing is in flight before that
   * write, so it behaves as if set at once, and a connection that never writes (an idle
   * accepted one) never pays for it.
   */
  constructor(conn: DenoConn, network: string, noDelay = false) {
    this.#conn = conn;
    this.network = network;
    this.#noDelay = noDelay;
  }
  /** Our end. */
  get localAddress(): string {
    return addressOf(this.#conn.localAddr);
  }
  /** The peer's end. */
  get remoteAddress(): string {
    return addressOf(this.#conn.remoteAddr);
  }
  /** Reads into `p`; rejects with a `SocketError` (`PeerGoneError` when the peer went). */
  read(p: Uint8Array): Promise<number | null> {
    return this.#conn.read(p).catch((e) => {
      throw this.#error("read", e);
    });
  }
  /** Writes from `p`; rejects with a `SocketError` (`PeerGoneError` when the peer went). */
  write(p: Uint8Array): Promise<number> {
    if (this.#noDelay) {
      this.#noDelay = false;
      try {
        (this.#conn as DenoTcpConn).setNoDelay(true);
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
  #error(op: "read" | "write", e: unknown): SocketError {
    let localAddress = "", remoteAddress = "";
    try {
      localAddress = this.localAddress;
      remoteAddress = this.remoteAddress;
    } catch {
      // closed
    }
    return denoSocketError(e, { op, network: this.network, localAddress, remoteAddress });
  }
}

/** Wraps a Deno listener; every accepted socket becomes a {@linkcode DenoConnection}. */
export class DenoSocketListener implements Listener {
  readonly #listener: DenoListener;
  readonly network: string;
  readonly address: string;
  #closed = false;
  /** The pending `accept()`: Deno frees the listening socket only once it has settled. */
  #accepting: Promise<unknown> | undefined;
  #released: Promise<void> | undefined;

  /** Sets SO_KEEPALIVE (the system's period) on each accepted TCP connection. */
  readonly #keepAlive: boolean;

  /** Wraps `listener` for `network`; with `keepAlive`, accepted connections get keep-alive on. */
  constructor(listener: DenoListener, network: string, keepAlive = false) {
    this.#listener = listener;
    this.network = network;
    this.address = addressOf(listener.addr);
    this.#keepAlive = keepAlive;
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
      let conn: DenoConn;
      try {
        const accepting = this.#listener.accept();
        this.#accepting = accepting;
        conn = await accepting;
      } catch (e) {
        if (this.#closed || (e as Error)?.name === "BadResource") return;
        // A failed accept (e.g. too many open files): go on after a pause, as Go does.
        await delay(5);
        continue;
      } finally {
        this.#accepting = undefined;
      }
      if (this.#keepAlive) {
        try {
          (conn as DenoTcpConn).setKeepAlive(true);
        } catch {
          // not fatal
        }
      }
      yield new DenoConnection(
        conn,
        this.network,
        typeof (conn as DenoTcpConn).setNoDelay === "function",
      );
    }
  }
}

/** Whether Deno runs with `--unstable-net` (its unstable network API is there). */
function hasUnstableNet(): boolean {
  return typeof deno().listenDatagram === "function";
}

/**
 * Deno's Node layer fails `listen` on an address that is not this host's with `EINVAL` where the
 * OS said `EADDRNOTAVAIL` (Deno 2.9): `Deno.listen` on the same address tells the real reason.
 */
function realListenError(target: SocketTarget, address: string, e: unknown): unknown {
  const code = (e as { cause?: { code?: unknown } })?.cause?.code;
  if ((e as { reason?: unknown })?.reason !== "other" || code !== "EINVAL") return e;
  if (target.transport !== "tcp") return e;
  try {
    deno().listen({ hostname: target.hostname, port: target.port, transport: "tcp" }).close();
  } catch (real) {
    return denoListenError("tcp", address, real);
  }
  return e;
}

async function connect(target: SocketTarget, o: SocketConnectOptions): Promise<Connection> {
  if (o.tls && target.transport === "tcp") return await nodeSockets.connect(target, o);
  // A keep-alive period: Deno's setKeepAlive has none, node:net's has.
  if (o.keepAlive && target.transport === "tcp") return await nodeSockets.connect(target, o);
  const D = deno();
  const dialing: Promise<DenoConn> = target.transport === "unix"
    ? D.connect({ transport: "unix", path: target.path })
    : D.connect({ hostname: target.hostname, port: target.port, transport: "tcp" });
  let conn: DenoConn;
  try {
    conn = await deadline(dialing, o.timeout, {
      onTimeout: () => new DialTimeoutError(o.label, o.timeout),
    });
  } catch (e) {
    dialing.then((c) => c.close(), () => {});
    throw denoDialError(o.label, e);
  }
  if (target.transport === "tcp") {
    try {
      (conn as DenoTcpConn).setNoDelay(true);
      (conn as DenoTcpConn).setKeepAlive(o.keepAlive !== 0);
    } catch {
      // not fatal
    }
  }
  return new DenoConnection(conn, o.network);
}

function listen(target: SocketTarget, o: SocketListenOptions): Promise<Listener> {
  // node:net for TLS, for reusePort without --unstable-net, for a keep-alive period (a
  // Deno.TcpConn's setKeepAlive has none) and when asked for (nodeSockets: a Server's tcp port
  // by default, see the module doc).
  if (
    target.transport === "tcp" &&
    (o.tls || o.nodeSockets || (o.reusePort && !hasUnstableNet()) || o.keepAlive ||
      o.fd !== undefined)
  ) {
    return nodeSockets.listen(target, o).catch((e) => {
      throw realListenError(target, o.address, e);
    });
  }
  let listener: DenoListener;
  try {
    listener = target.transport === "unix"
      ? deno().listen({ transport: "unix", path: target.path })
      : deno().listen({
        hostname: target.hostname,
        port: target.port,
        transport: "tcp",
        // Go listens with the system's maximum (net.core.somaxconn, 4096 on current Linux);
        // Deno's default of 511 drops connections that arrive in bursts (the client then waits
        // 1 s to retry).
        tcpBacklog: o.backlog ?? 4096,
        ...(o.reusePort ? { reusePort: true } : {}),
      });
  } catch (e) {
    return Promise.reject(denoListenError(target.transport, o.address, e));
  }
  return Promise.resolve(
    new DenoSocketListener(listener, o.network, target.transport === "tcp" && o.keepAlive !== 0),
  );
}

/** The Deno adapter's sockets. */
export const denoSockets: Sockets = { connect, listen };

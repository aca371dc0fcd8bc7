/**
 * The server's connections: accepting them (`connAccept`, then `preReadRequest`), framing them
 * (a TCP port's first bytes may tell HTTP), the list pushes and metrics read, the one watchdog
 * timer that applies every connection's timeouts, and draining or closing them all.
 *
 * @module
 */
import { runtime } from "../runtime/mod.ts";
import { PeerGoneError } from "../transport/errors.ts";
import { FramedConnection } from "../transport/framed.ts";
import type { FramedConnectionOptions } from "../transport/framed_options.ts";
import type { Connection } from "../transport/network.ts";
import type { ConnInfo } from "./context.ts";
import type { Dispatcher } from "./_dispatch.ts";
import type { RequestPipeline } from "./_pipeline.ts";
import type { ErrorReporter, PluginChain } from "./_plugin_chain.ts";
import type { PushTarget } from "./_push.ts";
import {
  type ConnectionHost,
  ConnectionList,
  type ConnectionTimeouts,
  ServerConnection,
} from "./_connection.ts";

/** Networks whose port also serves HTTP (Go starts its gateway on tcp, tcp4, tcp6). */
const TCP_NETWORKS = new Set(["tcp", "tcp4", "tcp6"]);

/** What the connections need from their server. */
export interface ConnectionsOptions {
  readonly plugins: PluginChain;
  readonly dispatcher: Dispatcher;
  readonly pipeline: RequestPipeline;
  readonly timeouts: ConnectionTimeouts;
  /** The framing options every connection shares (decode limits, batch encoder). */
  readonly frame: FramedConnectionOptions;
  /**
   * Takes a TCP connection whose first bytes `head` are not rpcx's (HTTP, as Go's cmux tells);
   * false leaves it to rpcx. Undefined: TCP ports serve rpcx only.
   */
  readonly sniff?: (conn: Connection, head: Uint8Array, info: ConnInfo) => boolean;
  /** Whether new connections and calls are taken (false once the server shuts down). */
  readonly accepting: () => boolean;
  readonly report: ErrorReporter;
}

/** Closes `conn`, whatever state it is in. */
function closeQuietly(conn: Connection): void {
  try {
    conn.close();
  } catch {
    // closed already (a plugin that refused may have closed it, as Go's plugins do)
  }
}

/** The open connections of one server, oldest first. */
export class ServerConnections {
  readonly #list = new ConnectionList();
  /** The connections whose ConnInfo was made (handed to plugins, methods, pushes), by it. */
  readonly #named = new WeakMap<ConnInfo, ServerConnection>();
  readonly #o: ConnectionsOptions;
  readonly #host: ConnectionHost;
  /** One options object shared by every connection's framing. */
  readonly #frame: FramedConnectionOptions;
  /** The same for TCP connections, whose first bytes may tell HTTP. */
  readonly #tcpFrame: FramedConnectionOptions;
  #ids = 0;
  #accepted = 0;
  #gone: (() => void)[] = [];
  #watchdog: ReturnType<typeof setInterval> | undefined;

  /** No connection yet. */
  constructor(options: ConnectionsOptions) {
    this.#o = options;
    const { plugins, dispatcher, pipeline, report } = options;
    this.#host = {
      plugins,
      dispatcher,
      pipeline,
      get draining() {
        return !options.accepting();
      },
      maxMessageLength: options.frame.maxMessageLength,
      dropped: (c) => this.#dropped(c),
      linkFailed: (c, e) => {
        if (!(e instanceof PeerGoneError)) report(`connection ${c.info.remoteAddress}`, e);
      },
      named: (c, info) => void this.#named.set(info, c),
    };
    // A connection's first read takes 64 bytes (a small call fits; a bigger one is read on at
    // once in a buffer sized from its header): idle connections hold little.
    this.#frame = { ...options.frame, initialReadBufferSize: 64 };
    const sniff = options.sniff;
    this.#tcpFrame = sniff
      ? {
        ...this.#frame,
        sniff: (head, stream, sc) =>
          sniff(stream as Connection, head, (sc as ServerConnection).info),
      }
      : this.#frame;
  }

  /** Connections open now. */
  get size(): number {
    return this.#list.size;
  }

  /** Connections accepted since start. */
  get accepted(): number {
    return this.#accepted;
  }

  /** The open connection `info` is of (for a push); undefined once it closed. */
  find(info: ConnInfo): PushTarget | undefined {
    const c = this.#named.get(info);
    return c !== undefined && this.#list.has(c) ? c : undefined;
  }

  /** What plugins and pushes know of the open connections, oldest first. */
  active(): ConnInfo[] {
    return Array.from(this.#list, (c) => c.info);
  }

  /**
   * Takes a connection a listener at `localAddress` accepted (or closes it if refused). The
   * `connAccept` plugins may wrap it: the server then reads and writes through their wrapper,
   * framed, unless the connection it ends with carries whole messages itself (`messageLink`, an
   * in-memory pipe's end).
   */
  accept(conn: Connection, localAddress: string): void {
    if (!this.#o.accepting()) return closeQuietly(conn);
    const sc = new ServerConnection(++this.#ids, conn, localAddress, this.#host);
    let stream: Connection = conn;
    const plugins = this.#o.plugins;
    if (plugins.has("connAccept")) {
      const taken = plugins.connAccept(sc.info, conn);
      if (taken === false) return closeQuietly(conn);
      stream = taken ?? conn;
    }
    const frame = TCP_NETWORKS.has(conn.network) ? this.#tcpFrame : this.#frame;
    const whole = stream.messageLink?.(sc, frame);
    const link = whole ?? new FramedConnection(stream, sc, frame);
    sc.attach(link, whole === undefined);
    if (!this.#ready(sc)) {
      link.close();
      if (stream !== conn) closeQuietly(conn);
      return;
    }
    link.start();
  }

  /** `preReadRequest` for the first request, then the connection is counted and listed. */
  #ready(sc: ServerConnection): boolean {
    if (!sc.readyToRead()) return false;
    this.#accepted++;
    this.#list.add(sc);
    return true;
  }

  #dropped(sc: ServerConnection): void {
    if (!this.#list.delete(sc)) return;
    if (this.#o.plugins.has("connClose")) this.#o.plugins.connClose(sc.info);
    if (this.#list.size === 0 && this.#gone.length > 0) {
      const w = this.#gone;
      this.#gone = [];
      for (const f of w) f();
    }
  }

  /** Starts the one timer for every connection's timeouts (none when no timeout is set). */
  startWatchdog(): void {
    const t = this.#o.timeouts;
    const shortest = Math.min(...[t.read, t.write, t.idle].filter((v) => v > 0));
    if (this.#watchdog !== undefined || !Number.isFinite(shortest)) return;
    const every = Math.min(Math.max(Math.floor(shortest / 4), 10), 1000);
    this.#watchdog = setInterval(() => {
      const now = Date.now();
      for (const c of this.#list) c.check(now, t);
    }, every);
    runtime().timers.unref(this.#watchdog);
  }

  /**
   * Drains every connection: each closes as soon as its own calls are answered (an idle one at
   * once). Resolves once none is open.
   */
  drain(): Promise<void> {
    for (const c of [...this.#list]) c.drain();
    if (this.#list.size === 0) return Promise.resolve();
    return new Promise<void>((r) => void this.#gone.push(r));
  }

  /** Closes every connection at once and stops the watchdog. */
  closeAll(): void {
    for (const c of [...this.#list]) c.close();
    this.#list.clear();
    if (this.#watchdog !== undefined) clearInterval(this.#watchdog);
  }
}

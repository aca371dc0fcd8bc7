/**
 * The server side of one connection: takes the requests it reads, answers heartbeats, hands
 * calls to the dispatcher and writes their responses; drains on shutdown (a connection closes as
 * soon as its own calls are answered; an idle one at once) and is closed by the timeouts.
 *
 * @module
 */
import { MessageType } from "../protocol/constants.ts";
import type { ProtocolError } from "../protocol/errors.ts";
import { createMessage, type FrameHeader, type Message } from "../protocol/message.ts";
import type { ConnInfo } from "./context.ts";
import type { Dispatcher, Outcome } from "./_dispatch.ts";
import type { PluginChain } from "./_plugin_chain.ts";
import type { Exchange, RequestPipeline } from "./_pipeline.ts";
import { clock, CLOCK_BASE } from "../transport/_clock.ts";

/** What a connection is carried on: a framed byte stream of some network. */
export interface Link {
  /** Queues a message for writing. */
  send(msg: Message): void;
  /** Closes at once; queued writes are dropped. */
  close(): void;
  /** Resolves when everything queued was written (or the link closed). */
  drained(): Promise<void>;
  /** When the last complete message arrived (ms since epoch); undefined if not tracked. */
  readonly lastMessageAt?: number;
  /** Since when the current write has been pending (ms since epoch; 0 if none). */
  readonly writePendingSince?: number;
}

/** What a connection needs from its server. */
export interface ConnectionHost {
  readonly plugins: PluginChain;
  readonly dispatcher: Dispatcher;
  /** The sequence each request goes through. */
  readonly pipeline: RequestPipeline;
  /** Whether the server is draining (no new calls are taken). */
  readonly draining: boolean;
  /** The server's `maxMessageLength` (bytes): no longer response is written. */
  readonly maxMessageLength?: number;
  /** The connection closed: forget it. */
  dropped(conn: ServerConnection): void;
  /** The link failed (socket error, frame out of sync). */
  linkFailed(conn: ServerConnection, error: unknown): void;
  /** The connection's {@linkcode ConnInfo} was made (plugins and methods hold it from now on). */
  named(conn: ServerConnection, info: ConnInfo): void;
}

/** Where a connection comes from: what its {@linkcode ConnInfo} says of the peer. */
export interface Peer {
  /** The network it came on. */
  readonly network: string;
  /** The peer's address (read when first asked for). */
  readonly remoteAddress: string;
}

/** Bits of a connection's state. */
const CLOSED = 1, DRAINING = 2;

/** Timeouts that close a connection, in ms (0: none). */
export interface ConnectionTimeouts {
  /** A complete request must arrive within this long of the previous one (Go's ReadTimeout). */
  readonly read: number;
  /** A write to the peer may take this long (Go's WriteTimeout). */
  readonly write: number;
  /** Closed after this long with no call in flight and nothing received. */
  readonly idle: number;
}

/**
 * One accepted connection. It is also the handler of its framed link (`onMessage`, `onError`,
 * `onClose`, `onFrameError`) and the {@linkcode Exchange} of the requests it reads, so a
 * connection and its calls cost no closures. Its {@linkcode ConnInfo} is
 * made when first needed (a message, a plugin's hook, a push): an idle connection holds this
 * object and its link only.
 */
export class ServerConnection implements Exchange {
  /** Bytes of pushes queued on it and not yet known to be written (kept by the push sender). */
  pushPending = 0;
  /** The one before it in its server's {@linkcode ConnectionList}. */
  listPrev: ServerConnection | undefined = undefined;
  /** The one after it in its server's {@linkcode ConnectionList}. */
  listNext: ServerConnection | undefined = undefined;
  /** Unique per server (the {@linkcode ConnInfo} id). */
  readonly id: number;
  readonly #host: ConnectionHost;
  readonly #peer: Peer;
  readonly #localAddress: string;
  #info: ConnInfo | undefined;
  #link!: Link;
  #framed = true;
  #inFlight = 0;
  /** CLOSED and DRAINING bits. */
  #state = 0;
  /** When its last call ended (ms on the connection clock; 0 before any). */
  #lastDoneAt = 0;

  /** Connection `id` from `peer`, accepted at `localAddress`; `attach` gives it its link. */
  constructor(id: number, peer: Peer, localAddress: string, host: ConnectionHost) {
    this.id = id;
    this.#peer = peer;
    this.#localAddress = localAddress;
    this.#host = host;
  }

  /** What plugins and methods learn of it (made on first use, then always the same object). */
  get info(): ConnInfo {
    if (this.#info === undefined) {
      const peer = this.#peer;
      this.#info = {
        id: this.id,
        network: peer.network,
        remoteAddress: peer.remoteAddress,
        localAddress: this.#localAddress,
      };
      this.#host.named(this, this.#info);
    }
    return this.#info;
  }

  /**
   * Gives the connection its link (once, before messages arrive); `framed`: the link frames
   * messages into bytes (then no response or push longer than `maxMessageLength` is written).
   */
  attach(link: Link, framed: boolean): void {
    this.#link = link;
    this.#framed = framed;
  }

  /** Queues a message (a push) on the connection. */
  send(msg: Message): void {
    if (!(this.#state & CLOSED)) this.#link.send(msg);
  }

  /** Resolves when everything queued so far was written, or the connection closed. */
  drained(): Promise<void> {
    return this.#state & CLOSED ? Promise.resolve() : this.#link.drained();
  }

  /** Calls in flight on this connection. */
  get inFlight(): number {
    return this.#inFlight;
  }

  /** Whether it is closed. */
  get isClosed(): boolean {
    return (this.#state & CLOSED) !== 0;
  }

  /** Runs `preReadRequest`; closes the connection when a plugin refuses. */
  readyToRead(): boolean {
    if (!this.#host.plugins.hasPreReadRequest) return true;
    if (this.#host.plugins.preReadRequest(this.info)) return true;
    this.close();
    return false;
  }

  /** A message arrived: it goes through the server's pipeline, this connection its exchange. */
  onMessage(req: Message): void {
    if (this.#state & CLOSED) return;
    void this.#host.pipeline.handle(req, this.info, this);
  }

  /** `postReadRequest` refused the request: close (as Go). */
  refused(): void {
    this.close();
  }

  /** `preReadRequest` for the next request, when a plugin has it. */
  readNext(): boolean {
    return !this.#host.plugins.hasPreReadRequest || this.readyToRead();
  }

  /** Takes a call, unless draining. */
  take(): boolean {
    if (this.#state & DRAINING || this.#host.draining) {
      // Not taken: the connection closes once its own calls are answered, so the caller sees a
      // closed connection (never a service error) and a Failover client retries elsewhere.
      this.drain();
      return false;
    }
    this.#inFlight++;
    return true;
  }

  /**
   * The longest response or push written (the server's `maxMessageLength`, bytes); undefined
   * when the link carries whole messages (an in-memory pipe's end: nothing is framed).
   */
  get maxReplyLength(): number | undefined {
    return this.#framed ? this.#host.maxMessageLength : undefined;
  }

  /** Queues a response. */
  write(res: Message): void {
    if (!(this.#state & CLOSED)) this.#link.send(res);
  }

  /** Resolves once the queued responses are written, or the connection closed. */
  written(): Promise<void> {
    return this.drained();
  }

  /** A call ended: close after an auth refusal (as Go), or once drained of its calls. */
  done(out: Outcome | undefined): void {
    if (out?.close) this.#closeAfterWrites();
    this.#inFlight--;
    this.#lastDoneAt = clock();
    if (this.#state & DRAINING && this.#inFlight === 0) this.#closeAfterWrites();
  }

  /**
   * A frame that could not be taken (over the size limit, or undecodable) but left the stream
   * in sync: its caller gets an error reply naming the reason; the connection goes on.
   */
  onFrameError(error: ProtocolError, header: FrameHeader): void {
    if (this.#state & CLOSED || header.messageType !== MessageType.Request) return;
    if (header.oneway || header.heartbeat) return;
    const req = createMessage({
      version: header.version,
      serializeType: header.serializeType,
      seq: header.seq,
    });
    this.#link.send(this.#host.dispatcher.errorReply(req, error));
  }

  /** Stops taking calls; closes as soon as the calls in flight are answered (now if none). */
  drain(): void {
    this.#state |= DRAINING;
    if (this.#inFlight === 0) this.#closeAfterWrites();
  }

  #closeAfterWrites(): void {
    if (this.#state & CLOSED) return;
    this.#link.drained().then(() => this.close());
  }

  /** Applies the timeouts at time `now`; closes the connection when one has passed. */
  check(now: number, t: ConnectionTimeouts): void {
    if (this.#state & CLOSED) return;
    const link = this.#link;
    const last = link.lastMessageAt;
    if (last === undefined) return;
    const writeSince = link.writePendingSince ?? 0;
    if (
      (t.write > 0 && writeSince > 0 && now - writeSince > t.write) ||
      (t.read > 0 && now - last > t.read) ||
      (t.idle > 0 && this.#inFlight === 0 &&
        now - Math.max(last, this.#lastDoneAt + CLOCK_BASE) > t.idle)
    ) {
      this.close();
    }
  }

  /** Closes at once (idempotent). */
  close(): void {
    if (this.#state & CLOSED) return;
    this.#state |= CLOSED;
    this.#link.close();
    this.#host.dropped(this);
  }

  /** The link failed; it closes right after. */
  onError(error: unknown): void {
    this.#host.linkFailed(this, error);
  }

  /** The link closed (either side). */
  onClose(): void {
    this.linkClosed();
  }

  /** The link reported that it closed (peer gone, bad frame, ...). */
  linkClosed(): void {
    if (this.#state & CLOSED) return;
    this.#state |= CLOSED;
    this.#host.dropped(this);
  }
}

/**
 * A server's open connections, oldest first: a list threaded through the connections themselves
 * (two fields each) rather than a hash table, which for many connections costs more per entry and
 * leaves its old tables behind each time it grows. A connection is in one list at most.
 */
export class ConnectionList implements Iterable<ServerConnection> {
  #head: ServerConnection | undefined;
  #tail: ServerConnection | undefined;
  #size = 0;

  /** How many connections it holds. */
  get size(): number {
    return this.#size;
  }

  /** Whether `c` is in the list. */
  has(c: ServerConnection): boolean {
    return c.listPrev !== undefined || this.#head === c;
  }

  /** Appends `c` (the newest). */
  add(c: ServerConnection): void {
    if (this.has(c)) return;
    c.listPrev = this.#tail;
    c.listNext = undefined;
    if (this.#tail) this.#tail.listNext = c;
    else this.#head = c;
    this.#tail = c;
    this.#size++;
  }

  /** Removes `c`; false when it was not in the list. */
  delete(c: ServerConnection): boolean {
    if (!this.has(c)) return false;
    const { listPrev: prev, listNext: next } = c;
    if (prev) prev.listNext = next;
    else this.#head = next;
    if (next) next.listPrev = prev;
    else this.#tail = prev;
    c.listPrev = c.listNext = undefined;
    this.#size--;
    return true;
  }

  /** Removes every connection. */
  clear(): void {
    while (this.#head) this.delete(this.#head);
  }

  /** The connections, oldest first; the one being visited may be removed meanwhile. */
  *[Symbol.iterator](): Iterator<ServerConnection> {
    for (let c = this.#head; c;) {
      const next = c.listNext;
      yield c;
      c = next;
    }
  }
}

/**
 * One HTTP connection of the rpcx port's HTTP side: its timing state (the server's watchdog reads
 * it; it is the clock of its bodies) and the pacing of pipelined requests.
 *
 * @module
 */
import type { Duplex } from "node:stream";
import type { ConnInfo } from "../transport/network.ts";
import type { BodyClock, BodyError } from "./_body.ts";

/**
 * Requests of one connection answered at once; later ones wait (parsed, not yet run) and the
 * connection is not read while any waits. A caller pipelining requests without reading the
 * answers is then held back by TCP, as by Go's server (it reads the next request only after it
 * answered one), instead of making us run them and buffer the answers without end.
 */
const PIPELINE_WINDOW = 16;
/**
 * Bytes of answers waiting in a connection's socket (its peer not reading them) beyond which
 * no further request is run and the connection is not read, until they drain.
 */
const WRITE_BACKLOG = 256 * 1024;

/** What the HTTP side uses of a connection's socket (a `net.Socket`, or a `ConnStream`). */
export type HttpSocket = Duplex & { readonly bytesRead: number };

/** A body being awaited, and what fails its read. */
interface BodyWait {
  readonly since: number;
  readonly fail: (e: BodyError) => void;
}

/** One HTTP connection's state, timed by the server's watchdog; the clock of its bodies. */
export class HttpConn implements BodyClock {
  /** Requests received and not yet answered. */
  busy = 0;
  /** Requests being answered (at most {@linkcode PIPELINE_WINDOW}). */
  running = 0;
  /** Requests received, waiting to be run (pipelined beyond the window or the backlog). */
  waiting: (() => void)[] = [];
  /** Reading is stopped by {@linkcode RpcxHttpServer} (see {@linkcode HttpConn.pace}). */
  paused = false;
  /** A `drain` of the socket is awaited to run waiting requests. */
  awaitingDrain = false;
  /** Since when (ms, `Date.now()`) a request's head has been arriving; 0: none is. */
  headSince: number;
  /** Since when (ms) the connection has been idle: no request in progress. */
  idleSince: number;
  /** `socket.bytesRead` when it went idle: more means a new request has begun. */
  readMark = 0;
  /** Bodies being read (pipelined requests may overlap). */
  bodies: BodyWait[] | undefined;
  /** Runs when a response closes (one function per connection, not per request). */
  readonly responseClosed: () => void;

  constructor(
    readonly info: ConnInfo,
    readonly socket: HttpSocket,
    draining: () => boolean,
  ) {
    // The head of the first request has begun (its first bytes are here): timed from now.
    this.headSince = this.idleSince = Date.now();
    this.responseClosed = () => {
      if (--this.busy > 0) return;
      if (draining()) return void socket.destroy();
      this.idleSince = Date.now();
      this.readMark = socket.bytesRead;
    };
  }

  start(fail: (e: BodyError) => void): void {
    (this.bodies ??= []).push({ since: Date.now(), fail });
  }

  stop(): void {
    // Bodies are read in request order: the oldest is the one done.
    this.bodies?.shift();
  }

  /**
   * Runs the waiting requests the window and the answers' backlog allow; reads the connection
   * only while none waits and its answers drain. node:http's own flag (`_paused`) is set too, so
   * a body being read does not start the socket again meanwhile (its `readStart`).
   */
  pace(): void {
    const socket = this.socket as HttpSocket & { _paused?: boolean; destroyed: boolean };
    if (socket.destroyed) return;
    const backlogged = () => socket.writableLength > WRITE_BACKLOG;
    while (this.waiting.length > 0 && this.running < PIPELINE_WINDOW && !backlogged()) {
      this.waiting.shift()!();
    }
    const full = backlogged();
    if (full && !this.awaitingDrain) {
      this.awaitingDrain = true;
      socket.once("drain", () => {
        this.awaitingDrain = false;
        this.pace();
      });
    }
    const hold = this.waiting.length > 0 || full;
    // Paused again when node:http started it meanwhile (its own drain handling).
    if (hold && (!this.paused || !socket.isPaused())) {
      this.paused = true;
      socket._paused = true;
      socket.pause();
    } else if (!hold && this.paused) {
      this.paused = false;
      socket._paused = false;
      socket.resume();
    }
  }
}

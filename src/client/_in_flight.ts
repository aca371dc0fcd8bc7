/**
 * Internal to the client: its calls waiting for a reply, by seq — a request sent on an open
 * connection with its {@linkcode Waiter}, timeout lane and abort listener; the reply that
 * settles it; and every call failed at once when the connection ends or the client closes.
 *
 * @module
 */
import { deadline } from "../_internal/async.ts";
import type { Codec } from "../codec/codec.ts";
import type { Message } from "../protocol/message.ts";
import { deadlines } from "./_deadlines.ts";
import { CallAbortedError, CallTimeoutError, ConnectionClosedError } from "./errors.ts";
import type { ClientPluginChain } from "./_plugin_chain.ts";
import {
  type Bounded,
  type CallTracker,
  type Pending,
  type Transport,
  Waiter,
  waitFor,
} from "./_calls.ts";
import type { CallOptions, ClientOptions } from "./options.ts";

/** The calls of one client waiting for a reply. */
export class InFlight {
  /** Calls waiting for a reply, by seq (a number: Map lookups by bigint are slower). */
  readonly #pending = new Map<number, Pending>();
  #seq = 0;

  /** The calls of the client of `address` (`options`: its options, with `plugins` in them). */
  constructor(
    readonly address: string,
    readonly options: ClientOptions & Bounded,
    readonly plugins: ClientPluginChain | undefined,
  ) {}

  /** Calls waiting for a reply. */
  get size(): number {
    return this.#pending.size;
  }

  /** Settles the call `msg` answers (a reply to no waiting call is dropped). */
  settle(msg: Message): void {
    const p = this.#pending.get(Number(msg.seq));
    if (p !== undefined) p.resolve(msg);
  }

  /** Fails every call waiting for a reply with `error`. */
  failAll(error: unknown): void {
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    for (const p of pending) p.reject(error);
  }

  /**
   * Sends `req` on `transport` (to `server`, set in the reply metadata) with the next seq;
   * settles with its reply decoded by `codec` (the reply message when `codec` is undefined;
   * undefined for oneway once written). Nothing here waits but the call itself.
   */
  exchange(
    transport: Transport,
    server: string,
    req: Message,
    options: CallOptions,
    codec: Codec | undefined,
    tracker?: CallTracker,
  ): Promise<unknown> {
    const seq = ++this.#seq;
    req.seq = BigInt(seq);
    if (this.plugins?.hasBeforeEncode) this.plugins.beforeEncode(req);
    const timeout = waitFor(options, this.options);
    if (req.oneway) {
      transport.send(req);
      const written = transport.drained().then(() => {
        if (transport.isClosed) throw new ConnectionClosedError();
        return undefined;
      });
      return timeout !== undefined && timeout > 0 ? writeWithin(written, timeout) : written;
    }
    if (transport.isClosed) {
      // Closed since it was handed out (e.g. the server refused the connection at once):
      // nothing would ever settle this call.
      return Promise.reject(
        new ConnectionClosedError(`connection to ${this.address} is shut down`),
      );
    }
    const signal = options.signal;
    return new Promise((resolve, reject) => {
      const w = new Waiter(this.#pending, seq, options, codec, resolve, reject, tracker);
      if (options.replyMetadata !== undefined) w.server = server;
      this.#pending.set(seq, w);
      if (timeout !== undefined && timeout > 0) {
        w.timeout = timeout;
        deadlines.add(timeout, w);
      }
      if (signal !== undefined) {
        w.onAbort = () => w.reject(new CallAbortedError(signal.reason));
        signal.addEventListener("abort", w.onAbort, { once: true });
      }
      transport.send(req);
    });
  }
}

/**
 * `written` (a oneway request's write), or {@linkcode CallTimeoutError} when it is not written
 * within `timeout` ms (a peer that stopped reading).
 */
function writeWithin(written: Promise<undefined>, timeout: number): Promise<undefined> {
  return deadline(written, timeout, { onTimeout: () => new CallTimeoutError(timeout) });
}

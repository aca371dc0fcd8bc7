/**
 * Internal to the client: the bookkeeping of one call waiting for its reply ({@linkcode Waiter}),
 * the connection contract the client sends on, and XClient's tracked-call hook.
 *
 * @module
 */
import type { Codec } from "../codec/codec.ts";
import { MessageStatusType, MetadataKeys } from "../protocol/constants.ts";
import type { Message } from "../protocol/message.ts";
import type { Expiring, Lane } from "./_deadlines.ts";
import { CallTimeoutError, ServiceError } from "./errors.ts";
import type { CallOptions } from "./options.ts";

/** An open connection as the client uses it (a FramedConnection). */
export interface Transport {
  send(msg: Message): void;
  close(): void;
  readonly isClosed: boolean;
  drained(): Promise<void>;
}

/** How a reply (or the connection's end) reaches a waiting call. */
export interface Pending {
  resolve(msg: Message): void;
  reject(error: unknown): void;
}

/**
 * Internal to the client module (not exported by `mod.ts`): XClient's way to be told of a
 * call's outcome before its caller is, without one more promise per call. Returns undefined
 * when the call cannot take the fast path (no open connection, plugins around calls, or an
 * error before sending): then use `call()`.
 */
export const trackedCall: unique symbol = Symbol("rpcx.trackedCall");

/**
 * Internal to the client module: an upper bound, ms, on how long a call waits for its reply,
 * on the client only (never sent to the server as `__ServerTimeout`). XClient sets it in the
 * options of its connections' clients (the bound of a call without a timeout) and of one try
 * (what is left of the operation's bound; Go's one-minute cap of `Broadcast`/`Fork`).
 */
export const waitBound: unique symbol = Symbol("rpcx.waitBound");

/** Options that may carry a {@linkcode waitBound}. */
export interface Bounded {
  [waitBound]?: number;
}

/**
 * How long a call waits, ms (undefined: for ever): its `timeout` (else the client's), or the
 * client's bound when it has none, and at most the call's own bound.
 */
export function waitFor(
  options: CallOptions & Bounded,
  client: { timeout?: number } & Bounded,
): number | undefined {
  let wait = options.timeout ?? client.timeout;
  if (wait === undefined || !(wait > 0)) wait = client[waitBound];
  const cap = options[waitBound];
  if (cap !== undefined && (wait === undefined || cap < wait)) wait = cap;
  return wait;
}

/** Told once of a tracked call's outcome: undefined on success, else the error. */
export type CallTracker = (error: unknown) => void;

/**
 * One call waiting for its reply: a single object per call (no closures on the fast path)
 * that settles the caller's promise with the decoded reply (or the message when `codec` is
 * undefined), and cleans its deadline, abort listener and pending entry.
 */
export class Waiter implements Pending, Expiring {
  deadline = 0;
  settled = false;
  lane: Lane | undefined;
  timeout = 0;
  onAbort: (() => void) | undefined;
  /** The server's address, set in the reply metadata (only when the caller asked for it). */
  server = "";
  constructor(
    readonly pending: Map<number, Pending>,
    readonly seq: number,
    readonly options: CallOptions,
    readonly codec: Codec | undefined,
    readonly ok: (value: unknown) => void,
    readonly fail: (error: unknown) => void,
    readonly tracker: CallTracker | undefined,
  ) {}
  #done(): void {
    this.settled = true;
    if (this.lane !== undefined) {
      this.lane.settle();
      this.lane = undefined;
    }
    if (this.onAbort !== undefined) this.options.signal!.removeEventListener("abort", this.onAbort);
    this.pending.delete(this.seq);
  }
  expire(): void {
    this.reject(new CallTimeoutError(this.timeout));
  }
  resolve(msg: Message): void {
    if (this.settled) return;
    this.#done();
    const replyMetadata = this.options.replyMetadata;
    if (replyMetadata) {
      Object.assign(replyMetadata, msg.metadata);
      replyMetadata[MetadataKeys.ServerAddress] = this.server;
    }
    if (msg.status === MessageStatusType.Error) {
      return this.#failed(
        new ServiceError(msg.metadata[MetadataKeys.ServiceError] ?? "", msg.metadata),
      );
    }
    let value: unknown = msg;
    if (this.codec !== undefined) {
      try {
        value = this.codec.decode(msg.payload);
      } catch (e) {
        return this.#failed(e);
      }
    }
    this.tracker?.(undefined);
    this.ok(value);
  }
  #failed(error: unknown): void {
    this.tracker?.(error);
    this.fail(error);
  }
  reject(error: unknown): void {
    if (this.settled) return;
    this.#done();
    this.#failed(error);
  }
}

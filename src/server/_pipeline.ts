/**
 * The server's request pipeline: the one sequence every request goes through, whatever brought
 * it (an rpcx connection, `Server.handleMessage`, HTTP invoke, JSON-RPC), in Go rpcx's order:
 *
 * 1. `postReadRequest` (a throw refuses the request: reported, and its source drops it);
 * 2. a heartbeat is answered at once (Go runs no response hooks for it);
 * 3. the call: auth, `preHandleRequest`, `preCall`, the method (or a raw handler), `postCall`
 *    (`_dispatch.ts`); a service error it ended with goes to `handleServiceError` (Go's
 *    `HandleServiceError`), on every source alike;
 * 4. `preWriteResponse`;
 * 5. the write, by the request's source;
 * 6. `postWriteResponse`, once the write is done (Go: after `conn.Write` / `w.Write`), so what it
 *    changes never reaches the caller.
 *
 * What differs between sources (where the response goes, when a call may start, what a refusal
 * does) is the {@linkcode Exchange} each one hands in.
 *
 * @module
 */
import { MessageType } from "../protocol/constants.ts";
import { messageLengthOver } from "../protocol/encode.ts";
import { RpcxError } from "../protocol/errors.ts";
import type { Message } from "../protocol/message.ts";
import type { ConnInfo } from "./context.ts";
import type { Dispatcher, Outcome } from "./_dispatch.ts";
import type { ErrorReporter, PluginChain } from "./_plugin_chain.ts";
import type { ServiceErrorHandler } from "./options.ts";

/** One request's source, as the pipeline sees it. */
export interface Exchange {
  /** `postReadRequest` refused the request (the error is reported): drop it (an rpcx connection closes). */
  refused(): void;
  /**
   * After `postReadRequest`: whether to go on with the request (an rpcx connection runs
   * `preReadRequest` for its next one here, and closes when it is refused).
   */
  readNext?(): boolean;
  /** Whether the call may start now (false: not taken, e.g. the source is draining). */
  take(): boolean;
  /**
   * Writes (or queues) a response. `closing`: auth refused the caller (Go closes an rpcx
   * connection once this is written, and answers HTTP invoke with 401).
   */
  write(res: Message, closing: boolean): void;
  /** Resolves once everything given to `write` is written (or can no longer be). */
  written(): Promise<void>;
  /** Whether the source closed meanwhile: then nothing is written and no write hook runs. */
  readonly isClosed?: boolean;
  /**
   * The longest response it may write (bytes on the wire after the header, the server's
   * `maxMessageLength`); a longer one is replaced by an error reply. Undefined: no limit.
   */
  readonly maxReplyLength?: number;
  /** A call taken by `take` ended (after `postWriteResponse`); `out` is undefined if it threw. */
  done?(out: Outcome | undefined): void;
}

/** How a request ended, when it was not a call. */
export type NotCalled =
  /** `postReadRequest` refused it. */
  | "refused"
  /** Not a request (a client's response), or `readNext` said no. */
  | "ignored"
  /** A heartbeat, answered. */
  | "heartbeat"
  /** Not taken: `take` said no. */
  | "untaken";

/** What the pipeline needs from its server. */
export interface PipelineHost {
  readonly plugins: PluginChain;
  readonly dispatcher: Dispatcher;
  /** The server's `handleServiceError` now (it may be set at any time, as Go's field). */
  readonly serviceErrors: () => ServiceErrorHandler | undefined;
  readonly report: ErrorReporter;
}

/** Runs requests through the server's hooks and dispatcher (see the module doc). */
export class RequestPipeline {
  readonly #host: PipelineHost;
  #calls = 0;
  #inFlight = 0;

  /** The pipeline of the server `host`. */
  constructor(host: PipelineHost) {
    this.#host = host;
  }

  /** Calls taken since start (heartbeats excluded). */
  get calls(): number {
    return this.#calls;
  }

  /** Calls running now. */
  get inFlight(): number {
    return this.#inFlight;
  }

  /**
   * Runs one request from `ex`, arrived on `conn`, to its end; resolves with the call's outcome
   * (after `postWriteResponse`), or how it ended otherwise. Never rejects unless `ex` throws.
   */
  async handle(req: Message, conn: ConnInfo, ex: Exchange): Promise<Outcome | NotCalled> {
    const { plugins, dispatcher } = this.#host;
    if (!plugins.postReadRequest(req, conn)) {
      ex.refused();
      return "refused";
    }
    if (ex.readNext && !ex.readNext()) return "ignored";
    if (req.messageType !== MessageType.Request) return "ignored"; // a client's response
    if (req.heartbeat) {
      ex.write(dispatcher.heartbeat(req, conn), false);
      return "heartbeat";
    }
    if (!ex.take()) return "untaken";
    this.#calls++;
    this.#inFlight++;
    let out: Outcome | undefined;
    try {
      out = await dispatcher.call(req, conn);
      if (out.error !== undefined) this.serviceError(out.error, req, conn);
      let res = out.res;
      if (res && !ex.isClosed) {
        plugins.preWriteResponse(req, res);
        // Measured as written: after the hooks, which may add metadata or change the payload.
        const tooLong = this.#overLimit(res, ex.maxReplyLength);
        if (tooLong) {
          this.serviceError(tooLong, req, conn);
          res = this.#host.dispatcher.errorReply(req, tooLong);
          out = { ...out, res, error: tooLong };
        }
        ex.write(res, out.close);
        if (plugins.has("postWriteResponse")) {
          await ex.written();
          plugins.postWriteResponse(req, res);
        }
      }
      return out;
    } finally {
      this.#inFlight--;
      ex.done?.(out);
    }
  }

  /**
   * The error for `res` when it is longer than `limit` bytes, else undefined: a peer with the
   * same limit would close the whole connection on it, failing every other call there, so an
   * error reply goes instead (and the error to `handleServiceError`).
   */
  #overLimit(res: Message, limit: number | undefined): RpcxError | undefined {
    if (limit === undefined) return undefined;
    const length = messageLengthOver(res, limit);
    if (length === 0) return undefined;
    return new RpcxError(`rpcx: reply of ${length} bytes exceeds the limit of ${limit} bytes`);
  }

  /** Gives `error`, a service error of `req`, to `handleServiceError` (a throw is reported). */
  serviceError(error: unknown, req: Message, conn: ConnInfo): void {
    const hook = this.#host.serviceErrors();
    if (!hook) return;
    const report = (e: unknown) => this.#host.report("handleServiceError", e);
    try {
      const r: unknown = hook(error, req, conn);
      // An async hook's rejection is reported too, never left unhandled.
      if (typeof (r as PromiseLike<unknown> | undefined)?.then === "function") {
        (r as PromiseLike<unknown>).then(undefined, report);
      }
    } catch (e) {
      report(e);
    }
  }

  /**
   * Runs a request that came on no connection (`Server.handleMessage`): resolves with the
   * response as it was when written (a copy, so what `postWriteResponse` changes after is not
   * in it), undefined when there is none. Rejects with `RpcxError` when `postReadRequest`
   * refuses.
   */
  async answer(req: Message, conn: ConnInfo): Promise<Message | undefined> {
    let out: Message | undefined;
    const handled = await this.handle(req, conn, {
      refused: () => {},
      take: () => true,
      write: (res) => void (out = { ...res, metadata: { ...res.metadata } }),
      written: () => Promise.resolve(),
    });
    if (handled === "refused") {
      throw new RpcxError("rpcx: request refused by a postReadRequest plugin");
    }
    return out;
  }
}

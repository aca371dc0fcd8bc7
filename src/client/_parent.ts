/**
 * Internal to the clients: a call made for a call being served (`CallOptions.parent`, else the
 * one `AsyncLocalStorage` holds, see `server/call_scope.ts`) takes its deadline, signal and trace
 * metadata.
 *
 * @module
 */
import { currentCall, TRACE_METADATA_KEYS } from "../server/call_scope.ts";
import type { Metadata } from "../protocol/message.ts";
import { CallAbortedError, CallTimeoutError } from "./errors.ts";
import type { CallOptions, CallParent } from "./options.ts";

/** The parent of a call with `options`: its `parent`, else the call being served; none for `null`. */
export function parentOf(options: CallOptions): CallParent | undefined {
  const p = options.parent;
  return p === undefined ? currentCall() : p ?? undefined;
}

/**
 * The options of a call made for `parent`: the time left until its deadline as `timeout` (the
 * shorter when the call has one of its own, else `ownTimeout`, the client's default), its signal
 * with the caller's, and its trace metadata unless the call sets it (`metadata: false`: not
 * that). `parent` is `null` in them, so the layers below do not inherit again.
 *
 * @throws {CallTimeoutError} when the parent's deadline has passed.
 */
export function inherit(
  parent: CallParent,
  options: CallOptions,
  ownTimeout: number | undefined,
  metadata = true,
): CallOptions {
  const out: CallOptions = { ...options, parent: null };
  const deadline = parent.deadline;
  if (deadline !== undefined) {
    const left = deadline - Date.now();
    if (left <= 0) throw new CallTimeoutError(0);
    const own = options.timeout ?? ownTimeout;
    out.timeout = own !== undefined && own > 0 && own < left ? own : left;
  }
  const signal = parent.signal;
  if (signal !== undefined && signal !== options.signal) {
    out.signal = options.signal ? AbortSignal.any([options.signal, signal]) : signal;
  }
  const from = parent.metadata;
  if (metadata && from !== undefined) {
    let meta: Metadata | undefined;
    for (const k of TRACE_METADATA_KEYS) {
      const v = from[k];
      if (v !== undefined && options.metadata?.[k] === undefined) {
        meta ??= { ...options.metadata };
        meta[k] = v;
      }
    }
    if (meta !== undefined) out.metadata = meta;
  }
  return out;
}

/**
 * `run` with the options inherited from `parent` (see {@linkcode inherit}). A call ended by the
 * parent's signal because the parent's deadline passed fails with {@linkcode CallTimeoutError}
 * (its timeout: the time it had), not `CallAbortedError`: the parent's timer and the call's may
 * fire in either order.
 */
export function callFor<T>(
  parent: CallParent,
  options: CallOptions,
  ownTimeout: number | undefined,
  run: (options: CallOptions) => Promise<T>,
  metadata = true,
): Promise<T> {
  let opts: CallOptions;
  try {
    opts = inherit(parent, options, ownTimeout, metadata);
  } catch (e) {
    return Promise.reject(e);
  }
  const signal = parent.signal;
  const deadline = parent.deadline;
  if (signal === undefined || deadline === undefined) return run(opts);
  return run(opts).catch((e) => {
    if (
      e instanceof CallAbortedError && signal.aborted && e.cause === signal.reason &&
      !options.signal?.aborted && Date.now() >= deadline - 1
    ) {
      throw new CallTimeoutError(opts.timeout!);
    }
    throw e;
  });
}

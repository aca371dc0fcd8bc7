/**
 * Circuit breakers per server for clients: a {@linkcode Breaker} interface, a
 * consecutive-failure breaker and a failure-rate breaker (closed → open → half-open → closed),
 * and a client plugin that keeps one breaker per server and refuses calls to a server whose
 * breaker is open with Go's `breaker open` error. Go: client `Option.GenBreaker`,
 * `ConsecCircuitBreaker`, `circuit.NewRateBreaker`.
 *
 * @example
 * ```ts
 * import { FailMode, MultipleServersDiscovery, SelectMode, XClient } from "@rpcx/core";
 * import { breakerPlugin, ConsecutiveBreaker } from "@rpcx/core/plugins/breaker";
 * const x = new XClient("Arith", FailMode.Failover, SelectMode.RoundRobin,
 *   new MultipleServersDiscovery([{ key: "tcp@127.0.0.1:8972", value: "" }]),
 *   { plugins: [breakerPlugin(() => new ConsecutiveBreaker(5, 10_000))] });
 * await x.close();
 * ```
 *
 * @module
 */
import { CallTimeoutError, ConnectionError } from "../client/errors.ts";
import type { ClientPlugin } from "../client/plugin.ts";

/**
 * The state of a breaker: `closed` lets calls through, `open` refuses them, `half-open` lets a
 * trial call through to decide.
 */
export type BreakerState = "closed" | "open" | "half-open";

/**
 * A circuit breaker. Go: client `Breaker` (`Ready`, `Success`, `Fail`).
 *
 * @example
 * ```ts
 * import type { Breaker } from "@rpcx/core/plugins/breaker";
 * const never: Breaker = { ready: () => true, success() {}, fail() {} };
 * console.log(never.ready());
 * ```
 */
export interface Breaker {
  /** Whether a call may go through now (in half-open: the trial call takes the slot). */
  ready(): boolean;
  /** A call that `ready` let through succeeded. */
  success(): void;
  /** A call that `ready` let through failed. */
  fail(): void;
  /** The state now. */
  readonly state?: BreakerState;
}

/**
 * A call was refused because the server's breaker is open. Text as Go's `ErrBreakerOpen`
 * (`breaker open`). A kind of {@linkcode ConnectionError}, so XClient's Failover tries
 * another server.
 *
 * @example
 * ```ts
 * import { BreakerOpenError } from "@rpcx/core/plugins/breaker";
 * console.log(new BreakerOpenError().message); // "breaker open"
 * ```
 */
export class BreakerOpenError extends ConnectionError {
  /** Creates the error. */
  constructor() {
    super("breaker open");
  }
}

/**
 * The closed → open → half-open → closed cycle both breakers share: a subclass says when the
 * closed state trips (`record`) and forgets its counts (`reset`).
 *
 * @example
 * ```ts
 * import { CycleBreaker } from "@rpcx/core/plugins/breaker";
 * class FirstFailure extends CycleBreaker {
 *   protected record(ok: boolean): boolean { return !ok; }
 *   protected reset(): void {}
 * }
 * const b = new FirstFailure(1000);
 * b.fail();
 * console.log(b.state); // "open"
 * ```
 */
export abstract class CycleBreaker implements Breaker {
  readonly #openFor: number;
  #state: BreakerState = "closed";
  #openedAt = 0;
  #trialOut = false;

  /** A closed breaker that, once open, stays open `openFor` ms before half-open. */
  constructor(openFor: number) {
    if (!(openFor >= 0)) throw new RangeError("breaker: the open time must be >= 0 ms");
    this.#openFor = openFor;
  }

  /** The state now. */
  get state(): BreakerState {
    if (this.#state === "open" && performance.now() - this.#openedAt >= this.#openFor) {
      this.#state = "half-open";
      this.#trialOut = false;
    }
    return this.#state;
  }

  /** Whether a call may go through (closed; or the one trial call of half-open). */
  ready(): boolean {
    const s = this.state;
    if (s === "closed") return true;
    if (s === "open" || this.#trialOut) return false;
    this.#trialOut = true;
    return true;
  }

  /** A call succeeded: closes a half-open breaker. */
  success(): void {
    if (this.#state !== "closed") {
      this.#state = "closed";
      this.reset();
      return;
    }
    this.record(true);
  }

  /** A call failed: opens a half-open breaker; counts towards tripping a closed one. */
  fail(): void {
    if (this.#state !== "closed") return this.#open();
    if (this.record(false)) this.#open();
  }

  #open(): void {
    this.#state = "open";
    this.#openedAt = performance.now();
    this.#trialOut = false;
    this.reset();
  }

  /** Counts one result in the closed state; true to trip. */
  protected abstract record(ok: boolean): boolean;
  /** Forgets the counts. */
  protected abstract reset(): void;
}

/**
 * Opens after `failureThreshold` failures in a row; stays open `openFor` ms, then half-open:
 * one trial call closes it on success or opens it again on failure. Go:
 * `client.NewConsecCircuitBreaker(failureThreshold, window)`.
 *
 * @example
 * ```ts
 * import { ConsecutiveBreaker } from "@rpcx/core/plugins/breaker";
 * const b = new ConsecutiveBreaker(2, 1000);
 * b.fail();
 * b.fail();
 * console.log(b.state, b.ready()); // "open" false
 * ```
 */
export class ConsecutiveBreaker extends CycleBreaker {
  /** Failures in a row that open the breaker. */
  readonly failureThreshold: number;
  #failures = 0;

  /** `openFor` in ms. Throws `RangeError` for a threshold below 1. */
  constructor(failureThreshold: number, openFor: number) {
    super(openFor);
    if (!(failureThreshold >= 1)) throw new RangeError("breaker: failureThreshold must be >= 1");
    this.failureThreshold = failureThreshold;
  }

  /** Counts a result. */
  protected record(ok: boolean): boolean {
    this.#failures = ok ? 0 : this.#failures + 1;
    return this.#failures >= this.failureThreshold;
  }

  /** Forgets the count. */
  protected reset(): void {
    this.#failures = 0;
  }
}

/**
 * Opens when a failure brings the share of failures among the calls of the last `window` ms to
 * `rate` (0–1) or more, once there are at least `minSamples` of them (judged on failures, as
 * `rubyist/circuitbreaker` does); stays open `openFor` ms, then half-open as
 * {@linkcode ConsecutiveBreaker}. Go: `circuit.NewRateBreaker(rate, minSamples)`, Go rpcx's
 * default `CircuitBreaker`.
 *
 * @example
 * ```ts
 * import { RateBreaker } from "@rpcx/core/plugins/breaker";
 * const b = new RateBreaker(0.5, 4, 1000);
 * for (const ok of [true, false, true, false]) ok ? b.success() : b.fail();
 * console.log(b.state); // "open"
 * ```
 */
export class RateBreaker extends CycleBreaker {
  /** Failure share (0–1) that opens the breaker. */
  readonly rate: number;
  /** Calls needed in the window before the rate counts. */
  readonly minSamples: number;
  /** Sliding window in ms. */
  readonly window: number;
  /** Results in the window: [time, ok]. */
  #samples: [number, boolean][] = [];
  #failures = 0;

  /** `openFor` and `window` in ms (window default 10 000). Throws `RangeError` on bad values. */
  constructor(rate: number, minSamples: number, openFor: number, window = 10_000) {
    super(openFor);
    if (!(rate > 0 && rate <= 1)) throw new RangeError("breaker: rate must be in (0, 1]");
    if (!(minSamples >= 1)) throw new RangeError("breaker: minSamples must be >= 1");
    this.rate = rate;
    this.minSamples = minSamples;
    this.window = window;
  }

  /** Counts a result. */
  protected record(ok: boolean): boolean {
    const now = performance.now();
    this.#samples.push([now, ok]);
    if (!ok) this.#failures++;
    let drop = 0;
    while (drop < this.#samples.length && now - this.#samples[drop][0] > this.window) {
      if (!this.#samples[drop][1]) this.#failures--;
      drop++;
    }
    if (drop > 0) this.#samples.splice(0, drop);
    const n = this.#samples.length;
    return n >= this.minSamples && this.#failures / n >= this.rate;
  }

  /** Forgets the window. */
  protected reset(): void {
    this.#samples = [];
    this.#failures = 0;
  }
}

/**
 * Options of {@linkcode breakerPlugin}.
 *
 * @example
 * ```ts
 * import { Client, Server } from "@rpcx/core";
 * import {
 *   BreakerOpenError,
 *   breakerPlugin,
 *   type BreakerPluginOptions,
 *   ConsecutiveBreaker,
 * } from "@rpcx/core/plugins/breaker";
 * // Count every error, service errors included, as a failure of the server.
 * const options: BreakerPluginOptions = { isFailure: (e) => e !== undefined };
 * const server = new Server();
 * await server.register({ Fail: () => Promise.reject(new Error("down")) }, "Svc");
 * const client = new Client(`tcp@${await server.serve("tcp", "127.0.0.1:0")}`, {
 *   plugins: [breakerPlugin(() => new ConsecutiveBreaker(2, 5000), options)],
 * });
 * for (let i = 0; i < 3; i++) {
 *   const e = await client.call("Svc", "Fail", null).catch((e) => e);
 *   console.log(e instanceof BreakerOpenError); // false, false, then true: two failures opened it
 * }
 * await client.close();
 * await server.close();
 * ```
 */
export interface BreakerPluginOptions {
  /**
   * Which call errors count as failures of the server (default: transport errors and
   * timeouts; a service error is an answer, so a success).
   */
  isFailure?: (error: unknown) => boolean;
}

function defaultIsFailure(e: unknown): boolean {
  return e instanceof ConnectionError || e instanceof CallTimeoutError;
}

/**
 * A client plugin keeping one breaker per server (made by `genBreaker` on first use): a call to
 * a server whose breaker is not `ready` fails with {@linkcode BreakerOpenError} before anything
 * is sent; every other call's outcome is reported to the breaker. With an XClient, Failover
 * and Failtry count the refusal as a transport error (Failover moves on to another server).
 * Go: client `Option.GenBreaker`.
 *
 * @example
 * ```ts
 * import { Client } from "@rpcx/core";
 * import { breakerPlugin, RateBreaker } from "@rpcx/core/plugins/breaker";
 * const client = new Client("tcp@127.0.0.1:8972", {
 *   plugins: [breakerPlugin(() => new RateBreaker(0.95, 100, 5000))],
 * });
 * await client.close();
 * ```
 */
export function breakerPlugin(
  genBreaker: () => Breaker,
  options: BreakerPluginOptions = {},
): ClientPlugin & { breaker(address: string): Breaker | undefined } {
  const breakers = new Map<string, Breaker>();
  const isFailure = options.isFailure ?? defaultIsFailure;
  const passed = new WeakSet<object>();
  return {
    name: "breaker",
    breaker: (address) => breakers.get(address),
    preCall(call) {
      let b = breakers.get(call.address);
      if (!b) breakers.set(call.address, b = genBreaker());
      if (!b.ready()) throw new BreakerOpenError();
      passed.add(call);
    },
    postCall(call, _reply, error) {
      if (!passed.delete(call)) return;
      const b = breakers.get(call.address);
      if (!b) return;
      if (error !== undefined && isFailure(error)) b.fail();
      else b.success();
    },
  };
}

/**
 * Which endpoints of a registry answer: {@linkcode EndpointHealth}, shared by the etcd,
 * ZooKeeper and Consul clients so that one dead endpoint in a list costs a bounded dial once,
 * not a request deadline (or a hung stream) each time it is picked.
 *
 * An endpoint that drops SYNs (a dead host, a firewall that DROPs) makes a connect hang until
 * the kernel gives up, about two minutes; refusing ones fail at once. Go's clients steer away
 * from both: clientv3's balancer only uses connected endpoints, go-zookeeper dials each server
 * with a 1 s timeout. Here every endpoint is dialled (TCP connect, closed at once) when the
 * client is made, with a deadline; the clients send only to endpoints that answered, and one
 * that failed (its dial, or a request on it failing for want of a connection) is avoided and
 * dialled again in the background every `retryMs` until it answers. No dial outlives `close()`.
 * A list of one endpoint has nothing to choose from: it is neither dialled nor avoided.
 *
 * @module
 */
import { connect } from "node:net";
import { runtime } from "../runtime/mod.ts";
import { deadline, sleep } from "../_internal/async.ts";

/** Why a dial ended when it was stopped (reportDown, close). */
const ABORTED = Symbol("aborted");

/** State of one endpoint: not dialled yet, answered, or failed (avoided). */
export type EndpointState = "unknown" | "up" | "down";

/** Timings of {@linkcode EndpointHealth}, ms. */
export interface EndpointHealthOptions {
  /** Bound of one dial of an endpoint: no connection by then counts as unreachable. */
  dialTimeout: number;
  /** How long an endpoint that failed is avoided before it is dialled again. */
  retryMs: number;
  /** Port of an endpoint that names none. */
  defaultPort: number;
}

interface Entry {
  readonly endpoint: string;
  /** Where to dial; undefined: not a TCP address (e.g. a unix socket), taken as up. */
  readonly address: { hostname: string; port: number } | undefined;
  state: EndpointState;
  /** Why it is down. */
  reason: string;
  /** The dial in flight, and how to stop it. */
  dial: Promise<void> | undefined;
  abort: { abort(): void } | undefined;
  /** When the last dial started (performance.now()). */
  dialledAt: number;
  /** The next background dial of a down endpoint. */
  retry: ReturnType<typeof setTimeout> | undefined;
}

/** Host and port of `host:port`, `[v6]:port` or a URL (`http://host:port/...`). */
export function parseEndpoint(
  endpoint: string,
  defaultPort: number,
): { hostname: string; port: number } | undefined {
  let s = endpoint.trim();
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(s);
  if (scheme) {
    if (!/^(https?|grpcs?|tcp|dns)$/i.test(scheme[1])) return undefined;
    s = s.slice(scheme[0].length);
  } else if (/^unix:/i.test(s)) return undefined;
  s = s.replace(/\/.*$/, "");
  const m = /^(?:\[([^\]]+)\]|([^:\[\]]+))(?::(\d+))?$/.exec(s);
  if (!m) return undefined;
  const port = m[3] ? Number(m[3]) : defaultPort;
  if (!(port > 0 && port < 65536)) return undefined;
  return { hostname: m[1] ?? m[2], port };
}

/** The message of an error, or the value as text. */
function text(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/**
 * Tracks which endpoints of one client answer (see the module doc). Every method is cheap and
 * synchronous except the waits, which are bounded.
 */
export class EndpointHealth {
  /** The endpoints, in the order given. */
  readonly endpoints: readonly string[];
  readonly #entries = new Map<string, Entry>();
  readonly #options: EndpointHealthOptions;
  readonly #wakers = new Set<() => void>();
  #closed = false;

  /** Starts dialling every endpoint at once. */
  constructor(endpoints: readonly string[], options: EndpointHealthOptions) {
    this.endpoints = [...endpoints];
    this.#options = options;
    // With one endpoint there is nothing to choose: it is neither dialled nor ever avoided.
    const choice = new Set(this.endpoints).size > 1;
    for (const endpoint of this.endpoints) {
      if (this.#entries.has(endpoint)) continue;
      const address = choice ? parseEndpoint(endpoint, options.defaultPort) : undefined;
      const entry: Entry = {
        endpoint,
        address,
        state: address ? "unknown" : "up",
        reason: "",
        dial: undefined,
        abort: undefined,
        dialledAt: -Infinity,
        retry: undefined,
      };
      this.#entries.set(endpoint, entry);
      if (address) this.#dial(entry);
    }
  }

  /** The bound of one dial, ms. */
  get dialTimeout(): number {
    return this.#options.dialTimeout;
  }

  /** The state of `endpoint` ("up" for one this tracker does not know). */
  state(endpoint: string): EndpointState {
    return this.#entries.get(endpoint)?.state ?? "up";
  }

  /** Whether `endpoint` answered and has not failed since. */
  isUp(endpoint: string): boolean {
    return this.state(endpoint) === "up";
  }

  /** Whether any endpoint (other than `except`) is up. */
  anyUp(except?: string): boolean {
    for (const e of this.#entries.values()) {
      if (e.state === "up" && e.endpoint !== except) return true;
    }
    return false;
  }

  /** The endpoints by preference: up ones first, then not yet known, then down; else as given. */
  ordered(): string[] {
    const rank = (s: EndpointState) => (s === "up" ? 0 : s === "unknown" ? 1 : 2);
    return this.endpoints
      .map((endpoint, i) => ({ endpoint, i, r: rank(this.state(endpoint)) }))
      .sort((a, b) => a.r - b.r || a.i - b.i)
      .map((x) => x.endpoint);
  }

  /** The first endpoint by preference, {@linkcode EndpointHealth.ordered}. */
  preferred(): string {
    return this.ordered()[0];
  }

  /** A request on `endpoint` was answered. */
  reportUp(endpoint: string): void {
    const e = this.#entries.get(endpoint);
    if (!e || e.state === "up" || this.#closed) return;
    this.#set(e, "up", "");
  }

  /**
   * `endpoint` failed for want of a connection (refused, no answer within the dial bound,
   * connection lost): avoid it for `retryMs`, then dial it again.
   */
  reportDown(endpoint: string, reason: string): void {
    const e = this.#entries.get(endpoint);
    if (!e || !e.address || this.#closed) return;
    e.abort?.abort();
    this.#set(e, "down", reason);
  }

  /**
   * Waits (at most `ms`) until some endpoint is up or none is still being dialled for the
   * first time: what a first request needs to pick well.
   */
  whenKnown(ms: number): Promise<void> {
    return this.#waitFor(
      () => this.anyUp() || ![...this.#entries.values()].some((e) => e.state === "unknown"),
      ms,
    );
  }

  /**
   * When no endpoint is up: dials the others again now (each at most every 250 ms) and waits
   * (at most `ms`) until one answers or every dial ended.
   */
  async refresh(ms: number): Promise<void> {
    if (this.#closed || this.anyUp()) return;
    const now = performance.now();
    for (const e of this.#entries.values()) {
      if (e.address && !e.dial && now - e.dialledAt >= 250) this.#dial(e);
    }
    await this.#waitFor(
      () => this.anyUp() || ![...this.#entries.values()].some((e) => e.dial !== undefined),
      ms,
    );
  }

  /**
   * Runs `fn` on an endpoint that answers (the first by preference); when it fails for want of
   * a connection (`isTransportFailure`), marks that endpoint down and runs it on the next one
   * that answers. When none answers, every endpoint is dialled again first (bounded, once).
   * Throws `fn`'s other errors as they are, the last transport failure, or `none(describe())`
   * when no endpoint could be tried at all.
   */
  async failover<T>(
    fn: (endpoint: string) => Promise<T>,
    isTransportFailure: (e: unknown) => boolean,
    none: (endpoints: string) => Error,
  ): Promise<T> {
    await this.whenKnown(this.#options.dialTimeout);
    const tried = new Set<string>();
    let last: unknown;
    let failed = false;
    let refreshed = false;
    for (;;) {
      if (this.#closed) throw none("client closed");
      const next = () => this.ordered().find((e) => !tried.has(e) && this.isUp(e));
      let endpoint = next();
      if (endpoint === undefined && !refreshed && !this.anyUp()) {
        refreshed = true;
        await this.refresh(this.#options.dialTimeout);
        if (this.#closed) throw none("client closed");
        endpoint = next();
      }
      if (endpoint === undefined) {
        if (failed) throw last;
        throw none(this.describe());
      }
      tried.add(endpoint);
      try {
        return await fn(endpoint);
      } catch (e) {
        if (this.#closed || !isTransportFailure(e)) throw e;
        failed = true;
        last = e;
        this.reportDown(endpoint, text(e));
      }
    }
  }

  /** Each endpoint with its state, for error messages: `a:1 (up), b:2 (down: refused)`. */
  describe(): string {
    return [...this.#entries.values()]
      .map((e) =>
        `${e.endpoint} (${e.state}${e.state === "down" && e.reason ? `: ${e.reason}` : ""})`
      )
      .join(", ");
  }

  /** Stops every dial and timer. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const e of this.#entries.values()) {
      e.abort?.abort();
      if (e.retry !== undefined) clearTimeout(e.retry);
      e.retry = undefined;
    }
    this.#wake();
  }

  #set(e: Entry, state: EndpointState, reason: string): void {
    e.state = state;
    e.reason = reason;
    if (e.retry !== undefined) clearTimeout(e.retry);
    e.retry = undefined;
    if (state === "down" && !this.#closed) {
      e.retry = setTimeout(() => {
        e.retry = undefined;
        this.#dial(e);
      }, this.#options.retryMs);
      // an open client that was never closed must not keep the process alive
      runtime().timers.unref(e.retry);
    }
    this.#wake();
  }

  #dial(e: Entry): void {
    if (this.#closed || e.dial || !e.address) return;
    const ms = this.#options.dialTimeout;
    const { hostname, port } = e.address;
    e.dialledAt = performance.now();
    // node:net on every runtime; destroying a socket still connecting ends the connect
    const socket = connect({ host: hostname, port });
    socket.on("error", () => {}); // what the attempt does not take, and anything after destroy()
    let ended = false;
    const end = (why: unknown) => {
      if (ended) return;
      ended = true;
      socket.destroy();
      if (e.abort === stop) {
        e.abort = undefined;
        e.dial = undefined;
      }
      if (why === ABORTED || this.#closed) return this.#wake();
      const failure = why === undefined || typeof why === "string"
        ? why
        : (why as Error)?.message || String(why);
      this.#set(e, failure === undefined ? "up" : "down", failure ?? "");
    };
    // Stopped (reportDown, close): ended at once, the attempt's timer cleared.
    const stopped = new AbortController();
    const stop = {
      abort: () => {
        stopped.abort();
        end(ABORTED);
      },
    };
    e.abort = stop;
    const connected = new Promise<void>((resolve, reject) => {
      socket.once("connect", () => resolve());
      socket.once("error", reject);
    });
    e.dial = deadline(connected, ms, {
      signal: stopped.signal,
      onTimeout: () => `no connection within ${ms} ms`,
    }).then(() => end(undefined), end);
  }

  #wake(): void {
    for (const w of [...this.#wakers]) w();
  }

  async #waitFor(done: () => boolean, ms: number): Promise<void> {
    const end = performance.now() + ms;
    while (!this.#closed && !done()) {
      const left = end - performance.now();
      if (left <= 0) return;
      // Until the time is up or any endpoint's state changes.
      const changed = new AbortController();
      const wake = () => changed.abort();
      this.#wakers.add(wake);
      await sleep(left, changed.signal);
      this.#wakers.delete(wake);
    }
  }
}

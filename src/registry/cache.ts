/**
 * {@linkcode CacheDiscovery}: any discovery, with its last good list kept in a file so that a
 * client started while the registry is down still finds its servers (Go rpcx's
 * `client.CacheDiscovery`).
 *
 * @module
 */
import { readFile, stat, utimes } from "node:fs/promises";
import { logger } from "../log/logger.ts";
import { RegistryError } from "./errors.ts";
import {
  BaseDiscovery,
  type KVPair,
  type RegistryOutageEvent,
  type ServiceDiscovery,
} from "./discovery.ts";
import {
  decodeCacheFile,
  encodeCacheFile,
  MAX_FILE_BYTES,
  sameList,
  writeAtomically,
} from "./_cache_file.ts";

/**
 * An event listener as this runtime's `EventTarget` types it (DOM's `EventListener` under Deno's
 * types, @types/node's own under Node's), so both type checks accept it.
 */
type Listener = NonNullable<Parameters<EventTarget["addEventListener"]>[1]>;

/** Go's default file, relative to the working directory. */
const DEFAULT_FILE = ".cache/discovery.json";

/**
 * Options of {@linkcode CacheDiscovery}. Durations in milliseconds.
 *
 * @example
 * ```ts
 * import type { CacheDiscoveryOptions } from "@rpcx/core";
 * const o: CacheDiscoveryOptions = { fallbackAfterMs: 500, maxAgeMs: 7 * 24 * 3600_000 };
 * console.log(o.fallbackAfterMs);
 * ```
 */
export interface CacheDiscoveryOptions {
  /**
   * How long to wait for the wrapped discovery's first list before serving the file's; default
   * 1000. An `"outage"` of the wrapped discovery before its first list serves the file at once.
   */
  fallbackAfterMs?: number;
  /**
   * A file whose list was last confirmed by the registry longer ago than this is not used
   * (`"cacheerror"`, problem `"stale"`); default: no limit, as Go. The age is the file's
   * modification time, which the discovery renews every `maxAgeMs / 4` (at least every 100 ms,
   * at most every hour) while the wrapped discovery is answering, and at its first list.
   */
  maxAgeMs?: number;
}

/** Why a cache file was not used or not written. */
export type CacheFileProblem = "corrupt" | "stale" | "read" | "write";

/**
 * A cache file of {@linkcode CacheDiscovery} that could not be used (`"corrupt"`: not Go's JSON
 * list of `{"Key","Value"}` or over 16 MiB; `"stale"`: older than `maxAgeMs`; `"read"`: it
 * exists but cannot be read) or written (`"write"`). Sent in a `"cacheerror"` event
 * ({@linkcode CacheFileErrorEvent}) and logged as a warning; never thrown into calls.
 *
 * @example
 * ```ts
 * import { CacheFileError } from "@rpcx/core";
 * const e = new CacheFileError("corrupt", ".cache/discovery.json", "not a JSON list");
 * console.log(e.message); // cache file .cache/discovery.json: corrupt: not a JSON list
 * ```
 */
export class CacheFileError extends RegistryError {
  /** What went wrong. */
  readonly problem: CacheFileProblem;
  /** The file. */
  readonly path: string;
  /** Creates the error; `cause` is the file system's or the parser's error, if any. */
  constructor(problem: CacheFileProblem, path: string, detail: string, options?: ErrorOptions) {
    super(`cache file ${path}: ${problem}: ${detail}`, {
      ...options,
      registry: "cache",
      operation: problem === "write" ? "write" : "read",
    });
    this.problem = problem;
    this.path = path;
  }
}

/**
 * Sent as `"cacheerror"` by {@linkcode CacheDiscovery} when its file cannot be used or
 * written; the discovery goes on (without the file's list, or without updating the file).
 *
 * @example
 * ```ts
 * import { CacheDiscovery, CacheFileErrorEvent, MultipleServersDiscovery } from "@rpcx/core";
 * const servers = new MultipleServersDiscovery([{ key: "tcp@127.0.0.1:8972", value: "" }]);
 * const d = new CacheDiscovery(0, "/proc/rpcx-cannot-write-here.json", servers);
 * d.addEventListener("cacheerror", (e) => console.log((e as CacheFileErrorEvent).error.problem));
 * await d.ready();
 * await d.flushed(); // "write"
 * await d.close();
 * ```
 */
export class CacheFileErrorEvent extends Event {
  /** What went wrong. */
  readonly error: CacheFileError;
  /** Creates the event. */
  constructor(error: CacheFileError) {
    super("cacheerror");
    this.error = error;
  }
}

/**
 * Wraps any discovery and keeps its last good list in a file, so that a client started while
 * the registry is down serves from it: Go rpcx's
 * `client.CacheDiscovery(threshold, cachedFile, discovery)`, the same file format (Go's
 * `json.Marshal` of `[]*KVPair`: `[{"Key":"tcp@10.0.0.5:8972","Value":"weight=10\u0026group=a"}]`,
 * byte for byte, so Go and TypeScript clients may share one file).
 *
 * - A list of more than `threshold` servers from the wrapped discovery is served as is and, when
 *   it differs from the cached one, becomes the cached list and is written to the file (Go
 *   writes only lists longer than the cached one; ours follows every change, shrinking too).
 *   The file is written atomically (a temp file in the same directory, then renamed), mode
 *   0644, its directory created when missing.
 * - A list of `threshold` servers or fewer (a registry that lost its keys, an empty answer) is
 *   not trusted: the cached list is served instead, while there is one (Go's `GetServices`;
 *   ours applies it to every update too, where Go passes short lists on to its watchers).
 * - At start the file is read; when the wrapped discovery has no list after `fallbackAfterMs`
 *   (default 1000), or reports an `"outage"` before its first list, the file's list is served
 *   (`fromCache` is then true), and replaced as soon as the registry answers.
 * - A missing or empty file: no cache, nothing reported. A file that is not Go's JSON list,
 *   larger than 16 MiB, unreadable, or older than `maxAgeMs` (default: no limit, as Go) is not
 *   used: `"cacheerror"` ({@linkcode CacheFileErrorEvent}, problem `"corrupt"`, `"read"`,
 *   `"stale"`) and a logged warning; the discovery starts empty and overwrites the file with the
 *   next good list. A file that cannot be written (`"write"`) changes nothing else: the list is
 *   served and cached in memory, and the write is tried again at the next change.
 *
 * `"outage"` and `"recovered"` of the wrapped discovery are sent on as this one's. `close()`
 * closes the wrapped discovery too. Permissions: `--allow-read` and `--allow-write` of the file's
 * directory.
 *
 * @example
 * ```ts
 * import { CacheDiscovery, FailMode, SelectMode, XClient } from "@rpcx/core";
 * import { EtcdDiscovery } from "@rpcx/core/etcd";
 *
 * const d = new CacheDiscovery(
 *   0, // a registry list of 0 servers is replaced by the cached one
 *   "/var/cache/myapp/arith.json",
 *   new EtcdDiscovery("/rpcx_test", "Arith", ["127.0.0.1:2379"]),
 * );
 * const xclient = new XClient("Arith", FailMode.Failover, SelectMode.RoundRobin, d);
 * console.log(await xclient.call("Mul", { A: 10, B: 20 })); // served even while etcd is down
 * await xclient.close();
 * await d.close();
 * ```
 *
 * @throws {TypeError} a `threshold` that is not a non-negative integer, or a negative
 * `fallbackAfterMs` / `maxAgeMs`.
 */
export class CacheDiscovery extends BaseDiscovery {
  /** Lists of this many servers or fewer are replaced by the cached one. */
  readonly threshold: number;
  /** The cache file. */
  readonly file: string;
  /** The wrapped discovery. */
  readonly discovery: ServiceDiscovery;
  readonly #options: CacheDiscoveryOptions;
  /** The cached list (from the file, then from the registry), raw (no filter). */
  #cached: KVPair[] = [];
  /** The list the file holds (after a successful write). */
  #written: KVPair[] | undefined;
  /** The list last handed to the writer (undefined after a failed write: tried again). */
  #queued: KVPair[] | undefined;
  #fromCache = false;
  #innerListed = false;
  #fileRead: Promise<void>;
  #fileDone = false; // `#fileRead` has settled
  #fallbackTimer: ReturnType<typeof setTimeout> | undefined;
  #touchTimer: ReturnType<typeof setInterval> | undefined;
  #pendingWrite: KVPair[] | undefined;
  #pendingTouch = false;
  #writing: Promise<void> | undefined;
  readonly #unwatch: () => void;
  readonly #onOutage: Listener = (e) => {
    const o = e as RegistryOutageEvent;
    // The file's list first when it has been read, so a client waiting for the first list
    // takes it rather than failing at the outage.
    if (!this.#innerListed && this.#fileDone) this.#fallback();
    this.reportOutage(o.error, o.attempt, o.retryInMs);
    if (!this.#innerListed) void this.#fileRead.then(() => this.#fallback());
  };
  readonly #onRecovered: Listener = () => this.reportRecovered();

  /** Reads `file` (Go's default `.cache/discovery.json` when empty) and follows `discovery`. */
  constructor(
    threshold: number,
    file: string,
    discovery: ServiceDiscovery,
    options: CacheDiscoveryOptions = {},
  ) {
    super();
    if (!Number.isInteger(threshold) || threshold < 0) {
      throw new TypeError(`CacheDiscovery: threshold ${threshold} is not an integer >= 0`);
    }
    for (const [name, v] of Object.entries(options)) {
      if (v !== undefined && !(typeof v === "number" && v >= 0)) {
        throw new TypeError(`CacheDiscovery: ${name} ${v} is not a number of ms >= 0`);
      }
    }
    this.threshold = threshold;
    this.file = file || DEFAULT_FILE;
    this.discovery = discovery;
    this.#options = options;
    this.#fileRead = this.#readFile().finally(() => (this.#fileDone = true));
    this.#unwatch = discovery.watch((pairs) => this.#fromRegistry(pairs));
    discovery.addEventListener("outage", this.#onOutage);
    discovery.addEventListener("recovered", this.#onRecovered);
    discovery.ready().then(() => this.#fromRegistry(discovery.getServices()), () => {});
    this.#fallbackTimer = setTimeout(() => {
      this.#fallbackTimer = undefined;
      void this.#fileRead.then(() => this.#fallback());
    }, options.fallbackAfterMs ?? 1000);
    if (options.maxAgeMs !== undefined) {
      const every = Math.min(Math.max(100, Math.floor(options.maxAgeMs / 4)), 3_600_000);
      this.#touchTimer = setInterval(() => this.#touch(), every);
    }
  }

  /** While the file is being read before any list: its list may still be served. */
  override get listPending(): boolean {
    return !this.#fileDone && !this.#innerListed;
  }

  /** Whether the list served now is the cached one rather than the registry's. */
  get fromCache(): boolean {
    return this.#fromCache;
  }

  /** The cached list (what the file holds once written), without the filter. */
  get cached(): KVPair[] {
    return this.#cached.map((p) => ({ ...p }));
  }

  /**
   * The same cache over `discovery.clone(servicePath)`, in its own file: the service path,
   * URI-encoded, goes before the file's extension (`.cache/discovery.json` →
   * `.cache/discovery.Echo.json`).
   */
  clone(servicePath: string): ServiceDiscovery {
    const slash = this.file.lastIndexOf("/");
    const dot = this.file.lastIndexOf(".");
    const name = encodeURIComponent(servicePath);
    const file = dot > slash + 1
      ? `${this.file.slice(0, dot)}.${name}${this.file.slice(dot)}`
      : `${this.file}.${name}`;
    return new CacheDiscovery(
      this.threshold,
      file,
      this.discovery.clone(servicePath),
      this.#options,
    );
  }

  /** Resolves when the file holds the latest cached list (or its write failed). */
  async flushed(): Promise<void> {
    await this.#fileRead;
    while (this.#writing) await this.#writing;
  }

  /** Stops following, closes the wrapped discovery, and waits for a write under way. */
  override async close(): Promise<void> {
    if (this.closed) return;
    await super.close();
    clearTimeout(this.#fallbackTimer);
    clearInterval(this.#touchTimer);
    this.#unwatch();
    this.discovery.removeEventListener("outage", this.#onOutage);
    this.discovery.removeEventListener("recovered", this.#onRecovered);
    await this.discovery.close();
    await this.flushed();
  }

  /** A list from the wrapped discovery (once the file has been read). */
  #fromRegistry(pairs: KVPair[]): void {
    void this.#fileRead.then(() => {
      if (this.closed) return;
      this.#innerListed = true;
      clearTimeout(this.#fallbackTimer);
      if (pairs.length > this.threshold) {
        this.#fromCache = false;
        this.publish(pairs);
        if (!sameList(pairs, this.#cached)) {
          this.#cached = pairs.map((p) => ({ key: p.key, value: p.value }));
        }
        this.#write();
      } else if (this.#cached.length > 0) {
        this.#fromCache = true;
        this.publish(this.#cached);
      } else {
        this.#fromCache = false;
        this.publish(pairs);
      }
    });
  }

  /** The registry has given nothing yet: serve the file's list, if there is one. */
  #fallback(): void {
    if (this.closed || this.#innerListed || this.#cached.length === 0) return;
    this.#fromCache = true;
    this.publish(this.#cached);
  }

  #problem(problem: CacheFileProblem, detail: string, cause?: unknown): void {
    const error = new CacheFileError(problem, this.file, detail, { cause });
    const what = problem === "write" ? "not written" : "not used";
    logger().warn(`rpcx: discovery cache file ${what}`, { error });
    this.dispatchEvent(new CacheFileErrorEvent(error));
  }

  async #readFile(): Promise<void> {
    let mtimeMs: number;
    let text: string;
    try {
      const info = await stat(this.file);
      if (!info.isFile()) return this.#problem("read", "not a regular file");
      if (info.size > MAX_FILE_BYTES) {
        return this.#problem("corrupt", `${info.size} bytes, over ${MAX_FILE_BYTES}`);
      }
      mtimeMs = info.mtimeMs;
      text = await readFile(this.file, "utf8");
    } catch (e) {
      if ((e as { code?: unknown })?.code === "ENOENT") return; // first run
      return this.#problem("read", e instanceof Error ? e.message : String(e), e);
    }
    const maxAge = this.#options.maxAgeMs;
    const age = Date.now() - mtimeMs;
    if (maxAge !== undefined && age > maxAge) {
      return this.#problem("stale", `written ${age} ms ago, over maxAgeMs ${maxAge}`);
    }
    let pairs: KVPair[];
    try {
      pairs = decodeCacheFile(text);
    } catch (e) {
      return this.#problem("corrupt", (e as Error).message, e);
    }
    // not marked as written: the registry's first list rewrites it (its age starts again)
    this.#cached = pairs;
  }

  /** The registry answers and the file holds its list: renew the file's modification time. */
  #touch(): void {
    if (this.closed || !this.#innerListed || this.inOutage || !this.#written) return;
    this.#pendingTouch = true;
    this.#kickWriter();
  }

  /** Writes the cached list when the file does not hold it yet. */
  #write(): void {
    if (this.#queued && sameList(this.#queued, this.#cached)) return;
    this.#queued = this.#cached;
    this.#pendingWrite = this.#cached;
    this.#kickWriter();
  }

  /** One file operation at a time: the latest list to write, else a touch. */
  #kickWriter(): void {
    this.#writing ??= (async () => {
      try {
        while (this.#pendingWrite || this.#pendingTouch) {
          const pairs = this.#pendingWrite;
          this.#pendingWrite = undefined;
          this.#pendingTouch = false;
          try {
            if (pairs) {
              await writeAtomically(this.file, encodeCacheFile(pairs));
              this.#written = pairs;
            } else {
              const now = new Date();
              await utimes(this.file, now, now);
            }
          } catch (e) {
            if (pairs) this.#queued = undefined;
            if (!pairs && (e as { code?: unknown })?.code === "ENOENT") {
              this.#pendingWrite = this.#cached; // removed meanwhile: write it again
            } else {
              this.#problem("write", e instanceof Error ? e.message : String(e), e);
            }
          }
        }
      } finally {
        this.#writing = undefined;
      }
    })();
  }
}

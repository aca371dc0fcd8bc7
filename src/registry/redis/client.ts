/**
 * The Redis client as both halves use it (the `ioredis` package with rpcx's settings), and
 * libkv's Redis layout: key normalization, the JSON value, TTLs, listing and the keyspace
 * notifications it watches. Internal: the public API (options.ts) names no ioredis type.
 *
 * @module
 */
import { Redis, type RedisOptions } from "ioredis";
import { Buffer } from "node:buffer";
import { type RedisClientOptions, RedisError } from "./options.ts";
import { goJsonString } from "../../_internal/go/json.ts";

/** Where one Redis server is. */
interface Endpoint {
  host: string;
  port: number;
  tls: boolean;
}

/** Parses `host:port`, `[v6]:port`, `redis://host:port` or `rediss://host:port` (TLS). */
export function parseEndpoint(s: string): Endpoint {
  const m = /^(?:(rediss?):\/\/)?(?:\[([^\]]+)\]|([^:/\[\]]+))(?::(\d+))?\/?$/i.exec(s.trim());
  if (!m) throw new TypeError(`redis: server: cannot parse ${JSON.stringify(s)} (want host:port)`);
  const port = m[4] === undefined ? 6379 : Number(m[4]);
  if (!(port > 0 && port < 65536)) throw new RangeError(`redis: server: bad port in ${s}`);
  return { host: m[2] ?? m[3], port, tls: m[1]?.toLowerCase() === "rediss" };
}

/** libkv's `store.Normalize`: the Redis key of a path is `/` + the path as given. */
export function normalizeKey(path: string): string {
  return `/${path}`;
}

/** `path` without trailing slashes (a lone `/` stays). */
export function trimPath(path: string): string {
  return path.length > 1 ? path.replace(/\/+$/, "") || "/" : path;
}

/** Escapes the glob characters of Redis `SCAN MATCH` / `PSUBSCRIBE` patterns. */
export function escapeGlob(s: string): string {
  return s.replace(/[*?[\]\\]/g, (c) => `\\${c}`);
}

/** Go's `time.Now().Nanosecond()`: what libkv puts in `LastIndex`. */
function nanosecondOfSecond(): number {
  const frac = performance.now() % 1;
  return (Date.now() % 1000) * 1_000_000 + Math.floor(frac * 1_000_000);
}

/**
 * The value libkv stores at a key: JSON of Go's `store.KVPair`, `{"Key":path,"Value":base64 of
 * the bytes,"LastIndex":n}`, field order and escaping as Go's `json.Marshal`.
 */
export function encodeValue(path: string, value: string): string {
  const b64 = Buffer.from(value, "utf8").toString("base64");
  return `{"Key":${goJsonString(path)},"Value":"${b64}","LastIndex":${nanosecondOfSecond()}}`;
}

/** The value of libkv's JSON, or undefined when `raw` is not libkv's JSON. */
export function decodeValue(raw: string): string | undefined {
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch {
    return undefined;
  }
  if (typeof v !== "object" || v === null || Array.isArray(v)) return undefined;
  const value = (v as { Value?: unknown }).Value;
  if (value === null || value === undefined) return "";
  if (typeof value !== "string" || !/^[A-Za-z0-9+/]*={0,2}$/.test(value)) return undefined;
  if (value.length % 4 !== 0) return undefined;
  return Buffer.from(value, "base64").toString("utf8");
}

/**
 * The TTL arguments of `SET` as go-redis writes them for libkv: `EX seconds` for a whole
 * number of seconds, else `PX ms`; none for 0 (no expiry).
 */
export function ttlArgs(ms: number): ["EX" | "PX", number] | [] {
  if (!(ms > 0)) return [];
  const whole = Math.ceil(ms);
  return whole % 1000 === 0 ? ["EX", whole / 1000] : ["PX", whole];
}

/** Redis's error code of a reply error (`NOPERM`, `ERR`, ...), else undefined. */
function replyCode(e: unknown): string | undefined {
  const err = e as { name?: string; message?: string };
  if (err?.name !== "ReplyError" || typeof err.message !== "string") return undefined;
  return /^([A-Z]+)\b/.exec(err.message)?.[1] ?? "ERR";
}

/** The last connection error of each client (its `error` events), for messages. */
const lastErrors = new WeakMap<Redis, Error>();

/**
 * Why `client` is not connected: the last connection error it reported (a refused AUTH, a
 * failed TLS handshake, a refused TCP connect), if any.
 */
function lastError(client: Redis | undefined): Error | undefined {
  return client ? lastErrors.get(client) : undefined;
}

/**
 * Runs a Redis command; any failure becomes a {@linkcode RedisError}. A bare "connection is
 * closed" is completed with the client's last connection error (e.g. `WRONGPASS ...` or a TLS
 * certificate error), which ioredis reports only as an event.
 */
export async function command<T>(
  operation: string,
  run: () => Promise<T>,
  client?: Redis,
): Promise<T> {
  try {
    return await run();
  } catch (e) {
    if (e instanceof RedisError) throw e;
    let msg = e instanceof Error ? e.message : String(e);
    // ioredis's words for a command whose connection dropped before the reply (no retries)
    if (/max retries per request/i.test(msg)) msg = "connection lost before the reply";
    else if (/stream isn't writeable/i.test(msg)) msg = "not connected";
    let reply = replyCode(e);
    const last = lastError(client);
    if (reply === undefined && last && last !== e && /closed|connected|lost/i.test(msg)) {
      msg = `${last.message} (${msg})`;
      reply = replyCode(last);
    }
    throw new RedisError(operation, msg, reply, { cause: e });
  }
}

/**
 * Whether Redis refused a command to this user or this server (`NOPERM`, or an `ERR` such as
 * an unknown or renamed command), as opposed to failing (not reachable, not authenticated,
 * loading).
 */
export function isRefusal(e: unknown): boolean {
  return e instanceof RedisError && (e.reply === "NOPERM" || e.reply === "ERR");
}

/**
 * An `ioredis` client for the one server in `servers` with our timeouts: it connects only when
 * {@linkcode connectClient} asks, commands fail at once while disconnected (nothing is queued
 * for later), and it reconnects in the background (100 ms doubling to 1 s).
 */
export function createClient(servers: string[], options: RedisClientOptions): Redis {
  if (servers.length === 0) throw new TypeError("redis: server: no servers given");
  // Go's libkv: ErrMultipleEndpointsUnsupported
  if (servers.length > 1) {
    throw new TypeError("redis: server: does not support multiple endpoints");
  }
  const ep = parseEndpoint(servers[0]);
  const timeout = options.dialTimeout ?? 5000;
  const db = options.db ?? 0;
  if (!Number.isInteger(db) || db < 0) throw new RangeError(`redis: db: bad database index ${db}`);
  const t = options.tls;
  const text = (v: string | Uint8Array | undefined) =>
    v === undefined ? undefined : typeof v === "string" ? v : new TextDecoder().decode(v);
  const tls = t || ep.tls
    ? {
      ca: text(t?.ca),
      cert: text(t?.cert),
      key: text(t?.key),
      servername: t?.servername,
    }
    : undefined;
  if (tls) {
    for (const k of Object.keys(tls) as (keyof typeof tls)[]) {
      if (tls[k] === undefined) delete tls[k];
    }
  }
  const client = new Redis({
    host: ep.host,
    port: ep.port,
    username: options.username,
    password: options.password,
    db,
    tls,
    lazyConnect: true,
    connectTimeout: timeout,
    commandTimeout: timeout,
    enableOfflineQueue: false,
    // a failed command fails; the caller (refresh, re-list) retries on its own schedule
    maxRetriesPerRequest: 0,
    retryStrategy: (times: number) => Math.min(100 * 2 ** Math.min(times - 1, 10), 1000),
    // the handshake is AUTH and SELECT only, as go-redis v8 does: no INFO ready check (an ACL
    // user without INFO would get a console warning), no CLIENT SETINFO
    enableReadyCheck: false,
    disableClientInfo: true,
    autoResubscribe: false,
    protocol: 2,
    maintNotifications: "disabled",
    ...options.redisOptions,
  } as RedisOptions);
  client.on("error", (e: Error) => lastErrors.set(client, e));
  client.on("ready", () => lastErrors.delete(client));
  return client;
}

/** Connects a client made by {@linkcode createClient} (bounded by its connect timeout). */
export async function connectClient(client: Redis): Promise<void> {
  if (client.status === "ready") return;
  if (client.status !== "wait" && client.status !== "end") {
    const last = lastError(client);
    throw new RedisError(
      "connect",
      `not connected (${client.status})${last ? `: ${last.message}` : ""}`,
      replyCode(last),
      { cause: last },
    );
  }
  await command("connect", () => client.connect(), client);
}

/**
 * libkv's `list`: the keys matching `dir*` (SCAN MATCH), their values (MGET), and the pairs
 * under `dir/` with the key made relative to it (libkv's own directory key and sibling
 * directories such as `dir2/...` left out; values that are not libkv's JSON skipped).
 */
export async function listDir(
  client: Redis,
  dir: string,
): Promise<{ key: string; value: string }[]> {
  const prefix = `${dir}/`;
  const match = `${escapeGlob(prefix)}*`;
  const keys = new Set<string>();
  let cursor = "0";
  do {
    const [next, batch] = await command(
      "SCAN",
      () => client.scan(cursor, "MATCH", match, "COUNT", 1000),
      client,
    );
    for (const k of batch) keys.add(k);
    cursor = next;
  } while (cursor !== "0");
  const all = [...keys].filter((k) => k.startsWith(prefix) && k.length > prefix.length);
  const pairs: { key: string; value: string }[] = [];
  for (let i = 0; i < all.length; i += 1000) {
    const slice = all.slice(i, i + 1000);
    const values = await command("MGET", () => client.mget(...slice), client);
    slice.forEach((k, j) => {
      const raw = values[j];
      if (raw === null || raw === undefined) return; // expired between SCAN and MGET
      const value = decodeValue(raw);
      if (value !== undefined) pairs.push({ key: k.slice(prefix.length), value });
    });
  }
  return pairs;
}

/** The keyspace-event classes the watch needs: K (keyspace), g (DEL...), $ (SET), x (expired). */
const NEEDED = ["K", "g", "$", "x"];
/** What `A` stands for in `notify-keyspace-events`. */
const ALL = "g$lshzxetd";

/** Whether `flags` (a `notify-keyspace-events` value) sends what the watch needs. */
export function keyspaceEventsEnough(flags: string): boolean {
  const expanded = flags.replace("A", ALL);
  return NEEDED.every((c) => expanded.includes(c));
}

/**
 * Turns keyspace notifications on, as libkv does on every connect (`CONFIG SET
 * notify-keyspace-events KEA`), keeping the classes already on. Resolves with undefined when
 * they are on (or now are), or with Redis's refusal of `CONFIG` (ACL, renamed command) when
 * they cannot be checked or turned on. Throws a {@linkcode RedisError} when Redis cannot be
 * reached.
 */
export async function enableKeyspaceEvents(client: Redis): Promise<RedisError | undefined> {
  let current: string | undefined;
  try {
    const r = await command(
      "CONFIG GET",
      () => client.config("GET", "notify-keyspace-events"),
      client,
    ) as unknown as string[];
    current = r[1] ?? "";
    if (keyspaceEventsEnough(current)) return undefined;
  } catch (e) {
    if (!isRefusal(e)) throw e;
  }
  const want = [...new Set(`${current ?? ""}KEA`)].join("");
  try {
    await command(
      "CONFIG SET",
      () => client.config("SET", "notify-keyspace-events", want),
      client,
    );
    return undefined;
  } catch (e) {
    if (!isRefusal(e)) throw e;
    return e as RedisError;
  }
}

/** Ends a client at once (no QUIT round trip); never throws. */
export function dropClient(client: Redis | undefined): void {
  if (!client) return;
  client.removeAllListeners();
  client.on("error", () => {});
  try {
    client.disconnect(false);
  } catch {
    // already ended
  }
}

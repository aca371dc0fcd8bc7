/**
 * The HTTP side of the rpcx port, as Go rpcx multiplexes it with cmux: a connection whose first
 * byte is not rpcx's magic number is HTTP/1.1, served by node:http's server (Deno's Node HTTP
 * implementation: parser, keep-alive, header limits) and answered as HTTP invoke (`X-RPCX-*`
 * headers) or JSON-RPC 2.0 (`X-JSONRPC-2.0: true`), with CORS when configured.
 *
 * @module
 */
import http from "node:http";
import type { Connection } from "../transport/network.ts";
import type { ConnInfo } from "../server/plugin.ts";
import { Cors, type CorsOptions } from "./cors.ts";
import { bodyLength, errorMessage, type HttpAnswer, httpError, type HttpHost } from "./_host.ts";
import { ConnStream } from "./_socket.ts";
import { handleGateway } from "./gateway.ts";
import {
  DEFAULT_MAX_BATCH_RESPONSE_SIZE,
  DEFAULT_MAX_BATCH_SIZE,
  handleJsonRpc,
  isJsonRpc,
} from "./jsonrpc.ts";

/**
 * Options of the HTTP side of the rpcx port (part of `ServerOptions`). Times in ms, sizes in
 * bytes.
 *
 * @example
 * ```ts
 * import { allowAllCorsOptions, Server, type HttpOptions } from "@rpcx/core";
 * const options: HttpOptions = { cors: allowAllCorsOptions(), headersTimeout: 5000 };
 * new Server(options);
 * ```
 */
export interface HttpOptions {
  /** Turn HTTP invoke off (Go's `DisableHTTPGateway`). */
  disableHTTPGateway?: boolean;
  /** Turn JSON-RPC 2.0 off (Go's `DisableJSONRPC`). */
  disableJSONRPC?: boolean;
  /** Answer CORS (Go's `SetCORS`); off when not given. */
  cors?: CorsOptions;
  /** A request's headers must arrive within this long of its first byte (default 10 000). */
  headersTimeout?: number;
  /** A request's body must arrive within this long of its headers (default 30 000). */
  requestTimeout?: number;
  /** An idle keep-alive connection is closed after this long (default 60 000). */
  keepAliveTimeout?: number;
  /** Largest request head, request line and headers (default 16 KiB; larger gets 431). */
  maxHeaderSize?: number;
  /**
   * Most members of one JSON-RPC batch (default {@linkcode DEFAULT_MAX_BATCH_SIZE}, 1000, as
   * go-ethereum); a larger batch gets one -32600 "batch too large" error and none of it runs.
   * 0 turns the bound off.
   */
  maxBatchSize?: number;
  /**
   * Most bytes of answers one JSON-RPC batch gathers (default
   * {@linkcode DEFAULT_MAX_BATCH_RESPONSE_SIZE}, 25 MB, as go-ethereum's BatchResponseMaxSize):
   * past it, the members not yet answered get a -32003 "response too large" error and those not
   * yet started do not run. 0 turns the bound off.
   */
  maxBatchResponseSize?: number;
}

/**
 * The bounds the HTTP side of a server applies, defaults filled in (`Server.httpLimits`). Times
 * in ms, sizes in bytes.
 *
 * @example
 * ```ts
 * import { type HttpLimits, Server } from "@rpcx/core";
 * const limits: HttpLimits = new Server({ maxBatchSize: 100 }).httpLimits;
 * console.log(limits.maxBatchSize, limits.requestTimeout); // 100 30000
 * ```
 */
export interface HttpLimits {
  /** Largest request head (431 beyond). */
  readonly maxHeaderSize: number;
  /** Time for a request's head, from its first byte (408). */
  readonly headersTimeout: number;
  /** Time for a request's body, from its head (408). */
  readonly requestTimeout: number;
  /** Idle time after which a keep-alive connection is closed. */
  readonly keepAliveTimeout: number;
  /** Most members of one JSON-RPC batch (0: no bound). */
  readonly maxBatchSize: number;
  /** Most bytes of answers to one JSON-RPC batch (0: no bound). */
  readonly maxBatchResponseSize: number;
  /** Largest request body (the server's `maxMessageLength`; 413 beyond). */
  readonly maxBodyLength: number;
}

/** What the server tells the HTTP side besides its options. */
export interface HttpServerSettings extends HttpOptions {
  /** Largest request body (the server's `maxMessageLength`; larger gets 413). */
  maxBodyLength: number;
}

/** Methods Go's gateway routes (httprouter), in the order of its `Allow` header. */
const ALLOW = "GET, OPTIONS, POST, PUT";
const HTTP_METHOD_START = /^[A-Z]/;

interface ConnState {
  readonly info: ConnInfo;
  readonly stream: ConnStream;
  /** Requests received and not yet answered. */
  busy: number;
  /** Bytes arrived since the last answer (a request has begun). */
  started: boolean;
  timer: ReturnType<typeof setTimeout> | undefined;
}

const textDecoder = new TextDecoder();

/** Go reads header bytes as UTF-8; node:http hands them over as Latin-1. */
function fromLatin1(s: string): string {
  if (!/[\x80-\xff]/.test(s)) return s;
  const bytes = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) bytes[i] = s.charCodeAt(i);
  return textDecoder.decode(bytes);
}

/** Header text as Go writes it (UTF-8 bytes, CR and LF turned to spaces), as node:http's Latin-1. */
function toLatin1(s: string): string {
  // deno-lint-ignore no-control-regex
  const clean = s.replace(/[\x00-\x08\x0a-\x1f\x7f]/g, " ");
  // deno-lint-ignore no-control-regex
  if (!/[^\x00-\x7f]/.test(clean)) return clean;
  let out = "";
  for (const b of new TextEncoder().encode(clean)) out += String.fromCharCode(b);
  return out;
}

/** Go's URL path unescaping; undefined when an escape is bad. */
function unescapePath(url: string): string | undefined {
  let path = url;
  const q = path.indexOf("?");
  if (q >= 0) path = path.slice(0, q);
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(path)) {
    const slash = path.indexOf("/", path.indexOf("//") + 2);
    path = slash < 0 ? "" : path.slice(slash);
  }
  try {
    return decodeURIComponent(path);
  } catch {
    return undefined;
  }
}

class BodyError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

/**
 * Serves HTTP invoke and JSON-RPC 2.0 on connections the server hands over after sniffing.
 */
export class RpcxHttpServer {
  readonly #host: HttpHost;
  readonly #node: http.Server;
  readonly #cors: Cors | undefined;
  readonly #gateway: boolean;
  readonly #jsonrpc: boolean;
  readonly #maxBody: number;
  readonly #headersTimeout: number;
  readonly #requestTimeout: number;
  readonly #keepAlive: number;
  readonly #maxHeaderSize: number;
  readonly #maxBatchSize: number;
  readonly #maxBatchResponseSize: number;
  readonly #conns = new Map<ConnStream, ConnState>();
  #draining = false;

  /** An HTTP side answering through `host`. */
  constructor(host: HttpHost, settings: HttpServerSettings) {
    this.#host = host;
    this.#gateway = !settings.disableHTTPGateway;
    this.#jsonrpc = !settings.disableJSONRPC;
    this.#cors = settings.cors ? new Cors(settings.cors) : undefined;
    this.#maxBody = settings.maxBodyLength;
    this.#headersTimeout = settings.headersTimeout ?? 10_000;
    this.#requestTimeout = settings.requestTimeout ?? 30_000;
    this.#keepAlive = settings.keepAliveTimeout ?? 60_000;
    this.#maxHeaderSize = settings.maxHeaderSize ?? 16 * 1024;
    this.#maxBatchSize = settings.maxBatchSize ?? DEFAULT_MAX_BATCH_SIZE;
    this.#maxBatchResponseSize = settings.maxBatchResponseSize ?? DEFAULT_MAX_BATCH_RESPONSE_SIZE;
    this.#node = http.createServer({
      maxHeaderSize: this.#maxHeaderSize,
      keepAliveTimeout: 0, // idle connections are timed here (see #arm)
      requestTimeout: 0,
      headersTimeout: 0,
    });
    // Connections are handed over, never accepted by node:http itself; its keep-alive logic
    // closes a connection after each answer unless the server counts as listening.
    Object.defineProperty(this.#node, "listening", { get: () => !this.#draining });
    this.#node.on("request", (req, res) => void this.#onRequest(req, res));
  }

  /** The bounds in force, defaults filled in. */
  get limits(): HttpLimits {
    return {
      maxHeaderSize: this.#maxHeaderSize,
      headersTimeout: this.#headersTimeout,
      requestTimeout: this.#requestTimeout,
      keepAliveTimeout: this.#keepAlive,
      maxBatchSize: this.#maxBatchSize,
      maxBatchResponseSize: this.#maxBatchResponseSize,
      maxBodyLength: this.#maxBody,
    };
  }

  /** Whether any of HTTP invoke and JSON-RPC is on. */
  get enabled(): boolean {
    return this.#gateway || this.#jsonrpc;
  }

  /**
   * Takes an accepted connection whose first bytes `head` (already read) start an HTTP request,
   * as Go's cmux tells protocols apart on one port; returns false, leaving the connection to the
   * rpcx side, when they do not (or the server is draining). `info` is the rpcx side's view of it.
   */
  take(conn: Connection, head: Uint8Array, info: ConnInfo): boolean {
    if (this.#draining || !HTTP_METHOD_START.test(String.fromCharCode(head[0]))) return false;
    this.#serve(conn, head, { ...info, network: "http" });
    return true;
  }

  #serve(conn: Connection, head: Uint8Array, info: ConnInfo): void {
    const stream = new ConnStream(conn, head, {
      onData: () => {
        // Bytes after an answer: a new request has begun; its head is timed from here.
        if (!state.started && state.busy === 0) {
          state.started = true;
          this.#arm(state);
        }
      },
    });
    // (onData runs from the stream's read loop, after this line.)
    const state: ConnState = { info, stream, busy: 0, started: true, timer: undefined };
    this.#conns.set(stream, state);
    stream.on("close", () => {
      clearTimeout(state.timer);
      this.#conns.delete(stream);
    });
    stream.on("error", () => {});
    this.#arm(state);
    this.#node.emit("connection", stream);
  }

  /** Times the connection's wait: for the rest of a request's head, or idle for the next one. */
  #arm(state: ConnState): void {
    clearTimeout(state.timer);
    state.timer = undefined;
    if (state.busy > 0) return;
    if (state.started) {
      state.timer = setTimeout(() => {
        // Slow headers: answer 408 as node:http does for its own request timeout, then close.
        state.stream.end("HTTP/1.1 408 Request Timeout\r\nConnection: close\r\n\r\n");
        setTimeout(() => state.stream.destroy(), 100);
      }, this.#headersTimeout);
    } else if (this.#keepAlive > 0) {
      state.timer = setTimeout(() => state.stream.destroy(), this.#keepAlive);
    }
  }

  async #onRequest(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const stream = req.socket as unknown as ConnStream;
    const state = this.#conns.get(stream);
    if (!state) {
      req.socket.destroy();
      return;
    }
    if (this.#draining) {
      stream.destroy();
      return;
    }
    state.busy++;
    clearTimeout(state.timer);
    state.timer = undefined;
    res.on("close", () => {
      state.busy--;
      state.started = false;
      if (this.#draining && state.busy === 0) stream.destroy();
      else this.#arm(state);
    });
    try {
      const answer = await this.#answer(req, state.info);
      if (answer === undefined) {
        stream.destroy();
        return;
      }
      this.#write(res, answer);
    } catch (e) {
      if (e instanceof BodyError) {
        res.shouldKeepAlive = false;
        this.#write(res, httpError(e.status, e.message));
        return;
      }
      this.#host.report(`HTTP request from ${state.info.remoteAddress}`, e);
      if (!res.headersSent) this.#write(res, httpError(500, errorMessage(e)));
      else stream.destroy();
    }
  }

  #write(res: http.ServerResponse, answer: HttpAnswer): void {
    const flat: string[] = [];
    for (const [k, v] of answer.headers) flat.push(k, toLatin1(v));
    // Go sends no Content-Length with a 204 (or 304).
    if (answer.status !== 204 && answer.status !== 304) {
      flat.push("Content-Length", String(bodyLength(answer.body)));
    }
    res.writeHead(answer.status, flat);
    if (!Array.isArray(answer.body)) {
      res.end(answer.body);
      return;
    }
    for (const chunk of answer.body) res.write(chunk);
    res.end();
  }

  /** The answer to one request; undefined closes the connection (Go: no route matched). */
  async #answer(req: http.IncomingMessage, conn: ConnInfo): Promise<HttpAnswer | undefined> {
    const first = new Map<string, string>();
    const raw = req.rawHeaders;
    for (let i = 0; i + 1 < raw.length; i += 2) {
      const name = raw[i].toLowerCase();
      if (!first.has(name)) first.set(name, fromLatin1(raw[i + 1]));
    }
    // Every value, for CORS and plugins; built only when asked for.
    let allHeaders: Headers | undefined;
    const all = () => {
      if (allHeaders) return allHeaders;
      allHeaders = new Headers();
      for (let i = 0; i + 1 < raw.length; i += 2) {
        try {
          allHeaders.append(raw[i], fromLatin1(raw[i + 1]));
        } catch {
          // a value Headers refuses; the first-value map still has it
        }
      }
      return allHeaders;
    };
    // Every value of a header, by lower-case name, for CORS; built only when asked for.
    let byName: Map<string, string[]> | undefined;
    const values = (name: string): readonly string[] => {
      if (!byName) {
        byName = new Map();
        for (let i = 0; i + 1 < raw.length; i += 2) {
          const k = raw[i].toLowerCase();
          const v = fromLatin1(raw[i + 1]);
          const list = byName.get(k);
          if (list) list.push(v);
          else byName.set(k, [v]);
        }
      }
      return byName.get(name) ?? [];
    };
    const method = req.method ?? "GET";
    const corsHeaders: [string, string][] = [];
    const setCors = (name: string, value: string, append?: boolean) => {
      if (!append) {
        for (let i = corsHeaders.length - 1; i >= 0; i--) {
          if (corsHeaders[i][0] === name) corsHeaders.splice(i, 1);
        }
      }
      corsHeaders.push([name, value]);
    };
    const jsonrpc = this.#jsonrpc && isJsonRpc(first);
    if (!jsonrpc && !this.#gateway) return undefined;
    if (this.#cors && Cors.isPreflight(method, values)) {
      this.#cors.preflight(values, setCors);
      await this.#discardBody(req);
      return {
        status: this.#cors.optionsSuccessStatus,
        headers: corsHeaders,
        body: new Uint8Array(0),
      };
    }
    this.#cors?.actual(method, values, setCors);
    const withCors = (a: HttpAnswer): HttpAnswer => ({
      ...a,
      headers: [...corsHeaders, ...a.headers],
    });
    if (jsonrpc) {
      const body = await this.#readBody(req);
      return withCors(
        await handleJsonRpc(this.#host, conn, first, body, {
          maxBatchSize: this.#maxBatchSize,
          maxBatchResponseSize: this.#maxBatchResponseSize,
        }),
      );
    }
    if (method !== "GET" && method !== "POST" && method !== "PUT") {
      await this.#discardBody(req);
      if (method === "OPTIONS") {
        return withCors({ status: 200, headers: [["Allow", ALLOW]], body: new Uint8Array(0) });
      }
      const err = httpError(405, "Method Not Allowed");
      return withCors({ ...err, headers: [["Allow", ALLOW], ...err.headers] });
    }
    const path = unescapePath(req.url ?? "/");
    if (path === undefined) {
      await this.#discardBody(req);
      return httpError(400, "Bad Request");
    }
    const body = await this.#readBody(req);
    for (const p of this.#host.plugins()) {
      try {
        p.preReadRequest?.(conn);
      } catch (e) {
        return withCors(httpError(500, this.#host.errorText(e)));
      }
    }
    const servicePath = path.startsWith("/") ? path.slice(1) : path;
    for (const p of this.#host.plugins()) {
      if (!p.postHTTPRequest) continue;
      try {
        await p.postHTTPRequest({ method, url: req.url ?? "/", headers: all(), servicePath }, conn);
      } catch (e) {
        return withCors(httpError(500, this.#host.errorText(e)));
      }
    }
    return withCors(await handleGateway(this.#host, conn, first, path, body));
  }

  /** Reads a request body, bounded in size and time. */
  #readBody(req: http.IncomingMessage): Promise<Uint8Array> {
    const declared = Number(req.headers["content-length"] ?? "0");
    if (declared > this.#maxBody) {
      return Promise.reject(
        new BodyError(413, `request body of ${declared} bytes exceeds ${this.#maxBody}`),
      );
    }
    return new Promise((resolve, reject) => {
      // The body goes into one buffer that grows (doubling, up to the declared length) as bytes
      // arrive: memory follows what was received, not what was declared, and no list of
      // chunks is joined at the end.
      const cap = req.headers["content-length"] !== undefined ? declared : this.#maxBody;
      let buf = new Uint8Array(Math.min(cap, 64 * 1024));
      let size = 0;
      const timer = setTimeout(() => {
        cleanup();
        reject(new BodyError(408, "request body not received in time"));
      }, this.#requestTimeout);
      const onData = (c: Uint8Array) => {
        const need = size + c.byteLength;
        if (need > this.#maxBody) {
          cleanup();
          reject(new BodyError(413, `request body exceeds ${this.#maxBody} bytes`));
          return;
        }
        if (need > buf.byteLength) {
          const grown = new Uint8Array(Math.max(need, Math.min(cap, buf.byteLength * 2)));
          grown.set(buf.subarray(0, size));
          buf = grown;
        }
        buf.set(c, size);
        size = need;
      };
      const onEnd = () => {
        cleanup();
        resolve(size === buf.byteLength ? buf : buf.slice(0, size));
      };
      const onError = (e: Error) => {
        cleanup();
        reject(e);
      };
      const cleanup = () => {
        clearTimeout(timer);
        req.off("data", onData);
        req.off("end", onEnd);
        req.off("error", onError);
      };
      req.on("data", onData);
      req.on("end", onEnd);
      req.on("error", onError);
    });
  }

  async #discardBody(req: http.IncomingMessage): Promise<void> {
    await this.#readBody(req).catch(() => {});
  }

  /** Stops taking requests: idle connections close now, busy ones after their answer. */
  drain(): void {
    this.#draining = true;
    for (const s of this.#conns.values()) if (s.busy === 0) s.stream.destroy();
  }

  /** Closes every HTTP connection at once. */
  close(): void {
    this.#draining = true;
    for (const s of this.#conns.values()) s.stream.destroy();
    this.#conns.clear();
  }

  /** Resolves once no HTTP connection is open (after {@linkcode drain}). */
  async drained(): Promise<void> {
    while (this.#conns.size > 0) {
      const first = this.#conns.keys().next().value!;
      if (first.closed) {
        this.#conns.delete(first);
        continue;
      }
      await new Promise<void>((r) => first.once("close", () => r()));
    }
  }

  /** HTTP connections open now. */
  get connections(): number {
    return this.#conns.size;
  }
}

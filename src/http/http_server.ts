/**
 * The HTTP side of the rpcx port, as Go rpcx multiplexes it with cmux: a connection whose first
 * byte is not rpcx's magic number is HTTP/1.1, served by node:http's server (Deno's Node HTTP
 * implementation: parser, keep-alive, header limits) and answered as HTTP invoke (`X-RPCX-*`
 * headers) or JSON-RPC 2.0 (`X-JSONRPC-2.0: true`), with CORS when configured.
 *
 * @module
 */
import http from "node:http";
import { Buffer } from "node:buffer";
import type { Duplex } from "node:stream";
import { runtime } from "../runtime/mod.ts";
import { handOverOf } from "../transport/_hand_over.ts";
import type { Connection, ConnInfo } from "../transport/network.ts";
import { Cors } from "./cors.ts";
import { bodyLength, errorMessage, type HttpAnswer, httpError } from "./_answer.ts";
import type { HttpHost } from "./host.ts";
import { type BodyBounds, BodyError, bodyTimeout, discardBody, readBody } from "./_body.ts";
import { RequestHeaders, toLatin1 } from "./_headers.ts";
import { requestPath } from "./_request_path.ts";
import { ConnStream } from "./_socket.ts";
import { HttpConn, type HttpSocket } from "./_http_conn.ts";
import { handleGateway } from "./gateway.ts";
import { isJsonRpc } from "./jsonrpc.ts";
import { handleJsonRpc } from "./_jsonrpc_handler.ts";
import { type HttpLimits, httpLimits, type HttpServerSettings } from "./options.ts";

/** Methods Go's gateway routes (httprouter), in the order of its `Allow` header. */
const ALLOW = "GET, OPTIONS, POST, PUT";
const HTTP_METHOD_START = /^[A-Z]/;
/** An answer already written. */
const SENT = Symbol("sent");
const EMPTY = new Uint8Array(0);

/** `a` with the CORS headers `cors` (if any) in front. */
function withCors(cors: [string, string][] | undefined, a: HttpAnswer): HttpAnswer {
  return cors === undefined || cors.length === 0 ? a : { ...a, headers: [...cors, ...a.headers] };
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
  readonly #limits: HttpLimits;
  readonly #body: BodyBounds;
  readonly #conns = new Map<Duplex, HttpConn>();
  /** The one timer that applies every connection's head and idle bounds (while any is open). */
  #watchdog: ReturnType<typeof setInterval> | undefined;
  #draining = false;

  /** An HTTP side answering through `host`. */
  constructor(host: HttpHost, settings: HttpServerSettings) {
    this.#host = host;
    this.#gateway = !settings.disableHTTPGateway;
    this.#jsonrpc = !settings.disableJSONRPC;
    this.#cors = settings.cors ? new Cors(settings.cors) : undefined;
    this.#limits = httpLimits(settings);
    this.#body = { maxBody: this.#limits.maxBodyLength, timeout: this.#limits.requestTimeout };
    this.#node = http.createServer({
      maxHeaderSize: this.#limits.maxHeaderSize,
      keepAliveTimeout: 0, // idle connections are timed here (see #check)
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
    return { ...this.#limits };
  }

  /** Whether any of HTTP invoke and JSON-RPC is on. */
  get enabled(): boolean {
    return this.#gateway || this.#jsonrpc;
  }

  /**
   * Takes an accepted connection whose first bytes `head` (already read) start an HTTP request,
   * as Go's cmux tells protocols apart on one port; returns false, leaving the connection to the
   * rpcx side, when they do not (or the server is draining). `info` is the rpcx side's view of it.
   * A connection on a `node:net`/`node:tls` socket gives node:http the socket itself; any other
   * is served through a {@linkcode ConnStream}.
   */
  take(conn: Connection, head: Uint8Array, info: ConnInfo): boolean {
    if (this.#draining || !HTTP_METHOD_START.test(String.fromCharCode(head[0]))) return false;
    const own = handOverOf(conn);
    let socket: HttpSocket;
    if (own) {
      socket = own.handOver() as HttpSocket;
      socket.unshift(Buffer.from(head.buffer, head.byteOffset, head.byteLength));
    } else {
      socket = new ConnStream(conn, head);
    }
    this.#serve(socket, { ...info, network: "http" });
    if (own) socket.resume();
    return true;
  }

  #serve(socket: HttpSocket, info: ConnInfo): void {
    const conn = new HttpConn(info, socket, () => this.#draining);
    this.#conns.set(socket, conn);
    socket.on("close", () => {
      this.#conns.delete(socket);
      if (this.#conns.size === 0) this.#stopWatchdog();
    });
    socket.on("error", () => {});
    this.#startWatchdog();
    this.#node.emit("connection", socket);
  }

  #startWatchdog(): void {
    if (this.#watchdog !== undefined) return;
    const { headersTimeout, requestTimeout, keepAliveTimeout } = this.#limits;
    const shortest = Math.min(
      headersTimeout,
      requestTimeout,
      keepAliveTimeout > 0 ? keepAliveTimeout : Infinity,
    );
    const every = Math.min(Math.max(Math.floor(shortest / 4), 10), 1000);
    this.#watchdog = setInterval(() => {
      const now = Date.now();
      for (const s of this.#conns.values()) this.#check(s, now);
    }, every);
    runtime().timers.unref(this.#watchdog);
  }

  #stopWatchdog(): void {
    clearInterval(this.#watchdog);
    this.#watchdog = undefined;
  }

  /**
   * Applies a connection's bounds: a body awaited for `requestTimeout` fails with 408; a request
   * head that has been arriving for `headersTimeout` is answered 408 and closed (as node:http
   * does); an idle connection closes after `keepAliveTimeout`.
   */
  #check(conn: HttpConn, now: number): void {
    const late = conn.bodies?.[0];
    if (late !== undefined && now - late.since >= this.#limits.requestTimeout) {
      late.fail(bodyTimeout());
    }
    if (conn.busy > 0) return;
    const socket = conn.socket;
    if (conn.headSince === 0 && socket.bytesRead > conn.readMark) conn.headSince = now;
    if (conn.headSince > 0) {
      if (now - conn.headSince < this.#limits.headersTimeout) return;
      conn.headSince = Infinity; // answered once
      socket.end("HTTP/1.1 408 Request Timeout\r\nConnection: close\r\n\r\n");
      setTimeout(() => socket.destroy(), 100);
    } else if (
      this.#limits.keepAliveTimeout > 0 && now - conn.idleSince >= this.#limits.keepAliveTimeout
    ) {
      socket.destroy();
    }
  }

  #onRequest(req: http.IncomingMessage, res: http.ServerResponse): void {
    const socket = req.socket;
    const conn = this.#conns.get(socket);
    if (conn === undefined || this.#draining) {
      socket.destroy();
      return;
    }
    conn.busy++;
    conn.headSince = 0;
    res.on("close", conn.responseClosed);
    let started = false;
    res.on("close", () => {
      if (started) conn.running--; // a request never run (the socket closed first) was not counted
      conn.pace();
    });
    conn.waiting.push(() => {
      started = true;
      conn.running++;
      this.#respond(req, res, conn).catch((e) => this.#host.report("HTTP answer", e));
    });
    conn.pace();
  }

  async #respond(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    conn: HttpConn,
  ): Promise<void> {
    try {
      const answer = await this.#answer(req, res, conn);
      if (answer === undefined) return void req.socket.destroy();
      if (answer !== SENT) this.#write(res, answer);
    } catch (e) {
      if (e instanceof BodyError) {
        res.shouldKeepAlive = false;
        this.#write(res, httpError(e.status, e.message));
        return;
      }
      this.#host.report(`HTTP request from ${conn.info.remoteAddress}`, e);
      if (!res.headersSent) this.#write(res, httpError(500, errorMessage(e)));
      else req.socket.destroy();
    }
  }

  /**
   * Writes an answer: the bytes are handed to the connection before it returns (Go's
   * `w.Write` returns once they are in the response's buffer; `postWriteResponse` runs after).
   */
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
    } else {
      for (const chunk of answer.body) res.write(chunk);
      res.end();
    }
  }

  /**
   * The answer to one request, or {@linkcode SENT} when it was written already (HTTP invoke
   * writes from inside the server's request pipeline); undefined closes the connection (Go: no
   * route matched).
   */
  async #answer(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    conn: HttpConn,
  ): Promise<HttpAnswer | typeof SENT | undefined> {
    const headers = new RequestHeaders(req.rawHeaders);
    const first = headers.first;
    const method = req.method ?? "GET";
    const jsonrpc = this.#jsonrpc && isJsonRpc(first);
    if (!jsonrpc && !this.#gateway) return undefined;
    const length = first.get("content-length");
    let cors: [string, string][] | undefined;
    if (this.#cors) {
      const set: [string, string][] = cors = [];
      const setCors = (name: string, value: string, append?: boolean) => {
        if (!append) {
          for (let i = set.length - 1; i >= 0; i--) if (set[i][0] === name) set.splice(i, 1);
        }
        set.push([name, value]);
      };
      const values = (name: string) => headers.values(name);
      if (Cors.isPreflight(method, values)) {
        this.#cors.preflight(values, setCors);
        await discardBody(req, this.#body, length, conn);
        return { status: this.#cors.optionsSuccessStatus, headers: set, body: EMPTY };
      }
      this.#cors.actual(method, values, setCors);
    }
    const info = conn.info;
    if (jsonrpc) {
      const body = await readBody(req, this.#body, length, conn);
      return withCors(cors, await handleJsonRpc(this.#host, info, first, body, this.#limits));
    }
    if (method !== "GET" && method !== "POST" && method !== "PUT") {
      await discardBody(req, this.#body, length, conn);
      if (method === "OPTIONS") {
        return withCors(cors, { status: 200, headers: [["Allow", ALLOW]], body: EMPTY });
      }
      const err = httpError(405, "Method Not Allowed");
      return withCors(cors, { ...err, headers: [["Allow", ALLOW], ...err.headers] });
    }
    const path = requestPath(req.url ?? "/");
    if (path === undefined) {
      await discardBody(req, this.#body, length, conn);
      return httpError(400, "Bad Request");
    }
    const body = await readBody(req, this.#body, length, conn);
    const refused = this.#host.preReadHttp(info) ??
      await this.#host.postHTTPRequest({
        method,
        url: req.url ?? "/",
        get headers() {
          return headers.all();
        },
        servicePath: path.startsWith("/") ? path.slice(1) : path,
      }, info);
    if (refused) return withCors(cors, httpError(500, this.#host.errorText(refused.error)));
    await handleGateway(
      this.#host,
      info,
      first,
      path,
      body,
      (a) => this.#write(res, withCors(cors, a)),
    );
    return SENT;
  }

  /** Stops taking requests: idle connections close now, busy ones after their answer. */
  drain(): void {
    this.#draining = true;
    for (const s of this.#conns.values()) if (s.busy === 0) s.socket.destroy();
  }

  /** Closes every HTTP connection at once. */
  close(): void {
    this.#draining = true;
    for (const s of this.#conns.values()) s.socket.destroy();
    this.#conns.clear();
    this.#stopWatchdog();
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

/**
 * The HTTP side of the rpcx port, as Go rpcx multiplexes it with cmux: a connection whose first
 * byte is not rpcx's magic number is HTTP/1.1, served by node:http's server (Deno's Node HTTP
 * implementation: parser, keep-alive, header limits) and answered as HTTP invoke (`X-RPCX-*`
 * headers) or JSON-RPC 2.0 (`X-JSONRPC-2.0: true`), with CORS when configured.
 *
 * @module
 */
import http from "node:http";
import type { Connection, ConnInfo } from "../transport/network.ts";
import { Cors } from "./cors.ts";
import { bodyLength, errorMessage, type HttpAnswer, httpError } from "./_answer.ts";
import type { HttpHost } from "./host.ts";
import { type BodyBounds, BodyError, discardBody, readBody } from "./_body.ts";
import { RequestHeaders, toLatin1 } from "./_headers.ts";
import { unescapePath } from "./_query.ts";
import { ConnStream } from "./_socket.ts";
import { handleGateway } from "./gateway.ts";
import { isJsonRpc } from "./jsonrpc.ts";
import { handleJsonRpc } from "./_jsonrpc_handler.ts";
import { type HttpLimits, httpLimits, type HttpServerSettings } from "./options.ts";

/** Methods Go's gateway routes (httprouter), in the order of its `Allow` header. */
const ALLOW = "GET, OPTIONS, POST, PUT";
const HTTP_METHOD_START = /^[A-Z]/;
/** An answer already written. */
const SENT = Symbol("sent");

interface ConnState {
  readonly info: ConnInfo;
  readonly stream: ConnStream;
  /** Requests received and not yet answered. */
  busy: number;
  /** Bytes arrived since the last answer (a request has begun). */
  started: boolean;
  timer: ReturnType<typeof setTimeout> | undefined;
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
  readonly #conns = new Map<ConnStream, ConnState>();
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
      }, this.#limits.headersTimeout);
    } else if (this.#limits.keepAliveTimeout > 0) {
      state.timer = setTimeout(() => state.stream.destroy(), this.#limits.keepAliveTimeout);
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
      const answer = await this.#answer(req, state.info, (a) => this.#write(res, a));
      if (answer === undefined) {
        stream.destroy();
        return;
      }
      if (answer !== SENT) await this.#write(res, answer);
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

  /** Writes an answer; resolves once it is handed to the connection (or the response closed). */
  #write(res: http.ServerResponse, answer: HttpAnswer): Promise<void> {
    const flat: string[] = [];
    for (const [k, v] of answer.headers) flat.push(k, toLatin1(v));
    // Go sends no Content-Length with a 204 (or 304).
    if (answer.status !== 204 && answer.status !== 304) {
      flat.push("Content-Length", String(bodyLength(answer.body)));
    }
    const written = new Promise<void>((resolve) => {
      res.once("finish", resolve);
      res.once("close", resolve);
    });
    res.writeHead(answer.status, flat);
    if (!Array.isArray(answer.body)) {
      res.end(answer.body);
    } else {
      for (const chunk of answer.body) res.write(chunk);
      res.end();
    }
    return written;
  }

  /**
   * The answer to one request, or {@linkcode SENT} when it was written through `send` (HTTP
   * invoke writes from inside the server's request pipeline); undefined closes the connection
   * (Go: no route matched).
   */
  async #answer(
    req: http.IncomingMessage,
    conn: ConnInfo,
    send: (answer: HttpAnswer) => Promise<void>,
  ): Promise<HttpAnswer | typeof SENT | undefined> {
    const headers = new RequestHeaders(req.rawHeaders);
    const first = headers.first;
    const values = headers.values;
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
      await discardBody(req, this.#body);
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
      const body = await readBody(req, this.#body);
      return withCors(
        await handleJsonRpc(this.#host, conn, first, body, this.#limits),
      );
    }
    if (method !== "GET" && method !== "POST" && method !== "PUT") {
      await discardBody(req, this.#body);
      if (method === "OPTIONS") {
        return withCors({ status: 200, headers: [["Allow", ALLOW]], body: new Uint8Array(0) });
      }
      const err = httpError(405, "Method Not Allowed");
      return withCors({ ...err, headers: [["Allow", ALLOW], ...err.headers] });
    }
    const path = unescapePath(req.url ?? "/");
    if (path === undefined) {
      await discardBody(req, this.#body);
      return httpError(400, "Bad Request");
    }
    const body = await readBody(req, this.#body);
    const refused = this.#host.preReadHttp(conn) ??
      await this.#host.postHTTPRequest({
        method,
        url: req.url ?? "/",
        get headers() {
          return headers.all();
        },
        servicePath: path.startsWith("/") ? path.slice(1) : path,
      }, conn);
    if (refused) return withCors(httpError(500, this.#host.errorText(refused.error)));
    await handleGateway(this.#host, conn, first, path, body, (a) => send(withCors(a)));
    return SENT;
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

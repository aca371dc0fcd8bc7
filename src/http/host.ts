/**
 * The contract between the server and the HTTP side of its port: what the HTTP side needs from
 * the server it runs in (one rpcx request message in, through the same request pipeline as a
 * frame read from an rpcx connection; the plugin hooks of HTTP requests, each with its policy),
 * and what it hands back. Nothing in `src/http/` imports the server: the server implements
 * {@linkcode HttpHost}.
 *
 * @module
 */
import type { Message } from "../protocol/message.ts";
import type { ConnInfo } from "../transport/network.ts";

/**
 * An HTTP request on the rpcx port as plugins see it (`postHTTPRequest`).
 *
 * @example
 * ```ts
 * import { Server } from "@rpcx/core";
 * import type { HttpRequestInfo, ServerPlugin } from "@rpcx/core/extend";
 * const needsKey: ServerPlugin = {
 *   postHTTPRequest(req: HttpRequestInfo) {
 *     if (!req.headers.get("x-api-key")) throw new Error(`${req.servicePath}: missing X-Api-Key`);
 *   },
 * };
 * const server = new Server({ plugins: [needsKey] });
 * await server.register({ Mul: (a: { A: number; B: number }) => ({ C: a.A * a.B }) }, "Arith");
 * const addr = await server.serve("tcp", "127.0.0.1:0");
 * const res = await fetch(`http://${addr}/Arith`, {
 *   method: "POST",
 *   headers: { "X-RPCX-ServiceMethod": "Mul", "X-RPCX-SerializeType": "1" },
 *   body: JSON.stringify({ A: 2, B: 3 }),
 * });
 * console.log(res.status, await res.text()); // 500 Arith: missing X-Api-Key
 * await server.close();
 * ```
 */
export interface HttpRequestInfo {
  /** `GET`, `POST` or `PUT`. */
  readonly method: string;
  /** The request target as sent (path and query). */
  readonly url: string;
  /** The request headers. */
  readonly headers: Headers;
  /** The path without its leading `/` (Go's `servicePath` route parameter). */
  readonly servicePath: string;
}

/** A hook refused a request: `error` is what the first refusing plugin threw. */
export interface Refusal {
  /** What the plugin threw (its text is the answer's). */
  readonly error: unknown;
}

/** The outcome of one request handed to the server. */
export type HttpCallOutcome =
  /**
   * A `postReadRequest` plugin refused the request, or the server is draining (Go: an HTTP 500
   * with the error text).
   */
  | { readonly kind: "refused"; readonly error: unknown }
  /** Auth refused a oneway request, so nothing was written (Go: HTTP 401 / a JSON-RPC error). */
  | { readonly kind: "auth"; readonly error: unknown }
  /** The response went to the request's `write`. */
  | { readonly kind: "written" }
  /** No response: a oneway request. */
  | { readonly kind: "reply"; readonly res: undefined };

/**
 * Writes the response to one request (status Error for a failed call); `closing`: auth refused
 * it (Go: HTTP 401 / a JSON-RPC error). Resolves once it is written: the server runs
 * `postWriteResponse` after, as Go does after its `w.Write`.
 */
export type HttpWrite = (res: Message, closing: boolean) => void | Promise<void>;

/**
 * The server as the HTTP side sees it. The hooks are the server's plugin chain's: each applies
 * its policy (see `ServerPlugin`) and the HTTP side answers as told.
 */
export interface HttpHost {
  /**
   * Runs one request through the server's request pipeline, as if it came from an rpcx
   * connection `conn`; its response, if any, goes to `write`.
   */
  handle(req: Message, conn: ConnInfo, write: HttpWrite): Promise<HttpCallOutcome>;
  /** `preReadRequest` for an HTTP invoke (Go's gateway): a refusal is answered with HTTP 500. */
  preReadHttp(conn: ConnInfo): Refusal | undefined;
  /** `preReadRequest` for a JSON-RPC call: errors are ignored, as Go's JSON-RPC does. */
  preReadJsonRpc(conn: ConnInfo): void;
  /** `postHTTPRequest` (Go's `PostHTTPRequest`): a refusal is answered with HTTP 500. */
  postHTTPRequest(req: HttpRequestInfo, conn: ConnInfo): Promise<Refusal | undefined>;
  /** Reports an error that has no caller to go to. */
  report(where: string, error: unknown): void;
  /** Turns an error into its text on the wire (the server's `errorText`). */
  errorText(error: unknown): string;
}

/**
 * What the HTTP side needs from the server it runs in, and what it hands back: one rpcx request
 * message in, its outcome out, through the same path (plugins, auth, dispatch) as a frame read
 * from an rpcx connection.
 *
 * @module
 */
import type { Message } from "../protocol/message.ts";
import type { ConnInfo, ServerPlugin } from "../server/plugin.ts";

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

/** The server as the HTTP side sees it. */
export interface HttpHost {
  /**
   * Runs one request through the server's request pipeline, as if it came from an rpcx
   * connection `conn`; its response, if any, goes to `write`.
   */
  handle(req: Message, conn: ConnInfo, write: HttpWrite): Promise<HttpCallOutcome>;
  /** The server's plugins, in order. */
  plugins(): readonly ServerPlugin[];
  /** Reports an error that has no caller to go to. */
  report(where: string, error: unknown): void;
  /** Turns an error into its text on the wire (the server's `errorText`). */
  errorText(error: unknown): string;
}

/** An HTTP answer, before it is written. */
export interface HttpAnswer {
  status: number;
  /** Header names as written on the wire (Go's canonical form). */
  headers: [string, string][];
  /** The body, whole or in chunks written one after another. */
  body: Uint8Array | Uint8Array[];
}

/** Bytes in an answer's body. */
export function bodyLength(body: Uint8Array | Uint8Array[]): number {
  if (!Array.isArray(body)) return body.byteLength;
  let n = 0;
  for (const c of body) n += c.byteLength;
  return n;
}

const encoder = new TextEncoder();

/** An answer as Go's http.Error writes it: text/plain, nosniff, the text and a newline. */
export function httpError(status: number, text: string): HttpAnswer {
  return {
    status,
    headers: [["Content-Type", "text/plain; charset=utf-8"], ["X-Content-Type-Options", "nosniff"]],
    body: encoder.encode(text + "\n"),
  };
}

/** The message of anything thrown, as Go's `err.Error()`. */
export function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/**
 * An HTTP answer before it is written, and the answers every part of the HTTP side makes alike
 * (Go's `http.Error`).
 *
 * @module
 */

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

/**
 * The text a server writes for what a method threw (Go's `err.Error()`): the default of the
 * server's `errorText`, and its fallback when a user's `errorText` throws.
 *
 * @module
 */

/** Longest text of a thrown non-Error value made into JSON, in characters. */
export const MAX_THROWN_TEXT = 1024;

/**
 * The default `__rpcx_error__` text of what a method threw, as Go writes `err.Error()`: an
 * Error's message; a string as it is; an object's `message` when that is a string, else its
 * JSON text (those two at most {@linkcode MAX_THROWN_TEXT} characters); anything else as
 * `String(e)`, or `[object Object]`-style when even that throws.
 */
export function serviceErrorText(e: unknown): string {
  // Never throws: a getter, a toJSON or a prototype-less object must not end the server.
  try {
    if (e instanceof Error) return e.message;
    if (typeof e === "string") return e;
    if (typeof e === "object" && e !== null) {
      const message = (e as { message?: unknown }).message;
      if (typeof message === "string") return bounded(message);
      let json: string | undefined;
      try {
        json = JSON.stringify(e, (_k, v) => typeof v === "bigint" ? v.toString() : v);
      } catch {
        // a cycle, or a toJSON that throws
      }
      if (json !== undefined) return bounded(json);
    }
    return String(e);
  } catch {
    return Object.prototype.toString.call(e);
  }
}

/** `text` cut to {@linkcode MAX_THROWN_TEXT} characters (not inside a surrogate pair). */
function bounded(text: string): string {
  if (text.length <= MAX_THROWN_TEXT) return text;
  let end = MAX_THROWN_TEXT;
  const c = text.charCodeAt(end - 1);
  if (c >= 0xd800 && c <= 0xdbff) end--;
  return `${text.slice(0, end)}…`;
}

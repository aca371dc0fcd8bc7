/**
 * The `X-RPCX-Meta` header as Go rpcx reads it: Go's `url.ParseQuery`, then the first value of
 * each key (`server/converter.go` and `server/jsonrpc2.go`).
 *
 * @module
 */
import { parseQuery, type UrlEscapeError, type UrlQueryError } from "../_internal/go/url.ts";

/**
 * The metadata of an `X-RPCX-Meta` header (the first value of each key, in the order the keys
 * first appear) and the error Go's `url.ParseQuery` reports for it, if any. HTTP invoke refuses
 * a header with an error (Go's gateway answers with its text); JSON-RPC keeps what parsed.
 */
export function readMeta(
  header: string,
): [Record<string, string>, UrlEscapeError | UrlQueryError | undefined] {
  const { values, error } = parseQuery(header);
  const metadata: Record<string, string> = {};
  for (const [key, list] of values) metadata[key] = list[0];
  return [metadata, error];
}

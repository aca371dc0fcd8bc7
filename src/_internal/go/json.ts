/**
 * JSON as Go's `encoding/json` reads and writes it: a syntax check with Go's error texts (the
 * JSON codec, JSON-RPC), the raw spans of an object's members, and Go's string and compact
 * encodings, HTML-escaped (JSON-RPC answers, the mDNS TXT record, the Redis registry's values,
 * the discovery cache file). Checked against Go's own outputs in `json_test.ts`
 * (`testdata/json.json`). The scanner is in `_json_scan.ts`, the string rules in
 * `_json_string.ts`, the compact form in `_json_compact.ts`.
 *
 * @module
 */
export {
  goJsonArrayElements,
  GoJsonSyntaxError,
  isGoJsonArray,
  type RawMember,
  scanGoJson,
  type ScannedJson,
} from "./_json_scan.ts";
export { goJsonString, unescapeGoString } from "./_json_string.ts";
export { goCompact, goCompactBytes } from "./_json_compact.ts";

/**
 * Go's compact form of a raw JSON value, as json.Marshal writes an embedded `json.RawMessage`
 * (HTML-escaped).
 *
 * @module
 */
import { isJsonSpace } from "./_json_scan.ts";
import { HEX } from "./_json_string.ts";

const decoder = new TextDecoder();

/**
 * Go's compact form of valid JSON bytes as json.Marshal writes an embedded raw value: white space
 * outside strings dropped; `<`, `>`, `&`, U+2028 and U+2029 inside strings escaped.
 */
export function goCompact(data: Uint8Array): string {
  return decoder.decode(goCompactBytes(data));
}

const HEX_BYTES = new TextEncoder().encode(HEX);

/**
 * {@linkcode goCompact} as bytes (Go's appendCompact with escaping), in two passes over `data`:
 * the output's length, then the output.
 */
export function goCompactBytes(data: Uint8Array): Uint8Array {
  const n = data.length;
  let size = 0;
  let changed = false;
  let inString = false;
  for (let i = 0; i < n; i++) {
    const c = data[i];
    if (inString) {
      if (c === 0x5c) {
        size += 2;
        i++;
      } else if (c === 0x3c || c === 0x3e || c === 0x26) {
        size += 6;
        changed = true;
      } else if (c === 0xe2 && data[i + 1] === 0x80 && (data[i + 2] & ~1) === 0xa8) {
        size += 6;
        i += 2;
        changed = true;
      } else {
        if (c === 0x22) inString = false;
        size++;
      }
    } else if (isJsonSpace(c)) {
      changed = true;
    } else {
      if (c === 0x22) inString = true;
      size++;
    }
  }
  if (!changed) return data;
  const out = new Uint8Array(size);
  let o = 0;
  inString = false;
  for (let i = 0; i < n; i++) {
    const c = data[i];
    if (inString) {
      if (c === 0x5c) {
        out[o++] = c;
        out[o++] = data[++i];
      } else if (c === 0x3c || c === 0x3e || c === 0x26) {
        out[o++] = 0x5c; // \u00XX
        out[o++] = 0x75;
        out[o++] = 0x30;
        out[o++] = 0x30;
        out[o++] = HEX_BYTES[c >> 4];
        out[o++] = HEX_BYTES[c & 0xf];
      } else if (c === 0xe2 && data[i + 1] === 0x80 && (data[i + 2] & ~1) === 0xa8) {
        out[o++] = 0x5c; // \u2028, \u2029
        out[o++] = 0x75;
        out[o++] = 0x32;
        out[o++] = 0x30;
        out[o++] = 0x32;
        out[o++] = HEX_BYTES[data[i + 2] & 0xf];
        i += 2;
      } else {
        if (c === 0x22) inString = false;
        out[o++] = c;
      }
    } else if (!isJsonSpace(c)) {
      if (c === 0x22) inString = true;
      out[o++] = c;
    }
  }
  return out;
}

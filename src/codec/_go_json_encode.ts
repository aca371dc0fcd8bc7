/**
 * JSON as Go's encoding/json writes it: a string as `json.Marshal` quotes it (HTML-escaped, bad
 * surrogates as U+FFFD) and valid JSON bytes in the compact form `json.Marshal` gives an
 * embedded raw value.
 *
 * @module
 */
import { isSpace } from "./_go_json.ts";

const decoder = new TextDecoder();
const HEX = "0123456789abcdef";

/** Go's json.Marshal of a string: quoted, `<>&` and U+2028/9 escaped as \u00XX. */
export function goJsonString(s: string): string {
  let out = '"';
  for (let k = 0; k < s.length; k++) {
    const c = s.charCodeAt(k);
    if (c >= 0x20 && c !== 0x22 && c !== 0x5c && c !== 0x3c && c !== 0x3e && c !== 0x26) {
      if (c === 0x2028 || c === 0x2029) {
        out += c === 0x2028 ? "\\u2028" : "\\u2029";
      } else if (c >= 0xd800 && c <= 0xdfff) {
        const next = s.charCodeAt(k + 1);
        if (c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
          out += s[k] + s[k + 1];
          k++;
        } else {
          out += "\ufffd";
        }
      } else {
        out += s[k];
      }
      continue;
    }
    switch (c) {
      case 0x22:
        out += '\\"';
        break;
      case 0x5c:
        out += "\\\\";
        break;
      case 0x08:
        out += "\\b";
        break;
      case 0x0c:
        out += "\\f";
        break;
      case 0x0a:
        out += "\\n";
        break;
      case 0x0d:
        out += "\\r";
        break;
      case 0x09:
        out += "\\t";
        break;
      default:
        out += "\\u00" + HEX[c >> 4] + HEX[c & 0xf];
    }
  }
  return out + '"';
}

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
    } else if (isSpace(c)) {
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
    } else if (!isSpace(c)) {
      if (c === 0x22) inString = true;
      out[o++] = c;
    }
  }
  return out;
}

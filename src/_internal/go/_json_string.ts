/**
 * Go's encoding/json strings: a string token's value as json.Unmarshal reads it, and a string as
 * json.Marshal writes it (HTML-escaped).
 *
 * @module
 */

const decoder = new TextDecoder();

/** Unescapes a JSON string token (quotes included) as Go does (bad surrogates become U+FFFD). */
export function unescapeGoString(token: Uint8Array): string {
  let s: string;
  try {
    s = JSON.parse(decoder.decode(token));
  } catch {
    s = decoder.decode(token.subarray(1, token.length - 1));
  }
  // Lone surrogates become U+FFFD in Go.
  return s.replace(
    /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g,
    "\uFFFD",
  );
}

/** Lower-case hex digits, as Go writes `\u00XX` escapes. */
export const HEX = "0123456789abcdef";

/**
 * Go's json.Marshal of a string: quoted, `<>&` and U+2028/9 escaped as \u00XX; a lone surrogate
 * written `\ufffd` (six characters), as Go writes a byte that is not UTF-8.
 */
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
          out += "\\ufffd"; // as Go writes a byte that is not UTF-8
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

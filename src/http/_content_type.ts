/**
 * The Content-Type Go's net/http puts on a response whose handler set none: its sniffing of the
 * first 512 bytes (`http.DetectContentType`), for the signatures an RPC reply can carry.
 *
 * @module
 */

const TEXT = "text/plain; charset=utf-8";

const HTML_TAGS = [
  "<!DOCTYPE HTML",
  "<HTML",
  "<HEAD",
  "<SCRIPT",
  "<IFRAME",
  "<H1",
  "<DIV",
  "<FONT",
  "<TABLE",
  "<A",
  "<STYLE",
  "<TITLE",
  "<B",
  "<BODY",
  "<BR",
  "<P",
  "<!--",
];

const ascii = (s: string) => [...s].map((c) => c.charCodeAt(0));
const PDF = ascii("%PDF-");
const POSTSCRIPT = ascii("%!PS-Adobe-");
const GIF87 = ascii("GIF87a");
const GIF89 = ascii("GIF89a");
const BMP = ascii("BM");
const RIFF = ascii("RIFF");
const WEBP = ascii("WEBPVP");

function startsWith(data: Uint8Array, sig: number[], from = 0): boolean {
  if (data.length - from < sig.length) return false;
  for (let i = 0; i < sig.length; i++) if (data[from + i] !== sig[i]) return false;
  return true;
}

function isWs(b: number): boolean {
  return b === 0x09 || b === 0x0a || b === 0x0c || b === 0x0d || b === 0x20;
}

function htmlSig(data: Uint8Array, from: number, tag: string): boolean {
  if (data.length - from < tag.length + 1) return false;
  for (let i = 0; i < tag.length; i++) {
    let b = data[from + i];
    if (b >= 0x61 && b <= 0x7a) b &= 0xdf; // to upper
    if (b !== tag.charCodeAt(i)) return false;
  }
  const end = data[from + tag.length];
  return end === 0x20 || end === 0x3e;
}

/**
 * Go's http.DetectContentType for the common cases: HTML and XML text, PDF, PostScript, images
 * (GIF, PNG, JPEG, BMP, WebP), gzip, zip, wasm, byte-order marks, then text versus binary.
 */
export function detectContentType(body: Uint8Array): string {
  const data = body.subarray(0, 512);
  let ws = 0;
  while (ws < data.length && isWs(data[ws])) ws++;
  for (const tag of HTML_TAGS) {
    if (htmlSig(data, ws, tag)) return "text/html; charset=utf-8";
  }
  if (startsWith(data, [0x3c, 0x3f, 0x78, 0x6d, 0x6c], ws)) return "text/xml; charset=utf-8";
  if (startsWith(data, PDF)) return "application/pdf";
  if (startsWith(data, POSTSCRIPT)) return "application/postscript";
  if (startsWith(data, [0xfe, 0xff])) return "text/plain; charset=utf-16be";
  if (startsWith(data, [0xff, 0xfe])) return "text/plain; charset=utf-16le";
  if (startsWith(data, [0xef, 0xbb, 0xbf])) return TEXT;
  if (startsWith(data, GIF87) || startsWith(data, GIF89)) return "image/gif";
  if (startsWith(data, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return "image/png";
  if (startsWith(data, [0xff, 0xd8, 0xff])) return "image/jpeg";
  if (startsWith(data, BMP)) return "image/bmp";
  if (
    startsWith(data, RIFF) && startsWith(data, WEBP, 8)
  ) return "image/webp";
  if (startsWith(data, [0x1f, 0x8b, 0x08])) return "application/x-gzip";
  if (startsWith(data, [0x50, 0x4b, 0x03, 0x04])) return "application/zip";
  if (startsWith(data, [0x00, 0x61, 0x73, 0x6d])) return "application/wasm";
  for (const b of data) {
    if (b <= 0x08 || b === 0x0b || (b >= 0x0e && b <= 0x1a) || (b >= 0x1c && b <= 0x1f)) {
      return "application/octet-stream";
    }
  }
  return TEXT;
}

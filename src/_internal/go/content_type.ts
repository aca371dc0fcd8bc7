/**
 * The Content-Type Go's net/http puts on a response whose handler set none: Go's
 * `http.DetectContentType`, which sniffs the first 512 bytes (the WHATWG MIME sniffing
 * signatures Go lists, in Go's order), for the HTTP gateway's and JSON-RPC's replies. Checked
 * against Go's own outputs in `content_type_test.ts` (`testdata/content_type.json`).
 *
 * @module
 */

/** How many bytes Go looks at. */
const SNIFF_LENGTH = 512;

/** A signature: a test of the first bytes (and where the first non-space byte is). */
type Signature = (data: Uint8Array, firstNonSpace: number) => string | undefined;

const bytes = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));

/** The bytes start with `sig`. */
function exact(sig: string, type: string): Signature {
  const b = bytes(sig);
  return (data) => startsWith(data, b, 0) ? type : undefined;
}

function startsWith(data: Uint8Array, sig: Uint8Array, from: number): boolean {
  if (data.length - from < sig.length) return false;
  for (let i = 0; i < sig.length; i++) if (data[from + i] !== sig[i]) return false;
  return true;
}

/**
 * The first `pattern.length` bytes, each ANDed with `mask`, equal `pattern` (from the first
 * non-space byte when `skipSpace`); fewer bytes never match.
 */
function masked(mask: string, pattern: string, type: string, skipSpace = false): Signature {
  const m = bytes(mask);
  const p = bytes(pattern);
  return (data, firstNonSpace) => {
    const from = skipSpace ? firstNonSpace : 0;
    if (data.length - from < p.length) return undefined;
    for (let i = 0; i < p.length; i++) if ((data[from + i] & m[i]) !== p[i]) return undefined;
    return type;
  };
}

/**
 * An HTML tag (after leading white space), letters in any case, followed by a space or `>`.
 */
function html(tag: string): Signature {
  const t = bytes(tag);
  return (data, firstNonSpace) => {
    if (data.length - firstNonSpace < t.length + 1) return undefined;
    for (let i = 0; i < t.length; i++) {
      let b = data[firstNonSpace + i];
      if (t[i] >= 0x41 && t[i] <= 0x5a) b &= 0xdf; // letters compare upper-cased
      if (b !== t[i]) return undefined;
    }
    const end = data[firstNonSpace + t.length];
    return end === 0x20 || end === 0x3e ? "text/html; charset=utf-8" : undefined;
  };
}

/** An ISO base media file (`ftyp` box) whose brand or a compatible brand is `mp4`. */
const mp4: Signature = (data) => {
  if (data.length < 12) return undefined;
  const boxSize = new DataView(data.buffer, data.byteOffset, 4).getUint32(0);
  if (data.length < boxSize || boxSize % 4 !== 0) return undefined;
  if (!startsWith(data, FTYP, 4)) return undefined;
  for (let at = 8; at < boxSize; at += 4) {
    if (at === 12) continue; // the minor version
    if (startsWith(data, MP4, at)) return "video/mp4";
  }
  return undefined;
};
const FTYP = bytes("ftyp");
const MP4 = bytes("mp4");

/** No byte that marks binary data (control bytes other than white space and ESC). */
const text: Signature = (data, firstNonSpace) => {
  for (let i = firstNonSpace; i < data.length; i++) {
    const b = data[i];
    if (b <= 0x08 || b === 0x0b || (b >= 0x0e && b <= 0x1a) || (b >= 0x1c && b <= 0x1f)) {
      return undefined;
    }
  }
  return "text/plain; charset=utf-8";
};

const FF4 = "\xff\xff\xff\xff";
const RIFF_MASK = `${FF4}\x00\x00\x00\x00${FF4}`;

/** Go's signatures, in Go's order: the first that matches decides. */
const SIGNATURES: readonly Signature[] = [
  ...[
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
  ].map(html),
  masked("\xff\xff\xff\xff\xff", "<?xml", "text/xml; charset=utf-8", true),
  exact("%PDF-", "application/pdf"),
  exact("%!PS-Adobe-", "application/postscript"),
  // Byte order marks: Go wants four bytes for each.
  masked("\xff\xff\x00\x00", "\xfe\xff\x00\x00", "text/plain; charset=utf-16be"),
  masked("\xff\xff\x00\x00", "\xff\xfe\x00\x00", "text/plain; charset=utf-16le"),
  masked("\xff\xff\xff\x00", "\xef\xbb\xbf\x00", "text/plain; charset=utf-8"),
  // Images.
  exact("\x00\x00\x01\x00", "image/x-icon"),
  exact("\x00\x00\x02\x00", "image/x-icon"),
  exact("BM", "image/bmp"),
  exact("GIF87a", "image/gif"),
  exact("GIF89a", "image/gif"),
  masked(`${RIFF_MASK}\xff\xff`, "RIFF\x00\x00\x00\x00WEBPVP", "image/webp"),
  exact("\x89PNG\x0d\x0a\x1a\x0a", "image/png"),
  exact("\xff\xd8\xff", "image/jpeg"),
  // Audio and video.
  masked(RIFF_MASK, "FORM\x00\x00\x00\x00AIFF", "audio/aiff"),
  masked("\xff\xff\xff", "ID3", "audio/mpeg"),
  masked("\xff\xff\xff\xff\xff", "OggS\x00", "application/ogg"),
  masked(`${FF4}${FF4}`, "MThd\x00\x00\x00\x06", "audio/midi"),
  masked(RIFF_MASK, "RIFF\x00\x00\x00\x00AVI ", "video/avi"),
  masked(RIFF_MASK, "RIFF\x00\x00\x00\x00WAVE", "audio/wave"),
  mp4,
  exact("\x1a\x45\xdf\xa3", "video/webm"),
  // Fonts.
  masked(`${"\x00".repeat(34)}\xff\xff`, `${"\x00".repeat(34)}LP`, "application/vnd.ms-fontobject"),
  exact("\x00\x01\x00\x00", "font/ttf"),
  exact("OTTO", "font/otf"),
  exact("ttcf", "font/collection"),
  exact("wOFF", "font/woff"),
  exact("wOF2", "font/woff2"),
  // Archives.
  exact("\x1f\x8b\x08", "application/x-gzip"),
  exact("PK\x03\x04", "application/zip"),
  exact("Rar!\x1a\x07\x00", "application/x-rar-compressed"),
  exact("Rar!\x1a\x07\x01\x00", "application/x-rar-compressed"),
  exact("\x00\x61\x73\x6d", "application/wasm"),
  text, // last
];

/**
 * Go's `http.DetectContentType`: the type the first 512 bytes of `body` show, else
 * `application/octet-stream`.
 *
 * @example
 * ```ts
 * import { detectContentType } from "./content_type.ts";
 * console.log(detectContentType(new TextEncoder().encode('{"C":200}'))); // text/plain; charset=utf-8
 * ```
 */
export function detectContentType(body: Uint8Array): string {
  const data = body.subarray(0, SNIFF_LENGTH);
  let firstNonSpace = 0;
  while (firstNonSpace < data.length && isSpace(data[firstNonSpace])) firstNonSpace++;
  for (const sig of SIGNATURES) {
    const type = sig(data, firstNonSpace);
    if (type !== undefined) return type;
  }
  return "application/octet-stream";
}

function isSpace(b: number): boolean {
  return b === 0x09 || b === 0x0a || b === 0x0c || b === 0x0d || b === 0x20;
}

/**
 * Go's `strconv` as rpcx's Go side applies it to the text it reads and the errors it writes:
 * `Atoi`, `ParseInt`, `ParseUint` (base 10) and `ParseFloat` with Go's `*strconv.NumError`
 * texts, and `Quote` with Go's `IsPrint` (Go's Unicode tables, from `print_table.ts`). Checked
 * against Go's own outputs in `strconv_test.ts` (`testdata/strconv.json`).
 *
 * @module
 */
import { RpcxError } from "../../protocol/errors.ts";
import { GO_PRINT_RANGES } from "./print_table.ts";

/** Why Go's strconv refused a number (`strconv.ErrSyntax`, `strconv.ErrRange`). */
export type NumErrorReason = "invalid syntax" | "value out of range";

/**
 * Go's `*strconv.NumError`: `strconv.<Func>: parsing "<Num>": <reason>`, the text Go rpcx sends
 * back for a malformed number (e.g. an HTTP invoke's `X-RPCX-MessageID`).
 *
 * @example
 * ```ts
 * import { atoi, NumError } from "./strconv.ts";
 * try {
 *   atoi("12a");
 * } catch (e) {
 *   console.log(e instanceof NumError, (e as Error).message);
 *   // true strconv.Atoi: parsing "12a": invalid syntax
 * }
 * ```
 */
export class NumError extends RpcxError {
  /** The Go function: `Atoi`, `ParseInt`, `ParseUint` or `ParseFloat`. */
  readonly func: string;
  /** The text that was parsed. */
  readonly num: string;
  /** Why it was refused. */
  readonly reason: NumErrorReason;
  /** Creates Go's error for `func` refusing `num`. */
  constructor(func: string, num: string, reason: NumErrorReason) {
    super(`strconv.${func}: parsing ${quote(num)}: ${reason}`);
    this.func = func;
    this.num = num;
    this.reason = reason;
  }
}

const isDigit = (c: number) => c >= 0x30 && c <= 0x39;

/**
 * Go's base-10 digit loop (`ParseUint`): a syntax error at the first non-digit, a range error as
 * soon as the value passes `max`, whichever comes first.
 */
function readUint(func: string, s: string, from: number, max: bigint, num: string): bigint {
  if (from >= s.length) throw new NumError(func, num, "invalid syntax");
  if (s.length - from < 16) {
    // Exact as a number below 2^53: one BigInt at the end rather than one per digit.
    let n = 0;
    for (let i = from; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (!isDigit(c)) return readBigUint(func, s, from, max, num);
      n = n * 10 + (c - 0x30);
    }
    const v = BigInt(n);
    if (v > max) return readBigUint(func, s, from, max, num);
    return v;
  }
  return readBigUint(func, s, from, max, num);
}

/** {@linkcode readUint}'s loop in bigints, which finds which error Go reports first. */
function readBigUint(func: string, s: string, from: number, max: bigint, num: string): bigint {
  let n = 0n;
  for (let i = from; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (!isDigit(c)) throw new NumError(func, num, "invalid syntax");
    n = n * 10n + BigInt(c - 0x30);
    if (n > max) throw new NumError(func, num, "value out of range");
  }
  return n;
}

/**
 * Go's `strconv.ParseUint(s, 10, bitSize)`: decimal digits only (no sign, no `_`).
 *
 * @throws {NumError} `invalid syntax` or `value out of range`.
 */
export function parseUint(s: string, bitSize = 64): bigint {
  return readUint("ParseUint", s, 0, (1n << BigInt(bitSize)) - 1n, s);
}

/**
 * Go's `strconv.ParseInt(s, 10, bitSize)`: an optional sign, then decimal digits (no `_`).
 *
 * @throws {NumError} `invalid syntax` or `value out of range`.
 */
export function parseInt(s: string, bitSize = 64, func = "ParseInt"): bigint {
  const neg = s[0] === "-";
  const from = neg || s[0] === "+" ? 1 : 0;
  // Go reads the digits with ParseUint's bounds (a syntax error after more digits than the int
  // holds is still a syntax error), then checks the sign's range.
  const n = readUint(func, s, from, (1n << BigInt(bitSize)) - 1n, s);
  const limit = 1n << BigInt(bitSize - 1);
  if (neg ? n > limit : n >= limit) throw new NumError(func, s, "value out of range");
  return neg ? -n : n;
}

/**
 * Go's `strconv.Atoi` on a 64-bit machine (`ParseInt(s, 10, 64)`, named `Atoi` in errors).
 *
 * @throws {NumError} `invalid syntax` or `value out of range`.
 */
export function atoi(s: string): bigint {
  return parseInt(s, 64, "Atoi");
}

/** Go's `underscoreOK`: `_` only between digits (a base prefix counts as one). */
function underscoreOK(s: string): boolean {
  let saw = "^";
  let i = s[0] === "+" || s[0] === "-" ? 1 : 0;
  let hex = false;
  if (s.length - i >= 2 && s[i] === "0" && "bBoOxX".includes(s[i + 1])) {
    hex = s[i + 1] === "x" || s[i + 1] === "X";
    i += 2;
    saw = "0";
  }
  for (; i < s.length; i++) {
    const c = s[i];
    if ((c >= "0" && c <= "9") || (hex && /[a-fA-F]/.test(c))) {
      saw = "0";
    } else if (c === "_") {
      if (saw !== "0") return false;
      saw = "_";
    } else {
      if (saw === "_") return false;
      saw = "!";
    }
  }
  return saw !== "_";
}

const SPECIAL = /^(?:([+-]?)(?:inf|infinity)|nan)$/i;
const DECIMAL = /^[+-]?(?:[0-9_]+\.?[0-9_]*|\.[0-9_]+)(?:[eE][+-]?[0-9_]+)?$/;
const HEX = /^([+-]?)0[xX]((?:[0-9a-fA-F_]+\.?[0-9a-fA-F_]*|\.[0-9a-fA-F_]+))[pP]([+-]?[0-9_]+)$/;

/** `m · 2^e` rounded to the nearest float64 (ties to even), as Go's `atofHex` rounds. */
function scaleToFloat(m: bigint, e: number): number {
  if (m === 0n) return 0;
  const length = m.toString(2).length;
  const top = length - 1 + e; // exponent of the leading bit
  const keep = Math.min(53, top + 1075); // bits the float64 can hold at that exponent
  if (keep < 0) return 0;
  const drop = length - keep;
  let q = m;
  if (drop > 0) {
    const rest = m & ((1n << BigInt(drop)) - 1n);
    const half = 1n << BigInt(drop - 1);
    q = m >> BigInt(drop);
    if (rest > half || (rest === half && (q & 1n) === 1n)) q++;
  } else if (drop < 0) {
    q = m << BigInt(-drop);
  }
  const k = e + drop;
  // q·2^k is exact once rounded; the power is split so neither factor underflows on its own.
  if (k < -1022) return Number(q) * 2 ** -1022 * 2 ** (k + 1022);
  return Number(q) * 2 ** k;
}

/**
 * Go's `strconv.ParseFloat(s, 64)`: decimal and hexadecimal (`0x1.8p1`) forms, `_` between
 * digits, `inf`/`infinity` (signed) and `nan` in any case. A finite text beyond float64's range
 * is an error (Go returns ±Inf with it); one below it rounds to 0 as Go's does.
 *
 * @throws {NumError} `invalid syntax` or `value out of range`.
 */
export function parseFloat(s: string): number {
  const special = SPECIAL.exec(s);
  if (special) {
    if (/nan/i.test(s)) return NaN;
    return special[1] === "-" ? -Infinity : Infinity;
  }
  let value: number;
  const hex = HEX.exec(s);
  if (hex) {
    if (s.includes("_") && !underscoreOK(s)) throw new NumError("ParseFloat", s, "invalid syntax");
    const mantissa = hex[2].replaceAll("_", "");
    const dot = mantissa.indexOf(".");
    const digits = dot < 0 ? mantissa : mantissa.slice(0, dot) + mantissa.slice(dot + 1);
    if (digits === "") throw new NumError("ParseFloat", s, "invalid syntax");
    const fraction = dot < 0 ? 0 : mantissa.length - dot - 1;
    const exp = Number(hex[3].replaceAll("_", ""));
    value = scaleToFloat(BigInt(`0x${digits}`), exp - 4 * fraction);
    if (hex[1] === "-") value = -value;
  } else {
    if (!DECIMAL.test(s) || !/[0-9]/.test(s.split(/[eE]/)[0])) {
      throw new NumError("ParseFloat", s, "invalid syntax");
    }
    if (s.includes("_") && !underscoreOK(s)) throw new NumError("ParseFloat", s, "invalid syntax");
    value = Number(s.replaceAll("_", ""));
  }
  if (!Number.isFinite(value)) throw new NumError("ParseFloat", s, "value out of range");
  return value;
}

let printStarts: Uint32Array | undefined;
let printEnds: Uint32Array | undefined;

/** Go's `strconv.IsPrint`: letters, marks, numbers, punctuation, symbols and U+0020, by Go's tables. */
export function isPrint(r: number): boolean {
  if (r < 0x7f) return r >= 0x20;
  if (!printStarts || !printEnds) {
    const ranges = GO_PRINT_RANGES.split(",");
    printStarts = new Uint32Array(ranges.length);
    printEnds = new Uint32Array(ranges.length);
    ranges.forEach((range, i) => {
      const [a, b] = range.split("-");
      printStarts![i] = Number.parseInt(a, 16);
      printEnds![i] = Number.parseInt(b, 16);
    });
  }
  let lo = 0;
  let hi = printStarts.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (r < printStarts[mid]) hi = mid - 1;
    else if (r > printEnds[mid]) lo = mid + 1;
    else return true;
  }
  return false;
}

const hex2 = (n: number) => n.toString(16).padStart(2, "0");

/** One rune as Go's `appendEscapedRune` writes it inside double quotes. */
function escapeRune(r: number): string {
  if (r === 0x22) return '\\"';
  if (r === 0x5c) return "\\\\";
  if (isPrint(r)) return String.fromCodePoint(r);
  switch (r) {
    case 0x07:
      return "\\a";
    case 0x08:
      return "\\b";
    case 0x0c:
      return "\\f";
    case 0x0a:
      return "\\n";
    case 0x0d:
      return "\\r";
    case 0x09:
      return "\\t";
    case 0x0b:
      return "\\v";
  }
  if (r < 0x20 || r === 0x7f) return `\\x${hex2(r)}`;
  if (r < 0x10000) return `\\u${r.toString(16).padStart(4, "0")}`;
  return `\\U${r.toString(16).padStart(8, "0")}`;
}

/**
 * Go's `utf8.DecodeRune` at `i`: the rune and its width, or -1 and width 1 for a byte that does
 * not start a valid sequence (overlong forms, surrogates and values past U+10FFFF included).
 */
function decodeRune(b: Uint8Array, i: number): [number, number] {
  const c = b[i];
  if (c < 0x80) return [c, 1];
  const cont = (k: number) => i + k < b.length && (b[i + k] & 0xc0) === 0x80;
  if (c >= 0xc2 && c <= 0xdf && cont(1)) return [((c & 0x1f) << 6) | (b[i + 1] & 0x3f), 2];
  if (c >= 0xe0 && c <= 0xef && cont(1) && cont(2)) {
    const r = ((c & 0x0f) << 12) | ((b[i + 1] & 0x3f) << 6) | (b[i + 2] & 0x3f);
    if (r >= 0x800 && (r < 0xd800 || r > 0xdfff)) return [r, 3];
  }
  if (c >= 0xf0 && c <= 0xf4 && cont(1) && cont(2) && cont(3)) {
    const r = ((c & 0x07) << 18) | ((b[i + 1] & 0x3f) << 12) | ((b[i + 2] & 0x3f) << 6) |
      (b[i + 3] & 0x3f);
    if (r >= 0x10000 && r <= 0x10ffff) return [r, 4];
  }
  return [-1, 1];
}

/**
 * Go's `strconv.Quote`: `s` in double quotes with Go's escapes (`\n`, `\x00`, `\u00ad`,
 * `\U000e0001`; printable runes kept). Bytes are read as UTF-8 the way Go reads a string, so a
 * byte that is not valid UTF-8 is written `\xff`; a string's lone surrogate is U+FFFD (what
 * `TextEncoder` sends).
 */
export function quote(s: string | Uint8Array): string {
  let out = '"';
  if (typeof s === "string") {
    for (const ch of s) {
      const r = ch.codePointAt(0)!;
      out += escapeRune(r >= 0xd800 && r <= 0xdfff ? 0xfffd : r);
    }
    return out + '"';
  }
  for (let i = 0; i < s.length;) {
    const [r, width] = decodeRune(s, i);
    out += r < 0 ? `\\x${hex2(s[i])}` : escapeRune(r);
    i += width;
  }
  return out + '"';
}

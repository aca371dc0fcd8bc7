/**
 * Go's encoding/json scanner: the syntax check json.Unmarshal makes first (checkValid), with Go's
 * error texts ({@linkcode GoJsonSyntaxError}), and the raw spans of the top-level value's members
 * (an object's, or an array's elements, read all at once or one at a time).
 *
 * @module
 */
import { RpcxError } from "../../protocol/errors.ts";
import { quote } from "./strconv.ts";
import { unescapeGoString } from "./_json_string.ts";

/** A JSON syntax error with the text Go's encoding/json gives (Go's `*json.SyntaxError`). */
export class GoJsonSyntaxError extends RpcxError {
  /** Byte offset where the error was found. */
  readonly offset: number;
  /** Creates the error. */
  constructor(message: string, offset: number) {
    super(message);
    this.name = "GoJsonSyntaxError";
    this.offset = offset;
  }
}

const END = "unexpected end of JSON input";

/** JSON's white space (space, tab, newline, carriage return), as Go's scanner skips it. */
export function isJsonSpace(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
}

/**
 * Go's `quoteChar`: how a byte is shown in a syntax error, Go's `strconv.Quote` of the rune with
 * the byte's value between single quotes.
 */
function quoteChar(c: number): string {
  if (c === 0x27) return "'\\''";
  if (c === 0x22) return "'\"'";
  return `'${quote(String.fromCharCode(c)).slice(1, -1)}'`;
}

/** A member of a top-level JSON object: its unescaped key and the raw span of its value. */
export interface RawMember {
  /** The key, unescaped. */
  readonly key: string;
  /** The value's first byte. */
  readonly start: number;
  /** One past the value's last byte. */
  readonly end: number;
  /** The value's kind as Go names it in type errors. */
  readonly kind: "object" | "array" | "string" | "number" | "bool" | "null";
}

/**
 * The result of {@linkcode scanGoJson}: the top-level value's kind and span, and its members (an
 * object's, or an array's elements with key "").
 */
export interface ScannedJson {
  readonly kind: RawMember["kind"];
  readonly start: number;
  readonly end: number;
  readonly members: RawMember[];
}

interface Scanner {
  /** The next byte to read. */
  i: number;
  readonly n: number;
  skipSpace(): void;
  /** Scans one value from `i` (members of an object or array collected into `members`). */
  value(depth: number, members?: RawMember[]): RawMember["kind"];
  fail(context: string): never;
}

/** Go's encoding/json scanner over `data` (checkValid), one value at a time. */
function goScanner(data: Uint8Array): Scanner {
  let i = 0;
  const n = data.length;
  const fail = (context: string): never => {
    if (i >= n) throw new GoJsonSyntaxError(END, i);
    throw new GoJsonSyntaxError(`invalid character ${quoteChar(data[i])} ${context}`, i);
  };
  // Inside a literal, a number or an escape, Go's scanner ends the input by feeding it a space,
  // which is then the invalid character (`"tru"`: invalid character ' ' in literal true ...).
  const failInToken = (context: string): never => {
    if (i >= n) throw new GoJsonSyntaxError(`invalid character ' ' ${context}`, i);
    return fail(context);
  };
  const skipSpace = () => {
    while (i < n && isJsonSpace(data[i])) i++;
  };
  const literal = (word: string) => {
    for (let k = 1; k < word.length; k++) {
      i++;
      if (i >= n || data[i] !== word.charCodeAt(k)) {
        failInToken(`in literal ${word} (expecting '${word[k]}')`);
      }
    }
    i++;
  };
  const isDigit = (c: number) => c >= 0x30 && c <= 0x39;
  const number = () => {
    if (data[i] === 0x2d) {
      i++;
      if (i >= n || !isDigit(data[i])) failInToken("in numeric literal");
    }
    if (data[i] === 0x30) i++;
    else while (i < n && isDigit(data[i])) i++;
    if (i < n && data[i] === 0x2e) {
      i++;
      if (i >= n || !isDigit(data[i])) failInToken("after decimal point in numeric literal");
      while (i < n && isDigit(data[i])) i++;
    }
    if (i < n && (data[i] === 0x65 || data[i] === 0x45)) {
      i++;
      if (i < n && (data[i] === 0x2b || data[i] === 0x2d)) i++;
      if (i >= n || !isDigit(data[i])) failInToken("in exponent of numeric literal");
      while (i < n && isDigit(data[i])) i++;
    }
  };
  const isHex = (c: number) => isDigit(c) || (c >= 0x61 && c <= 0x66) || (c >= 0x41 && c <= 0x46);
  const string = () => {
    i++; // opening quote
    for (;;) {
      if (i >= n) fail("");
      const c = data[i];
      if (c === 0x22) {
        i++;
        return;
      }
      if (c < 0x20) fail("in string literal");
      if (c === 0x5c) {
        i++;
        if (i >= n) failInToken("in string escape code");
        const e = data[i];
        if (e === 0x75) {
          for (let k = 0; k < 4; k++) {
            i++;
            if (i >= n || !isHex(data[i])) failInToken("in \\u hexadecimal character escape");
          }
        } else if (!'"\\/bfnrt'.includes(String.fromCharCode(e))) {
          fail("in string escape code");
        }
      }
      i++;
    }
  };
  const value = (depth: number, members?: RawMember[]): RawMember["kind"] => {
    if (depth > 10000) throw new GoJsonSyntaxError("exceeded max depth", i);
    if (i >= n) fail("");
    const c = data[i];
    switch (c) {
      case 0x7b: { // {
        i++;
        skipSpace();
        if (i < n && data[i] === 0x7d) {
          i++;
          return "object";
        }
        for (;;) {
          if (i >= n || data[i] !== 0x22) fail("looking for beginning of object key string");
          const keyStart = i;
          string();
          const keyEnd = i;
          skipSpace();
          if (i >= n || data[i] !== 0x3a) fail("after object key");
          i++;
          skipSpace();
          const vStart = i;
          const kind = value(depth + 1);
          if (members) {
            members.push({
              key: unescapeGoString(data.subarray(keyStart, keyEnd)),
              start: vStart,
              end: i,
              kind,
            });
          }
          skipSpace();
          if (i < n && data[i] === 0x2c) {
            i++;
            skipSpace();
            continue;
          }
          if (i < n && data[i] === 0x7d) {
            i++;
            return "object";
          }
          fail("after object key:value pair");
        }
      }
      case 0x5b: { // [
        i++;
        skipSpace();
        if (i < n && data[i] === 0x5d) {
          i++;
          return "array";
        }
        for (;;) {
          const eStart = i;
          const kind = value(depth + 1);
          if (members) members.push({ key: "", start: eStart, end: i, kind });
          skipSpace();
          if (i < n && data[i] === 0x2c) {
            i++;
            skipSpace();
            continue;
          }
          if (i < n && data[i] === 0x5d) {
            i++;
            return "array";
          }
          fail("after array element");
        }
      }
      case 0x22:
        string();
        return "string";
      case 0x74:
        literal("true");
        return "bool";
      case 0x66:
        literal("false");
        return "bool";
      case 0x6e:
        literal("null");
        return "null";
      default:
        if (c === 0x2d || isDigit(c)) {
          number();
          return "number";
        }
    }
    return fail("looking for beginning of value");
  };
  return {
    get i() {
      return i;
    },
    set i(v: number) {
      i = v;
    },
    n,
    skipSpace,
    value,
    fail,
  };
}

/**
 * Checks `data` is one JSON value (surrounded by white space) as Go's json.Unmarshal does, throwing
 * {@linkcode GoJsonSyntaxError} with Go's text otherwise; returns the top-level members.
 */
export function scanGoJson(data: Uint8Array): ScannedJson {
  const s = goScanner(data);
  s.skipSpace();
  const start = s.i;
  const members: RawMember[] = [];
  const kind = s.value(0, members);
  const end = s.i;
  s.skipSpace();
  if (s.i < s.n) s.fail("after top-level value");
  return { kind, start, end, members };
}

/** Whether the top-level value of `data` is an array (its first byte past white space is `[`). */
export function isGoJsonArray(data: Uint8Array): boolean {
  let i = 0;
  while (i < data.length && isJsonSpace(data[i])) i++;
  return data[i] === 0x5b;
}

/**
 * The elements of `data`'s top-level array one at a time, each checked as it is reached, with
 * the errors {@linkcode scanGoJson} throws at the same bytes (it throws at the first error, after
 * yielding the elements before it). The caller may stop early: what follows is then not read.
 * `data` must start with an array ({@linkcode isGoJsonArray}).
 */
export function* goJsonArrayElements(data: Uint8Array): Generator<RawMember, void, void> {
  const s = goScanner(data);
  const n = s.n;
  s.skipSpace();
  if (data[s.i] !== 0x5b) s.fail("looking for beginning of value");
  s.i++;
  s.skipSpace();
  if (s.i < n && data[s.i] === 0x5d) {
    s.i++;
  } else {
    for (;;) {
      const start = s.i;
      const kind = s.value(1);
      yield { key: "", start, end: s.i, kind };
      s.skipSpace();
      if (s.i < n && data[s.i] === 0x2c) {
        s.i++;
        s.skipSpace();
        continue;
      }
      if (s.i < n && data[s.i] === 0x5d) {
        s.i++;
        break;
      }
      s.fail("after array element");
    }
  }
  s.skipSpace();
  if (s.i < n) s.fail("after top-level value");
}

/**
 * Internal to the ConsistentHash selector: the canonical text of a call's args, FNV-1a 64 of a
 * string without allocating, and the 52-bit ring positions of servers and of a key's probes.
 *
 * @module
 */

const TWO_32 = 2 ** 32;

/** The high and low 32 bits of the last {@linkcode fnv1a64Of} (no allocation per hash). */
export const fnvOut = { hi: 0, lo: 0 };

/**
 * FNV-1a 64 of `s`'s UTF-8 bytes (a lone surrogate counts as U+FFFD, as TextEncoder writes it),
 * computed in 32-bit halves; the result is left in {@linkcode fnvOut}.
 */
export function fnv1a64Of(s: string): void {
  let hi = 0xcbf29ce4;
  let lo = 0x84222325;
  // h = (h ^ b) * (2^40 + 0x1b3) mod 2^64, on the two halves.
  const step = (b: number) => {
    lo = (lo ^ b) >>> 0;
    const t = lo * 0x1b3; // < 2^41: exact
    hi = (Math.imul(hi, 0x1b3) + (lo << 8) + Math.floor(t / TWO_32)) >>> 0;
    lo = t >>> 0;
  };
  const n = s.length;
  for (let i = 0; i < n; i++) {
    let c = s.charCodeAt(i);
    if (c < 0x80) {
      step(c);
      continue;
    }
    if (c < 0x800) {
      step(0xc0 | (c >> 6));
      step(0x80 | (c & 63));
      continue;
    }
    if (c >= 0xd800 && c < 0xe000) {
      const d = i + 1 < n ? s.charCodeAt(i + 1) : 0;
      if (c < 0xdc00 && d >= 0xdc00 && d < 0xe000) {
        i++;
        c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
        step(0xf0 | (c >> 18));
        step(0x80 | ((c >> 12) & 63));
        step(0x80 | ((c >> 6) & 63));
        step(0x80 | (c & 63));
        continue;
      }
      c = 0xfffd;
    }
    step(0xe0 | (c >> 12));
    step(0x80 | ((c >> 6) & 63));
    step(0x80 | (c & 63));
  }
  fnvOut.hi = hi;
  fnvOut.lo = lo;
}

/** Murmur3's 32-bit finalizer: every input bit reaches every output bit. */
function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Size of the ring: positions are integers in [0, 2^52), so sums of two stay exact. */
export const RING = 2 ** 52;

/**
 * A position on the ring (an integer below 2^52) for the 64-bit hash (hi, lo) and a small salt
 * (a key's probe number, or a server's position number): both halves of the hash reach both
 * halves of the position.
 */
export function ringPosition(hi: number, lo: number, salt: number): number {
  const x = fmix32((lo + Math.imul(salt + 1, 0x9e3779b9)) >>> 0);
  const y = fmix32(((hi ^ x) + Math.imul(salt + 1, 0x85ebca6b)) >>> 0);
  return (y & 0xfffff) * TWO_32 + fmix32(x ^ y);
}

const HEX = Array.from({ length: 256 }, (_, b) => b.toString(16).padStart(2, "0"));

function bytesText(b: Uint8Array): string {
  let s = "<";
  for (let i = 0; i < b.length; i++) s += HEX[b[i]];
  return s + ">";
}

/**
 * An integer's decimal digits whether it is a number or a bigint (the codecs send both as the
 * same integer, and decode an int64 to either by its size); other numbers as JS prints them
 * (the shortest text that reads back the same double). -0 is 0.
 */
function numberText(v: number): string {
  if (Number.isSafeInteger(v)) return String(v);
  if (Number.isInteger(v)) return BigInt(v).toString();
  return String(v);
}

/**
 * The canonical text of a call's args: equal values give equal texts and values a server can
 * tell apart give different ones. Strings are JSON-quoted (so `"5"` is not `5`); numbers and
 * bigints by value (`5` and `5n` alike); bytes (any ArrayBuffer view, ArrayBuffer) as padded
 * hex; a Date by its time; arrays in order; objects by their own enumerable properties in
 * sorted order (an undefined property is left out, as the codecs leave it out); Map entries and
 * Set members sorted by their texts; an object with `toJSON` (other than Date) by what it
 * returns; `undefined` as `null` (both travel as nil/null). A value that contains itself gives
 * `<cycle>` there (the codec then refuses it). Throws only what reading the value throws (a
 * getter's error).
 */
export function argsKey(v: unknown): string {
  return canon(v, []);
}

function canon(v: unknown, ancestors: object[]): string {
  switch (typeof v) {
    case "string":
      return JSON.stringify(v);
    case "number":
      return numberText(v);
    case "bigint":
      return v.toString();
    case "boolean":
      return v ? "true" : "false";
    case "undefined":
      return "null";
    case "symbol":
      return `Symbol(${JSON.stringify(v.description ?? "")})`;
    case "function":
      return "function";
  }
  if (v === null) return "null";
  const o = v as object;
  if (ArrayBuffer.isView(o)) return bytesText(new Uint8Array(o.buffer, o.byteOffset, o.byteLength));
  if (o instanceof ArrayBuffer || o instanceof SharedArrayBuffer) {
    return bytesText(new Uint8Array(o));
  }
  if (o instanceof Date) return `Date(${numberText(o.getTime())})`;
  if (ancestors.includes(o)) return "<cycle>";
  ancestors.push(o);
  try {
    if (Array.isArray(o)) {
      let s = "[";
      for (let i = 0; i < o.length; i++) s += (i === 0 ? "" : ",") + canon(o[i], ancestors);
      return s + "]";
    }
    if (o instanceof Map) {
      const entries = Array.from(o, ([k, x]) => canon(k, ancestors) + ":" + canon(x, ancestors));
      return `Map{${entries.sort().join(",")}}`;
    }
    if (o instanceof Set) {
      return `Set[${Array.from(o, (x) => canon(x, ancestors)).sort().join(",")}]`;
    }
    const toJSON = (o as { toJSON?: unknown }).toJSON;
    if (typeof toJSON === "function") {
      let j: unknown = o;
      try {
        j = toJSON.call(o);
      } catch {
        // Keyed by its properties, as the MsgPack codec sends it.
      }
      if (j !== o) return `toJSON(${canon(j, ancestors)})`;
    }
    const rec = o as Record<string, unknown>;
    let s = "{";
    let first = true;
    for (const k of Object.keys(rec).sort()) {
      const x = rec[k];
      if (x === undefined) continue;
      s += (first ? "" : ",") + JSON.stringify(k) + ":" + canon(x, ancestors);
      first = false;
    }
    return s + "}";
  } finally {
    ancestors.pop();
  }
}

/** Probes per key of the multi-probe ring. */
export const PROBES = 21;
/** Ring positions per server. */
export const POINTS = 32;
/** Salt of a server's first position (a key's probes use salts 0 to PROBES − 1). */
const POINT_SALT = 0x100;

/** The POINTS ring positions of the server `key`. */
export function serverPoints(key: string): Float64Array {
  fnv1a64Of(key);
  const { hi, lo } = fnvOut;
  const at = new Float64Array(POINTS);
  for (let v = 0; v < POINTS; v++) at[v] = ringPosition(hi, lo, POINT_SALT + v);
  return at;
}

/** A sorted ring and its lookup table. */
export interface Ring {
  /** Every server's positions, ascending (equal positions: by key). */
  ring: Float64Array;
  /** The server (index into the list) at each position. */
  owners: Uint32Array;
  /** The ring split in 2^k equal spans: span i's positions start at starts[i] (one extra: n). */
  starts: Uint32Array;
  /** Width of a span: RING / 2^k. */
  span: number;
}

/** The ring of `servers`, whose positions `points` holds. */
export function buildRing(servers: string[], points: Map<string, Float64Array>): Ring {
  const ring = new Float64Array(servers.length * POINTS);
  const owners = new Uint32Array(ring.length);
  for (let s = 0; s < servers.length; s++) {
    ring.set(points.get(servers[s])!, s * POINTS);
    owners.fill(s, s * POINTS, (s + 1) * POINTS);
  }
  sortRing(ring, owners, servers);
  // About two positions per span, so a probe's search is a step or two.
  let spans = 1;
  while (spans * 2 <= ring.length) spans *= 2;
  const span = RING / spans;
  const starts = new Uint32Array(spans + 1);
  for (let i = 0, at = 0; i <= spans; i++) {
    while (at < ring.length && ring[at] < i * span) at++;
    starts[i] = at;
  }
  return { ring, owners, starts, span };
}

/**
 * Sorts positions (integers below 2^52) with their owners, by radix for large rings (tens of ms
 * for 320,000 positions, where a comparison sort takes hundreds); equal positions are then
 * ordered by their servers' keys, so the order depends only on the set of servers.
 */
function sortRing(ring: Float64Array, owners: Uint32Array, servers: string[]): void {
  const n = ring.length;
  // Digits of 13 bits in 4 passes, or for small rings 7 bits in 8 (fewer counters to clear).
  if (n < 4096) radixSort(ring, owners, 7, 8);
  else radixSort(ring, owners, 13, 4);
  // Equal positions (a chance of 2^-52 per pair): ordered by key.
  for (let i = 1; i < n; i++) {
    if (ring[i] !== ring[i - 1]) continue;
    let j = i + 1;
    while (j < n && ring[j] === ring[i]) j++;
    const run = Array.from(owners.subarray(i - 1, j)).sort((x, y) =>
      servers[x] < servers[y] ? -1 : servers[x] > servers[y] ? 1 : 0
    );
    owners.set(run, i - 1);
    i = j;
  }
}

/**
 * LSD radix sort of positions below 2^52 with their owners: `passes` (even, so the result ends
 * in the arrays given) stable passes of `bits`-bit digits, bits × passes ≥ 52.
 */
function radixSort(ring: Float64Array, owners: Uint32Array, bits: number, passes: number): void {
  const n = ring.length;
  const radix = 2 ** bits;
  const mask = radix - 1;
  let k = ring;
  let o = owners;
  let k2: Float64Array = new Float64Array(n);
  let o2: Uint32Array = new Uint32Array(n);
  const count = new Uint32Array(radix);
  for (let pass = 0, div = 1; pass < passes; pass++, div *= radix) {
    count.fill(0);
    for (let i = 0; i < n; i++) count[Math.floor(k[i] / div) & mask]++;
    for (let d = 0, sum = 0; d < radix; d++) {
      const c = count[d];
      count[d] = sum;
      sum += c;
    }
    for (let i = 0; i < n; i++) {
      const j = count[Math.floor(k[i] / div) & mask]++;
      k2[j] = k[i];
      o2[j] = o[i];
    }
    [k, k2] = [k2, k];
    [o, o2] = [o2, o];
  }
  // After an even number of passes the result is back in ring and owners.
}

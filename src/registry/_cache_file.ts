/**
 * The cache file of `CacheDiscovery` (cache.ts): Go's format (`json.Marshal` of `[]*KVPair`),
 * read strictly, and written atomically.
 *
 * @module
 */
import { mkdir, rename, rm, writeFile } from "node:fs/promises";
import { goJsonString } from "../_internal/go/json.ts";
import type { KVPair } from "./discovery.ts";

/** A cache file larger than this is refused as corrupt (a list of 100 000 servers is ~6 MiB). */
export const MAX_FILE_BYTES = 16 * 1024 * 1024;

/**
 * Go's `json.Marshal([]*KVPair)`: `[{"Key":"…","Value":"…"}]`, `<`, `>`, `&`, U+2028/9 escaped;
 * `null` for an empty list.
 */
export function encodeCacheFile(pairs: readonly KVPair[]): string {
  if (pairs.length === 0) return "null";
  return `[${
    pairs.map((p) => `{"Key":${goJsonString(p.key)},"Value":${goJsonString(p.value)}}`).join(",")
  }]`;
}

/**
 * Reads a cache file as Go's `json.Unmarshal` into `[]*KVPair` would (field names matched
 * without case, `Value` optional), but strictly: anything else throws.
 */
export function decodeCacheFile(text: string): KVPair[] {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw new SyntaxError(`not JSON (${(e as Error).message})`);
  }
  if (data === null) return [];
  if (!Array.isArray(data)) throw new SyntaxError("not a JSON list");
  return data.map((item, i) => {
    if (item === null || typeof item !== "object" || Array.isArray(item)) {
      throw new SyntaxError(`entry ${i} is not an object`);
    }
    let key: unknown;
    let value: unknown = "";
    for (const [k, v] of Object.entries(item)) {
      if (k.toLowerCase() === "key") key = v;
      else if (k.toLowerCase() === "value") value = v ?? "";
    }
    if (typeof key !== "string" || key === "") throw new SyntaxError(`entry ${i} has no Key`);
    if (typeof value !== "string") {
      throw new SyntaxError(`entry ${i} has a Value that is no string`);
    }
    return { key, value };
  });
}

/** Writes `text` to a temp file beside `path`, then renames it over `path`. */
export async function writeAtomically(path: string, text: string): Promise<void> {
  const slash = path.lastIndexOf("/");
  if (slash > 0) await mkdir(path.slice(0, slash), { recursive: true });
  const tmp = `${path}.${crypto.randomUUID().slice(0, 13)}.tmp`;
  try {
    await writeFile(tmp, text, { mode: 0o644 });
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true }).catch(() => {});
    throw e;
  }
}

/** Whether two lists hold the same servers with the same metadata, in any order. */
export function sameList(a: readonly KVPair[], b: readonly KVPair[]): boolean {
  if (a.length !== b.length) return false;
  const m = new Map<string, string>();
  for (const p of a) m.set(p.key, p.value);
  for (const p of b) if (m.get(p.key) !== p.value) return false;
  return true;
}

/**
 * Go struct tags (`json:"a,omitempty" msgpack:"a"`), read as Go's `reflect.StructTag` does.
 *
 * @module
 */
import { unquote } from "./_go_tokens.ts";

/**
 * The value of `key` in a struct tag (`reflect.StructTag.Get`): `json:"a,omitempty"` → `a,omitempty`.
 */
export function tagValue(tag: string, key: string): string | undefined {
  const re = /([^\s:"]+):("(?:[^"\\]|\\.)*")/g;
  for (const m of tag.matchAll(re)) {
    if (m[1] === key) return unquote(m[2]);
  }
  return undefined;
}

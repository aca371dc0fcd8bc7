/**
 * Internal: the objects a codec would silently write as an empty map (`{}`): the libraries
 * write an object's own enumerable properties, and these keep their contents elsewhere. A
 * `Map` is written with its entries by each codec; the others are refused with a
 * {@linkcode CodecError} naming the type, never sent empty.
 *
 * @module
 */

/** The types refused, with what to send instead. */
const REFUSED: ReadonlyArray<readonly [new (...a: never[]) => unknown, string, string]> = [
  [Set, "Set", "send an array ([...set]) or a Map to true (Go's map[T]bool)"],
  [WeakMap, "WeakMap", "send a Map"],
  [WeakSet, "WeakSet", "send an array"],
  [WeakRef, "WeakRef", "send the value it holds"],
  [Promise, "Promise", "await it first"],
  [RegExp, "RegExp", "send its source text"],
  [ArrayBuffer, "ArrayBuffer", "send a Uint8Array over it"],
  // A page that is not cross-origin isolated has no SharedArrayBuffer.
  ...(typeof SharedArrayBuffer === "function"
    ? [[SharedArrayBuffer, "SharedArrayBuffer", "send a Uint8Array over it"] as const]
    : []),
];

/**
 * Why `value` (an object that is not an array, a typed array, a `Date` or a `Map`) cannot be
 * encoded by `codec`, or `undefined` when it can (a plain object or a class instance, written
 * as its own enumerable properties).
 */
export function refusal(value: object, codec: string): string | undefined {
  const proto = Object.getPrototypeOf(value);
  if (proto === Object.prototype || proto === null) return undefined;
  // Once per prototype (a class's instances share it): 20,000 class instances took 8.1–8.5 ms
  // to encode with the checks run per object, 1.7–2.1 ms before the checks existed.
  let found = verdicts.get(proto);
  if (found === undefined) {
    found = NONE;
    if (!(ArrayBuffer.isView(value) || value instanceof Date)) {
      for (const entry of REFUSED) {
        if (value instanceof entry[0]) {
          found = entry;
          break;
        }
      }
    }
    verdicts.set(proto, found);
  }
  if (found === NONE) return undefined;
  const [, name, instead] = found;
  const article = /^[AEIOU]/.test(name) ? "an" : "a";
  return `${codec} codec cannot encode ${article} ${name} (it would be sent empty): ${instead}`;
}

/** A prototype whose objects are encoded as usual. */
const NONE = [Object, "", ""] as const;
/** What {@linkcode refusal} found for each prototype it has seen. */
const verdicts = new WeakMap<object, (typeof REFUSED)[number] | typeof NONE>();

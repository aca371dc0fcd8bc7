/**
 * Internal: a millisecond clock for per-connection timestamps, counted from when this module
 * loaded rather than from the epoch. Its readings stay small integers for weeks, which V8 keeps
 * in an object's field as is; an epoch time would need a number box of its own in every
 * connection.
 *
 * @module
 */

/** The epoch time (ms) the clock counts from. */
export const CLOCK_BASE: number = Date.now();

/** Milliseconds since {@linkcode CLOCK_BASE}. */
export function clock(): number {
  return Date.now() - CLOCK_BASE;
}

/**
 * Timers on Node and Bun: their `setTimeout`/`setInterval` return an object with
 * `unref()`/`ref()`.
 *
 * @module
 */
import type { TimerHandle, Timers } from "../../runtime/types.ts";

type Refable = { unref?(): unknown; ref?(): unknown };

/** The Node adapter's timers (Bun's too). */
export const nodeTimers: Timers = {
  unref(timer: TimerHandle): void {
    (timer as unknown as Refable).unref?.();
  },
  ref(timer: TimerHandle): void {
    (timer as unknown as Refable).ref?.();
  },
};

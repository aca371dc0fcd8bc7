/**
 * Timers on Deno. Deno 2.9's `setTimeout` returns an object with `unref()`/`ref()` (as Node's
 * does); older Deno 2.x returned a number, which `Deno.unrefTimer`/`Deno.refTimer` take.
 *
 * @module
 */
import type { TimerHandle, Timers } from "../../runtime/types.ts";
import { deno } from "./_deno.ts";

type Refable = { unref?(): unknown; ref?(): unknown };

/** The Deno adapter's timers. */
export const denoTimers: Timers = {
  unref(timer: TimerHandle): void {
    const t = timer as unknown as Refable | number;
    if (typeof t === "number") deno().unrefTimer(t);
    else if (typeof t.unref === "function") t.unref();
  },
  ref(timer: TimerHandle): void {
    const t = timer as unknown as Refable | number;
    if (typeof t === "number") deno().refTimer(t);
    else if (typeof t.ref === "function") t.ref();
  },
};

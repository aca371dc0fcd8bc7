/**
 * Call timeouts without a timer per call. Calls with the same timeout expire in the order they
 * started, so each distinct timeout value keeps a FIFO lane and one timer, set for the oldest
 * call still waiting (Node's timer lists work alike). A settled call is only marked: the lane
 * drops it when its turn comes, or compacts when settled calls outnumber waiting ones.
 *
 * @module
 */
import { runtime } from "../runtime/mod.ts";

/** A call that can time out. */
export interface Expiring {
  /** When it times out, in `performance.now()` ms (set by {@linkcode Deadlines.add}). */
  deadline: number;
  /** Settled (replied, failed, aborted): never expires. */
  settled: boolean;
  /** Its lane, to count it settled. */
  lane: Lane | undefined;
  /** Times it out. */
  expire(): void;
}

/** The calls of one timeout value, oldest first. */
export class Lane {
  items: Expiring[] = [];
  head = 0;
  /** Calls in the lane not settled yet. */
  waiting = 0;
  timer: ReturnType<typeof setTimeout> | undefined;
  constructor(readonly timeout: number) {}

  /**
   * Called by a call that settles before its deadline. When the last one settles, the lane's
   * timer is unreferenced rather than cleared, so a finished call never keeps the process alive
   * until its timeout, and the next call reuses the timer (one call at a time would otherwise
   * set and clear a timer per call); when it fires with nothing waiting, the lane is dropped.
   */
  settle(): void {
    if (--this.waiting === 0) {
      if (this.timer !== undefined) runtime().timers.unref(this.timer);
      this.items = [];
      this.head = 0;
    }
  }
}

/** One set of lanes; `deadlines` is shared by every client of the process. */
export class Deadlines {
  readonly #lanes = new Map<number, Lane>();

  /** Times `item` out after `timeout` ms unless it settles first. */
  add(timeout: number, item: Expiring): void {
    let lane = this.#lanes.get(timeout);
    if (lane === undefined) this.#lanes.set(timeout, lane = new Lane(timeout));
    item.deadline = performance.now() + timeout;
    item.lane = lane;
    lane.items.push(item);
    // The first waiting call of a lane whose timer was unreferenced (see Lane.settle) holds
    // the process again. The timer is due at or before this call's deadline (an earlier call
    // of the same timeout set it), and re-arms for the oldest waiting call when it fires.
    if (lane.waiting++ === 0 && lane.timer !== undefined) {
      runtime().timers.ref(lane.timer);
    }
    const queued = lane.items.length - lane.head;
    if (queued > 64 && lane.waiting * 2 < queued) this.#compact(lane);
    if (lane.timer === undefined) this.#arm(lane);
  }

  #compact(lane: Lane): void {
    const keep: Expiring[] = [];
    for (let i = lane.head; i < lane.items.length; i++) {
      if (!lane.items[i].settled) keep.push(lane.items[i]);
    }
    lane.items = keep;
    lane.head = 0;
  }

  #arm(lane: Lane): void {
    const items = lane.items;
    while (lane.head < items.length && items[lane.head].settled) lane.head++;
    if (lane.head === items.length) {
      // Nothing waits: drop the lane (and its timer) until the next call with this timeout.
      this.#lanes.delete(lane.timeout);
      return;
    }
    const wait = Math.max(0, Math.ceil(items[lane.head].deadline - performance.now()));
    lane.timer = setTimeout(() => this.#fire(lane), wait);
  }

  #fire(lane: Lane): void {
    lane.timer = undefined;
    const now = performance.now();
    const items = lane.items;
    const expired: Expiring[] = [];
    while (lane.head < items.length) {
      const item = items[lane.head];
      if (!item.settled) {
        if (item.deadline > now) break;
        lane.waiting--;
        item.lane = undefined;
        expired.push(item);
      }
      lane.head++;
    }
    if (lane.head > 1024 && lane.head * 2 > items.length) {
      lane.items = items.slice(lane.head);
      lane.head = 0;
    }
    this.#arm(lane);
    // Last: what an expiry starts (a retry, a new call) finds the lane consistent.
    for (const item of expired) item.expire();
  }
}

/** The process-wide lanes of client call timeouts. */
export const deadlines: Deadlines = new Deadlines();

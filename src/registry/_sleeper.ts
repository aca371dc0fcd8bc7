/**
 * The `Sleeper` moved to `src/_internal/async.ts` with the other timing helpers; this re-export
 * keeps `zookeeper/register.ts` building until it imports the new home (then this file goes).
 *
 * @module
 */
export { Sleeper } from "../_internal/async.ts";

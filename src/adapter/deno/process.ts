/**
 * The process on Deno: signal listeners, `Deno.exit`, `Deno.args`, the environment (read only
 * when already allowed: never prompts) and `Deno.build.os`.
 *
 * @module
 */
import type { ProcessApi, TermSignal } from "../../runtime/types.ts";
import { deno } from "./_deno.ts";

/** The Deno adapter's process. */
export const denoProcess: ProcessApi = {
  onSignals(signals: readonly TermSignal[], handler: () => void): () => void {
    const added: TermSignal[] = [];
    for (const s of signals) {
      try {
        deno().addSignalListener(s, handler);
        added.push(s);
      } catch {
        // not a signal of this OS (SIGTERM on Windows)
      }
    }
    return () => {
      for (const s of added.splice(0)) {
        try {
          deno().removeSignalListener(s, handler);
        } catch {
          // already removed
        }
      }
    };
  },
  exit(code: number): never {
    return deno().exit(code);
  },
  args(): string[] {
    return [...deno().args];
  },
  env(name: string): string | undefined {
    try {
      const D = deno();
      if (D.permissions.querySync({ name: "env", variable: name }).state !== "granted") {
        return undefined;
      }
      return D.env.get(name);
    } catch {
      return undefined;
    }
  },
  os(): string {
    return deno().build.os;
  },
};

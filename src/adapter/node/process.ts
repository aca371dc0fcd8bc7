/**
 * The process on Node and Bun, through `node:process`.
 *
 * @module
 */
import process from "node:process";
import type { ProcessApi, TermSignal } from "../../runtime/types.ts";

/** `process.platform` → the OS names of `Deno.build.os`. */
const OS_NAMES: Record<string, string> = { win32: "windows", sunos: "solaris" };

/** The Node adapter's process (Bun's too). */
export const nodeProcess: ProcessApi = {
  onSignals(signals: readonly TermSignal[], handler: () => void): () => void {
    const added: TermSignal[] = [];
    for (const s of signals) {
      try {
        process.on(s, handler);
        added.push(s);
      } catch {
        // not a signal of this OS
      }
    }
    return () => {
      for (const s of added.splice(0)) process.off(s, handler);
    };
  },
  exit(code: number): never {
    return process.exit(code);
  },
  args(): string[] {
    return process.argv.slice(2);
  },
  env(name: string): string | undefined {
    return process.env[name];
  },
  os(): string {
    return OS_NAMES[process.platform] ?? process.platform;
  },
};

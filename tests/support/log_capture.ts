// The library's warnings, captured while a test's code runs (setLogger, restored after).
import { setLogger } from "@rpcx/core";

/** Runs `fn` with a logger that keeps each warning as `message {fields as JSON}`. */
export async function capturingWarn<T>(
  fn: () => Promise<T>,
): Promise<{ result: T; warnings: string[] }> {
  const warnings: string[] = [];
  const previous = setLogger({
    debug() {},
    info() {},
    warn: (msg, fields) => void warnings.push(`${msg} ${JSON.stringify(fields)}`),
    error() {},
  });
  try {
    return { result: await fn(), warnings };
  } finally {
    setLogger(previous);
  }
}

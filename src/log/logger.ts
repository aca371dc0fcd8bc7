/**
 * The library's logger: levels and structured fields, quiet by default. The library never
 * writes to the console itself; it tells the logger set with {@linkcode setLogger}, which by
 * default prints only errors and warnings, to stderr.
 *
 * @module
 */

/**
 * Log levels, most verbose first.
 *
 * @example
 * ```ts
 * import { LogLevel } from "@rpcx/core";
 * console.log(LogLevel.Warn > LogLevel.Info); // true
 * ```
 */
export const LogLevel = {
  /** Per-message detail. */
  Debug: 0,
  /** Life-cycle events (connections, registrations). */
  Info: 1,
  /** Something went wrong and was handled (a plugin threw, a registry was unreachable). */
  Warn: 2,
  /** Something went wrong and was not handled. */
  Error: 3,
  /** Nothing is logged. */
  Silent: 4,
} as const;
/** A value of {@linkcode LogLevel}. */
export type LogLevel = typeof LogLevel[keyof typeof LogLevel];

/** Structured fields of one log record (JSON-friendly values). */
export type LogFields = Record<string, unknown>;

/**
 * What the library logs to. Mirrors Go rpcx's `log.Logger` (Debugf … Errorf) with structured
 * fields instead of format strings. Any object with these four methods will do (pino, winston
 * and the like fit through a one-line adapter).
 *
 * @example
 * ```ts
 * import { type Logger, setLogger } from "@rpcx/core";
 * const lines: string[] = [];
 * const memory: Logger = {
 *   debug: () => {},
 *   info: () => {},
 *   warn: (msg, fields) => lines.push(`WARN ${msg} ${JSON.stringify(fields)}`),
 *   error: (msg, fields) => lines.push(`ERROR ${msg} ${JSON.stringify(fields)}`),
 * };
 * const previous = setLogger(memory);
 * // ... run servers and clients ...
 * setLogger(previous);
 * ```
 */
export interface Logger {
  /** Per-message detail. */
  debug(msg: string, fields?: LogFields): void;
  /** Life-cycle events. */
  info(msg: string, fields?: LogFields): void;
  /** Handled problems. */
  warn(msg: string, fields?: LogFields): void;
  /** Unhandled problems. */
  error(msg: string, fields?: LogFields): void;
}

/**
 * A logger writing one line per record to stderr (`LEVEL msg key=value ...`), dropping records
 * below `level`.
 *
 * @example
 * ```ts
 * import { consoleLogger, LogLevel, setLogger } from "@rpcx/core";
 * setLogger(consoleLogger(LogLevel.Debug)); // everything
 * setLogger(consoleLogger()); // back to the default: warnings and errors
 * ```
 */
export function consoleLogger(level: LogLevel = LogLevel.Warn): Logger {
  const line = (name: string, at: LogLevel) => (msg: string, fields?: LogFields) => {
    if (at < level) return;
    let text = `${name} ${msg}`;
    for (const [k, v] of Object.entries(fields ?? {})) text += ` ${k}=${fieldText(v)}`;
    console.error(text);
  };
  return {
    debug: line("DEBUG", LogLevel.Debug),
    info: line("INFO", LogLevel.Info),
    warn: line("WARN", LogLevel.Warn),
    error: line("ERROR", LogLevel.Error),
  };
}

function fieldText(v: unknown): string {
  if (v instanceof Error) return JSON.stringify(v.message);
  if (typeof v === "string") return /^[\w.:@/-]*$/.test(v) && v !== "" ? v : JSON.stringify(v);
  try {
    return JSON.stringify(v, (_, x) => typeof x === "bigint" ? x.toString() : x) ?? String(v);
  } catch {
    return String(v);
  }
}

/**
 * A logger that drops everything.
 *
 * @example
 * ```ts
 * import { setLogger, silentLogger } from "@rpcx/core";
 * setLogger(silentLogger);
 * ```
 */
export const silentLogger: Logger = consoleLogger(LogLevel.Silent);

let current: Logger = consoleLogger();

/**
 * Sets the process-wide logger of the library; returns the previous one.
 *
 * @example
 * ```ts
 * import { setLogger, silentLogger } from "@rpcx/core";
 * const previous = setLogger(silentLogger);
 * setLogger(previous);
 * ```
 */
export function setLogger(logger: Logger): Logger {
  const previous = current;
  current = logger;
  return previous;
}

/**
 * The process-wide logger of the library (as set with {@linkcode setLogger}).
 *
 * @example
 * ```ts
 * import { logger } from "@rpcx/core/extend";
 * logger().warn("registry unreachable", { registry: "etcd", addr: "127.0.0.1:2379" });
 * ```
 */
export function logger(): Logger {
  return current;
}

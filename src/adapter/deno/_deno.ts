/**
 * The members of Deno's global the Deno adapter uses, typed here (structurally) so that nothing
 * in the package needs Deno's own type declarations: `tsc` with Node's types alone checks it all
 * (`deno task check:neutral`). `tests/runtime_test.ts` assigns the real `Deno` to
 * {@linkcode DenoApi}, so `deno check` catches any drift from Deno's real types.
 *
 * @module
 */

/** A permission query (the kinds the adapter asks about). */
export type DenoPermission =
  | { name: "env"; variable?: string }
  | { name: "ffi"; path?: string | URL }
  | { name: "net"; host?: string }
  | { name: "read"; path?: string | URL }
  | { name: "sys"; kind: "hostname" | "networkInterfaces" };

/** The state of a permission. */
export type DenoPermissionState = "granted" | "denied" | "prompt";

/** A symbol definition as `Deno.dlopen` takes it. */
export interface DenoForeignFunction {
  parameters: readonly ("u32" | "i32" | "buffer")[];
  result: "u32" | "i32" | "buffer";
  nonblocking?: boolean;
}

/** A standard stream of Deno (`Deno.stdout`, `Deno.stderr`; `Deno.stdin` only says if it is a terminal). */
export interface DenoStdStream {
  write?(p: Uint8Array): Promise<number>;
  isTerminal(): boolean;
}

/** One address of `Deno.networkInterfaces()`. */
export interface DenoNetworkInterface {
  readonly family: "IPv4" | "IPv6";
  readonly name: string;
  readonly address: string;
}

/** A socket address (`Deno.NetAddr`, `Deno.UnixAddr`, ...), loosely. */
export interface DenoAddr {
  readonly transport: string;
  readonly hostname?: string;
  readonly port?: number;
  readonly path?: string | null;
}

/** A connection (`Deno.Conn`). */
export interface DenoConn {
  readonly localAddr: DenoAddr;
  readonly remoteAddr: DenoAddr;
  read(p: Uint8Array): Promise<number | null>;
  write(p: Uint8Array): Promise<number>;
  close(): void;
}

/** A TCP connection (`Deno.TcpConn`). */
export interface DenoTcpConn extends DenoConn {
  setNoDelay(noDelay?: boolean): void;
  setKeepAlive(keepAlive?: boolean): void;
}

/** A listener (`Deno.Listener`). */
export interface DenoListener {
  readonly addr: DenoAddr;
  accept(): Promise<DenoConn>;
  close(): void;
}

/** `Deno.listen`'s TCP options as the adapter passes them (`reusePort` is unstable). */
export interface DenoTcpListenOptions {
  hostname?: string;
  port: number;
  transport?: "tcp";
  tcpBacklog?: number;
  reusePort?: boolean;
}

/** A child process (`Deno.ChildProcess`). */
export interface DenoChildProcess {
  readonly pid: number;
  readonly status: Promise<{ readonly code: number; readonly signal: string | null }>;
  kill(signo?: "SIGTERM"): void;
  unref(): void;
}

/** `Deno.Command`'s options as the adapter passes them. */
export interface DenoCommandOptions {
  args?: string[];
  env?: Record<string, string>;
  stdin?: "inherit";
  stdout?: "inherit";
  stderr?: "inherit";
}

/** The part of `Deno` the adapter uses. */
export interface DenoApi {
  readonly build: { readonly os: string };
  readonly args: string[];
  readonly pid: number;
  readonly ppid: number;
  readonly env: { get(key: string): string | undefined; delete(key: string): void };
  readonly permissions: {
    querySync(desc: DenoPermission): { readonly state: DenoPermissionState };
    requestSync(desc: DenoPermission): { readonly state: DenoPermissionState };
  };
  readonly stdin: DenoStdStream;
  readonly stdout: DenoStdStream & { write(p: Uint8Array): Promise<number> };
  readonly stderr: DenoStdStream & { write(p: Uint8Array): Promise<number> };
  hostname(): string;
  networkInterfaces(): DenoNetworkInterface[];
  readonly errors: {
    // deno-lint-ignore no-explicit-any
    readonly NotCapable: new (...args: any[]) => Error;
    // deno-lint-ignore no-explicit-any
    readonly PermissionDenied: new (...args: any[]) => Error;
  };
  exit(code?: number): never;
  execPath(): string;
  readTextFileSync(path: string): string;
  readonly Command: new (command: string, options?: DenoCommandOptions) => {
    spawn(): DenoChildProcess;
  };
  unrefTimer(id: number): void;
  refTimer(id: number): void;
  addSignalListener(signal: "SIGINT" | "SIGTERM", handler: () => void): void;
  removeSignalListener(signal: "SIGINT" | "SIGTERM", handler: () => void): void;
  connect(options: { hostname?: string; port: number; transport?: "tcp" }): Promise<DenoTcpConn>;
  connect(options: { path: string; transport: "unix" }): Promise<DenoConn>;
  listen(options: DenoTcpListenOptions): DenoListener;
  listen(options: { path: string; transport: "unix" }): DenoListener;
  /** Only with `--unstable-net`. */
  readonly listenDatagram?: unknown;
  dlopen(
    path: string | URL,
    symbols: Record<string, DenoForeignFunction>,
  ): { symbols: Record<string, unknown>; close(): void };
}

/** Deno's global, read when called (never at module load, so Node and Bun can load this file). */
export function deno(): DenoApi {
  return (globalThis as unknown as { Deno: DenoApi }).Deno;
}

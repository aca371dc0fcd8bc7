/**
 * The runtime seam's contract: what the core needs from the JavaScript runtime it runs on
 * (Deno, Node or Bun), so that no file outside `src/adapter/` names a runtime's own API.
 * Each runtime implements it once, in `src/adapter/<runtime>/` (hono's layout);
 * {@linkcode "./mod.ts".runtime} picks the one the process runs on.
 *
 * It covers sockets (TCP, TLS, Unix), timers, the process (signals, exit, arguments,
 * environment, OS, standard output, host name, network interfaces, permissions) and the native
 * library (FFI). HTTP servers need no member: `node:http` serves the same on all three runtimes
 * (`src/_internal/serve_fetch.ts`). Runtime errors do not cross it: sockets fail with the
 * transport's typed errors (`ListenError`, `ConnectionRefusedError`, `DialTimeoutError`,
 * `TlsHandshakeError`, `DialError`; reads and writes with `SocketError`/`PeerGoneError`).
 *
 * @module
 */
import type { Connection, Listener, TlsOptions } from "../transport/network.ts";

/** Which runtime an adapter is for. */
export type RuntimeName = "deno" | "node" | "bun";

/** What `setTimeout`/`setInterval` return on the runtime in use (an object on all three). */
export type TimerHandle = ReturnType<typeof setTimeout>;

/** Timers that need not keep the process alive. */
export interface Timers {
  /** The timer no longer keeps the process alive (it still fires while something else does). */
  unref(timer: TimerHandle): void;
  /** Undoes {@linkcode Timers.unref}: the timer keeps the process alive again. */
  ref(timer: TimerHandle): void;
}

/** A signal that asks the process to stop. */
export type TermSignal = "SIGINT" | "SIGTERM";

/** What `import.meta` gives a module (`main` exists on Deno, Bun and Node ≥ 24.2). */
export interface ModuleMeta {
  /** The module's URL. */
  readonly url: string;
  /** Whether the module is the program's entry, where the runtime says so. */
  readonly main?: boolean;
}

/** A standard stream: 0 input, 1 output, 2 error. */
export type StdStream = 0 | 1 | 2;

/** An address of a network interface of this host. */
export interface NetInterface {
  /** The interface's name (`eth0`, `lo`, ...). */
  readonly name: string;
  /** The address family. */
  readonly family: "IPv4" | "IPv6";
  /** The address, without a zone (`fe80::1`, not `fe80::1%eth0`). */
  readonly address: string;
}

/** A permission the code may need (Deno asks for them; Node and Bun have none to ask). */
export type Permission = "net" | "sys:hostname" | "sys:networkInterfaces";

/** The process the code runs in. */
export interface ProcessApi {
  /**
   * Calls `handler` on each of `signals` (a signal the OS does not have, such as SIGTERM on
   * Windows, is skipped). Returns a function that removes the handler again (repeat calls do
   * nothing).
   */
  onSignals(signals: readonly TermSignal[], handler: () => void): () => void;
  /** Ends the process with exit status `code`. */
  exit(code: number): never;
  /** The command-line arguments after the script's own name. */
  args(): string[];
  /**
   * The environment variable `name`, or `undefined` when it is unset or (Deno) reading it is
   * not allowed. Never asks for a permission.
   */
  env(name: string): string | undefined;
  /** The OS, as Deno's `Deno.build.os` names it: "linux", "darwin", "windows", ... */
  os(): string;
  /**
   * Whether the module whose `import.meta` is `meta` is the program's entry (the file the
   * runtime was asked to run): `meta.main` where the runtime sets it, else (Node < 24.2) the
   * module's file is the script's (`process.argv[1]`, links resolved).
   */
  isMain(meta: ModuleMeta): boolean;
  /** Writes all of `bytes` to standard output (1) or error (2); resolves once they are written. */
  write(stream: 1 | 2, bytes: Uint8Array): Promise<void>;
  /** Whether standard input (0), output (1) or error (2) is a terminal. */
  isTerminal(stream: StdStream): boolean;
  /**
   * The host's name, or `undefined` when it may not be read (Deno without
   * `--allow-sys=hostname`). Never asks for a permission.
   */
  hostname(): string | undefined;
  /**
   * The addresses of this host's network interfaces, loopback included; `[]` when they may not
   * be read (Deno without `--allow-sys=networkInterfaces`). Never asks for a permission.
   */
  networkInterfaces(): NetInterface[];
  /**
   * Makes sure the process holds `permissions`: on Deno, each one not granted is asked for (a
   * prompt where Deno may prompt) and one still not granted throws `PermissionError`
   * (`src/runtime/errors.ts`) with `why` as its message. Node and Bun grant everything: a no-op.
   */
  requirePermissions(permissions: readonly Permission[], why: string): void;
  /**
   * This process's command line as a copy of it would be started with: the runtime's executable,
   * its own options (Deno's permission flags, Node's `execArgv`), the script and its arguments.
   * Undefined where that cannot be told: Deno outside Linux, or without read access to
   * `/proc/self/cmdline` (Deno keeps its flags nowhere else). Never asks for a permission.
   */
  commandLine(): string[] | undefined;
  /**
   * Starts `command` (`[0]` the program, the rest its arguments) with `env` added to this
   * process's environment, sharing its standard input, output and error, as Go's
   * `os.StartProcess`; the child does not keep this process alive and outlives it. Throws when
   * it cannot be started (Deno: `--allow-run` is needed).
   */
  spawn(
    command: readonly string[],
    env: Readonly<Record<string, string>>,
    listeners?: readonly number[],
  ): ChildProcessHandle;
  /**
   * Whether `spawn` can pass listening sockets (`listeners`: file descriptors, which the child
   * gets as 3, 4, ...) and `Sockets.listen` can listen on an inherited one (`fd`): Node and Bun
   * on Unix; not Deno (`Deno.Command` passes no descriptors).
   */
  readonly passesListeners: boolean;
  /** This process's id. */
  pid(): number;
  /** The id of the process that started this one. */
  parentPid(): number;
  /**
   * Removes `name` from this process's environment, so what it starts does not get it; nothing
   * where that is not allowed (Deno without `--allow-env` for it). Never asks for a permission.
   */
  unsetEnv(name: string): void;
  /**
   * Closes an inherited descriptor (one {@linkcode ProcessApi.spawn} passed as a listener, not
   * taken); errors (already closed) are ignored. Nothing where none are passed (Deno).
   */
  closeDescriptor(fd: number): void;
}

/** A process started by {@linkcode ProcessApi.spawn}. */
export interface ChildProcessHandle {
  /** Its process id. */
  readonly pid: number;
  /** Resolves with its exit code once it ended (null when a signal ended it). */
  readonly exited: Promise<number | null>;
  /** Asks it to end (SIGTERM); nothing when it already ended. */
  kill(): void;
}

/** A parameter or result type of a native symbol. */
export type FfiType = "u32" | "i32" | "buffer";

/** The symbols to bind: name → parameter types and result type (all calls are synchronous). */
export type FfiSymbols = Record<
  string,
  { readonly parameters: readonly FfiType[]; readonly result: FfiType }
>;

/** A native library opened by {@linkcode Ffi.open}. */
export interface FfiLibrary {
  /** The bound symbols: buffers are passed as `Uint8Array`, integers as numbers. */
  readonly symbols: Record<string, (...args: (number | Uint8Array)[]) => number>;
  /** Closes the library; its symbols must not be called afterwards. */
  close(): void;
}

/** Native libraries (C ABI), on runtimes that can load them (Deno, Bun). */
export interface Ffi {
  /** The library file name this OS uses for `name`: `lib<name>.so`, `lib<name>.dylib`, `<name>.dll`. */
  libraryFileName(name: string): string;
  /**
   * Opens the library at `path` and binds `symbols`. With `explicit` false it never asks for a
   * permission (Deno: an ungranted `--allow-ffi` fails at once); with `explicit` true Deno may
   * prompt. Throws `NativeCodecUnavailableError` (`@rpcx/core/native`) with reason
   * `permission` (not allowed: Deno without `--allow-ffi`; not cached, a later call may have the
   * permission) or `load-failed` (missing file or symbol, not a library, ...; `cause` is the
   * runtime's error).
   */
  open(path: string, symbols: FfiSymbols, explicit: boolean): FfiLibrary;
}

/** Where a socket connects or listens: a TCP host and port, or a Unix socket path. */
export type SocketTarget =
  | { readonly transport: "tcp"; readonly hostname: string; readonly port: number }
  | { readonly transport: "unix"; readonly path: string };

/** Options of {@linkcode Sockets.connect}. */
export interface SocketConnectOptions {
  /** The network name the connection carries (`tcp`, `http`, `ws`, `unix`, ...). */
  readonly network: string;
  /** What errors name: `network@address`. */
  readonly label: string;
  /** Give up after this many ms (the TLS handshake included). */
  readonly timeout: number;
  /** TCP only: connect with TLS; the handshake is done before the promise resolves. */
  readonly tls?: TlsOptions;
  /**
   * TCP only: the keep-alive period, ms (idle time before the first probe; Go's
   * `TCPKeepAlivePeriod`). Undefined: keep-alive on with the system's period; 0: off.
   */
  readonly keepAlive?: number;
}

/** Options of {@linkcode Sockets.listen}. */
export interface SocketListenOptions {
  /** The network name the accepted connections carry. */
  readonly network: string;
  /** The address as asked for, for `ListenError`'s message. */
  readonly address: string;
  /** TCP only: serve TLS (`certChain` and `privateKey` required; mutual TLS with `requireClientCert`). */
  readonly tls?: TlsOptions;
  /** TCP only: SO_REUSEPORT. */
  readonly reusePort?: boolean;
  /**
   * TCP only: listen on this listening socket, a file descriptor this process inherited (a
   * graceful restart's successor, `Server.restart`), instead of binding; only where
   * {@linkcode ProcessApi.passesListeners}.
   */
  readonly fd?: number;
  /** TCP only: the accept queue's length (default 4096, capped by the system, as Go listens). */
  readonly backlog?: number;
  /** TLS: ms an accepted connection has to finish its handshake (default 10 000). */
  readonly handshakeTimeout?: number;
  /**
   * TCP only: the keep-alive period of accepted connections, ms (Go's
   * `server.WithTCPKeepAlivePeriod`). Undefined: keep-alive on with the system's period; 0: off.
   */
  readonly keepAlive?: number;
  /**
   * TCP only: listen with `node:net` on every runtime (Deno otherwise listens with its own
   * sockets, unfair to the connections of a saturated port; a Server asks for node:net).
   */
  readonly nodeSockets?: boolean;
}

/**
 * TCP (with or without TLS) and Unix stream sockets. Connections and listeners are the
 * transport's own {@linkcode Connection} and {@linkcode Listener}; closing a listener resolves
 * once its address is free again (a Unix socket path is removed, as Go does).
 */
export interface Sockets {
  /**
   * Connects. Rejects with `ConnectionRefusedError` (nothing listens there), `DialTimeoutError`
   * after `options.timeout` ms (the socket is freed), `TlsHandshakeError`, or another
   * `DialError`.
   */
  connect(target: SocketTarget, options: SocketConnectOptions): Promise<Connection>;
  /**
   * Listens. Rejects with `ListenError` (Go's message: `listen tcp 127.0.0.1:8972: bind: address
   * already in use`) or `TypeError` (TLS options missing a certificate or key; `reusePort` where
   * the runtime cannot set it).
   */
  listen(target: SocketTarget, options: SocketListenOptions): Promise<Listener>;
}

/** One runtime's implementation of the seam. */
export interface Runtime {
  /** Which runtime this is. */
  readonly name: RuntimeName;
  /** TCP, TLS and Unix sockets. */
  readonly sockets: Sockets;
  /** Timer (un)referencing. */
  readonly timers: Timers;
  /** Signals, exit, arguments, environment, OS. */
  readonly process: ProcessApi;
  /** Native libraries; `undefined` where the runtime has no FFI (Node). */
  readonly ffi: Ffi | undefined;
}

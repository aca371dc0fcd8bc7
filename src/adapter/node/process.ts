/**
 * The process on Node and Bun, through `node:process` and `node:os`.
 *
 * @module
 */
import { spawn as spawnChild } from "node:child_process";
import { closeSync, realpathSync } from "node:fs";
import os from "node:os";
import process from "node:process";
import { fileURLToPath } from "node:url";
import type {
  ChildProcessHandle,
  ModuleMeta,
  NetInterface,
  Permission,
  ProcessApi,
  StdStream,
  TermSignal,
} from "../../runtime/types.ts";
import { RpcxError } from "../../protocol/errors.ts";

/** `process.platform` → the OS names of `Deno.build.os`. */
const OS_NAMES: Record<string, string> = { win32: "windows", sunos: "solaris" };

/** `path` with its links resolved, or as it is when it cannot be. */
function real(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
}

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
  isMain(meta: ModuleMeta): boolean {
    if (typeof meta.main === "boolean") return meta.main;
    const script = process.argv[1];
    if (!script || !meta.url.startsWith("file:")) return false;
    return real(script) === real(fileURLToPath(meta.url));
  },
  write(stream: 1 | 2, bytes: Uint8Array): Promise<void> {
    const out = stream === 1 ? process.stdout : process.stderr;
    return new Promise((resolve, reject) => {
      out.write(bytes, (e) => (e ? reject(e) : resolve()));
    });
  },
  isTerminal(stream: StdStream): boolean {
    const s = stream === 0 ? process.stdin : stream === 1 ? process.stdout : process.stderr;
    return s.isTTY === true;
  },
  hostname(): string | undefined {
    try {
      return os.hostname();
    } catch {
      return undefined;
    }
  },
  networkInterfaces(): NetInterface[] {
    const found: NetInterface[] = [];
    let table: ReturnType<typeof os.networkInterfaces>;
    try {
      table = os.networkInterfaces();
    } catch {
      return found;
    }
    for (const [name, list] of Object.entries(table)) {
      for (const i of list ?? []) {
        // Node 18.0-18.3 gave the family as a number.
        const family = String(i.family) === "6" || i.family === "IPv6" ? "IPv6" : "IPv4";
        found.push({ name, family, address: i.address.replace(/%.*$/, "") });
      }
    }
    return found;
  },
  requirePermissions(_permissions: readonly Permission[], _why: string): void {
    // Node and Bun have no permissions to ask for.
  },
  commandLine(): string[] {
    return [process.execPath, ...process.execArgv, ...process.argv.slice(1)];
  },
  passesListeners: process.platform !== "win32",
  pid(): number {
    return process.pid;
  },
  parentPid(): number {
    return process.ppid;
  },
  unsetEnv(name: string): void {
    delete process.env[name];
  },
  closeDescriptor(fd: number): void {
    try {
      closeSync(fd);
    } catch {
      // already closed
    }
  },
  spawn(
    command: readonly string[],
    env: Readonly<Record<string, string>>,
    listeners: readonly number[] = [],
  ): ChildProcessHandle {
    const [program, ...args] = command;
    if (!program) throw new TypeError("spawn: the command is empty");
    // Listening sockets go to the child as its descriptors 3, 4, ...
    const child = spawnChild(program, args, {
      stdio: ["inherit", "inherit", "inherit", ...listeners],
      env: { ...process.env, ...env },
    });
    let failed: unknown;
    const exited = new Promise<number | null>((resolve) => {
      child.once("error", (e) => {
        failed = e;
        resolve(null);
      });
      child.once("exit", (code) => resolve(code));
    });
    // A program that cannot be started has no pid (its "error" follows).
    if (child.pid === undefined) {
      throw new RpcxError(`rpcx: spawn ${program}: cannot start it`, { cause: failed });
    }
    child.unref();
    return {
      pid: child.pid,
      exited,
      kill: () => void child.kill("SIGTERM"),
    };
  },
};

/**
 * The process on Deno: signal listeners, `Deno.exit`, `Deno.args`, the environment, host name
 * and network interfaces (read only when already allowed: never prompts), `Deno.build.os`,
 * `Deno.stdout`/`Deno.stderr`, and permissions asked for where Deno may prompt.
 *
 * @module
 */
import { PermissionError } from "../../runtime/errors.ts";
import type {
  ChildProcessHandle,
  ModuleMeta,
  NetInterface,
  Permission,
  ProcessApi,
  StdStream,
  TermSignal,
} from "../../runtime/types.ts";
import { deno, type DenoPermission, type DenoPermissionState } from "./_deno.ts";

/** Deno's descriptor of one of the seam's permissions. */
function descriptor(p: Permission): DenoPermission {
  switch (p) {
    case "net":
      return { name: "net" };
    case "sys:hostname":
      return { name: "sys", kind: "hostname" };
    case "sys:networkInterfaces":
      return { name: "sys", kind: "networkInterfaces" };
  }
}

/** The state of `desc` now ("denied" when Deno cannot tell). Never prompts. */
function stateOf(desc: DenoPermission): DenoPermissionState {
  try {
    return deno().permissions.querySync(desc).state;
  } catch {
    return "denied";
  }
}

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
    if (stateOf({ name: "env", variable: name }) !== "granted") return undefined;
    try {
      return deno().env.get(name);
    } catch {
      return undefined;
    }
  },
  os(): string {
    return deno().build.os;
  },
  isMain(meta: ModuleMeta): boolean {
    return meta.main === true;
  },
  async write(stream: 1 | 2, bytes: Uint8Array): Promise<void> {
    const out = stream === 1 ? deno().stdout : deno().stderr;
    // Deno's write may take part of the bytes: write the rest until none is left.
    for (let at = 0; at < bytes.length;) at += await out.write(bytes.subarray(at));
  },
  isTerminal(stream: StdStream): boolean {
    const D = deno();
    try {
      return (stream === 0 ? D.stdin : stream === 1 ? D.stdout : D.stderr).isTerminal();
    } catch {
      return false;
    }
  },
  hostname(): string | undefined {
    if (stateOf(descriptor("sys:hostname")) !== "granted") return undefined;
    try {
      return deno().hostname();
    } catch {
      return undefined;
    }
  },
  networkInterfaces(): NetInterface[] {
    if (stateOf(descriptor("sys:networkInterfaces")) !== "granted") return [];
    try {
      return deno().networkInterfaces().map((i) => ({
        name: i.name,
        family: i.family,
        address: i.address.replace(/%.*$/, ""),
      }));
    } catch {
      return [];
    }
  },
  requirePermissions(permissions: readonly Permission[], why: string): void {
    const missing: Permission[] = [];
    const causes: unknown[] = [];
    for (const p of permissions) {
      const desc = descriptor(p);
      let state = stateOf(desc);
      if (state === "prompt") {
        try {
          state = deno().permissions.requestSync(desc).state;
        } catch (e) {
          causes.push(e);
          state = "denied";
        }
      }
      if (state !== "granted") missing.push(p);
    }
    if (missing.length > 0) {
      throw new PermissionError(missing, why, causes.length ? { cause: causes[0] } : undefined);
    }
  },
  commandLine(): string[] | undefined {
    // Deno's flags (permissions, --unstable-*) are on its command line alone: Linux shows it.
    const path = "/proc/self/cmdline";
    if (deno().build.os !== "linux" || stateOf({ name: "read", path }) !== "granted") {
      return undefined;
    }
    try {
      const parts = deno().readTextFileSync(path).split("\0");
      if (parts.at(-1) === "") parts.pop();
      return parts.length > 1 ? [deno().execPath(), ...parts.slice(1)] : undefined;
    } catch {
      return undefined;
    }
  },
  passesListeners: false,
  pid(): number {
    return deno().pid;
  },
  parentPid(): number {
    return deno().ppid;
  },
  unsetEnv(name: string): void {
    if (stateOf({ name: "env", variable: name }) !== "granted") return;
    try {
      deno().env.delete(name);
    } catch {
      // not allowed
    }
  },
  closeDescriptor(_fd: number): void {
    // Deno is passed no descriptors.
  },
  spawn(
    command: readonly string[],
    env: Readonly<Record<string, string>>,
    listeners: readonly number[] = [],
  ): ChildProcessHandle {
    const [program, ...args] = command;
    if (!program) throw new TypeError("spawn: the command is empty");
    if (listeners.length) throw new TypeError("spawn: Deno passes no descriptors to a child");
    const child = new (deno().Command)(program, {
      args,
      env: { ...env },
      stdin: "inherit",
      stdout: "inherit",
      stderr: "inherit",
    }).spawn();
    child.unref();
    let ended = false;
    const exited = child.status.then((s) => {
      ended = true;
      return s.signal === null ? s.code : null;
    });
    return {
      pid: child.pid,
      exited,
      kill: () => {
        if (ended) return;
        try {
          child.kill("SIGTERM");
        } catch {
          // it ended meanwhile
        }
      },
    };
  },
};

/**
 * The server's plugin chain: runs each hook over the plugins in order and applies that hook's
 * one error policy (the table on {@linkcode ServerPlugin}). It is the only place hooks run: the
 * connections, the request pipeline, the HTTP side (through `HttpHost`) and pushes call it.
 *
 * @module
 */
import type { Message } from "../protocol/message.ts";
import type { HttpRequestInfo, Refusal } from "../http/host.ts";
import type { Connection } from "../transport/network.ts";
import type { CallContext, ConnInfo } from "./context.ts";
import { isRegisterPlugin, type RegisterPlugin, type ServerPlugin } from "./plugin.ts";
import type { PushContext } from "./push.ts";

/** Receives hook errors that are reported rather than passed on. */
export type ErrorReporter = (where: string, error: unknown) => void;

function label(p: ServerPlugin, hook: string): string {
  return `plugin ${p.name ?? "(unnamed)"} ${hook}`;
}

function isThenable(v: unknown): v is PromiseLike<unknown> {
  return typeof (v as PromiseLike<unknown> | null)?.then === "function";
}

/**
 * The plugins of one server, in order, with one method per hook.
 */
export class PluginChain {
  readonly #plugins: ServerPlugin[] = [];
  readonly #report: ErrorReporter;

  /** An empty chain; reported errors go to `report`. */
  constructor(report: ErrorReporter) {
    this.#report = report;
  }

  /** Appends a plugin. */
  add(plugin: ServerPlugin): void {
    this.#plugins.push(plugin);
  }

  /** The registry plugins, in order. */
  registries(): RegisterPlugin[] {
    return this.#plugins.filter(isRegisterPlugin);
  }

  /** Runs a hook whose errors are reported; a returned promise's rejection is reported too. */
  #each(hook: string, run: (p: ServerPlugin) => unknown): void {
    for (const p of this.#plugins) {
      try {
        const r = run(p);
        if (isThenable(r)) r.then(undefined, (e) => this.#report(label(p, hook), e));
      } catch (e) {
        this.#report(label(p, hook), e);
      }
    }
  }

  /** `beforeRegister`: the first error is thrown (the registration is refused). */
  beforeRegister(name: string, service: unknown, metadata: string): void {
    for (const p of this.#plugins) p.beforeRegister?.(name, service, metadata);
  }

  /** `afterRegister`: errors reported. */
  afterRegister(name: string, service: unknown, metadata: string): void {
    this.#each("afterRegister", (p) => p.afterRegister?.(name, service, metadata));
  }

  /**
   * `connAccept`: false when a plugin refuses or throws (reported); else the connection to serve,
   * `socket` as the plugins wrapped it (each gets the one the plugin before returned, as Go's
   * `DoPostConnAccept`).
   */
  connAccept(conn: ConnInfo, socket: Connection): Connection | false {
    let current = socket;
    // Refused after a plugin wrapped it: the wrapper is closed too (the caller closes `socket`).
    const refuse = () => {
      if (current !== socket) {
        try {
          current.close();
        } catch {
          // closed already
        }
      }
      return false as const;
    };
    for (const p of this.#plugins) {
      if (!p.connAccept) continue;
      try {
        const r = p.connAccept(conn, current);
        if (r === false) return refuse();
        if (typeof r === "object" && r !== null) current = r;
      } catch (e) {
        this.#report(label(p, "connAccept"), e);
        return refuse();
      }
    }
    return current;
  }

  /** `connClose`: errors reported. */
  connClose(conn: ConnInfo): void {
    this.#each("connClose", (p) => p.connClose?.(conn));
  }

  /** `preReadRequest`: false when a plugin throws (reported): close the connection. */
  preReadRequest(conn: ConnInfo): boolean {
    for (const p of this.#plugins) {
      if (!p.preReadRequest) continue;
      try {
        p.preReadRequest(conn);
      } catch (e) {
        this.#report(label(p, "preReadRequest"), e);
        return false;
      }
    }
    return true;
  }

  /**
   * `preReadRequest` of an HTTP invoke request (Go's gateway): the first throw refuses it, to be
   * answered with HTTP 500 and the error's text; later plugins do not run.
   */
  preReadHttp(conn: ConnInfo): Refusal | undefined {
    for (const p of this.#plugins) {
      if (!p.preReadRequest) continue;
      try {
        p.preReadRequest(conn);
      } catch (error) {
        return { error };
      }
    }
    return undefined;
  }

  /** `preReadRequest` of a JSON-RPC call: errors ignored, as Go's JSON-RPC ignores them. */
  preReadJsonRpc(conn: ConnInfo): void {
    for (const p of this.#plugins) {
      try {
        p.preReadRequest?.(conn);
      } catch {
        // Go: `s.Plugins.DoPreReadRequest(ctx)`, its error dropped
      }
    }
  }

  /**
   * `postHTTPRequest` (Go's `PostHTTPRequest`): awaited in order; the first throw (or rejection)
   * refuses the request, to be answered with HTTP 500 and the error's text.
   */
  async postHTTPRequest(req: HttpRequestInfo, conn: ConnInfo): Promise<Refusal | undefined> {
    for (const p of this.#plugins) {
      if (!p.postHTTPRequest) continue;
      try {
        await p.postHTTPRequest(req, conn);
      } catch (error) {
        return { error };
      }
    }
    return undefined;
  }

  /** Whether any plugin has `preReadRequest` (so the per-request call can be skipped). */
  get hasPreReadRequest(): boolean {
    return this.#plugins.some((p) => p.preReadRequest);
  }

  /** Whether any plugin has the hook `name` (so a call that would do nothing can be skipped). */
  has(name: keyof ServerPlugin): boolean {
    return this.#plugins.some((p) => p[name] !== undefined);
  }

  /** `postReadRequest`: false when a plugin throws (reported): drop it and close. */
  postReadRequest(req: Message, conn: ConnInfo): boolean {
    for (const p of this.#plugins) {
      if (!p.postReadRequest) continue;
      try {
        p.postReadRequest(req, conn);
      } catch (e) {
        this.#report(label(p, "postReadRequest"), e);
        return false;
      }
    }
    return true;
  }

  /** `heartbeat`: errors reported; the heartbeat is answered anyway. */
  heartbeat(req: Message, conn: ConnInfo): void {
    this.#each("heartbeat", (p) => p.heartbeat?.(req, conn));
  }

  /** `preHandleRequest`: awaited in order; errors reported, the call goes on. */
  async preHandleRequest(ctx: CallContext, req: Message): Promise<void> {
    for (const p of this.#plugins) {
      if (!p.preHandleRequest) continue;
      try {
        await p.preHandleRequest(ctx, req);
      } catch (e) {
        this.#report(label(p, "preHandleRequest"), e);
      }
    }
  }

  /** `preCall`: the args each plugin returns go to the next; the first error is thrown. */
  async preCall(ctx: CallContext, args: unknown): Promise<unknown> {
    for (const p of this.#plugins) if (p.preCall) args = await p.preCall(ctx, args);
    return args;
  }

  /**
   * `postCall`: every plugin runs with the reply so far and the method's error; returns the last
   * reply and the first error (the method's, else the first plugin's).
   */
  async postCall(
    ctx: CallContext,
    args: unknown,
    reply: unknown,
    error: unknown,
  ): Promise<{ reply: unknown; error: unknown }> {
    for (const p of this.#plugins) {
      if (!p.postCall) continue;
      try {
        reply = await p.postCall(ctx, args, reply, error);
      } catch (e) {
        error ??= e;
      }
    }
    return { reply, error };
  }

  /** `preWriteResponse`: errors reported; the response is written anyway. */
  preWriteResponse(req: Message, res: Message): void {
    this.#each("preWriteResponse", (p) => p.preWriteResponse?.(req, res));
  }

  /** `postWriteResponse`: errors reported. */
  postWriteResponse(req: Message, res: Message): void {
    this.#each("postWriteResponse", (p) => p.postWriteResponse?.(req, res));
  }

  /** `preWriteRequest` (before a push): errors reported; the push is still written. */
  preWriteRequest(ctx: PushContext): void {
    this.#each("preWriteRequest", (p) => p.preWriteRequest?.(ctx));
  }

  /** `postWriteRequest` (after a push, with its error): errors reported. */
  postWriteRequest(ctx: PushContext, req: Message, error: unknown): void {
    this.#each("postWriteRequest", (p) => p.postWriteRequest?.(ctx, req, error));
  }
}

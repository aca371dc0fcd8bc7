/**
 * The registry plugins' lifecycle: started once the server listens, told of every service
 * (registered before or after), told when one is withdrawn, unregistered and stopped on
 * shutdown.
 *
 * @module
 */
import type { RegisterPlugin, RegistryStartContext } from "./plugin.ts";
import type { ErrorReporter } from "./_plugin_chain.ts";

/** A service as registries see it. */
export interface Advertised {
  readonly name: string;
  readonly receiver: unknown;
  readonly metadata: string;
}

/** Starts, feeds and stops the registry plugins of one server. */
export class RegistryLifecycle {
  readonly #started = new Set<RegisterPlugin>();
  readonly #report: ErrorReporter;
  readonly #services: () => Iterable<Advertised>;

  /** `services` lists what is registered now. */
  constructor(services: () => Iterable<Advertised>, report: ErrorReporter) {
    this.#services = services;
    this.#report = report;
  }

  /** Starts `p` (once) and advertises every service in it. */
  async start(p: RegisterPlugin, ctx: RegistryStartContext): Promise<void> {
    if (this.#started.has(p)) return;
    await p.start?.(ctx);
    this.#started.add(p);
    for (const s of this.#services()) await p.register(s.name, s.receiver, s.metadata);
  }

  /**
   * Starts every plugin of `plugins` in turn; when one fails, every registry is stopped again
   * (not advertised means not served) and its error is thrown.
   */
  async startAll(plugins: readonly RegisterPlugin[], ctx: RegistryStartContext): Promise<void> {
    try {
      for (const p of plugins) await this.start(p, ctx);
    } catch (e) {
      await this.stopAll();
      throw e;
    }
  }

  /** Advertises a new service in every started registry. */
  async register(s: Advertised): Promise<void> {
    for (const p of this.#started) await p.register(s.name, s.receiver, s.metadata);
  }

  /** Withdraws a service from every started registry. */
  async unregister(name: string): Promise<void> {
    for (const p of this.#started) await p.unregister(name);
  }

  /**
   * Withdraws every service from every started registry and stops them, all registries at
   * once; errors are reported. Resolves when all are done.
   */
  async stopAll(): Promise<void> {
    const plugins = [...this.#started];
    this.#started.clear();
    const names = [...this.#services()].map((s) => s.name);
    await Promise.all(plugins.map(async (p) => {
      for (const name of names) {
        try {
          await p.unregister(name);
        } catch (e) {
          this.#report(`registry plugin ${p.name ?? ""} unregister ${name}`, e);
        }
      }
      try {
        await p.stop?.();
      } catch (e) {
        this.#report(`registry plugin ${p.name ?? ""} stop`, e);
      }
    }));
  }
}

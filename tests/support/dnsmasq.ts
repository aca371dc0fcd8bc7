// A real DNS server for tests/dns_test.ts: dnsmasq (Debian package dnsmasq-base, installed by
// .ci/install/85-dnsmasq.sh), run inside the test's private network namespace, authoritative for
// `.test`: A/AAAA records from a hosts file the test rewrites (re-read on SIGHUP), SRV records
// from its command line (changed by restarting it), nothing forwarded anywhere.

import dgram from "node:dgram";
import { findExecutable, waitFor } from "./env.ts";
import { SupervisedProcess } from "./supervised.ts";

/** The dnsmasq binary, or undefined. */
export function dnsmasqBinary(): string | undefined {
  return findExecutable("/usr/sbin/dnsmasq", "dnsmasq");
}

/** An SRV record: `name` → `target:port`. */
export interface SrvRecord {
  name: string;
  target: string;
  port: number;
  priority?: number;
  weight?: number;
}

/** How to start the test dnsmasq. */
export interface DnsmasqOptions {
  /** The address it listens on (UDP and TCP); default 127.0.0.53. */
  address?: string;
  /** Its port; default 53. */
  port?: number;
  /** Hosts-file lines (`ip name`), the A/AAAA records. */
  hosts?: string[];
  /** SRV records. */
  srv?: SrvRecord[];
}

/** A running dnsmasq. */
export class Dnsmasq {
  readonly address: string;
  readonly port: number;
  readonly root: string;
  readonly hostsFile: string;
  #srv: SrvRecord[];
  #proc: SupervisedProcess | undefined;
  #stopped = false;

  private constructor(readonly bin: string, options: DnsmasqOptions) {
    this.address = options.address ?? "127.0.0.53";
    this.port = options.port ?? 53;
    this.root = Deno.makeTempDirSync({ prefix: "rpcx-dnsmasq-" });
    this.hostsFile = `${this.root}/hosts`;
    this.#srv = options.srv ?? [];
    Deno.writeTextFileSync(this.hostsFile, (options.hosts ?? []).join("\n") + "\n");
  }

  /** Starts dnsmasq and waits until it answers. */
  static async start(bin: string, options: DnsmasqOptions = {}): Promise<Dnsmasq> {
    const d = new Dnsmasq(bin, options);
    await d.resume();
    return d;
  }

  /** `address:port`, as `nameserver` takes it. */
  get nameserver(): string {
    return `${this.address}:${this.port}`;
  }

  /** Whether the process is running. */
  get running(): boolean {
    return this.#proc !== undefined;
  }

  /** Replaces the A/AAAA records (atomically) and makes dnsmasq re-read them (SIGHUP). */
  async setHosts(lines: string[]): Promise<void> {
    const tmp = `${this.hostsFile}.tmp`;
    await Deno.writeTextFile(tmp, lines.join("\n") + "\n");
    await Deno.rename(tmp, this.hostsFile);
    this.signal("SIGHUP");
  }

  /** Sends `sig` to the process (SIGHUP: reload; SIGSTOP/SIGCONT: stop/resume answering). */
  signal(sig: Deno.Signal): void {
    if (!this.#proc) throw new Error("dnsmasq is not running");
    Deno.kill(this.#proc.pid, sig);
  }

  /** Stops the process (the hosts file is kept). */
  async halt(): Promise<void> {
    const p = this.#proc;
    this.#proc = undefined;
    if (!p) return;
    try {
      Deno.kill(p.pid, "SIGCONT"); // a stopped process would not see SIGTERM
    } catch {
      // gone
    }
    await p.halt();
  }

  /** Starts it again on the same address; `srv` replaces the SRV records. */
  async resume(srv?: SrvRecord[]): Promise<void> {
    if (this.#stopped) throw new Error("dnsmasq was stopped");
    if (this.#proc) return;
    if (srv) this.#srv = srv;
    const args = [
      "--keep-in-foreground",
      "--log-facility=-",
      "--log-queries",
      "--conf-file=/dev/null",
      "--pid-file=",
      "--user=root",
      "--no-resolv",
      "--no-hosts",
      "--no-poll",
      "--local=/test/",
      "--bind-interfaces",
      `--listen-address=${this.address}`,
      `--port=${this.port}`,
      `--addn-hosts=${this.hostsFile}`,
      ...this.#srv.map((r) =>
        `--srv-host=${r.name},${r.target},${r.port},${r.priority ?? 0},${r.weight ?? 0}`
      ),
    ];
    const proc = await SupervisedProcess.spawn(this.bin, args, {
      root: this.root,
      logName: "dnsmasq",
    });
    this.#proc = proc;
    try {
      await proc.waitReady(`dnsmasq on ${this.nameserver}`, async () => {
        const log = await Deno.readTextFile(proc.logFile).catch(() => "");
        return /read .*hosts - \d+ names|started, version/.test(log);
      }, 10_000);
      // and it answers on UDP (a query for the SOA-less `ready.test` gets NXDOMAIN)
      await waitFor("dnsmasq answers", () => answers(this.address, this.port), 5000, 50);
    } catch (e) {
      this.#proc = undefined;
      await proc.halt("SIGKILL");
      throw e;
    }
  }

  /** Stops for good and removes the temp dir. Safe to call twice. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    await this.halt();
    this.#stopped = true;
    await Deno.remove(this.root, { recursive: true }).catch(() => {});
  }

  /** The end of dnsmasq's log (its queries and reloads). */
  logTail(chars = 3000): string {
    try {
      return Deno.readTextFileSync(`${this.root}/dnsmasq.log`).slice(-chars);
    } catch {
      return "(no log)";
    }
  }
}

/** Sends one DNS query (A of `ready.test`) and tells whether any answer came within 300 ms. */
function answers(address: string, port: number): Promise<boolean> {
  // header: id 0x1234, RD, 1 question; question: ready.test A IN
  const q = new Uint8Array([
    0x12,
    0x34,
    0x01,
    0x00,
    0,
    1,
    0,
    0,
    0,
    0,
    0,
    0,
    5,
    ...new TextEncoder().encode("ready"),
    4,
    ...new TextEncoder().encode("test"),
    0,
    0,
    1,
    0,
    1,
  ]);
  const sock = dgram.createSocket("udp4");
  return new Promise<boolean>((resolve) => {
    const done = (ok: boolean) => {
      clearTimeout(timer);
      sock.close();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), 300);
    sock.on("error", () => done(false));
    sock.on("message", (d: Uint8Array) => done(d[0] === 0x12 && d[1] === 0x34));
    sock.send(q, port, address);
  });
}

/**
 * `rpcx gen`: TypeScript interfaces for `typed<S>()` from a running server's reflection service
 * (Go's `reflection.New()` or ours), from Go source files, or from `.proto` files.
 *
 * @module
 */
import { readdir, readFile, stat, writeFile } from "node:fs/promises";
import { type Command, Option } from "commander";
import { ServiceError } from "../../client/errors.ts";
import { FailMode, XClient } from "../../client/xclient.ts";
import { SelectMode } from "../../client/selectors.ts";
import {
  callErrorOf,
  type CredentialFlags,
  credentialOptions,
  intFlag,
  outageOf,
  REGISTRY_HELP,
  withRegistry,
} from "../common.ts";
import { CliError, ExitCode, usage } from "../errors.ts";
import { GoSyntaxError, parseGo } from "../gen/go_parse.ts";
import { declsToTypeScript, goServices } from "../gen/go_ts.ts";
import { protoToTypeScript } from "../gen/proto_ts.ts";

/** The flags of `rpcx gen`. */
interface GenFlags extends CredentialFlags {
  registry?: string;
  proto?: string[];
  go?: string[];
  out?: string;
  service: string[];
  serializer: "msgpack" | "json";
  keepCase?: boolean;
  timeout: string;
  auth?: string;
}

const repeat = (v: string, all: string[]) => [...all, v];

/** Reads the reflection answer(s) of the server(s) behind `registry`. */
async function fetchReflection(registry: string, f: GenFlags): Promise<string> {
  const timeout = intFlag("timeout", f.timeout);
  return await withRegistry({ ...f, registry }, async (r) => {
    const discovery = r.discovery("Reflection");
    const outage = outageOf(discovery);
    const x = new XClient("Reflection", FailMode.Failover, SelectMode.RoundRobin, discovery, {
      auth: f.auth,
      discoveryTimeout: timeout,
    });
    try {
      if (f.service.length === 0) return String(await x.call("GetServices", "", { timeout }));
      const texts: string[] = [];
      for (const name of f.service) {
        texts.push(String(await x.call("GetService", name, { timeout })));
      }
      return texts.join("");
    } catch (e) {
      if (e instanceof ServiceError && /can't find service Reflection/.test(e.message)) {
        throw new CliError(
          `gen: ${r.url} has no Reflection service (Go: s.Plugins.Add(p) and s.Register(p, "") ` +
            `with p := reflection.New(); ours: @rpcx/core/reflection)`,
          ExitCode.Failed,
        );
      }
      throw callErrorOf("gen: Reflection", e, outage, r.url);
    } finally {
      await x.close();
      await discovery.close();
    }
  });
}

/** The text of a Go file, or of every `.go` file (not `_test.go`) of a directory, in name order. */
async function readGo(path: string): Promise<string> {
  try {
    if (!(await stat(path)).isDirectory()) return await readFile(path, "utf8");
    const names = (await readdir(path)).filter((n) => n.endsWith(".go") && !n.endsWith("_test.go"));
    if (names.length === 0) throw usage("no .go files in it");
    const texts = await Promise.all(
      names.sort().map((n) => readFile(`${path.replace(/\/+$/, "")}/${n}`, "utf8")),
    );
    return texts.join("\n");
  } catch (e) {
    throw usage(`gen: cannot read ${path}: ${(e as Error).message}`);
  }
}

/** The TypeScript text for the flags' one source. */
async function generate(f: GenFlags, registry: string | undefined): Promise<string> {
  const sources = [registry, f.proto, f.go].filter((s) => s !== undefined).length;
  if (sources !== 1) {
    throw usage(
      "gen: give one source: -r <server or registry>, --proto <file.proto> or --go <file.go>",
    );
  }
  try {
    if (f.proto) {
      return await protoToTypeScript(f.proto, {
        keepCase: f.keepCase,
        services: f.service.length ? f.service : undefined,
        source: f.proto.join(", "),
      }).catch((e) => {
        if (e instanceof RangeError) throw e;
        throw usage(`gen: ${(e as Error).message}`);
      });
    }
    const fromServer = registry !== undefined;
    const text = fromServer
      ? await fetchReflection(registry, f)
      : (await Promise.all(f.go!.map(readGo))).join("\n");
    const decls = parseGo(text);
    // The reflection service describes itself too; leave it out unless asked for.
    const services = f.service.length
      ? (fromServer ? undefined : f.service)
      : goServices(decls).map((s) => s.name).filter((n) => !fromServer || n !== "Reflection");
    return declsToTypeScript(decls, {
      serializer: f.serializer,
      services,
      source: fromServer ? `the Reflection service of ${registry}` : f.go!.join(", "),
    });
  } catch (e) {
    if (e instanceof GoSyntaxError) {
      const where = registry !== undefined
        ? `the Reflection answer of ${registry}`
        : f.go!.join(", ");
      throw new CliError(`gen: ${where}: ${e.message}`, ExitCode.Failed);
    }
    if (e instanceof RangeError) throw new CliError(`gen: ${e.message}`, ExitCode.Failed);
    throw e;
  }
}

/** Adds `gen` to `program`. */
export function genCommand(program: Command): void {
  const cmd = program.command("gen")
    .description(
      "write TypeScript interfaces for typed<S>() from a server's Reflection service, Go source " +
        "or .proto files",
    )
    .addOption(
      new Option(
        "-r, --registry <url>",
        `read a running server's Reflection service: ${REGISTRY_HELP}`,
      ).env("RPCX_REGISTRY"),
    )
    .option("--proto <file...>", ".proto files (protobufjs; imports resolved next to them)")
    .option(
      "--go <path...>",
      "Go source files (or directories of them) declaring the services and their types",
    )
    .option("-o, --out <file>", "write here (default: stdout)")
    .option("--service <name>", "only this service (repeatable)", repeat, [] as string[])
    .addOption(
      new Option("-s, --serializer <name>", "the wire serializer the Go types are read for")
        .choices(["msgpack", "json"]).default("msgpack"),
    )
    .option("--keep-case", "--proto: field names as written (default: camelCase, as protobufjs)")
    .option("-t, --timeout <ms>", "give up on the server after this many ms", "5000")
    .option("--auth <token>", "auth token sent as __AUTH");
  credentialOptions(cmd)
    .addHelpText(
      "after",
      `
Examples:
  rpcx gen -r tcp@127.0.0.1:8972 -o arith.ts          # a Go server with reflection.New()
  rpcx gen --go service.go --serializer json -o api.ts # Go source: tags, pointers, maps exact
  rpcx gen --proto arith.proto -o arith.ts
Then: client.typed<Arith>("Arith").Mul({ A: 10, B: 20 })`,
    )
    .action(async (f: GenFlags, cmd: Command) => {
      // RPCX_REGISTRY in the environment does not count against --proto or --go.
      const fromEnv = cmd.getOptionValueSource("registry") === "env";
      const registry = fromEnv && (f.proto || f.go) ? undefined : f.registry;
      const text = await generate(f, registry);
      if (!f.out) {
        console.log(text.trimEnd());
        return;
      }
      try {
        await writeFile(f.out, text);
      } catch (e) {
        throw new CliError(`gen: cannot write ${f.out}: ${(e as Error).message}`, ExitCode.Failed);
      }
      const n = (text.match(/^export interface \w+ \{\n(?: {2}\w+\(args)/gm) ?? []).length;
      console.log(`wrote ${f.out} (${n} service${n === 1 ? "" : "s"})`);
    });
}

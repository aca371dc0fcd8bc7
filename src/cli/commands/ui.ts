/**
 * `rpcx ui`: the admin page.
 *
 * @module
 */
import { type Command, Option } from "commander";
import { runtime } from "../../runtime/mod.ts";
import {
  type CredentialFlags,
  credentialOptions,
  credentialsOf,
  intFlag,
  REGISTRY_HELP,
} from "../common.ts";
import { serveAdmin } from "../ui/server.ts";

/** Adds `ui` to `program`. */
export function uiCommand(program: Command): void {
  const cmd = program.command("ui")
    .description(
      "serve the admin page: services and servers of the registries, live; activate, " +
        "deactivate, edit weight and group (written as rpcx-ui writes them). Until Ctrl-C",
    )
    .addOption(
      new Option("-r, --registry <url>", `${REGISTRY_HELP}; repeat for several`)
        .env("RPCX_REGISTRY")
        .argParser((v: string, all: string[] | undefined) => [...(all ?? []), v])
        .makeOptionMandatory(),
    )
    .option(
      "--addr <host:port>",
      "where to listen (beyond loopback: --auth or --no-auth)",
      "127.0.0.1:8080",
    )
    .option("-i, --interval <ms>", "how often each registry is listed", "1000")
    .addOption(
      new Option("--auth <user:pass>", "require HTTP basic auth (the browser asks once)")
        .env("RPCX_UI_AUTH"),
    )
    .option("--no-auth", "serve an address beyond loopback without a login")
    .option(
      "--allow-host <name>",
      "a host name the page is reached by (IP addresses and localhost always are); repeat",
      (v: string, all: string[] | undefined) => [...(all ?? []), v],
    );
  credentialOptions(cmd).action(
    async (
      opts: CredentialFlags & {
        registry: string[];
        addr: string;
        interval: string;
        auth?: string | false;
        allowHost?: string[];
      },
    ) => {
      const ui = await serveAdmin({
        registries: opts.registry,
        addr: opts.addr,
        interval: intFlag("interval", opts.interval),
        auth: opts.auth || undefined,
        noAuth: opts.auth === false,
        allowHosts: opts.allowHost,
        credentials: credentialsOf(opts),
      });
      console.log(`rpcx ui: ${ui.url}`);
      await new Promise<void>((resolve) => {
        const remove = runtime().process.onSignals(["SIGINT", "SIGTERM"], () => {
          remove();
          resolve();
        });
      });
      await ui.shutdown();
    },
  );
}

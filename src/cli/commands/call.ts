/**
 * `rpcx call Service.Method '{"A":10,"B":20}'`: one call, JSON in and out.
 *
 * @module
 */
import type { Command } from "commander";
import { XClient } from "../../client/xclient.ts";
import { runtime } from "../../runtime/mod.ts";
import {
  argsOf,
  callErrorOf,
  type CallFlags,
  callOptions,
  callSetup,
  outageOf,
  registryOption,
  splitTarget,
  toJson,
  withRegistry,
} from "../common.ts";

/** Adds `call` to `program`. */
export function callCommand(program: Command): void {
  callOptions(registryOption(
    program.command("call")
      .description(
        "call Service.Method with JSON args; prints the reply as JSON (raw: the bytes as they come)",
      )
      .argument("<Service.Method>", "what to call, e.g. Arith.Mul")
      .argument("[args]", 'JSON args, e.g. \'{"A":10,"B":20}\' (default {}); raw: the text itself')
      .option("--show-meta", "print the reply metadata to stderr as JSON"),
  )).action(
    async (
      target: string,
      text: string | undefined,
      f: CallFlags & {
        registry: string;
        showMeta?: boolean;
      },
    ) => {
      const { service, method } = splitTarget(target);
      const setup = await callSetup(f);
      const args = argsOf(text, f.serializer);
      await withRegistry(f, async (r) => {
        const discovery = r.discovery(service);
        const outage = outageOf(discovery);
        const x = new XClient(service, setup.failMode, setup.selectMode, discovery, setup.options);
        try {
          const replyMetadata: Record<string, string> = {};
          const reply = await x.call(method, args, {
            timeout: setup.timeout,
            metadata: setup.metadata,
            replyMetadata,
          });
          if (reply instanceof Uint8Array) await runtime().process.write(1, reply);
          else console.log(toJson(reply));
          if (f.showMeta) console.error(toJson(replyMetadata));
        } catch (e) {
          throw callErrorOf(target, e, outage, r.url);
        } finally {
          await x.close();
          await discovery.close();
        }
      });
    },
  );
}

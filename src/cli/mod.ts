/**
 * The `rpcx` command line and what it is made of: registries opened by URL
 * (`etcd://…`, `zookeeper://…`, `consul://…`, `redis://…`, `mdns://`, `dns://…`,
 * `tcp@host:port`; TLS and credentials in the URL or the `--registry-*` flags), listed, followed
 * and edited in Go rpcx's layout (what rpcx-ui does), and the admin page. A registry's module
 * and npm client are loaded only when a URL names it.
 *
 * Run it: `deno run -A jsr:@rpcx/core/cli --help`, or in this repository `deno task rpcx --help`.
 *
 * @example
 * ```ts
 * import { openRegistry } from "@rpcx/core/cli";
 * const r = await openRegistry("etcd://127.0.0.1:2379/rpcx_test");
 * await r.update("Arith", "tcp@127.0.0.1:8972", (m) => m.set("state", "inactive"));
 * await r.close();
 * ```
 *
 * @module
 */
import { runtime } from "../runtime/mod.ts";
import { runRpcx } from "./program.ts";

export { CliError, ExitCode } from "./errors.ts";
export { loadPeer, missingPackage, peerError } from "./peer.ts";
export { runRpcx } from "./program.ts";
export {
  applyAssignments,
  confirmEdit,
  encodeGoValues,
  goQueryEscape,
  type RegistryOperator,
  RegistryOperatorError,
  type ServerNode,
  setAndConfirm,
} from "./registry/registry.ts";
export type {
  CredentialName,
  OperatorFailure,
  OperatorModule,
  OperatorTarget,
} from "../registry/operator.ts";
export {
  openRegistry,
  parseRegistryUrl,
  redactRegistryUrl,
  REGISTRY_NPM_PACKAGES,
  REGISTRY_SCHEMES,
  type RegistryCredentials,
  type RegistryUrl,
} from "./registry/open.ts";
export { diffNodes, follow, type FollowOptions, type NodeChange } from "./registry/follow.ts";
export { type AdminOptions, type AdminServer, serveAdmin } from "./ui/server.ts";
export { GoSyntaxError } from "./gen/_go_tokens.ts";
export { type GoToTsOptions, goToTypeScript } from "./gen/go_ts.ts";
export { type ProtoToTsOptions, protoToTypeScript } from "./gen/proto_ts.ts";

const { process } = runtime();
if (process.isMain(import.meta)) process.exit(await runRpcx(process.args()));

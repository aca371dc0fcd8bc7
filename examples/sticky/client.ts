// rpcx-examples sticky/client: an XClient with `sticky: true` (Go's Option.Sticky) over two
// servers, RandomSelect: every call goes to the server of the first until that one fails.
// --count calls (default 10), --interval ms apart (default 1000).
//   deno run -A examples/sticky/client.ts --addr1 tcp@localhost:8972 --addr2 tcp@localhost:8973
import { FailMode, MultipleServersDiscovery, SelectMode, XClient } from "@rpcx/core";
import { callMul, flag } from "../arith.ts";

const discovery = new MultipleServersDiscovery([
  { key: flag(Deno.args, "addr1", "tcp@localhost:8972"), value: "" },
  { key: flag(Deno.args, "addr2", "tcp@localhost:8973"), value: "" },
]);
const xclient = new XClient("Arith", FailMode.Failtry, SelectMode.RandomSelect, discovery, {
  sticky: true,
});
await callMul(xclient, {
  count: Number(flag(Deno.args, "count", "10")),
  intervalMs: Number(flag(Deno.args, "interval", "1000")),
  timeout: 5000,
});

// Go rpcx-examples filetransfer/client and file_download/client: sends --file (default
// abc.txt) with meta foo=bar, then downloads --download (default: the same name) into --save.
// Works against Go's filetransfer/file_download servers too: --upload-only against Go's
// filetransfer/server (which serves no download), --download-only against Go's
// file_download/server (which takes no upload).
//   deno run -A examples/filetransfer/client.ts --addr localhost:8972 --file abc.txt --save abc.copy.txt
import { FailMode, Peer2PeerDiscovery, SelectMode, XClient } from "@rpcx/core";
import { downloadFile, sendFile } from "@rpcx/core/stream";
import { flag } from "../arith.ts";

const addr = flag(Deno.args, "addr", "localhost:8972");
const file = flag(Deno.args, "file", "abc.txt");
const download = flag(Deno.args, "download", file.split("/").pop()!);
const save = flag(Deno.args, "save", `${download}.downloaded`);
const rateLimit = Number(flag(Deno.args, "rate", "0"));
const uploadOnly = Deno.args.includes("--upload-only");
const downloadOnly = Deno.args.includes("--download-only");

const xclient = new XClient(
  "_filetransfer",
  FailMode.Failtry,
  SelectMode.RandomSelect,
  new Peer2PeerDiscovery(`tcp@${addr}`),
);
try {
  if (!downloadOnly) {
    const sent = await sendFile(xclient, file, { rateLimit, meta: { foo: "bar" }, timeout: 5000 });
    console.log(`send ok: ${sent.bytes} bytes${sent.confirmed ? ", stored" : ""}`);
  }
  if (!uploadOnly) {
    const got = await downloadFile(xclient, download, save, {
      meta: { foo: "bar" },
      timeout: 5000,
    });
    console.log(`received: ${got.bytes} bytes into ${save}`);
  }
} catch (e) {
  console.log(`failed: ${(e as Error).name}: ${(e as Error).message}`);
  Deno.exitCode = 1;
} finally {
  await xclient.close();
}

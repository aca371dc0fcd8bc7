/**
 * Protobuf for `rpcx call`/`bench`: message types read from a `.proto` file with protobufjs,
 * JSON args encoded as the request type, the reply decoded as the reply type.
 *
 * @module
 */
import type protobuf from "protobufjs";
import { CodecRegistry } from "../codec/registry.ts";
import { protobufCodec } from "../codec/protobuf.ts";
import { SerializeType } from "../protocol/constants.ts";
import { usage } from "./errors.ts";
import { loadPeer } from "./peer.ts";

/** `--proto`, `--request-type`, `--reply-type`. */
export interface ProtoFlags {
  proto?: string;
  requestType?: string;
  replyType?: string;
}

/**
 * A codec table whose protobuf slot encodes requests as `requestType` and decodes replies as
 * `replyType` (64-bit integers as decimal strings, enums as names, defaults filled, as the
 * protobuf JSON mapping). Throws a `CliError` (exit 2) on a missing flag, an unreadable file,
 * an unknown type or (npm form) protobufjs not installed.
 */
export async function protoCodecs(f: ProtoFlags): Promise<CodecRegistry> {
  if (!f.proto || !f.requestType || !f.replyType) {
    throw usage("-s protobuf needs --proto <file.proto> --request-type <T> --reply-type <T>");
  }
  // protobufjs is loaded on demand: on npm it is an optional peer dependency.
  const { default: pb } = await loadPeer("--proto", () => import("protobufjs"));
  let root: protobuf.Root;
  try {
    root = await pb.load(f.proto);
  } catch (e) {
    throw usage(`--proto ${f.proto}: ${(e as Error).message}`);
  }
  const type = (name: string) => {
    try {
      return root.lookupType(name);
    } catch {
      throw usage(`no message type ${name} in ${f.proto}`);
    }
  };
  const req = type(f.requestType);
  const rep = type(f.replyType);
  const out = protobufCodec({
    encode: (v) => {
      const problem = req.verify(v as Record<string, unknown>);
      if (problem) throw new TypeError(`${f.requestType}: ${problem}`);
      return req.encode(req.fromObject(v as Record<string, unknown>)).finish();
    },
    decode: () => undefined,
  });
  const into = protobufCodec({
    encode: () => new Uint8Array(),
    decode: (b) =>
      rep.toObject(rep.decode(b), { longs: String, enums: String, bytes: String, defaults: true }),
  });
  return new CodecRegistry().register(SerializeType.ProtoBuffer, {
    name: "protobuf",
    encode: (v) => out.encode(v),
    decode: (b) => into.decode(b),
  });
}

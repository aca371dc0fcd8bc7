// Test certificates, made on the spot with openssl: a CA, a server certificate for localhost and
// 127.0.0.1, a client certificate (mutual TLS), and an unrelated "rogue" CA with its own server
// certificate (a certificate the client must refuse).
import { runBounded } from "./child.ts";
import { findExecutable } from "./env.ts";

/** PEM text and file paths of one certificate and its key. */
export interface CertPair {
  cert: string;
  key: string;
  certPath: string;
  keyPath: string;
}

/** Everything a TLS test needs. */
export interface TestCerts {
  dir: string;
  ca: string;
  caPath: string;
  server: CertPair;
  client: CertPair;
  rogueCa: string;
  rogueServer: CertPair;
  /** Removes the directory. */
  remove(): Promise<void>;
}

/** The openssl binary, or undefined. */
export const OPENSSL: string | undefined = findExecutable("openssl");

async function openssl(dir: string, ...args: string[]): Promise<void> {
  const out = await runBounded(OPENSSL!, { args, cwd: dir, timeoutMs: 30_000 });
  if (out.code !== 0) {
    throw new Error(`openssl ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
  }
}

/** `openssl req` arguments for a new P-256 key `<name>.key` (unencrypted) and subject CN=`name`. */
const newKey = (name: string) => [
  "-newkey",
  "ec",
  "-pkeyopt",
  "ec_paramgen_curve:prime256v1",
  "-nodes",
  "-keyout",
  `${name}.key`,
  "-subj",
  `/CN=${name}`,
];

async function makeCa(dir: string, name: string): Promise<void> {
  await openssl(dir, "req", "-x509", ...newKey(name), "-out", `${name}.pem`, "-days", "2");
}

async function makeLeaf(dir: string, name: string, ca: string, ext: string): Promise<CertPair> {
  await openssl(dir, "req", ...newKey(name), "-out", `${name}.csr`);
  await Deno.writeTextFile(`${dir}/${name}.ext`, ext);
  await openssl(
    dir,
    "x509",
    "-req",
    "-in",
    `${name}.csr`,
    "-CA",
    `${ca}.pem`,
    "-CAkey",
    `${ca}.key`,
    "-CAcreateserial",
    "-out",
    `${name}.pem`,
    "-days",
    "2",
    "-extfile",
    `${name}.ext`,
  );
  return {
    cert: await Deno.readTextFile(`${dir}/${name}.pem`),
    key: await Deno.readTextFile(`${dir}/${name}.key`),
    certPath: `${dir}/${name}.pem`,
    keyPath: `${dir}/${name}.key`,
  };
}

const SERVER_EXT = "basicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n" +
  "subjectAltName=DNS:localhost,IP:127.0.0.1\n";
const CLIENT_EXT = "basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n";

/** Makes a fresh set of certificates in a temporary directory. */
export async function makeTestCerts(): Promise<TestCerts> {
  const dir = await Deno.makeTempDir({ prefix: "rpcx-certs-" });
  await makeCa(dir, "ca");
  await makeCa(dir, "rogue-ca");
  const server = await makeLeaf(dir, "server", "ca", SERVER_EXT);
  const client = await makeLeaf(dir, "client", "ca", CLIENT_EXT);
  const rogueServer = await makeLeaf(dir, "rogue-server", "rogue-ca", SERVER_EXT);
  return {
    dir,
    ca: await Deno.readTextFile(`${dir}/ca.pem`),
    caPath: `${dir}/ca.pem`,
    server,
    client,
    rogueCa: await Deno.readTextFile(`${dir}/rogue-ca.pem`),
    rogueServer,
    remove: () => Deno.remove(dir, { recursive: true }),
  };
}

// Registry URLs as the command line reads them (no registry contacted): schemes and aliases,
// `+tls`, user info, default ports, IPv6, credentials from the URL and the flags, settings a
// registry cannot take (usage errors, exit 2), and secrets kept out of what is shown.
import assert from "node:assert/strict";
import {
  CliError,
  ExitCode,
  openRegistry,
  parseRegistryUrl,
  redactRegistryUrl,
  REGISTRY_SCHEMES,
} from "@rpcx/core/cli";

Deno.test("registry URL: schemes, aliases, +tls, user info, default ports, IPv6, base path", () => {
  assert.deepEqual([...REGISTRY_SCHEMES].sort(), [
    "consul",
    "dns",
    "etcd",
    "mdns",
    "redis",
    "zookeeper",
  ]);
  const e = parseRegistryUrl("etcd+tls://rpcx:p%40ss:w@h1,[::1],h3:1234/rpcx_test/?ca=/x/ca.pem");
  assert.equal(e.kind, "etcd");
  assert.equal(e.tls, true);
  assert.deepEqual(e.servers, ["h1:2379", "[::1]:2379", "h3:1234"]);
  assert.equal(e.basePath, "/rpcx_test");
  assert.equal(e.username, "rpcx");
  assert.equal(e.password, "p@ss:w");
  assert.equal(e.params.get("ca"), "/x/ca.pem");
  const aliases: [string, string, boolean][] = [
    ["etcdv3://h/x", "etcd", false],
    ["ETCDV3+TLS://h/x", "etcd", true],
    ["zk://h/x", "zookeeper", false],
    ["rediss://:pw@h/x", "redis", true],
    ["consul+tls://h/x", "consul", true],
  ];
  for (const [url, kind, tls] of aliases) {
    const u = parseRegistryUrl(url);
    assert.deepEqual([u.kind, u.tls], [kind, tls], url);
  }
  assert.equal(parseRegistryUrl("rediss://:pw@h/x").username, undefined);
  assert.equal(parseRegistryUrl("rediss://:pw@h/x").password, "pw");
  assert.equal(parseRegistryUrl("consul://h").basePath, "/rpcx", "Go's default base");
  assert.deepEqual(parseRegistryUrl("redis://h").servers, ["h:6379"]);
  assert.deepEqual(parseRegistryUrl("mdns://?timeout=5").servers, []);
  assert.deepEqual(parseRegistryUrl("dns://arith.test:8972").servers, ["arith.test:8972"]);
  // servers named directly, on any network the client knows
  for (const d of ["tcp@h:1", "ws@h:1,wss@h:2", "unix@/tmp/s.sock", "http@h:1", "inprocess@x"]) {
    assert.equal(parseRegistryUrl(d).kind, "direct", d);
  }
  assert.deepEqual(parseRegistryUrl("tcp://h:1,h:2").servers, ["tcp@h:1", "tcp@h:2"]);
  for (const bad of ["quic@h:1", "foo://x", "etcd:///x", "nonsense"]) {
    assert.throws(
      () => parseRegistryUrl(bad),
      (err: unknown) => err instanceof CliError && err.exitCode === ExitCode.Usage,
      bad,
    );
  }
});

Deno.test("registry URL: the password and the token are never shown", async () => {
  assert.equal(
    redactRegistryUrl("redis://rpcx:secret@h:6379/x?db=1&token=t0k"),
    "redis://rpcx:***@h:6379/x?db=1&token=***",
  );
  assert.equal(redactRegistryUrl("etcd://h/x"), "etcd://h/x");
  assert.equal(redactRegistryUrl("etcd://user@h/x"), "etcd://user@h/x");
  const r = await openRegistry("consul://h:8500/x?token=sekrit");
  try {
    assert.equal(r.url, "consul://h:8500/x?token=***");
  } finally {
    await r.close();
  }
  const z = await openRegistry("zookeeper://rpcx:sekrit@h:2181/x");
  try {
    assert.equal(z.url, "zookeeper://rpcx:***@h:2181/x");
  } finally {
    await z.close();
  }
});

Deno.test("registry URL: settings a registry cannot take are usage errors; flags it cannot use are ignored", async () => {
  const refused: [string, RegExp][] = [
    ["zookeeper+tls://h/x", /without TLS/],
    ["zk://h/x?ca=/nonexistent/ca.pem", /cannot read ca file/],
    ["etcd://h/x?token=t", /not a token/],
    ["etcd://rpcx@h/x", /both a user and a password/],
    ["consul://u:p@h/x", /ACL token/],
    ["redis://h1,h2/x", /one server/],
    ["redis://h/x?db=two", /database index/],
    ["mdns://?timeout=-1", /positive number/],
    ["mdns://?interface=eth0", /unknown parameter interface \(it takes timeout\)/],
    ["dns://arith.test", /port/],
    ["dns://arith.test:1?nameserver=ns.example", /nameserver/],
    ["dns://a:1?family=5", /family/],
  ];
  for (const [url, msg] of refused) {
    await assert.rejects(
      openRegistry(url),
      (e: unknown) => e instanceof CliError && e.exitCode === ExitCode.Usage && msg.test(e.message),
      url,
    );
  }
  // Flags shared by several URLs: a registry without use for them ignores them.
  const shared = { token: "t", username: "u", password: "p" };
  for (const url of ["mdns://", "dns://a.test:1", "tcp@127.0.0.1:1"]) {
    const r = await openRegistry(url, shared);
    await r.close();
  }
  const z = await openRegistry("zookeeper://h/x", { ...shared, ca: "/nonexistent" });
  await z.close().catch(() => {});
  // ... but a certificate file named by a flag must be readable.
  await assert.rejects(
    openRegistry("etcd+tls://h/x", { ca: "/nonexistent/ca.pem" }),
    (e: unknown) => e instanceof CliError && /cannot read ca file/.test(e.message),
  );
});

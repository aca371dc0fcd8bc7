/**
 * A server's parts, made and wired from its options: the lifecycle, the plugin chain, the
 * registries, the service table and raw handlers, the dispatcher and the request pipeline, the
 * HTTP side, the connections, the listeners and the push sender. The façade (`server.ts`) holds
 * what this returns; what the parts need of the façade they read through {@linkcode ServerSide},
 * never while being made.
 *
 * @module
 */
import { setMaxListeners } from "node:events";
import { defaultCodecs } from "../codec/registry.ts";
import { defaultNetworks } from "../transport/networks.ts";
import type { RpcxHttpServer } from "../http/http_server.ts";
import { DEFAULT_PUSH_BUFFER_SIZE } from "./push.ts";
import type { ServerOptions, ServiceErrorHandler } from "./options.ts";
import type { Handler } from "./handler.ts";
import { PushSender } from "./_push.ts";
import { type ErrorReporter, PluginChain } from "./_plugin_chain.ts";
import { Dispatcher } from "./_dispatch.ts";
import { RequestPipeline } from "./_pipeline.ts";
import { RegistryLifecycle } from "./_registries.ts";
import { ServerConnections } from "./_connections.ts";
import { Listeners } from "./_listeners.ts";
import { httpBridge } from "./_http_bridge.ts";
import { Lifecycle } from "./_lifecycle.ts";
import { ServiceTable } from "./_services.ts";
import { serverSettings } from "./_settings.ts";

/** What the parts read of their server, when they need it. */
export interface ServerSide {
  /** Where errors with no caller go (the server's `onError`, quiet once closed). */
  readonly report: ErrorReporter;
  /** The server's `handleServiceError` now. */
  readonly serviceErrors: () => ServiceErrorHandler | undefined;
  /** Runs the `registerOnShutdown` functions. */
  readonly onShutdown: () => Promise<void>;
}

/** The parts of one server. */
export interface ServerParts {
  readonly life: Lifecycle;
  readonly plugins: PluginChain;
  readonly registries: RegistryLifecycle;
  readonly services: ServiceTable;
  /** Raw handlers (`addHandler`), by `handlerKey`. */
  readonly handlers: Map<string, Handler>;
  readonly pipeline: RequestPipeline;
  readonly conns: ServerConnections;
  readonly listeners: Listeners;
  readonly http: RpcxHttpServer;
  readonly push: PushSender;
  /** The `onError` option, or its default. */
  readonly onError: (where: string, error: unknown) => void;
}

/** Makes and wires the parts of a server with `options`. */
export function assembleServer(options: ServerOptions, side: ServerSide): ServerParts {
  const { frame, timeouts, onError, errorText } = serverSettings(options);
  const report = side.report;
  // Filled in at the end: every part exists before any closure below reads it.
  const p = {} as ServerParts;
  const accepting = () => p.life.accepting;
  const life = new Lifecycle(() => ({
    stopListening: () => p.listeners.stop(),
    stopRegistries: () => p.registries.stopAll(),
    connections: p.conns,
    http: p.http,
    onShutdown: side.onShutdown,
  }));
  // Every timed call in flight listens on this signal (CallDeadline): Node warns past 10
  // listeners (MaxListenersExceededWarning) unless told that many are expected.
  setMaxListeners(0, life.stop.signal);
  const plugins = new PluginChain(report);
  const registries = new RegistryLifecycle(() => p.services.entries.values(), report);
  const services = new ServiceTable(plugins, registries);
  const handlers = new Map<string, Handler>();
  const codecs = options.codecs ?? defaultCodecs;
  const dispatcher = new Dispatcher({
    services: services.entries,
    handlers,
    lateError: (e, req, conn) => p.pipeline.serviceError(e, req, conn),
    codecs,
    plugins,
    auth: options.auth,
    errorText,
    stop: life.stop.signal,
  });
  const pipeline = new RequestPipeline({
    plugins,
    dispatcher,
    serviceErrors: side.serviceErrors,
    report,
  });
  const bridge = httpBridge({ pipeline, plugins, accepting, report, errorText }, {
    ...options,
    maxBodyLength: frame.maxMessageLength,
  });
  const conns = new ServerConnections({
    plugins,
    dispatcher,
    pipeline,
    timeouts,
    frame,
    sniff: bridge.sniff,
    accepting,
    report,
  });
  const listeners = new Listeners({
    networks: options.networks ?? defaultNetworks,
    tls: options.tls,
    keepAlive: options.tcpKeepAlivePeriod,
    readTimeout: timeouts.read,
    accept: (conn, localAddress) => conns.accept(conn, localAddress),
    accepting,
    report,
  });
  const push = new PushSender({
    find: (info) => conns.find(info),
    active: () => conns.active(),
    bufferSize: options.pushBufferSize ?? DEFAULT_PUSH_BUFFER_SIZE,
    codecs,
    plugins,
  });
  return Object.assign(p, {
    life,
    plugins,
    registries,
    services,
    handlers,
    pipeline,
    conns,
    listeners,
    http: bridge.http,
    push,
    onError,
  });
}

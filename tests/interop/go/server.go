package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/url"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/smallnest/rpcx/protocol"
	"github.com/smallnest/rpcx/server"
)

func runServer(argv []string) int {
	fs := flag.NewFlagSet("server", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:0", "listen address host:port (port 0 picks a free one)")
	reg := fs.String("registry", "", "register in a registry: etcd | zookeeper | consul | redis | mdns")
	regAddr := fs.String("registry-addr", "", "registry address(es), host:port[,host:port...]")
	base := fs.String("base", "/rpcx_test", "registry base path")
	interval := fs.Duration("update-interval", time.Second, "registry refresh interval (node TTL is derived from it; consul default 10s)")
	regWait := fs.Duration("registry-wait", 10*time.Second, "keep retrying to connect to the registry for this long")
	mdnsIface := fs.String("mdns-iface", "lo", "network interface for mdns (must have MULTICAST)")
	mdnsServices := fs.String("mdns-services", "Arith", "services announced over mdns (TXT is limited to 255 bytes)")
	auth := fs.String("auth", "", "require this token (metadata __AUTH) on every non-heartbeat request")
	weight := fs.Int("weight", 0, "add weight=N to the registered metadata")
	group := fs.String("group", "", "add group=G to the registered metadata")
	state := fs.String("state", "", "add state=S to the registered metadata (e.g. inactive)")
	meta := fs.String("meta", "", "extra registered metadata, URL query form (k=v&k2=v2)")
	services := fs.String("services", "Arith,Echo,Bench", "services to register")
	withReflection := fs.Bool("reflection", false, "add reflection.New() as a plugin and register it as the service Reflection")
	sec := addRegistrySecurityFlags(fs)
	shutdownTimeout := fs.Duration("shutdown-timeout", 5*time.Second, "graceful shutdown deadline")
	noGateway := fs.Bool("no-gateway", false, "disable the HTTP gateway and JSON-RPC listener sharing the port")
	nf := addNetworkFlags(fs)
	cors := fs.Bool("cors", false, "serve HTTP with CORS: server.AllowAllCORSOptions()")
	corsOptions := fs.String("cors-options", "", "serve HTTP with CORS: these server.CORSOptions as JSON (field names as in Go, any case)")
	if err := fs.Parse(argv); err != nil {
		return 2
	}
	peerNetwork = *nf.network
	tlsCfg, err := nf.serverTLS()
	if err != nil {
		fmt.Fprintf(os.Stderr, "TLS: %v\n", err)
		return 2
	}
	serverTLSConfig = tlsCfg

	// rpcx-consul's TTL is 2*interval and libkv asks consul for a session TTL
	// of half that, which consul refuses below 10s: default to 10s there.
	if *reg == "consul" {
		set := false
		fs.Visit(func(f *flag.Flag) { set = set || f.Name == "update-interval" })
		if !set {
			*interval = 10 * time.Second
		}
	}

	metaValues, err := url.ParseQuery(*meta)
	if err != nil {
		fmt.Fprintf(os.Stderr, "bad --meta: %v\n", err)
		return 2
	}
	if *weight != 0 {
		metaValues.Set("weight", strconv.Itoa(*weight))
	}
	if *group != "" {
		metaValues.Set("group", *group)
	}
	if *state != "" {
		metaValues.Set("state", *state)
	}
	metadata := metaValues.Encode()

	// Listen first so that the real port is known before registering.
	ln, listenAddr, err := prelisten(peerNetwork, *addr)
	if err != nil {
		fmt.Fprintf(os.Stderr, "listen %s: %v\n", *addr, err)
		return 1
	}

	var serverOpts []server.OptionFn
	if tlsCfg != nil {
		serverOpts = append(serverOpts, server.WithTLSConfig(tlsCfg))
	}
	s := server.NewServer(serverOpts...)
	if *noGateway {
		s.DisableHTTPGateway = true
		s.DisableJSONRPC = true
	}
	if *cors {
		s.SetCORS(server.AllowAllCORSOptions())
	}
	if *corsOptions != "" {
		var opts server.CORSOptions
		if err := json.Unmarshal([]byte(*corsOptions), &opts); err != nil {
			fmt.Fprintf(os.Stderr, "bad --cors-options: %v\n", err)
			return 2
		}
		s.SetCORS(&opts)
	}
	stats := &peerStats{}
	s.Plugins.Add(stats)
	if *auth != "" {
		token := *auth
		s.AuthFunc = func(_ context.Context, _ *protocol.Message, got string) error {
			if got == token {
				return nil
			}
			return errors.New("invalid token")
		}
	}

	var plugin registryPlugin
	if *reg != "" {
		opts := registryOpts{kind: *reg, addrs: splitList(*regAddr), base: *base, interval: *interval, mdnsIface: *mdnsIface}
		if opts.store, err = sec.storeConfig(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 2
		}
		if opts.kind != "mdns" && len(opts.addrs) == 0 {
			fmt.Fprintln(os.Stderr, "--registry needs --registry-addr")
			return 2
		}
		// A registry that was just started may accept connections before it
		// serves; retry with a fresh plugin until --registry-wait passes.
		until := time.Now().Add(*regWait)
		for {
			plugin, err = newRegistryPlugin(opts, peerNetwork+"@"+listenAddr)
			if err == nil || time.Now().After(until) {
				break
			}
			fmt.Fprintf(os.Stderr, "%v (retrying)\n", err)
			time.Sleep(250 * time.Millisecond)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		if mp, ok := plugin.(*mdnsPlugin); ok {
			mp.allow(splitList(*mdnsServices))
		}
		s.Plugins.Add(plugin)
	}

	refl := addReflection(s, *withReflection)
	echo := &Echo{stats: stats}
	impls := map[string]interface{}{"Arith": new(Arith), "Echo": echo, "Bench": new(Bench), "Catalog": new(Catalog), "ProtoArith": new(ProtoArith)}
	registered := []string{}
	for _, name := range splitList(*services) {
		rcvr, ok := impls[name]
		if !ok {
			fmt.Fprintf(os.Stderr, "unknown service %q (have Arith, Echo, Bench, Catalog, ProtoArith)\n", name)
			return 2
		}
		if err := s.RegisterName(name, rcvr, metadata); err != nil {
			fmt.Fprintf(os.Stderr, "register %s: %v\n", name, err)
			return 1
		}
		registered = append(registered, name)
	}
	if err := registerReflection(s, refl); err != nil {
		fmt.Fprintf(os.Stderr, "register Reflection: %v\n", err)
		return 1
	}
	// The etcd plugin writes the nodes of the *previously* registered service
	// on each Register (it assigns its path table after writing), so the last
	// service would only appear at the first refresh tick. Registering the last
	// one again writes it now; the plugin de-duplicates its service list.
	if *reg == "etcd" && len(registered) > 0 {
		last := registered[len(registered)-1]
		if err := plugin.Register(last, impls[last], metadata); err != nil {
			fmt.Fprintf(os.Stderr, "register %s again: %v\n", last, err)
		}
	}

	serveErr, err := startServing(s, peerNetwork, ln, listenAddr)
	if err != nil {
		fmt.Fprintf(os.Stderr, "serve: %v\n", err)
		return 1
	}

	out := bufio.NewWriter(os.Stdout)
	fmt.Fprintf(out, "LISTENING %s\n", listenAddr)
	out.Flush()

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	code := 0
	select {
	case got := <-sig:
		fmt.Fprintf(os.Stderr, "rpcxpeer server: %v, shutting down\n", got)
	case err := <-serveErr:
		fmt.Fprintf(os.Stderr, "rpcxpeer server: serve ended: %v\n", err)
		code = 1
	}
	signal.Stop(sig)

	// The whole shutdown is bounded by --shutdown-timeout: with the registry
	// gone, the upstream plugins retry their deletes for tens of seconds.
	ctx, cancel := context.WithTimeout(context.Background(), *shutdownTimeout)
	defer cancel()
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		// Shutdown unregisters every service from the registry plugins first,
		// then stops accepting and drains in-flight requests.
		if err := s.Shutdown(ctx); err != nil {
			fmt.Fprintf(os.Stderr, "shutdown: %v\n", err)
		}
		if plugin != nil {
			// Stop the refresher and delete any node still present.
			_ = plugin.Stop()
		}
	}()
	select {
	case <-finished:
	case <-ctx.Done():
		fmt.Fprintf(os.Stderr, "rpcxpeer server: shutdown not finished within %v (registry unreachable?), exiting\n", *shutdownTimeout)
	}
	fmt.Fprintln(os.Stderr, "rpcxpeer server: stopped")
	return code
}

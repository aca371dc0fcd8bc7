package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"flag"
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/smallnest/rpcx/client"
	"github.com/smallnest/rpcx/protocol"
)

// clientTLSConfig is the TLS of every client (nil: plain), from the --tls-* flags.
var clientTLSConfig *tls.Config

// clientConfig is what every XClient built by this peer shares.
type clientConfig struct {
	addr       string
	reg        registryOpts
	serializer protocol.SerializeType
	gzip       bool
	auth       string
	failMode   client.FailMode
	selectMode client.SelectMode
	retries    int
	group      string
	timeout    time.Duration
}

func parseSerializer(s string) (protocol.SerializeType, error) {
	switch strings.ToLower(s) {
	case "msgpack":
		return protocol.MsgPack, nil
	case "json":
		return protocol.JSON, nil
	case "none", "raw":
		return protocol.SerializeNone, nil
	}
	return 0, fmt.Errorf("unknown serializer %q (want json, msgpack or none)", s)
}

func parseFailMode(s string) (client.FailMode, error) {
	switch strings.ToLower(s) {
	case "failover":
		return client.Failover, nil
	case "failfast":
		return client.Failfast, nil
	case "failtry":
		return client.Failtry, nil
	case "failbackup":
		return client.Failbackup, nil
	}
	return 0, fmt.Errorf("unknown fail mode %q (want failover, failfast, failtry or failbackup)", s)
}

func parseSelectMode(s string) (client.SelectMode, error) {
	switch strings.ToLower(s) {
	case "random":
		return client.RandomSelect, nil
	case "roundrobin":
		return client.RoundRobin, nil
	case "weighted", "weightedroundrobin":
		return client.WeightedRoundRobin, nil
	case "weightedicmp":
		return client.WeightedICMP, nil
	case "consistenthash":
		return client.ConsistentHash, nil
	case "closest":
		return client.Closest, nil
	}
	return 0, fmt.Errorf("unknown select mode %q (want random, roundrobin, weighted, weightedicmp, consistenthash or closest)", s)
}

// option returns the rpcx client option for this config.
func (c *clientConfig) option() client.Option {
	opt := client.DefaultOption
	opt.SerializeType = c.serializer
	if c.gzip {
		opt.CompressType = protocol.Gzip
	}
	if c.retries > 0 {
		opt.Retries = c.retries
	}
	opt.Group = c.group
	opt.TLSConfig = clientTLSConfig
	return opt
}

// newXClient builds an XClient for servicePath; tweak may adjust the option.
func (c *clientConfig) newXClient(servicePath string, tweak func(*client.Option)) (client.XClient, error) {
	d, err := newDiscovery(c.addr, c.reg, servicePath)
	if err != nil {
		return nil, err
	}
	opt := c.option()
	if tweak != nil {
		tweak(&opt)
	}
	xc := client.NewXClient(servicePath, c.failMode, c.selectMode, d, opt)
	if c.auth != "" {
		xc.Auth(c.auth)
	}
	return xc, nil
}

// callCtx returns a context bounded by the per-call timeout.
func (c *clientConfig) callCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), c.timeout)
}

func runClient(argv []string) int {
	fs := flag.NewFlagSet("client", flag.ContinueOnError)
	addr := fs.String("addr", "", "server host:port (Peer2Peer discovery), or a comma list (MultipleServers discovery)")
	reg := fs.String("registry", "", "discover servers in a registry: etcd | zookeeper | consul | redis | mdns")
	regAddr := fs.String("registry-addr", "", "registry address(es), host:port[,host:port...]")
	base := fs.String("base", "/rpcx_test", "registry base path")
	interval := fs.Duration("update-interval", time.Second, "mdns browse interval")
	mdnsIface := fs.String("mdns-iface", "lo", "network interface for mdns (must have MULTICAST)")
	serializer := fs.String("serializer", "msgpack", "json | msgpack")
	gz := fs.Bool("gzip", false, "gzip request payloads over 1024 bytes (CompressType Gzip)")
	auth := fs.String("auth", "", "auth token sent as metadata __AUTH")
	count := fs.Int("count", 1, "number of calls")
	method := fs.String("method", "Mul", "Arith method: Mul | Add (any other name is sent as is)")
	a := fs.Int("a", 10, "argument A")
	b := fs.Int("b", 20, "argument B")
	concurrency := fs.Int("concurrency", 1, "calls in flight at once")
	failMode := fs.String("failmode", "failover", "failover | failfast | failtry | failbackup")
	selectMode := fs.String("selectmode", "roundrobin", "random | roundrobin | weighted | weightedicmp | consistenthash | closest")
	retries := fs.Int("retries", 0, "XClient retries (0: rpcx default 3)")
	group := fs.String("group", "", "only use servers whose metadata has group=G")
	callInterval := fs.Duration("interval", 0, "pause between two calls of one worker")
	timeout := fs.Duration("timeout", 5*time.Second, "per-call timeout")
	waitServers := fs.Duration("wait-servers", 0, "with a registry: wait up to this long for a first server to be discovered")
	sec := addRegistrySecurityFlags(fs)
	tolerate := fs.Bool("tolerate-errors", false, "exit 0 even if some calls failed")
	list := fs.Bool("list-servers", false, "print the servers the discovery finds for --service (SERVER <key> <metadata>) and exit")
	servicePath := fs.String("service", "Arith", "service path for --list-servers")
	check := fs.String("check", "", "run the interop checklist instead: all, or a comma list of check names")
	nf := addNetworkFlags(fs)
	if err := fs.Parse(argv); err != nil {
		return 2
	}
	probe := client.DefaultOption
	if err := applyClientNetwork(nf, &probe); err != nil {
		fmt.Fprintf(os.Stderr, "TLS: %v\n", err)
		return 2
	}
	clientTLSConfig = probe.TLSConfig

	ser, err := parseSerializer(*serializer)
	fm, err2 := parseFailMode(*failMode)
	sm, err3 := parseSelectMode(*selectMode)
	storeCfg, err4 := sec.storeConfig()
	for _, e := range []error{err, err2, err3, err4} {
		if e != nil {
			fmt.Fprintln(os.Stderr, e)
			return 2
		}
	}
	cfg := &clientConfig{
		addr:       *addr,
		reg:        registryOpts{kind: *reg, addrs: splitList(*regAddr), base: *base, interval: *interval, mdnsIface: *mdnsIface, store: storeCfg},
		serializer: ser,
		gzip:       *gz,
		auth:       *auth,
		failMode:   fm,
		selectMode: sm,
		retries:    *retries,
		group:      *group,
		timeout:    *timeout,
	}
	if cfg.addr == "" && cfg.reg.kind == "" {
		fmt.Fprintln(os.Stderr, "give --addr or --registry")
		return 2
	}

	if *check != "" {
		return runChecks(cfg, *check)
	}
	if *list {
		return listServers(cfg, *servicePath, *waitServers)
	}

	xc, err := cfg.newXClient("Arith", nil)
	if err != nil {
		fmt.Fprintf(os.Stdout, "ERROR: %v\n", err)
		return 1
	}
	defer xc.Close()

	if *waitServers > 0 && cfg.addr == "" {
		d, _ := newDiscovery("", cfg.reg, "Arith")
		if d != nil {
			deadline := time.Now().Add(*waitServers)
			for len(d.GetServices()) == 0 && time.Now().Before(deadline) {
				time.Sleep(50 * time.Millisecond)
			}
			d.Close()
		}
	}

	op := "?"
	switch *method {
	case "Mul":
		op = "*"
	case "Add":
		op = "+"
	}

	out := bufio.NewWriter(os.Stdout)
	var outMu sync.Mutex
	print := func(line string) {
		outMu.Lock()
		fmt.Fprintln(out, line)
		out.Flush()
		outMu.Unlock()
	}

	var next, failed atomic.Int64
	workers := *concurrency
	if workers < 1 {
		workers = 1
	}
	if workers > *count {
		workers = *count
	}
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			first := true
			for {
				i := next.Add(1)
				if i > int64(*count) {
					return
				}
				if !first && *callInterval > 0 {
					time.Sleep(*callInterval)
				}
				first = false
				args := &Args{A: *a, B: *b}
				reply := &Reply{}
				ctx, cancel := cfg.callCtx()
				err := xc.Call(ctx, *method, args, reply)
				cancel()
				if err != nil {
					failed.Add(1)
					print("ERROR: " + err.Error())
					continue
				}
				print(fmt.Sprintf("%d %s %d = %d", args.A, op, args.B, reply.C))
			}
		}()
	}
	wg.Wait()
	if failed.Load() > 0 && !*tolerate {
		return 1
	}
	return 0
}

// listServers prints what the discovery returns for servicePath, one
// "SERVER <key> <metadata>" line each, sorted; exit 1 when there is none.
func listServers(cfg *clientConfig, servicePath string, wait time.Duration) int {
	d, err := newDiscovery(cfg.addr, cfg.reg, servicePath)
	if err != nil {
		fmt.Fprintf(os.Stdout, "ERROR: %v\n", err)
		return 1
	}
	defer d.Close()
	deadline := time.Now().Add(wait)
	pairs := d.GetServices()
	for len(pairs) == 0 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
		pairs = d.GetServices()
	}
	lines := make([]string, 0, len(pairs))
	for _, p := range pairs {
		lines = append(lines, fmt.Sprintf("SERVER %s %s", p.Key, p.Value))
	}
	sort.Strings(lines)
	for _, l := range lines {
		fmt.Println(strings.TrimRight(l, " "))
	}
	if len(lines) == 0 {
		return 1
	}
	return 0
}

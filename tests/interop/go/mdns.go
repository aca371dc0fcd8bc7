package main

// mDNS registration and discovery in the format of rpcx's
// serverplugin.MDNSRegisterPlugin / client.MDNSDiscovery: service type
// "_rpcxservices", domain "local.", one TXT string holding the URL-query-escaped
// JSON array [{"service":..,"meta":..,"service_address":"tcp@host:port"}].
//
// Differences from upstream, on purpose:
//   - upstream announces and browses on every multicast interface; this peer
//     uses exactly one interface (--mdns-iface, default "lo") and refuses one
//     without the MULTICAST flag, so no packet leaves the machine. On Linux run
//     it in a network namespace with `ip link set lo up multicast on`.
//   - upstream uses zeroconf.Register, which leaves loopback addresses out of
//     the A records (and fails on a loopback-only host); this peer announces
//     the listen address with zeroconf.RegisterProxy.
//   - upstream names the instance after the host name, so two servers on one
//     host shadow each other; here the instance is "<host>-<port>".
//   - only the services named in --mdns-services are announced, since a TXT
//     string is limited to 255 bytes (upstream fails to answer when it is longer).
//   - the discovery keeps only entries of the requested service (upstream keeps all).

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/url"
	"os"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/grandcat/zeroconf"
	"github.com/smallnest/rpcx/client"
	rlog "github.com/smallnest/rpcx/log"
)

const (
	mdnsServiceType = "_rpcxservices"
	mdnsDomain      = "local."
)

type mdnsServiceMeta struct {
	Service        string `json:"service,omitempty"`
	Meta           string `json:"meta,omitempty"`
	ServiceAddress string `json:"service_address,omitempty"`
}

func encodeMDNSText(services []*mdnsServiceMeta) string {
	data, _ := json.Marshal(services)
	return url.QueryEscape(string(data))
}

// mdnsInterface returns the named interface, which must be up and multicast capable.
func mdnsInterface(name string) (net.Interface, error) {
	ifi, err := net.InterfaceByName(name)
	if err != nil {
		return net.Interface{}, fmt.Errorf("mdns interface %q: %w", name, err)
	}
	if ifi.Flags&net.FlagUp == 0 || ifi.Flags&net.FlagMulticast == 0 {
		return net.Interface{}, fmt.Errorf("mdns interface %q is not up with MULTICAST (run in a network namespace after `ip link set %s up multicast on`)", name, name)
	}
	return *ifi, nil
}

// mdnsPlugin announces services over mDNS on one interface.
type mdnsPlugin struct {
	serviceAddress string
	port           int
	ip             string
	iface          net.Interface
	allowed        map[string]bool // nil: all

	mu       sync.Mutex
	services []*mdnsServiceMeta
	server   *zeroconf.Server
}

func newMDNSPlugin(serviceAddress, ifaceName string, _ time.Duration) (*mdnsPlugin, error) {
	ifi, err := mdnsInterface(ifaceName)
	if err != nil {
		return nil, err
	}
	hostPort := serviceAddress[strings.Index(serviceAddress, "@")+1:]
	ip, portStr, err := net.SplitHostPort(hostPort)
	if err != nil {
		return nil, err
	}
	port, err := strconv.Atoi(portStr)
	if err != nil {
		return nil, err
	}
	if parsed := net.ParseIP(ip); parsed == nil || parsed.IsUnspecified() {
		ip = "127.0.0.1"
	}
	return &mdnsPlugin{serviceAddress: serviceAddress, port: port, ip: ip, iface: ifi}, nil
}

func (p *mdnsPlugin) allow(names []string) {
	if len(names) == 0 {
		return
	}
	p.allowed = map[string]bool{}
	for _, n := range names {
		p.allowed[n] = true
	}
}

func (p *mdnsPlugin) Start() error { return nil }

func (p *mdnsPlugin) Stop() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.server != nil {
		p.server.Shutdown()
		p.server = nil
	}
	return nil
}

func (p *mdnsPlugin) Register(name string, _ interface{}, metadata string) error {
	if p.allowed != nil && !p.allowed[name] {
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.services = append(p.services, &mdnsServiceMeta{Service: name, Meta: metadata, ServiceAddress: p.serviceAddress})
	text := encodeMDNSText(p.services)
	if len(text) > 255 {
		return fmt.Errorf("mdns TXT string would be %d bytes (max 255); announce fewer services with --mdns-services", len(text))
	}
	if p.server != nil {
		p.server.SetText([]string{text})
		return nil
	}
	host, _ := os.Hostname()
	if host == "" {
		host = "rpcxpeer"
	}
	instance := fmt.Sprintf("%s-%d", host, p.port)
	// zeroconf.Register skips loopback addresses, so give the address explicitly.
	srv, err := zeroconf.RegisterProxy(instance, mdnsServiceType, mdnsDomain, p.port, host, []string{p.ip}, []string{text}, []net.Interface{p.iface})
	if err != nil {
		return fmt.Errorf("mdns register: %w", err)
	}
	p.server = srv
	return nil
}

func (p *mdnsPlugin) Unregister(name string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	kept := p.services[:0]
	for _, s := range p.services {
		if s.Service != name {
			kept = append(kept, s)
		}
	}
	p.services = kept
	if p.server != nil {
		p.server.SetText([]string{encodeMDNSText(p.services)})
	}
	return nil
}

// mdnsDiscovery browses for one service on one interface, every interval.
type mdnsDiscovery struct {
	service  string
	iface    net.Interface
	interval time.Duration

	mu     sync.Mutex
	pairs  []*client.KVPair
	chans  []chan []*client.KVPair
	filter client.ServiceDiscoveryFilter
	stop   chan struct{}
	once   sync.Once
}

func newMDNSDiscovery(service, ifaceName string, interval time.Duration) (*mdnsDiscovery, error) {
	ifi, err := mdnsInterface(ifaceName)
	if err != nil {
		return nil, err
	}
	if interval <= 0 {
		interval = time.Second
	}
	d := &mdnsDiscovery{service: service, iface: ifi, interval: interval, stop: make(chan struct{})}
	pairs, err := d.browse()
	if err != nil {
		rlog.Warnf("mdns browse: %v", err)
	}
	d.pairs = pairs
	go d.watch()
	return d, nil
}

func (d *mdnsDiscovery) browse() ([]*client.KVPair, error) {
	resolver, err := zeroconf.NewResolver(zeroconf.SelectIfaces([]net.Interface{d.iface}), zeroconf.SelectIPTraffic(zeroconf.IPv4))
	if err != nil {
		return nil, err
	}
	entries := make(chan *zeroconf.ServiceEntry)
	found := map[string]string{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for e := range entries {
			if len(e.Text) == 0 {
				continue
			}
			s, err := url.QueryUnescape(e.Text[0])
			if err != nil {
				continue
			}
			var metas []*mdnsServiceMeta
			if json.Unmarshal([]byte(s), &metas) != nil {
				continue
			}
			for _, m := range metas {
				if m.Service == d.service {
					found[m.ServiceAddress] = m.Meta
				}
			}
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), d.interval)
	defer cancel()
	err = resolver.Browse(ctx, mdnsServiceType, mdnsDomain, entries)
	if err != nil {
		return nil, err
	}
	<-ctx.Done()
	<-done
	pairs := make([]*client.KVPair, 0, len(found))
	for k, v := range found {
		pair := &client.KVPair{Key: k, Value: v}
		if d.filter != nil && !d.filter(pair) {
			continue
		}
		pairs = append(pairs, pair)
	}
	sort.Slice(pairs, func(i, j int) bool { return pairs[i].Key < pairs[j].Key })
	return pairs, nil
}

func (d *mdnsDiscovery) watch() {
	for {
		select {
		case <-d.stop:
			return
		default:
		}
		pairs, err := d.browse()
		if err != nil {
			rlog.Warnf("mdns browse: %v", err)
			select {
			case <-d.stop:
				return
			case <-time.After(d.interval):
			}
			continue
		}
		d.mu.Lock()
		changed := !reflect.DeepEqual(pairs, d.pairs)
		d.pairs = pairs
		chans := append([]chan []*client.KVPair(nil), d.chans...)
		d.mu.Unlock()
		if changed {
			for _, ch := range chans {
				select {
				case ch <- pairs:
				default:
				}
			}
		}
	}
}

func (d *mdnsDiscovery) GetServices() []*client.KVPair {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.pairs
}

func (d *mdnsDiscovery) WatchService() chan []*client.KVPair {
	d.mu.Lock()
	defer d.mu.Unlock()
	ch := make(chan []*client.KVPair, 10)
	d.chans = append(d.chans, ch)
	return ch
}

func (d *mdnsDiscovery) RemoveWatcher(ch chan []*client.KVPair) {
	d.mu.Lock()
	defer d.mu.Unlock()
	kept := d.chans[:0]
	for _, c := range d.chans {
		if c != ch {
			kept = append(kept, c)
		}
	}
	d.chans = kept
}

func (d *mdnsDiscovery) Clone(servicePath string) (client.ServiceDiscovery, error) {
	return newMDNSDiscovery(servicePath, d.iface.Name, d.interval)
}

func (d *mdnsDiscovery) SetFilter(f client.ServiceDiscoveryFilter) { d.filter = f }

func (d *mdnsDiscovery) Close() { d.once.Do(func() { close(d.stop) }) }

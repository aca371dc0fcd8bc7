package main

import (
	"fmt"
	"time"

	"github.com/rpcxio/libkv/store"
	consulclient "github.com/rpcxio/rpcx-consul/client"
	consulplugin "github.com/rpcxio/rpcx-consul/serverplugin"
	etcdclient "github.com/rpcxio/rpcx-etcd/client"
	etcdplugin "github.com/rpcxio/rpcx-etcd/serverplugin"
	redisclient "github.com/rpcxio/rpcx-redis/client"
	redisplugin "github.com/rpcxio/rpcx-redis/serverplugin"
	zkclient "github.com/rpcxio/rpcx-zookeeper/client"
	zkplugin "github.com/rpcxio/rpcx-zookeeper/serverplugin"
	"github.com/smallnest/rpcx/client"
	"github.com/smallnest/rpcx/server"
)

// registryOpts are the registry flags shared by server and client.
type registryOpts struct {
	kind      string // etcd | zookeeper | consul | redis | mdns | "" (none)
	addrs     []string
	base      string
	interval  time.Duration
	mdnsIface string
	store     *store.Config // TLS and auth (registry_secure.go); nil: none
}

// registryPlugin is the part of the upstream register plugins we drive.
type registryPlugin interface {
	server.RegisterPlugin
	Start() error
	Stop() error
}

// newRegistryPlugin builds the upstream register plugin for the chosen
// registry, already started (connected). serviceAddress is "tcp@host:port".
func newRegistryPlugin(o registryOpts, serviceAddress string) (registryPlugin, error) {
	var p registryPlugin
	switch o.kind {
	case "etcd":
		p = &etcdplugin.EtcdV3RegisterPlugin{
			ServiceAddress: serviceAddress,
			EtcdServers:    o.addrs,
			BasePath:       o.base,
			UpdateInterval: o.interval,
			Options:        o.store,
		}
	case "zookeeper", "zk":
		p = zkplugin.NewZooKeeperRegisterPlugin(
			zkplugin.WithZKServiceAddress(serviceAddress),
			zkplugin.WithZKServersAddress(o.addrs),
			zkplugin.WithZKBasePath(o.base),
			zkplugin.WithZkUpdateInterval(o.interval),
			zkplugin.WithZkOptions(o.store),
		)
	case "consul":
		p = consulplugin.NewConsulRegisterPlugin(
			consulplugin.WithConsulServiceAddress(serviceAddress),
			consulplugin.WithConsulServers(o.addrs),
			consulplugin.WithConsulBasePath(o.base),
			consulplugin.WithConsulUpdateInterval(o.interval),
			consulplugin.WithConsulOptions(o.store),
		)
	case "redis":
		// rpcx-redis over libkv's redis store: one endpoint, Password and Bucket (DB index)
		// from store.Config; libkv refuses TLS. Node TTL = UpdateInterval * 2.
		p = &redisplugin.RedisRegisterPlugin{
			ServiceAddress: serviceAddress,
			RedisServers:   o.addrs,
			BasePath:       o.base,
			UpdateInterval: o.interval,
			Options:        o.store,
		}
	case "mdns":
		mp, err := newMDNSPlugin(serviceAddress, o.mdnsIface, o.interval)
		if err != nil {
			return nil, err
		}
		p = mp
	default:
		return nil, fmt.Errorf("unknown registry %q (want etcd, zookeeper, consul, redis or mdns)", o.kind)
	}
	if err := p.Start(); err != nil {
		return nil, fmt.Errorf("starting %s register plugin: %w", o.kind, err)
	}
	return p, nil
}

// newDiscovery builds the client-side discovery for servicePath: Peer2Peer
// when addr is one host:port, MultipleServers when it is a comma list, else
// the chosen registry.
func newDiscovery(addr string, o registryOpts, servicePath string) (client.ServiceDiscovery, error) {
	if addrs := splitList(addr); len(addrs) > 1 {
		pairs := make([]*client.KVPair, 0, len(addrs))
		for _, a := range addrs {
			pairs = append(pairs, &client.KVPair{Key: peerNetwork + "@" + a})
		}
		return client.NewMultipleServersDiscovery(pairs)
	}
	if addr != "" {
		return client.NewPeer2PeerDiscovery(peerNetwork+"@"+addr, "")
	}
	switch o.kind {
	case "etcd":
		return etcdclient.NewEtcdV3Discovery(o.base, servicePath, o.addrs, true, o.store)
	case "zookeeper", "zk":
		return zkclient.NewZookeeperDiscovery(o.base, servicePath, o.addrs, o.store)
	case "consul":
		return consulclient.NewConsulDiscovery(o.base, servicePath, o.addrs, o.store)
	case "redis":
		// fails ("Key not found in store") while nothing is under base/servicePath: libkv's
		// List of an empty prefix is an error
		d, err := redisclient.NewRedisDiscovery(o.base, servicePath, o.addrs, o.store)
		if err != nil {
			return nil, err // not a typed nil in the interface
		}
		return d, nil
	case "mdns":
		return newMDNSDiscovery(servicePath, o.mdnsIface, o.interval)
	case "":
		return nil, fmt.Errorf("give --addr or --registry")
	default:
		return nil, fmt.Errorf("unknown registry %q (want etcd, zookeeper, consul, redis or mdns)", o.kind)
	}
}

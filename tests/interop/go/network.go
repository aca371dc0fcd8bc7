package main

// Networks other than plain tcp, for the server, client and bench subcommands:
// --network tcp|unix|http|ws|wss and TLS (--tls-cert/--tls-key for a server
// certificate or a client certificate, --tls-ca for the CA to trust: the
// server's on a client, the clients' on a server, which then requires client
// certificates).

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"time"

	"github.com/smallnest/rpcx/client"
	"github.com/smallnest/rpcx/server"
)

// peerNetwork is the network of every address this process dials or serves.
var peerNetwork = "tcp"

type netFlags struct {
	network    *string
	cert       *string
	key        *string
	ca         *string
	serverName *string
}

func addNetworkFlags(fs *flag.FlagSet) *netFlags {
	return &netFlags{
		network:    fs.String("network", "tcp", "tcp | unix | http | ws | wss (unix: --addr is the socket path)"),
		cert:       fs.String("tls-cert", "", "PEM certificate (server: its certificate; client: a client certificate for mutual TLS)"),
		key:        fs.String("tls-key", "", "PEM private key of --tls-cert"),
		ca:         fs.String("tls-ca", "", "PEM CA to trust (client: the server's CA, enables TLS; server: the clients' CA, requires client certificates)"),
		serverName: fs.String("tls-server-name", "", "client: the name the server certificate must carry (default: the host dialed)"),
	}
}

func (f *netFlags) pool() (*x509.CertPool, error) {
	pem, err := os.ReadFile(*f.ca)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("no certificate in %s", *f.ca)
	}
	return pool, nil
}

// serverTLS is the server's TLS config, or nil without --tls-cert.
func (f *netFlags) serverTLS() (*tls.Config, error) {
	if *f.cert == "" {
		return nil, nil
	}
	pair, err := tls.LoadX509KeyPair(*f.cert, *f.key)
	if err != nil {
		return nil, err
	}
	cfg := &tls.Config{Certificates: []tls.Certificate{pair}}
	if *f.ca != "" {
		pool, err := f.pool()
		if err != nil {
			return nil, err
		}
		cfg.ClientCAs = pool
		cfg.ClientAuth = tls.RequireAndVerifyClientCert
	}
	return cfg, nil
}

// clientTLS is the client's TLS config, or nil without --tls-ca (and not wss).
func (f *netFlags) clientTLS() (*tls.Config, error) {
	if *f.ca == "" {
		if *f.network == "wss" {
			return &tls.Config{}, nil
		}
		return nil, nil
	}
	pool, err := f.pool()
	if err != nil {
		return nil, err
	}
	cfg := &tls.Config{RootCAs: pool, ServerName: *f.serverName}
	if *f.cert != "" {
		pair, err := tls.LoadX509KeyPair(*f.cert, *f.key)
		if err != nil {
			return nil, err
		}
		cfg.Certificates = []tls.Certificate{pair}
	}
	return cfg, nil
}

// listenNetwork opens the listener for network (tcp, unix, http) at addr.
func listenNetwork(network, addr string, cfg *tls.Config) (net.Listener, error) {
	kind := "tcp"
	if network == "unix" {
		kind = "unix"
	}
	ln, err := net.Listen(kind, addr)
	if err != nil {
		return nil, err
	}
	if cfg != nil {
		ln = tls.NewListener(ln, cfg)
	}
	return ln, nil
}

// prelisten opens the listener of network at addr (none for ws/wss, which
// Server.Serve opens itself: a free port is picked instead); bound is the
// address to advertise.
func prelisten(network, addr string) (net.Listener, string, error) {
	switch network {
	case "tcp", "unix", "http":
		ln, err := listenNetwork(network, addr, serverTLSConfig)
		if err != nil {
			return nil, "", err
		}
		return ln, ln.Addr().String(), nil
	case "ws", "wss":
		probe, err := net.Listen("tcp", addr)
		if err != nil {
			return nil, "", err
		}
		bound := probe.Addr().String()
		probe.Close()
		return nil, bound, nil
	}
	return nil, "", fmt.Errorf("unknown network %q (want tcp, unix, http, ws or wss)", network)
}

// startServing serves s on ln (or on bound for ws/wss); it returns once
// connections are accepted, with the channel Serve's result arrives on.
func startServing(s *server.Server, network string, ln net.Listener, bound string) (chan error, error) {
	serveErr := make(chan error, 1)
	if ln == nil {
		go func() { serveErr <- s.Serve(network, bound) }()
		return serveErr, waitAccepting("tcp", bound, serveErr)
	}
	go func() { serveErr <- s.ServeListener(network, ln) }()
	if network == "tcp" {
		select {
		case <-s.Started:
			return serveErr, nil
		case err := <-serveErr:
			return nil, err
		}
	}
	return serveErr, waitAccepting(network, bound, serveErr)
}

// serverTLSConfig is what --tls-cert/--tls-key/--tls-ca made (nil: plain).
var serverTLSConfig *tls.Config

func waitAccepting(network, addr string, serveErr chan error) error {
	kind := "tcp"
	if network == "unix" {
		kind = "unix"
	}
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-serveErr:
			return err
		default:
		}
		if c, err := net.DialTimeout(kind, addr, 200*time.Millisecond); err == nil {
			c.Close()
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return errors.New("server did not start accepting within 10s")
}

// applyClientNetwork sets the network and TLS of every client this process makes.
func applyClientNetwork(f *netFlags, opt *client.Option) error {
	peerNetwork = *f.network
	cfg, err := f.clientTLS()
	if err != nil {
		return err
	}
	opt.TLSConfig = cfg
	return nil
}

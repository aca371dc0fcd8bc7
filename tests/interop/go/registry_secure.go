package main

import (
	"crypto/tls"
	"crypto/x509"
	"flag"
	"fmt"
	"os"

	"github.com/rpcxio/libkv/store"
)

// registrySecurity holds the TLS and auth flags for the registry clients. Unset flags keep
// the old behaviour (plain connection, no auth: store.Config nil).
type registrySecurity struct {
	ca, cert, key  *string
	user, password *string
	db             *string
}

// addRegistrySecurityFlags declares --registry-ca, --registry-cert, --registry-key,
// --registry-user, --registry-password and --registry-db on fs.
func addRegistrySecurityFlags(fs *flag.FlagSet) *registrySecurity {
	return &registrySecurity{
		ca:       fs.String("registry-ca", "", "PEM CA that signed the registry's certificate: talk TLS to the registry (etcd, consul)"),
		cert:     fs.String("registry-cert", "", "PEM client certificate for the registry (mutual TLS)"),
		key:      fs.String("registry-key", "", "PEM key of --registry-cert"),
		user:     fs.String("registry-user", "", "registry user (etcd auth)"),
		password: fs.String("registry-password", "", "password of --registry-user (redis: the password alone, requirepass)"),
		db:       fs.String("registry-db", "", "redis: database index (libkv store.Config.Bucket)"),
	}
}

// storeConfig is the libkv store.Config the upstream plugins and discoveries take, or nil
// when no flag was given.
func (s *registrySecurity) storeConfig() (*store.Config, error) {
	if *s.ca == "" && *s.cert == "" && *s.user == "" && *s.password == "" && *s.db == "" {
		return nil, nil
	}
	cfg := &store.Config{Username: *s.user, Password: *s.password, Bucket: *s.db}
	if *s.ca != "" || *s.cert != "" {
		t := &tls.Config{MinVersion: tls.VersionTLS12}
		if *s.ca != "" {
			pem, err := os.ReadFile(*s.ca)
			if err != nil {
				return nil, fmt.Errorf("--registry-ca: %w", err)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("--registry-ca %s: no certificate", *s.ca)
			}
			t.RootCAs = pool
		}
		if *s.cert != "" {
			pair, err := tls.LoadX509KeyPair(*s.cert, *s.key)
			if err != nil {
				return nil, fmt.Errorf("--registry-cert/--registry-key: %w", err)
			}
			t.Certificates = []tls.Certificate{pair}
		}
		cfg.TLS = t
	}
	return cfg, nil
}

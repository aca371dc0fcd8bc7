// Command mdnsupstream runs Go rpcx's own mDNS registry code (serverplugin.MDNSRegisterPlugin and
// client.MDNSDiscovery, on grandcat/zeroconf) against ours, for tests/mdns_test.ts.
//
//	mdnsupstream server <host:port> <metadata>   serves Arith, advertised over mDNS; runs until killed
//	mdnsupstream client <browse-ms>              discovers Arith, prints the pairs, calls Arith.Mul {10,20}
//	mdnsupstream failover <browse-ms> <count> <interval-ms>
//	                                             discovers Arith, then calls it <count> times with a
//	                                             Failover/RoundRobin XClient; exits 1 on any failure
//
// Upstream needs a non-loopback IPv4 address on some interface (zeroconf.Register fails otherwise).
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/smallnest/rpcx/client"
	"github.com/smallnest/rpcx/server"
	"github.com/smallnest/rpcx/serverplugin"
)

type Args struct{ A, B int }

type Reply struct{ C int }

type Arith struct{}

func (t *Arith) Mul(_ context.Context, args *Args, reply *Reply) error {
	reply.C = args.A * args.B
	return nil
}

func main() {
	if len(os.Args) < 3 {
		fmt.Fprintln(os.Stderr, "usage: mdnsupstream server <host:port> <metadata> | client <browse-ms>")
		os.Exit(2)
	}
	switch os.Args[1] {
	case "server":
		addr := os.Args[2]
		meta := ""
		if len(os.Args) > 3 {
			meta = os.Args[3]
		}
		s := server.NewServer()
		s.Plugins.Add(serverplugin.NewMDNSRegisterPlugin("tcp@"+addr, 0, nil, time.Second, ""))
		if err := s.RegisterName("Arith", new(Arith), meta); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		fmt.Println("listening on", addr)
		if err := s.Serve("tcp", addr); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	case "client":
		ms, _ := strconv.Atoi(os.Args[2])
		d, _ := client.NewMDNSDiscovery("Arith", time.Duration(ms)*time.Millisecond, time.Minute, "")
		pairs := map[string]string{}
		for _, kv := range d.GetServices() {
			pairs[kv.Key] = kv.Value
		}
		out, _ := json.Marshal(pairs)
		fmt.Println("pairs", string(out))
		xc := client.NewXClient("Arith", client.Failtry, client.RandomSelect, d, client.DefaultOption)
		defer xc.Close()
		reply := &Reply{}
		if err := xc.Call(context.Background(), "Mul", &Args{A: 10, B: 20}, reply); err != nil {
			fmt.Println("call failed:", err)
			os.Exit(1)
		}
		fmt.Printf("%d * %d = %d\n", 10, 20, reply.C)
	case "failover":
		if len(os.Args) < 5 {
			fmt.Fprintln(os.Stderr, "usage: mdnsupstream failover <browse-ms> <count> <interval-ms>")
			os.Exit(2)
		}
		ms, _ := strconv.Atoi(os.Args[2])
		count, _ := strconv.Atoi(os.Args[3])
		every, _ := strconv.Atoi(os.Args[4])
		d, _ := client.NewMDNSDiscovery("Arith", time.Duration(ms)*time.Millisecond, time.Minute, "")
		fmt.Println("servers", len(d.GetServices()))
		os.Stdout.Sync()
		xc := client.NewXClient("Arith", client.Failover, client.RoundRobin, d, client.DefaultOption)
		defer xc.Close()
		failed := 0
		for i := 0; i < count; i++ {
			reply := &Reply{}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			err := xc.Call(ctx, "Mul", &Args{A: 10, B: 20}, reply)
			cancel()
			if err != nil {
				fmt.Println("ERROR", err)
				failed++
			} else {
				fmt.Printf("%d * %d = %d\n", 10, 20, reply.C)
			}
			time.Sleep(time.Duration(every) * time.Millisecond)
		}
		if failed > 0 {
			os.Exit(1)
		}
	}
}

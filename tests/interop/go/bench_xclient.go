package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/smallnest/rpcx/client"
)

// MulArgs is the argument of Bench.Mul: Arith.Mul's {A, B} plus a string S
// that is echoed back (the payload size knob of the head-to-head matrix).
type MulArgs struct {
	A int
	B int
	S string
}

// MulReply is the reply of Bench.Mul.
type MulReply struct {
	C int
	S string
}

// Mul sets C = A * B and echoes S.
func (Bench) Mul(_ context.Context, args *MulArgs, reply *MulReply) error {
	reply.C = args.A * args.B
	reply.S = args.S
	return nil
}

// runBenchXClient is the Go side of bench/head_to_head.ts: one XClient
// (Peer2Peer, Failfast, RandomSelect, MsgPack: Go's defaults otherwise) shared
// by --inflight goroutines, each calling Bench.Mul in a loop. One JSON line.
func runBenchXClient(argv []string) int {
	fs := flag.NewFlagSet("bench-xclient", flag.ContinueOnError)
	addr := fs.String("addr", "", "server host:port")
	inflight := fs.Int("inflight", 100, "calls in flight (goroutines sharing the XClient)")
	sBytes := fs.Int("s", 0, "length of the echoed string S, bytes")
	total := fs.Int("total", 100000, "total number of calls")
	maxSeconds := fs.Float64("max-seconds", 30, "stop after this long even if --total is not reached")
	warmup := fs.Int("warmup", 2000, "untimed calls before measuring")
	timeout := fs.Duration("timeout", 10*time.Second, "per-call timeout")
	nf := addNetworkFlags(fs)
	if err := fs.Parse(argv); err != nil {
		return 2
	}
	if *addr == "" {
		fmt.Fprintln(os.Stderr, "bench-xclient needs --addr")
		return 2
	}
	if *inflight < 1 {
		*inflight = 1
	}
	opt := client.DefaultOption
	if err := applyClientNetwork(nf, &opt); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	d, err := client.NewPeer2PeerDiscovery(peerNetwork+"@"+*addr, "")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	xc := client.NewXClient("Bench", client.Failfast, client.RandomSelect, d, opt)
	defer xc.Close()
	args := MulArgs{A: 6, B: 7, S: strings.Repeat("s", *sBytes)}

	for i := 0; i < *warmup; i++ {
		reply := &MulReply{}
		ctx, cancel := context.WithTimeout(context.Background(), *timeout)
		err := xc.Call(ctx, "Mul", &args, reply)
		cancel()
		if err != nil {
			fmt.Fprintf(os.Stderr, "warm-up call failed: %v\n", err)
			return 1
		}
	}

	var next, errCount atomic.Int64
	var firstErr atomic.Value
	var stop atomic.Bool
	lat := make([][]time.Duration, *inflight)
	timer := time.AfterFunc(time.Duration(*maxSeconds*float64(time.Second)), func() { stop.Store(true) })
	defer timer.Stop()
	start := time.Now()
	var wg sync.WaitGroup
	for g := 0; g < *inflight; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			// Grown as needed: --total is a bound, often far above what a run makes.
			mine := make([]time.Duration, 0, min(*total / *inflight + 1, 1<<16))
			a := args
			for !stop.Load() {
				i := next.Add(1)
				if i > int64(*total) {
					break
				}
				a.A = int(i)
				reply := &MulReply{}
				ctx, cancel := context.WithTimeout(context.Background(), *timeout)
				t0 := time.Now()
				err := xc.Call(ctx, "Mul", &a, reply)
				dur := time.Since(t0)
				cancel()
				if err == nil && (reply.C != a.A*a.B || len(reply.S) != len(a.S)) {
					err = fmt.Errorf("wrong reply C=%d len(S)=%d for A=%d", reply.C, len(reply.S), a.A)
				}
				if err != nil {
					if errCount.Add(1) == 1 {
						firstErr.Store(err.Error())
					}
					continue
				}
				mine = append(mine, dur)
			}
			lat[g] = mine
		}(g)
	}
	wg.Wait()
	elapsed := time.Since(start)

	var all []time.Duration
	for _, l := range lat {
		all = append(all, l...)
	}
	sort.Slice(all, func(i, j int) bool { return all[i] < all[j] })
	pct := func(p float64) float64 {
		if len(all) == 0 {
			return 0
		}
		idx := int(p*float64(len(all))+0.5) - 1
		if idx < 0 {
			idx = 0
		}
		if idx >= len(all) {
			idx = len(all) - 1
		}
		return float64(all[idx].Microseconds())
	}
	calls := int64(len(all)) + errCount.Load()
	res := map[string]any{
		"client":        "go-xclient",
		"calls":         calls,
		"errors":        errCount.Load(),
		"seconds":       round(elapsed.Seconds(), 3),
		"calls_per_sec": round(float64(calls)/elapsed.Seconds(), 1),
		"p50_us":        pct(0.50),
		"p99_us":        pct(0.99),
		"inflight":      *inflight,
		"s_bytes":       *sBytes,
	}
	if v, ok := firstErr.Load().(string); ok {
		res["first_error"] = v
	}
	line, _ := json.Marshal(res)
	fmt.Println(string(line))
	if errCount.Load() > 0 {
		return 1
	}
	return 0
}

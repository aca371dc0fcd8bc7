package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"
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

	run := runLoad(*inflight, int64(*total), *maxSeconds, func(int) func(int64) (time.Duration, error) {
		a := args
		return func(i int64) (time.Duration, error) {
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
			return dur, err
		}
	})
	calls := run.calls()
	res := map[string]any{
		"client":          "go-xclient",
		"calls":           calls,
		"errors":          run.errors,
		"seconds":         round(run.elapsed.Seconds(), 3),
		"calls_per_sec":   round(float64(calls)/run.elapsed.Seconds(), 1),
		"p50_us":          run.percentileUs(0.50),
		"p99_us":          run.percentileUs(0.99),
		"cpu_us_per_call": run.cpuUsPerCall(),
		"inflight":        *inflight,
		"s_bytes":         *sBytes,
	}
	if run.firstErr != "" {
		res["first_error"] = run.firstErr
	}
	return printResult(res, run.errors)
}

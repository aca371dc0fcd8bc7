package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/smallnest/rpcx/client"
	"github.com/smallnest/rpcx/share"
)

// benchArgs returns the benchmark message, its Data padded so that the
// message encodes to about size bytes with the given serializer.
func benchArgs(size int, ser string) (*BenchArgs, int, error) {
	args := &BenchArgs{
		ID:     123456789,
		Seq:    1,
		Name:   "bench",
		Email:  "b@example.org",
		Score:  98.6,
		Active: true,
		Tags:   []string{"go"},
	}
	st, err := parseSerializer(ser)
	if err != nil {
		return nil, 0, err
	}
	codec := share.Codecs[st]
	enc, err := codec.Encode(args)
	if err != nil {
		return nil, 0, err
	}
	if pad := size - len(enc); pad > 0 {
		args.Data = strings.Repeat("x", pad)
		// A longer string may need a longer length prefix; trim to fit.
		for {
			enc, err = codec.Encode(args)
			if err != nil {
				return nil, 0, err
			}
			if len(enc) <= size || args.Data == "" {
				break
			}
			args.Data = args.Data[:len(args.Data)-1]
		}
	}
	return args, len(enc), nil
}

type benchResult struct {
	Calls        int64   `json:"calls"`
	Errors       int64   `json:"errors"`
	Seconds      float64 `json:"seconds"`
	CallsPerSec  float64 `json:"calls_per_sec"`
	P50us        float64 `json:"p50_us"`
	P99us        float64 `json:"p99_us"`
	Concurrency  int     `json:"concurrency"`
	Pool         int     `json:"pool"`
	PayloadBytes int     `json:"payload_bytes"`
	Serializer   string  `json:"serializer"`
	TimedOut     bool    `json:"timed_out"`
	FirstError   string  `json:"first_error,omitempty"`
}

func runBench(argv []string) int {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	addr := fs.String("addr", "", "server host:port")
	concurrency := fs.Int("concurrency", 100, "goroutines calling at once")
	total := fs.Int("total", 200000, "total number of calls")
	payload := fs.Int("payload", 100, "target encoded size of the request message, bytes")
	ser := fs.String("serializer", "msgpack", "json | msgpack")
	maxSeconds := fs.Float64("max-seconds", 120, "stop after this long even if --total is not reached")
	pool := fs.Int("pool", 10, "number of XClients (connections) shared round-robin by the goroutines")
	service := fs.String("service", "Bench", "service path")
	method := fs.String("method", "Echo", "service method")
	timeout := fs.Duration("timeout", 10*time.Second, "per-call timeout")
	warmup := fs.Int("warmup", 1000, "untimed calls before measuring")
	nf := addNetworkFlags(fs)
	if err := fs.Parse(argv); err != nil {
		return 2
	}
	if *addr == "" {
		fmt.Fprintln(os.Stderr, "bench needs --addr")
		return 2
	}
	if *concurrency < 1 {
		*concurrency = 1
	}
	if *pool < 1 {
		*pool = 1
	}
	if *pool > *concurrency {
		*pool = *concurrency
	}
	st, err := parseSerializer(*ser)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	args, size, err := benchArgs(*payload, *ser)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}

	opt := client.DefaultOption
	if err := applyClientNetwork(nf, &opt); err != nil {
		fmt.Fprintf(os.Stderr, "TLS: %v\n", err)
		return 2
	}
	opt.SerializeType = st
	clients := make([]client.XClient, *pool)
	for i := range clients {
		d, err := client.NewPeer2PeerDiscovery(peerNetwork+"@"+*addr, "")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		clients[i] = client.NewXClient(*service, client.Failfast, client.RoundRobin, d, opt)
		defer clients[i].Close()
	}

	// Warm up: connect every client and check the method answers.
	for i := 0; i < *warmup || i < len(clients); i++ {
		reply := &BenchArgs{}
		ctx, cancel := context.WithTimeout(context.Background(), *timeout)
		err := clients[i%len(clients)].Call(ctx, *method, args, reply)
		cancel()
		if err != nil {
			fmt.Fprintf(os.Stderr, "warm-up call failed: %v\n", err)
			return 1
		}
	}

	run := runLoad(*concurrency, int64(*total), *maxSeconds, func(g int) func(int64) (time.Duration, error) {
		xc := clients[g%len(clients)]
		a := *args
		return func(i int64) (time.Duration, error) {
			a.Seq = i
			reply := &BenchArgs{}
			ctx, cancel := context.WithTimeout(context.Background(), *timeout)
			t0 := time.Now()
			err := xc.Call(ctx, *method, &a, reply)
			d := time.Since(t0)
			cancel()
			if err == nil && reply.Seq != a.Seq {
				err = fmt.Errorf("reply Seq %d for request %d", reply.Seq, a.Seq)
			}
			return d, err
		}
	})
	calls := run.calls()
	res := benchResult{
		Calls:        calls,
		Errors:       run.errors,
		Seconds:      round(run.elapsed.Seconds(), 3),
		CallsPerSec:  round(float64(calls)/run.elapsed.Seconds(), 1),
		P50us:        run.percentileUs(0.50),
		P99us:        run.percentileUs(0.99),
		Concurrency:  *concurrency,
		Pool:         len(clients),
		PayloadBytes: size,
		Serializer:   strings.ToLower(*ser),
		TimedOut:     calls < int64(*total),
		FirstError:   run.firstErr,
	}
	return printResult(res, res.Errors)
}

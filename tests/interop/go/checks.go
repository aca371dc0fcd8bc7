package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/smallnest/rpcx/client"
	"github.com/smallnest/rpcx/protocol"
	"github.com/smallnest/rpcx/share"
)

// errSkip marks a check that does not apply (printed as SKIP, not a failure).
type errSkip string

func (e errSkip) Error() string { return string(e) }

type checkDef struct {
	name string
	run  func(cfg *clientConfig) error
}

// checkList is the fixed interop checklist, in the order it runs.
var checkList = []checkDef{
	{"json-mul", func(cfg *clientConfig) error { return checkMul(cfg, protocol.JSON) }},
	{"msgpack-mul", func(cfg *clientConfig) error { return checkMul(cfg, protocol.MsgPack) }},
	{"gzip-big", checkGzipBig},
	{"heartbeat", checkHeartbeat},
	{"oneway", checkOneway},
	{"metadata", checkMetadata},
	{"auth-accepted", checkAuthAccepted},
	{"auth-rejected", checkAuthRejected},
	{"error-fail", checkErrorFail},
	{"error-unknown-method", checkUnknownMethod},
	{"error-unknown-service", checkUnknownService},
	{"bytes-1mib", checkBytes},
	{"concurrent-1000", checkConcurrent},
}

func runChecks(cfg *clientConfig, which string) int {
	selected := map[string]bool{}
	all := which == "all"
	if !all {
		known := map[string]bool{}
		for _, c := range checkList {
			known[c.name] = true
		}
		for _, n := range splitList(which) {
			if !known[n] {
				fmt.Fprintf(os.Stderr, "unknown check %q\n", n)
				return 2
			}
			selected[n] = true
		}
	}
	out := bufio.NewWriter(os.Stdout)
	failed := 0
	for _, c := range checkList {
		if !all && !selected[c.name] {
			continue
		}
		err := runOneCheck(cfg, c)
		var skip errSkip
		switch {
		case err == nil:
			fmt.Fprintf(out, "OK %s\n", c.name)
		case errors.As(err, &skip):
			fmt.Fprintf(out, "SKIP %s: %s\n", c.name, oneLine(skip.Error()))
		default:
			failed++
			fmt.Fprintf(out, "FAIL %s: %s\n", c.name, oneLine(err.Error()))
		}
		out.Flush()
	}
	if failed > 0 {
		return 1
	}
	return 0
}

// runOneCheck runs a check with a hard 30 s bound, turning a panic into a failure.
func runOneCheck(cfg *clientConfig, c checkDef) (err error) {
	done := make(chan error, 1)
	go func() {
		defer func() {
			if r := recover(); r != nil {
				done <- fmt.Errorf("panic: %v", r)
			}
		}()
		done <- c.run(cfg)
	}()
	select {
	case err = <-done:
		return err
	case <-time.After(30 * time.Second):
		return errors.New("check did not finish within 30s")
	}
}

func oneLine(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "\r", " "), "\n", " ")
}

// withClient builds an XClient for servicePath, runs f and closes it.
func withClient(cfg *clientConfig, servicePath string, tweak func(*client.Option), f func(xc client.XClient) error) error {
	xc, err := cfg.newXClient(servicePath, tweak)
	if err != nil {
		return err
	}
	defer xc.Close()
	return f(xc)
}

func call(cfg *clientConfig, xc client.XClient, method string, args, reply interface{}) error {
	ctx, cancel := cfg.callCtx()
	defer cancel()
	return xc.Call(ctx, method, args, reply)
}

func serializer(t protocol.SerializeType) func(*client.Option) {
	return func(o *client.Option) { o.SerializeType = t }
}

func checkMul(cfg *clientConfig, ser protocol.SerializeType) error {
	return withClient(cfg, "Arith", serializer(ser), func(xc client.XClient) error {
		for _, tc := range []struct{ a, b int }{{10, 20}, {-7, 123456789}, {1 << 20, 1 << 20}} {
			reply := &Reply{}
			if err := call(cfg, xc, "Mul", &Args{A: tc.a, B: tc.b}, reply); err != nil {
				return err
			}
			if reply.C != tc.a*tc.b {
				return fmt.Errorf("%d * %d: got %d, want %d", tc.a, tc.b, reply.C, tc.a*tc.b)
			}
		}
		return nil
	})
}

// compressSeen records the compress type of decoded Echo.Big responses.
type compressSeen struct {
	mu   sync.Mutex
	seen []protocol.CompressType
}

func (p *compressSeen) ClientAfterDecode(m *protocol.Message) error {
	if m.ServiceMethod == "Big" {
		p.mu.Lock()
		p.seen = append(p.seen, m.CompressType())
		p.mu.Unlock()
	}
	return nil
}

func checkGzipBig(cfg *clientConfig) error {
	seen := &compressSeen{}
	return withClient(cfg, "Echo", func(o *client.Option) { o.CompressType = protocol.Gzip }, func(xc client.XClient) error {
		pc := client.NewPluginContainer()
		pc.Add(seen)
		xc.SetPlugins(pc)
		data := strings.Repeat("rpcx gzip interop 0123456789 ", 300) // ~8.7 KB, compressible
		res := map[string]string{}
		ctx, cancel := cfg.callCtx()
		defer cancel()
		ctx = context.WithValue(ctx, share.ResMetaDataKey, res)
		reply := &BigArgs{}
		if err := xc.Call(ctx, "Big", &BigArgs{Data: data}, reply); err != nil {
			return err
		}
		if reply.Data != data {
			return fmt.Errorf("echoed %d bytes differ from the %d sent", len(reply.Data), len(data))
		}
		if res[reqCompressedKey] != "gzip" {
			return fmt.Errorf("server did not see a gzip-compressed request (reply metadata %s=%q)", reqCompressedKey, res[reqCompressedKey])
		}
		seen.mu.Lock()
		defer seen.mu.Unlock()
		if len(seen.seen) != 1 || seen.seen[0] != protocol.Gzip {
			return fmt.Errorf("response frame compress types %v, want one gzip", seen.seen)
		}
		return nil
	})
}

func heartbeatCount(cfg *clientConfig) (int, error) {
	var n int
	err := withClient(cfg, "Echo", nil, func(xc client.XClient) error {
		r := &CountReply{}
		err := call(cfg, xc, "Heartbeats", &Empty{}, r)
		n = r.Count
		return err
	})
	return n, err
}

func checkHeartbeat(cfg *clientConfig) error {
	before, err := heartbeatCount(cfg)
	if err != nil {
		return fmt.Errorf("Echo.Heartbeats: %w", err)
	}
	return withClient(cfg, "Arith", func(o *client.Option) {
		o.Heartbeat = true
		o.HeartbeatInterval = 100 * time.Millisecond
		o.MaxWaitForHeartbeat = 2 * time.Second
	}, func(xc client.XClient) error {
		reply := &Reply{}
		if err := call(cfg, xc, "Mul", &Args{A: 3, B: 4}, reply); err != nil {
			return err
		}
		time.Sleep(550 * time.Millisecond)
		if err := call(cfg, xc, "Mul", &Args{A: 5, B: 6}, reply); err != nil {
			return fmt.Errorf("call after heartbeats: %w", err)
		}
		if reply.C != 30 {
			return fmt.Errorf("5 * 6: got %d", reply.C)
		}
		after, err := heartbeatCount(cfg)
		if err != nil {
			return fmt.Errorf("Echo.Heartbeats: %w", err)
		}
		if after-before < 2 {
			return fmt.Errorf("server answered %d heartbeats in 550ms at a 100ms interval, want >= 2", after-before)
		}
		return nil
	})
}

func checkOneway(cfg *clientConfig) error {
	return withClient(cfg, "Echo", nil, func(xc client.XClient) error {
		before := &CountReply{}
		if err := call(cfg, xc, "Notes", &Empty{}, before); err != nil {
			return err
		}
		text := fmt.Sprintf("oneway-%d", time.Now().UnixNano())
		ctx, cancel := cfg.callCtx()
		err := xc.Oneshot(ctx, "Note", &NoteArgs{Text: text})
		cancel()
		if err != nil {
			return fmt.Errorf("oneshot: %w", err)
		}
		deadline := time.Now().Add(3 * time.Second)
		for {
			now := &CountReply{}
			if err := call(cfg, xc, "Notes", &Empty{}, now); err != nil {
				return err
			}
			if now.Count > before.Count && now.Last == text {
				return nil
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("note count stayed %d (last %q) after a oneway Echo.Note", now.Count, now.Last)
			}
			time.Sleep(20 * time.Millisecond)
		}
	})
}

func checkMetadata(cfg *clientConfig) error {
	return withClient(cfg, "Echo", nil, func(xc client.XClient) error {
		sent := map[string]string{"k1": "v1", "hello": "wörld", "empty": "", "x-seq": "42"}
		req := map[string]string{}
		for k, v := range sent {
			req[k] = v
		}
		res := map[string]string{}
		ctx, cancel := cfg.callCtx()
		defer cancel()
		ctx = context.WithValue(context.WithValue(ctx, share.ReqMetaDataKey, req), share.ResMetaDataKey, res)
		reply := &MetaArgs{}
		if err := xc.Call(ctx, "Meta", &MetaArgs{Data: "meta"}, reply); err != nil {
			return err
		}
		if reply.Data != "meta" {
			return fmt.Errorf("reply Data %q", reply.Data)
		}
		for k, v := range sent {
			if got, ok := res[k]; !ok || got != v {
				return fmt.Errorf("reply metadata %q = %q (present %v), want %q; got %v", k, got, ok, v, res)
			}
		}
		return nil
	})
}

func checkAuthAccepted(cfg *clientConfig) error {
	if cfg.auth == "" {
		return errSkip("no --auth given")
	}
	return withClient(cfg, "Arith", nil, func(xc client.XClient) error {
		reply := &Reply{}
		if err := call(cfg, xc, "Mul", &Args{A: 6, B: 7}, reply); err != nil {
			return err
		}
		if reply.C != 42 {
			return fmt.Errorf("6 * 7: got %d", reply.C)
		}
		return nil
	})
}

func checkAuthRejected(cfg *clientConfig) error {
	if cfg.auth == "" {
		return errSkip("no --auth given")
	}
	bad := *cfg
	bad.auth = cfg.auth + "-wrong"
	bad.failMode = client.Failfast
	return withClient(&bad, "Arith", nil, func(xc client.XClient) error {
		err := call(&bad, xc, "Mul", &Args{A: 6, B: 7}, &Reply{})
		if err == nil {
			return errors.New("a wrong token was accepted")
		}
		if _, ok := err.(client.ServiceError); !ok {
			return fmt.Errorf("want a service error, got %T: %v", err, err)
		}
		return nil
	})
}

func expectServiceError(err error, want string) error {
	if err == nil {
		return fmt.Errorf("call succeeded, want error %q", want)
	}
	if _, ok := err.(client.ServiceError); !ok {
		return fmt.Errorf("want a service error %q, got %T: %v", want, err, err)
	}
	if err.Error() != want {
		return fmt.Errorf("error text %q, want %q", err.Error(), want)
	}
	return nil
}

func checkErrorFail(cfg *clientConfig) error {
	return withClient(cfg, "Echo", nil, func(xc client.XClient) error {
		return expectServiceError(call(cfg, xc, "Fail", &Empty{}, &Empty{}), "deliberate failure")
	})
}

func checkUnknownMethod(cfg *clientConfig) error {
	return withClient(cfg, "Arith", nil, func(xc client.XClient) error {
		return expectServiceError(call(cfg, xc, "Div", &Args{A: 1, B: 2}, &Reply{}), "rpcx: can't find method Div")
	})
}

func checkUnknownService(cfg *clientConfig) error {
	if cfg.addr == "" {
		return errSkip("needs --addr (a registry has no node for an unknown service)")
	}
	return withClient(cfg, "Nope", nil, func(xc client.XClient) error {
		return expectServiceError(call(cfg, xc, "Mul", &Args{A: 1, B: 2}, &Reply{}), "rpcx: can't find service Nope")
	})
}

func checkBytes(cfg *clientConfig) error {
	return withClient(cfg, "Echo", serializer(protocol.SerializeNone), func(xc client.XClient) error {
		sent := make([]byte, 1<<20)
		if _, err := rand.Read(sent); err != nil {
			return err
		}
		var got []byte
		if err := call(cfg, xc, "Bytes", &sent, &got); err != nil {
			return err
		}
		if !bytes.Equal(sent, got) {
			return fmt.Errorf("echoed %d bytes differ from the %d sent", len(got), len(sent))
		}
		return nil
	})
}

func checkConcurrent(cfg *clientConfig) error {
	const n = 1000
	const delay = 300 // ms each; run one after another they would take 300 s
	return withClient(cfg, "Echo", nil, func(xc client.XClient) error {
		// Connect first so the 1000 calls share one connection.
		if err := call(cfg, xc, "Notes", &Empty{}, &CountReply{}); err != nil {
			return err
		}
		start := time.Now()
		errs := make(chan error, n)
		var wg sync.WaitGroup
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				reply := &DelayArgs{}
				ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
				defer cancel()
				if err := xc.Call(ctx, "Delay", &DelayArgs{Ms: delay, Tag: i}, reply); err != nil {
					errs <- fmt.Errorf("call %d: %w", i, err)
					return
				}
				if reply.Tag != i || reply.Ms != delay {
					errs <- fmt.Errorf("call %d got reply %+v", i, *reply)
				}
			}(i)
		}
		wg.Wait()
		close(errs)
		failures := 0
		var first error
		for err := range errs {
			if first == nil {
				first = err
			}
			failures++
		}
		if failures > 0 {
			return fmt.Errorf("%d of %d calls failed, first: %v", failures, n, first)
		}
		if took := time.Since(start); took > 10*time.Second {
			return fmt.Errorf("%d calls of %dms took %v: not running concurrently", n, delay, took)
		}
		return nil
	})
}

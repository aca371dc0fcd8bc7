package main

// HTTP callers of an rpcx port, shaped as Go programs call it: net/http requests
// with the X-RPCX-* headers of rpcx's gateway ("HTTP invoke"), and JSON-RPC 2.0
// requests with the X-JSONRPC-2.0 header. `rpcxpeer http --check all` runs a
// checklist; `rpcxpeer http-bench` measures HTTP-invoke calls per second.

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/smallnest/rpcx/protocol"
	"github.com/smallnest/rpcx/server"
	"github.com/smallnest/rpcx/share"
)

type httpCaller struct {
	base   string
	client *http.Client
	// Go's server routes a whole connection by its first request (cmux): the
	// JSON-RPC requests go over their own connections.
	rpc *http.Client
}

// invoke sends one gateway request the way rpcx's Go HTTP examples do.
func (h *httpCaller) invoke(service, method string, st protocol.SerializeType, body []byte, hdr map[string]string) (*http.Response, []byte, error) {
	req, err := http.NewRequest("POST", h.base+"/", bytes.NewReader(body))
	if err != nil {
		return nil, nil, err
	}
	req.Header.Set(server.XVersion, "1.0")
	req.Header.Set(server.XMessageType, "0")
	req.Header.Set(server.XMessageID, "10000")
	req.Header.Set(server.XSerializeType, strconv.Itoa(int(st)))
	req.Header.Set(server.XServicePath, service)
	req.Header.Set(server.XServiceMethod, method)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	res, err := h.client.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	return res, data, err
}

type jsonrpcOut struct {
	Version string           `json:"jsonrpc"`
	Method  string           `json:"method"`
	Params  interface{}      `json:"params,omitempty"`
	ID      *int64           `json:"id,omitempty"`
	Result  *json.RawMessage `json:"result,omitempty"`
}

type jsonrpcIn struct {
	Version string           `json:"jsonrpc"`
	Result  *json.RawMessage `json:"result"`
	Error   *struct {
		Code    int64  `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
	ID *int64 `json:"id"`
}

// jsonrpc sends one JSON-RPC 2.0 request (notification when id is nil).
func (h *httpCaller) jsonrpc(method string, params interface{}, id *int64) (*http.Response, *jsonrpcIn, error) {
	body, _ := json.Marshal(jsonrpcOut{Version: "2.0", Method: method, Params: params, ID: id})
	req, err := http.NewRequest("POST", h.base+"/", bytes.NewReader(body))
	if err != nil {
		return nil, nil, err
	}
	req.Header.Set("X-JSONRPC-2.0", "true")
	req.Header.Set("Content-Type", "application/json")
	res, err := h.rpc.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil || len(data) == 0 {
		return res, nil, err
	}
	out := &jsonrpcIn{}
	if err := json.Unmarshal(data, out); err != nil {
		return res, nil, fmt.Errorf("bad JSON-RPC answer %q: %v", data, err)
	}
	return res, out, nil
}

// waitNote waits up to 3 s for Echo's note count to pass before; the error
// says what never arrived.
func (h *httpCaller) waitNote(before int, what string) error {
	deadline := time.Now().Add(3 * time.Second)
	for {
		n, err := h.notes()
		if err != nil {
			return err
		}
		if n > before {
			return nil
		}
		if time.Now().After(deadline) {
			return errors.New(what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (h *httpCaller) notes() (int, error) {
	_, data, err := h.invoke("Echo", "Notes", protocol.JSON, []byte(`{}`), nil)
	if err != nil {
		return 0, err
	}
	var r CountReply
	if err := json.Unmarshal(data, &r); err != nil {
		return 0, fmt.Errorf("Echo.Notes answer %q: %v", data, err)
	}
	return r.Count, nil
}

func httpChecks() []string {
	return []string{"gateway-msgpack", "gateway-json", "gateway-meta", "gateway-error",
		"gateway-unknown-service", "gateway-oneway", "jsonrpc-call", "jsonrpc-notify", "jsonrpc-error",
		"keepalive"}
}

func (h *httpCaller) check(name string) error {
	switch name {
	case "gateway-msgpack":
		codec := share.Codecs[protocol.MsgPack]
		body, _ := codec.Encode(&Args{A: 10, B: 20})
		res, data, err := h.invoke("Arith", "Mul", protocol.MsgPack, body, nil)
		if err != nil {
			return err
		}
		var r Reply
		if err := codec.Decode(data, &r); err != nil {
			return fmt.Errorf("status %d, body %q: %v", res.StatusCode, data, err)
		}
		if r.C != 200 || res.Header.Get(server.XMessageID) != "10000" ||
			res.Header.Get(server.XServiceMethod) != "Mul" {
			return fmt.Errorf("got C=%d headers %v", r.C, res.Header)
		}
	case "gateway-json":
		res, data, err := h.invoke("Arith", "Add", protocol.JSON, []byte(`{"A":10,"B":20}`), nil)
		if err != nil {
			return err
		}
		if res.StatusCode != 200 || string(data) != `{"C":30}` {
			return fmt.Errorf("status %d body %q", res.StatusCode, data)
		}
	case "gateway-meta":
		meta := url.Values{"k1": {"v1"}, "hello": {"wörld"}}
		res, data, err := h.invoke("Echo", "Meta", protocol.JSON, []byte(`{"Data":"x"}`),
			map[string]string{server.XMeta: meta.Encode()})
		if err != nil {
			return err
		}
		got, err := url.ParseQuery(res.Header.Get(server.XMeta))
		if err != nil || got.Get("k1") != "v1" || got.Get("hello") != "wörld" || string(data) != `{"Data":"x"}` {
			return fmt.Errorf("meta %q body %q", res.Header.Get(server.XMeta), data)
		}
	case "gateway-error":
		res, _, err := h.invoke("Echo", "Fail", protocol.JSON, []byte(`{}`), nil)
		if err != nil {
			return err
		}
		if res.StatusCode != 500 || res.Header.Get(server.XMessageStatusType) != "Error" ||
			res.Header.Get(server.XErrorMessage) != "deliberate failure" {
			return fmt.Errorf("status %d headers %v", res.StatusCode, res.Header)
		}
	case "gateway-unknown-service":
		res, _, err := h.invoke("Nope", "Mul", protocol.JSON, []byte(`{}`), nil)
		if err != nil {
			return err
		}
		if res.StatusCode != 500 || res.Header.Get(server.XErrorMessage) != "rpcx: can't find service Nope" {
			return fmt.Errorf("status %d headers %v", res.StatusCode, res.Header)
		}
	case "gateway-oneway":
		before, err := h.notes()
		if err != nil {
			return err
		}
		res, data, err := h.invoke("Echo", "Note", protocol.JSON, []byte(`{"Text":"via http"}`),
			map[string]string{server.XOneway: "true"})
		if err != nil {
			return err
		}
		if res.StatusCode != 200 || len(data) != 0 {
			return fmt.Errorf("oneway answered status %d body %q", res.StatusCode, data)
		}
		if err := h.waitNote(before, "the oneway note never arrived"); err != nil {
			return err
		}
	case "jsonrpc-call":
		id := int64(7)
		_, out, err := h.jsonrpc("Arith.Mul", map[string]int{"A": 10, "B": 20}, &id)
		if err != nil {
			return err
		}
		if out == nil || out.Error != nil || out.Result == nil || string(*out.Result) != `{"C":200}` ||
			out.ID == nil || *out.ID != 7 || out.Version != "2.0" {
			return fmt.Errorf("answer %+v", out)
		}
	case "jsonrpc-notify":
		before, err := h.notes()
		if err != nil {
			return err
		}
		res, out, err := h.jsonrpc("Echo.Note", map[string]string{"Text": "via jsonrpc"}, nil)
		if err != nil {
			return err
		}
		if res.StatusCode != 200 || out != nil {
			return fmt.Errorf("notification answered %d %+v", res.StatusCode, out)
		}
		if err := h.waitNote(before, "the notification never arrived"); err != nil {
			return err
		}
	case "jsonrpc-error":
		id := int64(8)
		_, out, err := h.jsonrpc("Arith.Div", map[string]int{"A": 1, "B": 1}, &id)
		if err != nil {
			return err
		}
		if out == nil || out.Error == nil || out.Error.Code != server.CodeInternalJSONRPCError ||
			out.Error.Message != "rpcx: can't find method Div" {
			return fmt.Errorf("answer %+v", out)
		}
	case "keepalive":
		// Go's transport reuses one connection for sequential requests.
		for i := 0; i < 20; i++ {
			res, data, err := h.invoke("Arith", "Mul", protocol.JSON, []byte(`{"A":2,"B":3}`), nil)
			if err != nil {
				return err
			}
			if res.StatusCode != 200 || string(data) != `{"C":6}` {
				return fmt.Errorf("call %d: status %d body %q", i, res.StatusCode, data)
			}
		}
	default:
		return fmt.Errorf("unknown check %q", name)
	}
	return nil
}

func runHTTP(argv []string) int {
	fs := flag.NewFlagSet("http", flag.ContinueOnError)
	addr := fs.String("addr", "", "server host:port")
	checks := fs.String("check", "all", "checks to run: all or a comma list")
	if err := fs.Parse(argv); err != nil || *addr == "" {
		fmt.Fprintln(os.Stderr, "usage: rpcxpeer http --addr host:port [--check all|name,..]")
		return 2
	}
	h := &httpCaller{base: "http://" + *addr, client: &http.Client{Timeout: 5 * time.Second},
		rpc: &http.Client{Transport: &http.Transport{}, Timeout: 5 * time.Second}}
	names := httpChecks()
	if *checks != "all" {
		names = splitList(*checks)
	}
	code := 0
	for _, name := range names {
		if err := h.check(name); err != nil {
			fmt.Printf("FAIL %s: %v\n", name, err)
			code = 1
		} else {
			fmt.Printf("OK %s\n", name)
		}
	}
	return code
}

type httpBenchResult struct {
	Calls       int64   `json:"calls"`
	Errors      int64   `json:"errors"`
	Seconds     float64 `json:"seconds"`
	CallsPerSec float64 `json:"calls_per_sec"`
	P50us       int64   `json:"p50_us"`
	P99us       int64   `json:"p99_us"`
	Concurrency int     `json:"concurrency"`
	Mode        string  `json:"mode"`
	FirstError  string  `json:"first_error,omitempty"`
}

// runHTTPBench: --concurrency goroutines over keep-alive connections call
// Arith.Mul by HTTP invoke (JSON) or JSON-RPC until --total calls or --max-seconds.
func runHTTPBench(argv []string) int {
	fs := flag.NewFlagSet("http-bench", flag.ContinueOnError)
	addr := fs.String("addr", "", "server host:port")
	conc := fs.Int("concurrency", 50, "concurrent callers (one keep-alive connection each)")
	total := fs.Int64("total", 20000, "calls to make")
	maxSec := fs.Duration("max-seconds", 60*time.Second, "stop after this long")
	mode := fs.String("mode", "invoke", "invoke (X-RPCX headers) or jsonrpc")
	warmup := fs.Int("warmup", 500, "untimed calls first, spread over the callers (opens their connections)")
	if err := fs.Parse(argv); err != nil || *addr == "" {
		return 2
	}
	tr := &http.Transport{MaxIdleConnsPerHost: *conc, MaxConnsPerHost: *conc}
	cl := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	h := &httpCaller{base: "http://" + *addr, client: cl, rpc: cl}
	one := func() error {
		if *mode == "jsonrpc" {
			id := int64(1)
			_, out, err := h.jsonrpc("Arith.Mul", map[string]int{"A": 10, "B": 20}, &id)
			if err != nil {
				return err
			}
			if out == nil || out.Result == nil {
				return fmt.Errorf("bad answer %+v", out)
			}
			return nil
		}
		res, data, err := h.invoke("Arith", "Mul", protocol.JSON, []byte(`{"A":10,"B":20}`), nil)
		if err != nil {
			return err
		}
		if res.StatusCode != 200 || string(data) != `{"C":200}` {
			return fmt.Errorf("status %d body %q", res.StatusCode, data)
		}
		return nil
	}
	// The warm-up calls are spread over the callers, so every keep-alive connection is open
	// before the timed phase: a port saturated by the first connections takes new ones late on
	// node:net (the runtime's listener), and the timed phase measures keep-alive calls.
	if err := warmUp(*warmup, *conc, one); err != nil {
		fmt.Fprintf(os.Stderr, "warmup: %v\n", err)
		return 1
	}
	run := runLoad(*conc, *total, maxSec.Seconds(), func(int) func(int64) (time.Duration, error) {
		return func(int64) (time.Duration, error) {
			s := time.Now()
			err := one()
			return time.Since(s), err
		}
	})
	secs := run.elapsed.Seconds()
	calls := run.calls()
	r := httpBenchResult{Calls: calls, Errors: run.errors, Seconds: secs, CallsPerSec: float64(calls) / secs,
		Concurrency: *conc, Mode: *mode, FirstError: run.firstErr}
	if all := run.lat; len(all) > 0 {
		r.P50us = all[len(all)/2].Microseconds()
		r.P99us = all[len(all)*99/100].Microseconds()
	}
	return printResult(r, run.errors)
}

// warmUp makes n calls of one with min(n, callers) goroutines at once (each call on a
// connection of the client's pool, opened as needed); the first error ends it.
func warmUp(n, callers int, one func() error) error {
	var next atomic.Int64
	var failed atomic.Bool
	var mu sync.Mutex
	var first error
	var wg sync.WaitGroup
	for g := 0; g < min(n, callers); g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !failed.Load() && next.Add(1) <= int64(n) {
				if err := one(); err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
					failed.Store(true)
				}
			}
		}()
	}
	wg.Wait()
	return first
}

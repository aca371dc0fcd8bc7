package main

// rpcxpeer otel server|client: Go rpcx with rpcx-plugins' OpenTelemetry plugins (client and
// server) and an in-memory span exporter, so a test can check that one trace runs through
// Go and Deno hops. Spans are printed as `SPAN {json}` lines: the server prints them when it
// stops (SIGTERM/SIGINT), the client after its call.

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	cotel "github.com/rpcxio/rpcx-plugins/client/otel"
	sotel "github.com/rpcxio/rpcx-plugins/server/otel"
	"github.com/smallnest/rpcx/client"
	"github.com/smallnest/rpcx/protocol"
	"github.com/smallnest/rpcx/server"
	"github.com/smallnest/rpcx/share"
	"go.opentelemetry.io/otel/baggage"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

const otelUsage = `usage: rpcxpeer otel <server|client> [flags]
  server  serve Arith with rpcx-plugins' server otel plugin; prints SPAN lines on SIGTERM
  client  call Arith.Mul with rpcx-plugins' client otel plugin; prints RESULT and SPAN lines`

func runOtel(argv []string) int {
	if len(argv) < 1 {
		fmt.Fprintln(os.Stderr, otelUsage)
		return 2
	}
	switch argv[0] {
	case "server":
		return runOtelServer(argv[1:])
	case "client":
		return runOtelClient(argv[1:])
	}
	fmt.Fprintln(os.Stderr, otelUsage)
	return 2
}

// otelSetup gives a tracer provider writing synchronously to an in-memory exporter, and the
// W3C trace-context + baggage propagator.
func otelSetup() (*sdktrace.TracerProvider, *tracetest.InMemoryExporter, propagation.TextMapPropagator) {
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	prop := propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})
	return tp, exp, prop
}

type spanEvent struct {
	Name       string            `json:"name"`
	Attributes map[string]string `json:"attributes"`
}

type spanLine struct {
	Name       string            `json:"name"`
	TraceID    string            `json:"trace_id"`
	SpanID     string            `json:"span_id"`
	ParentID   string            `json:"parent_span_id"`
	Remote     bool              `json:"parent_remote"`
	Kind       string            `json:"kind"`
	Status     string            `json:"status"`
	Attributes map[string]string `json:"attributes"`
	Events     []spanEvent       `json:"events"`
}

func printSpans(out *bufio.Writer, exp *tracetest.InMemoryExporter) {
	for _, s := range exp.GetSpans() {
		line := spanLine{
			Name:       s.Name,
			TraceID:    s.SpanContext.TraceID().String(),
			SpanID:     s.SpanContext.SpanID().String(),
			Kind:       s.SpanKind.String(),
			Status:     s.Status.Code.String(),
			Attributes: map[string]string{},
		}
		if s.Parent.IsValid() {
			line.ParentID = s.Parent.SpanID().String()
			line.Remote = s.Parent.IsRemote()
		}
		for _, kv := range s.Attributes {
			line.Attributes[string(kv.Key)] = kv.Value.Emit()
		}
		for _, ev := range s.Events {
			e := spanEvent{Name: ev.Name, Attributes: map[string]string{}}
			for _, kv := range ev.Attributes {
				e.Attributes[string(kv.Key)] = kv.Value.Emit()
			}
			line.Events = append(line.Events, e)
		}
		b, _ := json.Marshal(line)
		fmt.Fprintf(out, "SPAN %s\n", b)
	}
	out.Flush()
}

func runOtelServer(argv []string) int {
	fs := flag.NewFlagSet("otel server", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:0", "listen address host:port")
	if err := fs.Parse(argv); err != nil {
		return 2
	}
	tp, exp, prop := otelSetup()
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintf(os.Stderr, "listen %s: %v\n", *addr, err)
		return 1
	}
	s := server.NewServer()
	s.DisableHTTPGateway = true
	s.DisableJSONRPC = true
	s.Plugins.Add(sotel.NewOpenTelemetryPlugin(tp.Tracer("rpcxpeer"), prop))
	if err := s.RegisterName("Arith", new(Arith), ""); err != nil {
		fmt.Fprintf(os.Stderr, "register: %v\n", err)
		return 1
	}
	_, err = startServing(s, "tcp", ln, ln.Addr().String())
	if err != nil {
		fmt.Fprintf(os.Stderr, "serve: %v\n", err)
		return 1
	}
	out := bufio.NewWriter(os.Stdout)
	fmt.Fprintf(out, "LISTENING %s\n", ln.Addr().String())
	out.Flush()

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	<-sig
	signal.Stop(sig)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	_ = s.Shutdown(ctx)
	printSpans(out, exp)
	return 0
}

func runOtelClient(argv []string) int {
	fs := flag.NewFlagSet("otel client", flag.ContinueOnError)
	addr := fs.String("addr", "", "server host:port")
	a := fs.Int("a", 10, "argument A")
	b := fs.Int("b", 20, "argument B")
	bag := fs.String("baggage", "", "W3C baggage to start the call with (k=v,k2=v2)")
	timeout := fs.Duration("timeout", 5*time.Second, "call timeout")
	if err := fs.Parse(argv); err != nil {
		return 2
	}
	if *addr == "" {
		fmt.Fprintln(os.Stderr, "give --addr")
		return 2
	}
	tp, exp, prop := otelSetup()
	d, err := client.NewPeer2PeerDiscovery("tcp@"+*addr, "")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	opt := client.DefaultOption
	opt.SerializeType = protocol.MsgPack
	xc := client.NewXClient("Arith", client.Failfast, client.RoundRobin, d, opt)
	defer xc.Close()
	pc := client.NewPluginContainer()
	pc.Add(cotel.NewOpenTelemetryPlugin(tp.Tracer("rpcxpeer"), prop))
	xc.SetPlugins(pc)

	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	if *bag != "" {
		bg, err := baggage.Parse(*bag)
		if err != nil {
			fmt.Fprintf(os.Stderr, "bad --baggage: %v\n", err)
			return 2
		}
		ctx = baggage.ContextWithBaggage(ctx, bg)
	}
	rctx := share.NewContext(ctx)
	reply := &Reply{}
	out := bufio.NewWriter(os.Stdout)
	code := 0
	if err := xc.Call(rctx, "Mul", &Args{A: *a, B: *b}, reply); err != nil {
		fmt.Fprintf(out, "ERROR: %v\n", err)
		code = 1
	} else {
		fmt.Fprintf(out, "RESULT %d\n", reply.C)
	}
	printSpans(out, exp)
	return code
}

// Command rpcxpeer is the real Go rpcx peer used by the @rpcx/core interop
// tests and the head-to-head benchmark. It links the upstream Go rpcx server,
// client and registry plugins, so whatever it does on the wire is what Go rpcx
// does.
//
// Subcommands:
//
//	rpcxpeer server ...   serve Arith, Echo and Bench (optionally registered in a registry)
//	rpcxpeer client ...   call Arith through an XClient, or run the interop checklist (--check)
//	rpcxpeer bench  ...   load generator against Bench.Echo, prints one JSON line
//	rpcxpeer bench-xclient ...  one XClient, N calls in flight on Bench.Mul (see bench_xclient.go)
//	rpcxpeer push-server ...  Server.SendMessage to callers (see push.go)
//	rpcxpeer push-client ...  receive pushes through NewBidirectionalXClient
//	rpcxpeer otel   ...   Arith server / client with rpcx-plugins' OpenTelemetry plugins
//	rpcxpeer http   ...   Go-shaped HTTP-invoke and JSON-RPC 2.0 callers (--check)
//	rpcxpeer http-bench   HTTP-invoke / JSON-RPC load generator, prints one JSON line
//	rpcxpeer reflect-client  rpcx-examples reflection/client (see reflection.go)
//	rpcxpeer data-server  file transfer and stream service (see data.go)
//	rpcxpeer data-client  SendFile / DownloadFile / Stream through an XClient
//
// Run `rpcxpeer <subcommand> -h` for the flags. Results go to stdout; rpcx's
// own logging goes to stderr.
package main

import (
	"fmt"
	stdlog "log"
	"os"
	"strings"

	rlog "github.com/smallnest/rpcx/log"
)

const usage = `usage: rpcxpeer <server|client|bench|bench-xclient|push-server|push-client|otel|http|http-bench|reflect-client|data-server|data-client> [flags]
  server  serve Arith, Echo and Bench services
  client  call Arith via XClient, or run the interop checklist with --check
  bench   load generator against Bench.Echo (one JSON line of results)
  bench-xclient  one XClient (Peer2Peer, Failfast, random), --inflight calls of Bench.Mul with --s bytes echoed
  push-server  serve Arith and Push; push to callers with Server.SendMessage
  push-client  call once through NewBidirectionalXClient, print each push received
  otel    server|client with rpcx-plugins' OpenTelemetry plugins (SPAN lines)
  http    HTTP-invoke and JSON-RPC 2.0 checks against a server's port (--check)
  http-bench  HTTP-invoke (or JSON-RPC) load generator (one JSON line of results)
  reflect-client  rpcx-examples reflection/client: Reflection.GetService and GetServices
  data-server  NewFileTransfer + NewStreamService (upload, download, stream echo)
  data-client  XClient.SendFile / DownloadFile / Stream (one JSON line of results)
run "rpcxpeer <subcommand> -h" for the flags of a subcommand`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, usage)
		os.Exit(2)
	}
	setLogLevel(os.Getenv("RPCXPEER_LOG"))
	var code int
	switch os.Args[1] {
	case "server":
		code = runServer(os.Args[2:])
	case "client":
		code = runClient(os.Args[2:])
	case "bench":
		code = runBench(os.Args[2:])
	case "bench-xclient":
		code = runBenchXClient(os.Args[2:])
	case "push-server":
		code = runPushServer(os.Args[2:])
	case "push-client":
		code = runPushClient(os.Args[2:])
	case "otel":
		code = runOtel(os.Args[2:])
	case "http":
		code = runHTTP(os.Args[2:])
	case "http-bench":
		code = runHTTPBench(os.Args[2:])
	case "reflect-client":
		code = runReflectClient(os.Args[2:])
	case "data-server":
		code = runDataServer(os.Args[2:])
	case "data-client":
		code = runDataClient(os.Args[2:])
	case "-h", "--help", "help":
		fmt.Println(usage)
	default:
		fmt.Fprintf(os.Stderr, "unknown subcommand %q\n%s\n", os.Args[1], usage)
		code = 2
	}
	os.Exit(code)
}

// setLogLevel sends rpcx's logger to stderr (its default is stdout, which would
// mix with our machine-readable output). RPCXPEER_LOG picks the level:
// debug, info, warn (default), error.
func setLogLevel(name string) {
	lv := rlog.LvWarn
	switch strings.ToLower(name) {
	case "debug":
		lv = rlog.LvDebug
	case "info":
		lv = rlog.LvInfo
	case "error":
		lv = rlog.LvError
	}
	rlog.SetLogger(rlog.NewDefaultLogger(os.Stderr, "", stdlog.LstdFlags|stdlog.Lmicroseconds|stdlog.Lshortfile, lv))
}

// splitList splits a comma separated list, dropping empty items.
func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

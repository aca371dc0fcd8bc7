package main

// Server push (bidirectional mode) as Go rpcx does it: `rpcxpeer push-server`
// pushes with Server.SendMessage to the connections of its callers, and
// `rpcxpeer push-client` receives pushes through client.NewBidirectionalXClient.

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/smallnest/rpcx/client"
	"github.com/smallnest/rpcx/protocol"
	"github.com/smallnest/rpcx/server"
	"github.com/smallnest/rpcx/share"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// PushArgs asks Push.Send for Count pushes to the caller, serialized with
// Serializer (none, json, msgpack or protobuf).
type PushArgs struct {
	Serializer string
	Count      int
	Text       string
}

// PushNote is the payload of a JSON or MsgPack push.
type PushNote struct {
	Text string
	I    int
}

// PushReply says how many pushes will follow.
type PushReply struct {
	Count int
}

// stdout is shared by the push goroutines: one line per Fprintf, flushed.
type lineWriter struct {
	mu  sync.Mutex
	out *bufio.Writer
}

func (w *lineWriter) printf(format string, a ...interface{}) {
	w.mu.Lock()
	defer w.mu.Unlock()
	fmt.Fprintf(w.out, format, a...)
	w.out.Flush()
}

// pushService is the Push service of push-server, and the register of every
// connection that called Arith.Mul or Push.Send.
type pushService struct {
	s     *server.Server
	out   *lineWriter
	seq   atomic.Uint64
	mu    sync.Mutex
	conns map[net.Conn]struct{}
}

func (p *pushService) remember(ctx context.Context) net.Conn {
	conn, _ := ctx.Value(server.RemoteConnContextKey).(net.Conn)
	if conn != nil {
		p.mu.Lock()
		p.conns[conn] = struct{}{}
		p.mu.Unlock()
	}
	return conn
}

// pushArith is Arith whose callers are remembered for the periodic push.
type pushArith struct{ p *pushService }

// Mul sets C = A * B.
func (a *pushArith) Mul(ctx context.Context, args *Args, reply *Reply) error {
	a.p.remember(ctx)
	reply.C = args.A * args.B
	return nil
}

// Send replies, then pushes args.Count messages to the caller: service path
// "Push", method "Msg", metadata i=<n> and serializer=<name>.
func (p *pushService) Send(ctx context.Context, args *PushArgs, reply *PushReply) error {
	conn := p.remember(ctx)
	if conn == nil {
		return fmt.Errorf("no connection in the context")
	}
	st, err := parsePushSerializer(args.Serializer)
	if err != nil {
		return err
	}
	reply.Count = args.Count
	go func() {
		for i := 0; i < args.Count; i++ {
			if err := p.push(conn, st, args.Serializer, args.Text, i); err != nil {
				p.out.printf("PUSH-FAILED %s %v\n", conn.RemoteAddr(), err)
				return
			}
		}
	}()
	return nil
}

func parsePushSerializer(s string) (protocol.SerializeType, error) {
	if s == "protobuf" {
		return protocol.ProtoBuffer, nil
	}
	return parseSerializer(s)
}

// push sends one push. SerializeNone goes through Server.SendMessage itself;
// other serializers are what SendMessage writes with another serialize type
// and the payload encoded by rpcx's own codec.
func (p *pushService) push(conn net.Conn, st protocol.SerializeType, name, text string, i int) error {
	meta := map[string]string{"i": strconv.Itoa(i), "serializer": name}
	if st == protocol.SerializeNone {
		return p.s.SendMessage(conn, "Push", "Msg", meta, []byte(fmt.Sprintf("%s %d", text, i)))
	}
	var v interface{} = &PushNote{Text: text, I: i}
	if st == protocol.ProtoBuffer {
		v = wrapperspb.String(fmt.Sprintf("%s %d", text, i))
	}
	data, err := share.Codecs[st].Encode(v)
	if err != nil {
		return err
	}
	req := protocol.NewMessage()
	req.SetMessageType(protocol.Request)
	req.SetSeq(p.seq.Add(1))
	req.SetOneway(true)
	req.SetSerializeType(st)
	req.ServicePath = "Push"
	req.ServiceMethod = "Msg"
	req.Metadata = meta
	req.Payload = data
	b := req.EncodeSlicePointer()
	_, err = conn.Write(*b)
	protocol.PutData(b)
	return err
}

// runPushServer is the Go bidirectional example's server (rpcx-examples
// bidirectional/server), plus Push.Send for tests.
func runPushServer(argv []string) int {
	fs := flag.NewFlagSet("push-server", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:0", "listen address host:port (port 0 picks a free one)")
	interval := fs.Duration("interval", 0, "push --text to every connection that called, this often (0: never)")
	text := fs.String("text", "abcde", "payload of the periodic push")
	if err := fs.Parse(argv); err != nil {
		return 2
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintf(os.Stderr, "listen %s: %v\n", *addr, err)
		return 1
	}
	s := server.NewServer()
	s.DisableHTTPGateway = true
	s.DisableJSONRPC = true
	out := &lineWriter{out: bufio.NewWriter(os.Stdout)}
	p := &pushService{s: s, out: out, conns: map[net.Conn]struct{}{}}
	if err := s.RegisterName("Arith", &pushArith{p: p}, ""); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if err := s.RegisterName("Push", p, ""); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	serveErr, err := startServing(s, "tcp", ln, ln.Addr().String())
	if err != nil {
		fmt.Fprintf(os.Stderr, "serve: %v\n", err)
		return 1
	}
	out.printf("LISTENING %s\n", ln.Addr().String())

	if *interval > 0 {
		go func() {
			for range time.Tick(*interval) {
				p.mu.Lock()
				conns := make([]net.Conn, 0, len(p.conns))
				for c := range p.conns {
					conns = append(conns, c)
				}
				p.mu.Unlock()
				for _, c := range conns {
					err := s.SendMessage(c, "test_service_path", "test_service_method", nil, []byte(*text))
					if err != nil {
						out.printf("PUSH-FAILED %s %v\n", c.RemoteAddr(), err)
						p.mu.Lock()
						delete(p.conns, c)
						p.mu.Unlock()
					}
				}
			}
		}()
	}

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	select {
	case <-sig:
	case err := <-serveErr:
		fmt.Fprintf(os.Stderr, "serve ended: %v\n", err)
		return 1
	}
	_ = s.Close()
	return 0
}

// pushLine is what push-client prints for each message of its channel.
type pushLine struct {
	ServicePath   string            `json:"servicePath"`
	ServiceMethod string            `json:"serviceMethod"`
	Metadata      map[string]string `json:"metadata"`
	SerializeType int               `json:"serializeType"`
	Oneway        bool              `json:"oneway"`
	Error         bool              `json:"error"`
	Payload       string            `json:"payload"`
	Decoded       interface{}       `json:"decoded"`
}

// runPushClient is the Go bidirectional example's client (rpcx-examples
// bidirectional/client/xclient.go): NewBidirectionalXClient, one call, then one
// JSON line per message received on the channel until --count arrived.
func runPushClient(argv []string) int {
	fs := flag.NewFlagSet("push-client", flag.ContinueOnError)
	addr := fs.String("addr", "", "server host:port (Peer2Peer)")
	service := fs.String("service", "Arith", "service to call")
	method := fs.String("method", "Mul", "method to call with {A: 10, B: 20}")
	count := fs.Int("count", 1, "pushes to wait for")
	ser := fs.String("serializer", "msgpack", "serializer of the call: msgpack or json")
	timeout := fs.Duration("timeout", 20*time.Second, "give up after this long")
	if err := fs.Parse(argv); err != nil {
		return 2
	}
	if *addr == "" {
		fmt.Fprintln(os.Stderr, "push-client needs --addr")
		return 2
	}
	st, err := parseSerializer(*ser)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	d, err := client.NewPeer2PeerDiscovery("tcp@"+*addr, "")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	opt := client.DefaultOption
	opt.SerializeType = st
	ch := make(chan *protocol.Message, *count+16)
	xc := client.NewBidirectionalXClient(*service, client.Failtry, client.RandomSelect, d, opt, ch)
	defer xc.Close()

	out := &lineWriter{out: bufio.NewWriter(os.Stdout)}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	reply := &Reply{}
	if err := xc.Call(ctx, *method, &Args{A: 10, B: 20}, reply); err != nil {
		fmt.Fprintf(os.Stderr, "call: %v\n", err)
		return 1
	}
	out.printf("CALLED C=%d\n", reply.C)
	for got := 0; got < *count; got++ {
		select {
		case msg := <-ch:
			line := pushLine{
				ServicePath:   msg.ServicePath,
				ServiceMethod: msg.ServiceMethod,
				Metadata:      msg.Metadata,
				SerializeType: int(msg.SerializeType()),
				Oneway:        msg.IsOneway(),
				Error:         msg.MessageStatusType() == protocol.Error,
				Payload:       string(msg.Payload),
				Decoded:       decodePush(msg),
			}
			b, _ := json.Marshal(line)
			out.printf("PUSH %s\n", b)
		case <-ctx.Done():
			fmt.Fprintf(os.Stderr, "push-client: got %d of %d pushes in %v\n", got, *count, *timeout)
			return 1
		}
	}
	return 0
}

// decodePush decodes a push's payload with rpcx's codec of its serialize type.
func decodePush(msg *protocol.Message) interface{} {
	st := msg.SerializeType()
	codec := share.Codecs[st]
	if codec == nil || st == protocol.SerializeNone {
		return nil
	}
	if st == protocol.ProtoBuffer {
		v := &wrapperspb.StringValue{}
		if err := codec.Decode(msg.Payload, v); err != nil {
			return "decode error: " + err.Error()
		}
		return v.GetValue()
	}
	var v map[string]interface{}
	if err := codec.Decode(msg.Payload, &v); err != nil {
		return "decode error: " + err.Error()
	}
	return v
}

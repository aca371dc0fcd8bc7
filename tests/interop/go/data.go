package main

// File transfer and streams as Go rpcx does them (server/file_transfer.go,
// server/stream.go, client/xclient.go SendFile/DownloadFile/Stream), doing
// what rpcx-examples' filetransfer, file_download and stream programs do:
//
//	rpcxpeer data-server  NewFileTransfer + EnableFileTransfer and
//	                      NewStreamService + EnableStreamService
//	rpcxpeer data-client  XClient.SendFile / DownloadFile / Stream
//
// Each finished transfer prints one JSON line on stdout.

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/smallnest/rpcx/client"
	"github.com/smallnest/rpcx/server"
	"github.com/smallnest/rpcx/share"
)

// dataEvent is one line of data-server / data-client output.
type dataEvent struct {
	Event    string            `json:"event"`
	FileName string            `json:"fileName,omitempty"`
	FileSize int64             `json:"fileSize,omitempty"`
	Meta     map[string]string `json:"meta,omitempty"`
	Bytes    int64             `json:"bytes"`
	Sha256   string            `json:"sha256,omitempty"`
	Samples  map[string]int    `json:"samples,omitempty"`
	Ms       float64           `json:"ms,omitempty"`
	Count    int               `json:"count,omitempty"`
	Error    string            `json:"error,omitempty"`
	Text     string            `json:"text,omitempty"`
}

var dataOut = struct {
	sync.Mutex
	w *bufio.Writer
}{w: bufio.NewWriter(os.Stdout)}

func emit(e dataEvent) {
	b, _ := json.Marshal(e)
	dataOut.Lock()
	defer dataOut.Unlock()
	dataOut.w.Write(b)
	dataOut.w.WriteByte('\n')
	dataOut.w.Flush()
}

// sampler hashes what passes and remembers the bytes at some offsets.
type sampler struct {
	sum     interface{ Write([]byte) (int, error) }
	n       int64
	offsets []int64
	got     map[string]int
}

func newSampler(offsets []int64) (*sampler, func() string) {
	h := sha256.New()
	s := &sampler{sum: h, offsets: offsets, got: map[string]int{}}
	return s, func() string { return hex.EncodeToString(h.Sum(nil)) }
}

func (s *sampler) Write(p []byte) (int, error) {
	for _, o := range s.offsets {
		if o >= s.n && o < s.n+int64(len(p)) {
			s.got[fmt.Sprint(o)] = int(p[o-s.n])
		}
	}
	s.n += int64(len(p))
	return s.sum.Write(p)
}

func parseOffsets(s string) []int64 {
	var out []int64
	for _, p := range splitList(s) {
		var v int64
		fmt.Sscan(p, &v)
		out = append(out, v)
	}
	return out
}

func parseMeta(s string) map[string]string {
	if s == "" {
		return nil
	}
	q, _ := url.ParseQuery(s)
	m := map[string]string{}
	for k := range q {
		m[k] = q.Get(k)
	}
	return m
}

// waitListening dials addr until it accepts (Go's FileTransfer/StreamService
// listen in a goroutine started by Enable*), within 10 s.
func waitListening(addr string) error {
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("%s does not accept connections", addr)
}

func runDataServer(argv []string) int {
	fs := flag.NewFlagSet("data-server", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:0", "rpcx listen address")
	transferAddr := fs.String("transfer-addr", "", "NewFileTransfer's addr (a real port: Go advertises it as given)")
	streamAddr := fs.String("stream-addr", "", "NewStreamService's addr (a real port)")
	dir := fs.String("dir", ".", "where uploads are saved and downloads read (by base name)")
	upload := fs.String("upload", "save", "save (into --dir) | discard (hash only) | example (rpcx-examples filetransfer: ReadAll, print content) | none")
	download := fs.String("download", "dir", "dir (--dir/<base name>) | example (rpcx-examples file_download: abc.txt of the working directory) | none")
	streamMode := fs.String("stream", "echo", "echo (rpcx-examples stream: io.Copy(conn, conn)) | double (message frames: {N} -> {N: 2N}) | none")
	waitNum := fs.Int("wait-num", 1000, "waitNum of NewFileTransfer / NewStreamService")
	refuse := fs.String("refuse-meta", "", "the stream acceptor refuses callers whose meta has this key")
	samples := fs.String("samples", "", "comma separated offsets whose bytes uploads report")
	hash := fs.Bool("hash", true, "uploads report their sha256 (false: no hashing, for benchmarks)")
	if err := fs.Parse(argv); err != nil {
		return 2
	}
	s := server.NewServer()
	offsets := parseOffsets(*samples)
	if *transferAddr != "" {
		var up server.FileTransferHandler
		switch *upload {
		case "save", "discard":
			save := *upload == "save"
			up = func(conn net.Conn, args *share.FileTransferArgs) {
				ev := dataEvent{Event: "upload", FileName: args.FileName, FileSize: args.FileSize, Meta: args.Meta}
				smp, sum := newSampler(offsets)
				var w io.Writer = smp
				if !*hash {
					w = io.Discard
				}
				var f *os.File
				if save {
					var err error
					f, err = os.Create(filepath.Join(*dir, filepath.Base(args.FileName)))
					if err != nil {
						ev.Error = err.Error()
						emit(ev)
						conn.Close()
						return
					}
					w = io.MultiWriter(f, smp)
					if !*hash {
						w = f
					}
				}
				n, err := io.Copy(w, conn)
				if f != nil {
					f.Close()
				}
				conn.Close()
				ev.Bytes, ev.Sha256, ev.Samples = n, sum(), smp.got
				if err != nil {
					ev.Error = err.Error()
				}
				emit(ev)
			}
		case "example":
			up = func(conn net.Conn, args *share.FileTransferArgs) {
				fmt.Fprintf(os.Stderr, "received file name: %s, size: %d, meta: %v\n", args.FileName, args.FileSize, args.Meta)
				data, err := io.ReadAll(conn)
				if err != nil {
					emit(dataEvent{Event: "upload", Error: err.Error()})
					return
				}
				emit(dataEvent{Event: "upload", FileName: args.FileName, FileSize: args.FileSize, Meta: args.Meta, Bytes: int64(len(data)), Text: "file content: " + string(data)})
			}
		}
		var down server.DownloadFileHandler
		switch *download {
		case "dir", "example":
			example := *download == "example"
			down = func(conn net.Conn, args *share.DownloadFileArgs) {
				ev := dataEvent{Event: "download", FileName: args.FileName, Meta: args.Meta}
				name := filepath.Join(*dir, filepath.Base(args.FileName))
				if example {
					name = "abc.txt"
				}
				f, err := os.Open(name)
				if err != nil {
					ev.Error = err.Error()
					emit(ev)
					conn.Close()
					return
				}
				n, err := io.Copy(conn, f)
				f.Close()
				conn.Close()
				ev.Bytes = n
				if err != nil {
					ev.Error = err.Error()
				}
				emit(ev)
			}
		}
		p := server.NewFileTransfer(*transferAddr, up, down, *waitNum)
		s.EnableFileTransfer(share.SendFileServiceName, p)
		if err := waitListening(*transferAddr); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
	}
	if *streamAddr != "" && *streamMode != "none" {
		var acceptor server.StreamAcceptor
		if *refuse != "" {
			acceptor = func(ctx context.Context, args *share.StreamServiceArgs) bool {
				_, found := args.Meta[*refuse]
				return !found
			}
		}
		handler := func(conn net.Conn, args *share.StreamServiceArgs) {
			addr := conn.RemoteAddr().String()
			var n int64
			var err error
			if *streamMode == "double" {
				n, err = doubleFrames(conn)
			} else {
				n, err = io.Copy(conn, conn)
			}
			conn.Close()
			ev := dataEvent{Event: "stream", Meta: args.Meta, Bytes: n, Text: addr + " closed"}
			if err != nil {
				ev.Error = err.Error()
			}
			emit(ev)
		}
		ss := server.NewStreamService(*streamAddr, handler, acceptor, *waitNum)
		s.EnableStreamService(share.StreamServiceName, ss)
		if err := waitListening(*streamAddr); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	serveErr, err := startServing(s, "tcp", ln, ln.Addr().String())
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	dataOut.Lock()
	fmt.Fprintf(dataOut.w, "LISTENING %s\n", ln.Addr().String())
	dataOut.w.Flush()
	dataOut.Unlock()
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

// msg is the message of the framed streams: {N} in MsgPack (Go's field name).
type msg struct {
	N int64
}

// writeFrame writes one message frame of @rpcx/core/stream: a big-endian
// uint32 length, then the payload encoded with the stream's codec.
func writeFrame(w io.Writer, m msg) error {
	payload, err := share.Codecs[3].Encode(m) // protocol.MsgPack
	if err != nil {
		return err
	}
	var head [4]byte
	binary.BigEndian.PutUint32(head[:], uint32(len(payload)))
	if _, err := w.Write(head[:]); err != nil {
		return err
	}
	_, err = w.Write(payload)
	return err
}

// endFrame ends a direction: header 0x80000000. No half-close follows (it is
// not portable across runtimes): each side closes once both directions ended.
var endFrame = []byte{0x80, 0, 0, 0}

// readFrame reads one frame: io.EOF at the end frame, an error for an error
// frame (bit 31 of the header set, a non-zero length: UTF-8 text follows) or
// a connection that ends without the end frame.
func readFrame(r io.Reader) (msg, error) {
	var head [4]byte
	if _, err := io.ReadFull(r, head[:]); err != nil {
		if errors.Is(err, io.EOF) {
			return msg{}, io.ErrUnexpectedEOF
		}
		return msg{}, err
	}
	h := binary.BigEndian.Uint32(head[:])
	if h == 0x80000000 {
		return msg{}, io.EOF
	}
	body := make([]byte, h&0x7fffffff)
	if _, err := io.ReadFull(r, body); err != nil {
		return msg{}, io.ErrUnexpectedEOF
	}
	if h&0x80000000 != 0 {
		return msg{}, fmt.Errorf("peer error: %s", body)
	}
	var m msg
	err := share.Codecs[3].Decode(body, &m)
	return m, err
}

// doubleFrames answers every {N} with {N: 2N} until the caller's end frame,
// then sends its own (the handler then closes).
func doubleFrames(conn net.Conn) (int64, error) {
	r := bufio.NewReader(conn)
	w := bufio.NewWriter(conn)
	var n int64
	for {
		m, err := readFrame(r)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return n, err
		}
		if err := writeFrame(w, msg{N: 2 * m.N}); err != nil {
			return n, err
		}
		n++
		if r.Buffered() == 0 {
			w.Flush()
		}
	}
	w.Write(endFrame)
	return n, w.Flush()
}

func runDataClient(argv []string) int {
	fs := flag.NewFlagSet("data-client", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:8972", "server address")
	op := fs.String("op", "upload", "upload | download | stream | messages")
	file := fs.String("file", "", "upload: the local file (its base name is sent)")
	name := fs.String("name", "", "download: the name asked for")
	out := fs.String("out", "", "download: where to save (os.Create, as rpcx-examples file_download; empty: hash only)")
	rate := fs.Int64("rate", 0, "upload: rateInBytesPerSecond")
	meta := fs.String("meta", "foo=bar", "meta, URL query form")
	serializer := fs.String("serializer", "msgpack", "json | msgpack")
	n := fs.Int64("bytes", 0, "stream: echo this many bytes (a byte pattern)")
	lines := fs.Int("lines", 0, "stream: send this many '#i: unix time' lines as rpcx-examples stream does")
	count := fs.Int("count", 0, "messages: send this many {N} frames, read the answers")
	samples := fs.String("samples", "", "download: offsets whose bytes to report")
	timeout := fs.Duration("timeout", 0, "context deadline (0: none, as the examples)")
	if err := fs.Parse(argv); err != nil {
		return 2
	}
	ser, err := parseSerializer(*serializer)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	opt := client.DefaultOption
	opt.SerializeType = ser
	svc := share.SendFileServiceName
	if *op == "stream" || *op == "messages" {
		svc = share.StreamServiceName
	}
	d, _ := client.NewPeer2PeerDiscovery("tcp@"+*addr, "")
	xclient := client.NewXClient(svc, client.Failtry, client.RandomSelect, d, opt)
	defer xclient.Close()
	ctx := context.Background()
	if *timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, *timeout)
		defer cancel()
	}
	start := time.Now()
	ev := dataEvent{Event: *op}
	switch *op {
	case "upload":
		err = xclient.SendFile(ctx, *file, *rate, parseMeta(*meta))
		if st, e := os.Stat(*file); e == nil {
			ev.Bytes = st.Size()
		}
	case "download":
		smp, sum := newSampler(parseOffsets(*samples))
		var w io.Writer = smp
		if *out != "" {
			f, e := os.Create(*out)
			if e != nil {
				err = e
				break
			}
			defer f.Close()
			w = io.MultiWriter(f, smp)
		}
		err = xclient.DownloadFile(ctx, *name, w, parseMeta(*meta))
		ev.Bytes, ev.Sha256, ev.Samples = smp.n, sum(), smp.got
	case "stream":
		var conn net.Conn
		conn, err = xclient.Stream(ctx, parseMeta(*meta))
		if err == nil {
			ev.Bytes, ev.Text, err = streamEcho(conn, *n, *lines)
		}
	case "messages":
		var conn net.Conn
		conn, err = xclient.Stream(ctx, parseMeta(*meta))
		if err == nil {
			ev.Count, err = exchangeFrames(conn, *count)
		}
	default:
		fmt.Fprintf(os.Stderr, "unknown --op %q\n", *op)
		return 2
	}
	ev.Ms = float64(time.Since(start).Microseconds()) / 1000
	if err != nil {
		ev.Error = err.Error()
	}
	emit(ev)
	if err != nil {
		return 1
	}
	return 0
}

// streamEcho writes n pattern bytes (or the example's lines) and reads them
// back from an echo, as rpcx-examples stream does (it prints what comes back).
func streamEcho(conn net.Conn, n int64, lines int) (int64, string, error) {
	defer conn.Close()
	var sent []byte
	if lines > 0 {
		for i := 0; i < lines; i++ {
			sent = append(sent, fmt.Sprintf("#%d: %d\n", i, time.Now().Unix())...)
		}
		n = int64(len(sent))
	}
	pattern := func(off int64) byte { return byte(off*7 + off>>11) }
	errc := make(chan error, 1)
	go func() {
		if sent != nil {
			_, err := conn.Write(sent)
			errc <- err
			return
		}
		buf := make([]byte, 64*1024)
		for off := int64(0); off < n; {
			k := int64(len(buf))
			if n-off < k {
				k = n - off
			}
			for i := int64(0); i < k; i++ {
				buf[i] = pattern(off + i)
			}
			if _, err := conn.Write(buf[:k]); err != nil {
				errc <- err
				return
			}
			off += k
		}
		errc <- nil
	}()
	buf := make([]byte, 64*1024)
	var got int64
	var text []byte
	for got < n {
		k, err := conn.Read(buf)
		for i := 0; i < k; i++ {
			want := byte(0)
			if sent != nil {
				want = sent[got+int64(i)]
			} else {
				want = pattern(got + int64(i))
			}
			if buf[i] != want {
				return got, "", fmt.Errorf("byte %d: got %d, want %d", got+int64(i), buf[i], want)
			}
		}
		if sent != nil {
			text = append(text, buf[:k]...)
		}
		got += int64(k)
		if err != nil {
			return got, string(text), err
		}
	}
	return got, string(text), <-errc
}

// exchangeFrames sends count {N: i} frames and the end frame, and reads
// answers until the peer's end frame: each answer must be {N: 2i} (double) or
// {N: i} (echo), in order.
func exchangeFrames(conn net.Conn, count int) (int, error) {
	defer conn.Close()
	errc := make(chan error, 1)
	go func() {
		w := bufio.NewWriter(conn)
		for i := 0; i < count; i++ {
			if err := writeFrame(w, msg{N: int64(i)}); err != nil {
				errc <- err
				return
			}
		}
		w.Write(endFrame)
		errc <- w.Flush()
	}()
	r := bufio.NewReader(conn)
	got := 0
	for {
		m, err := readFrame(r)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return got, err
		}
		if m.N != int64(got) && m.N != 2*int64(got) {
			return got, fmt.Errorf("answer %d: N=%d", got, m.N)
		}
		got++
	}
	if got != count {
		return got, fmt.Errorf("%d answers to %d messages", got, count)
	}
	return got, <-errc
}

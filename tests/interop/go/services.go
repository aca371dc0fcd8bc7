package main

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/smallnest/rpcx/protocol"
	"github.com/smallnest/rpcx/share"
)

// Args is the argument of Arith.Mul and Arith.Add. Go int fields: MsgPack
// writes them as 9-byte int64 values.
type Args struct {
	A int
	B int
}

// Reply is the result of Arith.Mul and Arith.Add.
type Reply struct {
	C int
}

// Arith is the classic rpcx example service.
type Arith struct{}

// Mul sets C = A * B.
func (Arith) Mul(_ context.Context, args *Args, reply *Reply) error {
	reply.C = args.A * args.B
	return nil
}

// Add sets C = A + B.
func (Arith) Add(_ context.Context, args *Args, reply *Reply) error {
	reply.C = args.A + args.B
	return nil
}

// BigArgs carries a large string for Echo.Big (gzip and big-frame tests).
type BigArgs struct {
	Data string
}

// MetaArgs is the argument and reply of Echo.Meta; Data is echoed back.
type MetaArgs struct {
	Data string
}

// NoteArgs is the argument of Echo.Note.
type NoteArgs struct {
	Text string
}

// CountReply is the reply of Echo.Note, Echo.Notes and Echo.Heartbeats.
type CountReply struct {
	Count int
	Last  string
}

// Empty is the argument of methods that need none; any map or nil decodes into it.
type Empty struct{}

// DelayArgs is the argument and reply of Echo.Delay.
type DelayArgs struct {
	Ms  int
	Tag int
}

// reqCompressedKey is set in the request metadata by peerStats.PostReadRequest
// when the request frame arrived gzip-compressed; Echo.Big reports it back in
// the reply metadata under the same name.
const reqCompressedKey = "x-req-compressed"

// Echo is the interop helper service.
type Echo struct {
	stats *peerStats
	mu    sync.Mutex
	notes int
	last  string
}

// Bytes echoes raw bytes; call it with SerializeNone (the payload is passed as is).
func (e *Echo) Bytes(_ context.Context, args *[]byte, reply *[]byte) error {
	*reply = *args
	return nil
}

// Meta copies every request metadata pair into the reply metadata and echoes Data.
func (e *Echo) Meta(ctx context.Context, args *MetaArgs, reply *MetaArgs) error {
	req, _ := ctx.Value(share.ReqMetaDataKey).(map[string]string)
	res, _ := ctx.Value(share.ResMetaDataKey).(map[string]string)
	if res != nil {
		for k, v := range req {
			res[k] = v
		}
	}
	reply.Data = args.Data
	return nil
}

// Big echoes Data. The reply metadata x-req-compressed=gzip tells that the
// request frame arrived compressed.
func (e *Echo) Big(ctx context.Context, args *BigArgs, reply *BigArgs) error {
	req, _ := ctx.Value(share.ReqMetaDataKey).(map[string]string)
	res, _ := ctx.Value(share.ResMetaDataKey).(map[string]string)
	if v := req[reqCompressedKey]; v != "" && res != nil {
		res[reqCompressedKey] = v
	}
	reply.Data = args.Data
	return nil
}

// Fail always fails with the text "deliberate failure".
func (e *Echo) Fail(_ context.Context, _ *Empty, _ *Empty) error {
	return errors.New("deliberate failure")
}

// Note records a note (meant to be called oneway); Notes reports how many arrived.
func (e *Echo) Note(_ context.Context, args *NoteArgs, reply *CountReply) error {
	e.mu.Lock()
	e.notes++
	e.last = args.Text
	reply.Count, reply.Last = e.notes, e.last
	e.mu.Unlock()
	return nil
}

// Notes returns the number of notes received and the text of the last one.
func (e *Echo) Notes(_ context.Context, _ *Empty, reply *CountReply) error {
	e.mu.Lock()
	reply.Count, reply.Last = e.notes, e.last
	e.mu.Unlock()
	return nil
}

// Heartbeats returns the number of heartbeat requests the server answered.
func (e *Echo) Heartbeats(_ context.Context, _ *Empty, reply *CountReply) error {
	reply.Count = int(e.stats.heartbeats.Load())
	return nil
}

// Delay sleeps Ms milliseconds (at most 10 s, cut short by the call's
// deadline) and echoes the arguments.
func (e *Echo) Delay(ctx context.Context, args *DelayArgs, reply *DelayArgs) error {
	d := time.Duration(args.Ms) * time.Millisecond
	if d > 10*time.Second {
		d = 10 * time.Second
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
		return ctx.Err()
	}
	*reply = *args
	return nil
}

// BenchArgs is the ~100-byte benchmark message (MsgPack size depends on Data).
type BenchArgs struct {
	ID     int64
	Seq    int64
	Name   string
	Email  string
	Score  float64
	Active bool
	Tags   []string
	Data   string
}

// Bench is the benchmark service.
type Bench struct{}

// Echo returns its argument.
func (Bench) Echo(_ context.Context, args *BenchArgs, reply *BenchArgs) error {
	*reply = *args
	return nil
}

// peerStats is a server plugin counting heartbeats and marking compressed requests.
type peerStats struct {
	heartbeats atomic.Int64
}

// HeartbeatRequest implements server.HeartbeatPlugin.
func (p *peerStats) HeartbeatRequest(_ context.Context, _ *protocol.Message) error {
	p.heartbeats.Add(1)
	return nil
}

// PostReadRequest implements server.PostReadRequestPlugin.
func (p *peerStats) PostReadRequest(_ context.Context, r *protocol.Message, e error) error {
	if e == nil && r != nil && !r.IsHeartbeat() && r.CompressType() == protocol.Gzip {
		if r.Metadata == nil {
			r.Metadata = map[string]string{}
		}
		r.Metadata[reqCompressedKey] = "gzip"
	}
	return nil
}

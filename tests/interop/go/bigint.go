package main

import (
	"context"
	"math"
)

// WideArgs is the argument of Echo.Wide: 64-bit integers, which MsgPack and
// JSON carry beyond what a float64 (a JavaScript number) holds exactly.
type WideArgs struct {
	N int64
	U uint64
}

// WideReply is the reply of Echo.Wide.
type WideReply struct {
	N    int64  // args.N
	U    uint64 // args.U
	NInc int64  // args.N + 1, computed here, so a rounded argument shows
	Big  int64  // 1<<62 + 1
	UMax uint64 // math.MaxUint64
	Min  int64  // math.MinInt64
}

// Wide echoes 64-bit integers and adds a few fixed wide values.
func (e *Echo) Wide(_ context.Context, args *WideArgs, reply *WideReply) error {
	reply.N = args.N
	reply.U = args.U
	reply.NInc = args.N + 1
	reply.Big = 1<<62 + 1
	reply.UMax = math.MaxUint64
	reply.Min = math.MinInt64
	return nil
}

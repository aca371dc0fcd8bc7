package main

// Go rpcx's reflection service (github.com/smallnest/rpcx/reflection) on the peer's server
// (`server --reflection`), the client side of rpcx-examples `reflection/client`
// (`reflect-client`), and the Catalog service whose rich types (nested structs, slices, maps,
// pointers, bytes, time, JSON and MsgPack tags, an embedded struct) `rpcx gen` turns into
// TypeScript, both from the reflection service and from this source file.

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"go/parser"
	"go/token"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/smallnest/rpcx/client"
	"github.com/smallnest/rpcx/reflection"
	"github.com/smallnest/rpcx/server"
	"google.golang.org/protobuf/encoding/protowire"
)

// addReflection adds reflection.New() as a plugin before the services are registered (so it
// sees them), as rpcx-examples reflection/server does; nil when off.
func addReflection(s *server.Server, on bool) *reflection.Reflection {
	if !on {
		return nil
	}
	p := reflection.New()
	s.Plugins.Add(p)
	return p
}

// registerReflection registers the plugin itself as the service "Reflection" (s.Register(p, "")).
func registerReflection(s *server.Server, p *reflection.Reflection) error {
	if p == nil {
		return nil
	}
	return s.Register(p, "")
}

// Money is an amount of a currency.
type Money struct {
	Currency string
	Cents    int64
}

// Audit is embedded in Item: its fields are Item's fields on the wire (JSON and MsgPack).
type Audit struct {
	CreatedBy string `json:"created_by"`
}

// Part is one element of Item.Parts; SKU has a MsgPack tag of its own.
type Part struct {
	SKU string `json:"sku" msgpack:"sku"`
	Qty int    `json:"qty"`
}

// Item is a catalog entry.
type Item struct {
	Audit
	ItemID int64             `json:"item_id"`
	Name   string            `json:"name"`
	Price  Money             `json:"price"`
	Qty    uint32            `json:"qty"`
	Weight float64           `json:"weight"`
	Tags   []string          `json:"tags"`
	Attrs  map[string]string `json:"attrs"`
	Image  []byte            `json:"image,omitempty"`
	Note   *string           `json:"note"`
	Added  time.Time         `json:"added"`
	Parts  []Part            `json:"parts,omitempty"`
	Stock  map[string]uint64 `json:"stock,omitempty"`
	secret string
}

// ItemQuery selects an item by id.
type ItemQuery struct {
	ItemID int64 `json:"item_id"`
}

// Receipt is what Catalog.Put computes from an item, so a caller sees each field arrived.
type Receipt struct {
	ItemID    int64
	Total     Money // Price.Cents * Qty
	Grams     float64
	TagCount  int
	AttrCount int
	ImageLen  int
	Note      string
	Year      int
	PartQty   int
	StockSum  uint64
	CreatedBy string
}

// Catalog stores items in memory.
type Catalog struct {
	mu    sync.Mutex
	items map[int64]Item
}

// Put stores an item and answers what it received.
func (c *Catalog) Put(_ context.Context, item *Item, reply *Receipt) error {
	c.mu.Lock()
	if c.items == nil {
		c.items = map[int64]Item{}
	}
	c.items[item.ItemID] = *item
	c.mu.Unlock()
	reply.ItemID = item.ItemID
	reply.Total = Money{Currency: item.Price.Currency, Cents: item.Price.Cents * int64(item.Qty)}
	reply.Grams = item.Weight * 1000
	reply.TagCount = len(item.Tags)
	reply.AttrCount = len(item.Attrs)
	reply.ImageLen = len(item.Image)
	if item.Note != nil {
		reply.Note = *item.Note
	}
	reply.Year = item.Added.Year()
	for _, p := range item.Parts {
		reply.PartQty += p.Qty
	}
	for _, n := range item.Stock {
		reply.StockSum += n
	}
	reply.CreatedBy = item.CreatedBy
	return nil
}

// Get returns a stored item.
func (c *Catalog) Get(_ context.Context, q *ItemQuery, reply *Item) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	item, ok := c.items[q.ItemID]
	if !ok {
		return fmt.Errorf("no item %d", q.ItemID)
	}
	*reply = item
	return nil
}

// runReflectClient is rpcx-examples reflection/client: an XClient (Peer2Peer, Failtry,
// RandomSelect, DefaultOption) on the service "Reflection" calls GetService(--service) and
// GetServices("ass"). Each answer is printed as one line `SERVICE <JSON string>` /
// `SERVICES <JSON string>` (or `ERROR <JSON string>`); with --parse, each is also parsed with
// go/parser (see goParse) and `PARSE SERVICE ok|<error>` / `PARSE SERVICES ...` printed.
func runReflectClient(argv []string) int {
	fs := flag.NewFlagSet("reflect-client", flag.ContinueOnError)
	addr := fs.String("addr", "localhost:8972", "server address")
	service := fs.String("service", "Arith", "the service GetService asks for")
	serializer := fs.String("serializer", "msgpack", "msgpack | json")
	parse := fs.Bool("parse", false, "also parse each answer with go/parser")
	timeout := fs.Duration("timeout", 5*time.Second, "per call")
	if err := fs.Parse(argv); err != nil {
		return 2
	}
	st, err := parseSerializer(*serializer)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	d, _ := client.NewPeer2PeerDiscovery("tcp@"+*addr, "")
	opt := client.DefaultOption
	opt.SerializeType = st
	xclient := client.NewXClient("Reflection", client.Failtry, client.RandomSelect, d, opt)
	defer xclient.Close()

	code := 0
	call := func(label, method, arg string) {
		ctx, cancel := context.WithTimeout(context.Background(), *timeout)
		defer cancel()
		var reply string
		if err := xclient.Call(ctx, method, arg, &reply); err != nil {
			q, _ := json.Marshal(err.Error())
			fmt.Printf("ERROR %s %s\n", label, q)
			code = 1
			return
		}
		q, _ := json.Marshal(reply)
		fmt.Printf("%s %s\n", label, q)
		if *parse {
			if err := goParse(reply); err != nil {
				fmt.Printf("PARSE %s %s\n", label, strings.ReplaceAll(err.Error(), "\n", " | "))
			} else {
				fmt.Printf("PARSE %s ok\n", label)
			}
		}
	}
	call("SERVICE", "GetService", *service)
	call("SERVICES", "GetServices", "ass")
	return code
}

// goParse parses a reflection answer with go/parser after the one change that makes Go's own
// answers Go: its method stubs read `type (s *T) M(...)`, which becomes `func (s *T) M(...)`.
// An answer holding several `package` clauses (GetServices over packages) is parsed per clause.
func goParse(text string) error {
	text = strings.ReplaceAll(text, "\ntype (s *", "\nfunc (s *")
	var chunks []string
	cur := ""
	for _, line := range strings.SplitAfter(text, "\n") {
		if strings.HasPrefix(line, "package ") && strings.TrimSpace(cur) != "" {
			chunks = append(chunks, cur)
			cur = ""
		}
		cur += line
	}
	chunks = append(chunks, cur)
	var errs []error
	for i, c := range chunks {
		if !strings.HasPrefix(c, "package ") {
			c = "package main\n\n" + c
		}
		if _, err := parser.ParseFile(token.NewFileSet(), fmt.Sprintf("answer%d.go", i), c, 0); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// ProtoArgs is rpcx-examples' protobuf ProtoArgs (`message ProtoArgs { int32 A = 1; int32 B =
// 2; }`), with the Marshal/Unmarshal methods gogo/protobuf generates (rpcx's PBCodec calls them).
type ProtoArgs struct {
	A int32
	B int32
}

// ProtoReply is `message ProtoReply { int32 C = 1; }`.
type ProtoReply struct {
	C int32
}

// Marshal writes the message in protobuf's wire format.
func (m *ProtoArgs) Marshal() ([]byte, error) {
	var b []byte
	if m.A != 0 {
		b = protowire.AppendTag(b, 1, protowire.VarintType)
		b = protowire.AppendVarint(b, uint64(int64(m.A)))
	}
	if m.B != 0 {
		b = protowire.AppendTag(b, 2, protowire.VarintType)
		b = protowire.AppendVarint(b, uint64(int64(m.B)))
	}
	return b, nil
}

// Unmarshal reads the message from protobuf's wire format.
func (m *ProtoArgs) Unmarshal(b []byte) error {
	return unmarshalVarints(b, map[protowire.Number]*int32{1: &m.A, 2: &m.B})
}

// Marshal writes the message in protobuf's wire format.
func (m *ProtoReply) Marshal() ([]byte, error) {
	var b []byte
	if m.C != 0 {
		b = protowire.AppendTag(b, 1, protowire.VarintType)
		b = protowire.AppendVarint(b, uint64(int64(m.C)))
	}
	return b, nil
}

// Unmarshal reads the message from protobuf's wire format.
func (m *ProtoReply) Unmarshal(b []byte) error {
	return unmarshalVarints(b, map[protowire.Number]*int32{1: &m.C})
}

// unmarshalVarints reads int32 varint fields into dst by number, skipping unknown fields.
func unmarshalVarints(b []byte, dst map[protowire.Number]*int32) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return protowire.ParseError(n)
		}
		b = b[n:]
		if p, ok := dst[num]; ok && typ == protowire.VarintType {
			v, n := protowire.ConsumeVarint(b)
			if n < 0 {
				return protowire.ParseError(n)
			}
			*p = int32(v)
			b = b[n:]
			continue
		}
		n = protowire.ConsumeFieldValue(num, typ, b)
		if n < 0 {
			return protowire.ParseError(n)
		}
		b = b[n:]
	}
	return nil
}

// ProtoArith is rpcx-examples' protobuf Arith: call it with SerializeType ProtoBuffer.
type ProtoArith struct{}

// Mul sets C = A * B.
func (ProtoArith) Mul(_ context.Context, args *ProtoArgs, reply *ProtoReply) error {
	reply.C = args.A * args.B
	return nil
}

// Command gorules writes Go's own outputs for the compatibility rules @rpcx/core writes once in
// src/_internal/go/: net/url query escaping and parsing (url.json), encoding/json strings, syntax
// errors and compaction (json.json), strconv readers, Quote and IsPrint (strconv.json), and
// net/http.DetectContentType (content_type.json), all in testdata/; and print_table.ts, Go's
// strconv.IsPrint as the ranges strconv.ts reads (Go's Unicode version, not the runtime's). The
// TypeScript tests beside those modules compare our outputs with these tables;
// tests/go_rules_test.ts runs this program again and checks the committed files are what the
// local Go writes.
//
// Run from tests/interop/go (standard library only, nothing to download):
//
//	go run ./gorules ../../../src/_internal/go
//
// Strings that are not valid UTF-8 cannot travel in JSON text unchanged, so every such input or
// output is written as hex in a parallel `...Hex` field instead.
package main

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// text is a Go string as the tables carry it: JSON text when valid UTF-8, hex otherwise.
type text struct {
	S   string `json:"s,omitempty"`
	Hex string `json:"hex,omitempty"`
}

func t(s string) *text {
	if utf8.ValidString(s) {
		return &text{S: s}
	}
	return &text{Hex: hex.EncodeToString([]byte(s))}
}

// gen describes a long input: unit repeated times, then tail (keeps the tables small).
type gen struct {
	Unit  string `json:"unit"`
	Times int    `json:"times"`
	Tail  string `json:"tail"`
}

func (g gen) String() string { return strings.Repeat(g.Unit, g.Times) + g.Tail }

type row struct {
	In     *text       `json:"in,omitempty"`
	Gen    *gen        `json:"gen,omitempty"`
	Out    *text       `json:"out,omitempty"`
	Values [][2]any    `json:"values,omitempty"` // parseQuery: [key, [values...]] sorted by key
	Pairs  [][2]string `json:"pairs,omitempty"`  // encode: the url.Values built with Add
	Count  int         `json:"count,omitempty"`  // parseQuery of a gen input: how many values
	Bits   string      `json:"bits,omitempty"`   // parseFloat: math.Float64bits as 16 hex digits
	Err    string      `json:"err,omitempty"`
}

// Inputs shared by the escaping rules: every class of byte Go treats differently.
var escapeInputs = []string{
	"", "abc", "AZaz09", "-_.~", "a b", "a+b", "a%b", "~*", "!'()*", "$&+,/:;=?@", "#[]",
	"\"<>\\^`{|}", "\x00\x01\x1f\x7f", "\t\r\n", "é", "日本語", "\U0001F600", "\u00ad\u2028",
	"\xff", "\xc3", "\xed\xa0\x80", "a=1&b=2", "key with spaces=value with spaces",
	"tcp@127.0.0.1:8972", "weight=10&group=a&state=inactive",
}

var unescapeInputs = []string{
	"", "abc", "a+b", "a%20b", "%41%42", "%e6%97%a5", "%E6%97%A5", "%zz", "%z", "%", "%4", "%41%",
	"%4g", "a%", "ok%2", "%ff", "%c3", "%C3%A9", "%2B+%2b", "é%", "%é", "%%41", "%00", "~%2A",
	"%E6%97", "a%2Fb", "a/b", "%252F",
}

var queryInputs = []string{
	"", "a=1", "a=1&b=2", "b=2&a=1", "a=1&a=2&a=3", "a", "a=", "=1", "=", "&", "&&a=1&&", "a=1;b=2",
	"a=1&b=2;c", ";", "a=%zz&b=2", "a%zz=1&b=2", "%=1", "a=1&b=%", "a+b=c+d", "a%20b=c%20d",
	"a=1=2", "weight=10&group=a&group=b", "state=inactive;x", "k=%E6%97%A5", "k=%ff",
	"x=1&%zz&y=;&z=3", "x=1&y=;&%zz&z=3", "latitude=48.85&longitude=2.35",
}

var encodeInputs = [][][2]string{
	{},
	{{"a", "1"}},
	{{"b", "2"}, {"a", "1"}},
	{{"a", "~*"}},
	{{"a", "2"}, {"a", "1"}},
	{{"weight", "10"}, {"group", "a"}, {"state", "inactive"}},
	{{"k y", "v w"}, {"é", "日本"}},
	{{"B", "1"}, {"a", "1"}, {"_", "1"}, {"é", "1"}, {"z", "1"}, {"~", "1"}},
	{{"", ""}, {"a", ""}},
	{{"calls", "10.00"}, {"connections", "0.50"}, {"group", "a&b=c"}},
	{{"a\U0001F600", "1"}, {"a\uffff", "2"}},
}

func writeURL() any {
	var esc, unesc, pathUnesc, query, enc []row
	for _, s := range escapeInputs {
		esc = append(esc, row{In: t(s), Out: t(url.QueryEscape(s))})
	}
	for _, s := range unescapeInputs {
		v, err := url.QueryUnescape(s)
		r := row{In: t(s), Out: t(v)}
		if err != nil {
			r = row{In: t(s), Err: err.Error()}
		}
		unesc = append(unesc, r)
		p, err := url.PathUnescape(s)
		r = row{In: t(s), Out: t(p)}
		if err != nil {
			r = row{In: t(s), Err: err.Error()}
		}
		pathUnesc = append(pathUnesc, r)
	}
	parse := func(r row, s string) row {
		v, err := url.ParseQuery(s)
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		r.Values = [][2]any{}
		for _, k := range keys {
			vals := []*text{}
			for _, x := range v[k] {
				vals = append(vals, t(x))
			}
			r.Values = append(r.Values, [2]any{t(k), vals})
		}
		if err != nil {
			r.Err = err.Error()
		}
		return r
	}
	for _, s := range queryInputs {
		query = append(query, parse(row{In: t(s)}, s))
	}
	// The limit on the number of parameters (Go 1.26: 10000, counted as '&' + 1).
	// Only the number of values is kept of these.
	for _, g := range []gen{{"k&", 9999, "k"}, {"k&", 10000, "k"}, {"&", 10000, ""}} {
		g := g
		r := parse(row{Gen: &g}, g.String())
		for _, kv := range r.Values {
			r.Count += len(kv[1].([]*text))
		}
		r.Values = nil
		query = append(query, r)
	}
	for _, pairs := range encodeInputs {
		v := url.Values{}
		for _, p := range pairs {
			v.Add(p[0], p[1])
		}
		enc = append(enc, row{Pairs: append([][2]string{}, pairs...), Out: t(v.Encode())})
	}
	return map[string][]row{
		"queryEscape": esc, "queryUnescape": unesc, "pathUnescape": pathUnesc,
		"parseQuery": query, "encode": enc,
	}
}

var marshalInputs = []string{
	"", "abc", "a\"b\\c", "<>&", "\u2028\u2029", "\x00\x01\x08\x09\x0a\x0b\x0c\x0d\x1f", "\x7f",
	"é", "日本語", "\U0001F600", "\ufffd", "\xff", "\xc3", "\xed\xa0\x80", "a\xffb\xc3\xa9",
	"\u00ad", "/", "'", "tcp@127.0.0.1:8972", "weight=10&group=a",
}

// JSON string tokens as they arrive in a request (json.Unmarshal into a string).
var unmarshalInputs = []string{
	`""`, `"abc"`, `"a\u00e9"`, `"\ud83d\ude00"`, `"\ud800"`, `"\udc00"`, `"\udc00\ud800"`,
	`"\ud800x"`, `"\ud800\u0041"`, `"\n\t\/\\\""`, `"\u0000"`, "\"\xff\"", "\"\xc3\xa9\"",
	`"\ud83d\ud83d\ude00"`,
}

var syntaxInputs = []string{
	``, ` `, `1`, `-`, `-0`, `01`, `1.`, `1.5e`, `1e+`, `.5`, `+1`, `tru`, `true`, `nul`, `nulx`,
	`"abc`, `"a\x"`, `"a\u12"`, "\"\x01\"", `{}`, `{"a":1}`, `{"a":1,}`, `{"a" 1}`, `{a:1}`,
	`{"a":1 "b":2}`, `[1 2]`, `[1,]`, `[`, `]`, `{`, `}`, `1 2`, `[1] x`, "\x01", "'a'", `{"é":x}`,
	"\xff", "[\"a\",\x7f]", `[1,2,3]`, ` {"a" : [1, {"b": null}] } `, `"\u00e9"`, `1e999`,
	`{"a":}`, `[-]`, `[1.e5]`, `[0x10]`, `{"a":1}}`, `nan`, `"a` + "\n" + `"`, `t`, `f`, `fals`,
	`"a\`, `"a\u`, `"a\u12`, `[1,`, `{"a"`, `{"a":`, `{"a":1`, `[1`, `-1.5e+3`, `1E`, `"\u00zz"`,
}

var compactInputs = []string{
	`{}`, `{ "a" : 1 , "b" : [ 1 , 2 ] }`, `"<>&"`, `"\u003c"`, "\"\u2028\u2029\"", "[\n1,\t2\r\n]",
	`{"html":"<b>x</b> & y"}`, `"a\"<"`, `"\\<"`, `  "x"  `,
}

func writeJSON() any {
	var marshal, unmarshal, syntax, compact []row
	for _, s := range marshalInputs {
		b, _ := json.Marshal(s)
		marshal = append(marshal, row{In: t(s), Out: t(string(b))})
	}
	for _, s := range unmarshalInputs {
		var v string
		err := json.Unmarshal([]byte(s), &v)
		r := row{In: t(s), Out: t(v)}
		if err != nil {
			r = row{In: t(s), Err: err.Error()}
		}
		unmarshal = append(unmarshal, r)
	}
	for _, s := range syntaxInputs {
		var v any
		r := row{In: t(s)}
		if err := json.Unmarshal([]byte(s), &v); err != nil {
			if _, ok := err.(*json.SyntaxError); ok || err.Error() == "unexpected end of JSON input" {
				r.Err = err.Error()
			}
		}
		syntax = append(syntax, r)
	}
	for _, s := range compactInputs {
		b, err := json.Marshal(json.RawMessage(s))
		if err != nil {
			panic(err)
		}
		compact = append(compact, row{In: t(s), Out: t(string(b))})
	}
	return map[string][]row{
		"marshalString": marshal, "unmarshalString": unmarshal, "syntax": syntax, "compact": compact,
	}
}

var intInputs = []string{
	"0", "-0", "+0", "+5", "-5", "123", "007", "9223372036854775807", "9223372036854775808",
	"-9223372036854775808", "-9223372036854775809", "18446744073709551615",
	"18446744073709551616", "99999999999999999999999", "", " 1", "1 ", "1_000", "0x10", "0b1",
	"1.5", "1e3", "+", "-", "--1", "+-1", "\u0663", "１", "abc", "12a", "\xff",
	"99999999999999999999x", "1x99999999999999999999", "-99999999999999999999x",
	"9223372036854775808x", "-9223372036854775809x", "18446744073709551615x",
	"18446744073709551616x", "255", "256", "-1", "271", "-257",
}

var floatInputs = []string{
	"0", "-0", "1", "1.5", ".5", "5.", "+1.5", "-1.5", "1e3", "1E-3", "1e+3", "1.e2", "00.1", "0.1",
	"4.9e-324", "2e-324", "1e-400", "1.7976931348623157e308", "1.7976931348623159e308",
	"1e400", "-1e400", "inf", "+Inf", "-INF", "infinity", "-Infinity", "infinit", "NaN", "nan",
	"+nan", "0x1p-2", "0x1.8p1", "0X1P+2", "0x10", "0x1.8", "0xp1", "0x1p", "1_000", "0x1_0p0",
	"1__0", "", ".", "e5", "1e", "1e+", "-.5", "+.e1", " 1", "1 ", "1,5", "48.85", "2.35",
	"123456789012345678901234567890", "0.000000000000000000000000000001", "9007199254740993",
	"1.00000000000000011102230246251565404236316680908203125", "abc", "1f", "\u0663",
	"1e1_0", "_1", "1_", "1_.5", "1._5", "0x_1p0", "0x1p99999", "0x1p-1074", "0x1p-1075",
	"0x1.8p-1075", "0x1p-1076", "0x1.fffffffffffff8p1023", "0x1.fffffffffffff7p1023",
	"0x1.00000000000008p0", "0x1.00000000000018p0", "0x1.00000000000008000001p0", "0x.8p1",
	"0x8.p-3", "-0x1p-2", "0x0p0", "0x0.0p99999", "0x1p+1_0", "0x1P-2_", "2.2250738585072011e-308",
	"2.2250738585072012e-308", "4.9406564584124654e-324", "2.4703282292062327e-324",
	"2.4703282292062328e-324", "1e-323", "5e-324",
}

// Quote inputs: every byte class, the first 256 runes (what Go's JSON syntax errors quote), and
// runes where Go's IsPrint tables decide.
func quoteInputs() []string {
	in := []string{
		"", "abc", "a\"b", "\\", "'", "\a\b\f\n\r\t\v", "\x00", "\x7f", "é", "日本語", "\U0001F600",
		"\u00a0", "\u00ad", "\u200b", "\u2028", "\u3000", "\ufeff", "\ufffd", "\uffff",
		"\U000E0001", "\U0010FFFF", "\u0378", "\U0001FAE8", "\u2FFC", "\xff", "\xc3", "\xc3\xa9\xff",
		"\xed\xa0\x80", "a\x00b", "Arith.Mul", "tcp@127.0.0.1:8972",
	}
	for r := rune(0); r < 0x100; r++ {
		in = append(in, string(r))
	}
	return in
}

// printRanges are the runes strconv.IsPrint accepts, as inclusive ranges of hex code points:
// "20-7e,a1-ac,...".
func printRanges() string {
	var out []string
	start := rune(-1)
	for r := rune(0); r <= utf8.MaxRune+1; r++ {
		p := r <= utf8.MaxRune && strconv.IsPrint(r)
		if p && start < 0 {
			start = r
		} else if !p && start >= 0 {
			out = append(out, fmt.Sprintf("%x-%x", start, r-1))
			start = -1
		}
	}
	return strings.Join(out, ",")
}

func writeStrconv() any {
	var atoi, parseUint, parseFloat, quote []row
	for _, s := range intInputs {
		r := row{In: t(s)}
		if v, err := strconv.Atoi(s); err != nil {
			r.Err = err.Error()
		} else {
			r.Out = t(strconv.Itoa(v))
		}
		atoi = append(atoi, r)
		r = row{In: t(s)}
		if v, err := strconv.ParseUint(s, 10, 64); err != nil {
			r.Err = err.Error()
		} else {
			r.Out = t(strconv.FormatUint(v, 10))
		}
		parseUint = append(parseUint, r)
	}
	for _, s := range floatInputs {
		v, err := strconv.ParseFloat(s, 64)
		r := row{In: t(s), Bits: fmt.Sprintf("%016x", math.Float64bits(v))}
		if err != nil {
			r.Err = err.Error()
		}
		parseFloat = append(parseFloat, r)
	}
	for _, s := range quoteInputs() {
		quote = append(quote, row{In: t(s), Out: t(strconv.Quote(s))})
	}
	return map[string]any{
		"atoi": atoi, "parseUint": parseUint, "parseFloat": parseFloat, "quote": quote,
		"isPrint": printRanges(),
	}
}

func bytesOf(parts ...string) string { return strings.Join(parts, "") }

var sniffInputs = []string{
	"", "hello", "  hello", "\x00", "a\x00", "\x01\x02", "\x1b[0m", "\x1c", "\x0b", "\x0c\x0d",
	"<html>", "<HTML ", "  <html>", "<htmlx", "<html", "<!DOCTYPE html>", "<!doctype HTML ",
	"<head>", "<script>", "<iframe>", "<h1>", "<div>", "<font>", "<table>", "<a>", "<style>",
	"<title>", "<b>", "<body>", "<br>", "<p>", "<!-- x -->", "<!--", "\t<P>", "<p", "<br/>",
	"<?xml version", "  <?xml", "<?XML", "%PDF-1.4", "%PDF", "%!PS-Adobe-3.0", "\xfe\xff", "\xfe\xff\x00",
	"\xfe\xff\x00\x41", "\xff\xfe\x41\x00", "\xef\xbb\xbf", "\xef\xbb\xbfhi", "\x00\x00\x01\x00",
	"\x00\x00\x02\x00", "BM", "BMx", "GIF87a", "GIF89a", "GIF8", "RIFF\x00\x00\x00\x00WEBPVP8 ",
	"RIFF\x00\x00\x00\x00WEBP", "\x89PNG\x0d\x0a\x1a\x0a", "\xff\xd8\xff\xe0", "\xff\xd8",
	"FORM\x00\x00\x00\x00AIFF", "ID3\x03", "OggS\x00\x02", "OggS", "MThd\x00\x00\x00\x06",
	"RIFF\x00\x00\x00\x00AVI LIST", "RIFF\x00\x00\x00\x00WAVEfmt ",
	bytesOf("\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom"),
	bytesOf("\x00\x00\x00\x14ftypisom\x00\x00\x02\x00mp41"),
	bytesOf("\x00\x00\x00\x10ftypmp42\x00\x00\x00\x00"),
	bytesOf("\x00\x00\x00\x13ftypmp42\x00\x00\x00\x00mp42isom"),
	"\x1a\x45\xdf\xa3", strings.Repeat("\x00", 34) + "LP", strings.Repeat("\x01", 34) + "LP",
	"\x00\x01\x00\x00", "OTTO", "ttcf", "wOFF", "wOF2", "\x1f\x8b\x08", "\x1f\x8b", "PK\x03\x04",
	"Rar!\x1a\x07\x00", "Rar!\x1a\x07\x01\x00", "Rar!\x1a\x07", "\x00asm\x01", "{\"a\":1}",
	"[1,2]", "\"str\"", "é", "\xff\xfe", "\x80\x81", "null",
	strings.Repeat("a", 511) + "\x00", strings.Repeat("a", 512) + "\x00",
	strings.Repeat(" ", 600) + "<html>",
}

func writeContentType() any {
	var rows []row
	for _, s := range sniffInputs {
		rows = append(rows, row{In: &text{Hex: hex.EncodeToString([]byte(s))}, Out: t(http.DetectContentType([]byte(s)))})
	}
	return map[string][]row{"detectContentType": rows}
}

// printTable is print_table.ts: the ranges of printRanges, 8 to a line.
func printTable() []byte {
	ranges := strings.Split(printRanges(), ",")
	var b strings.Builder
	b.WriteString("// Generated by tests/interop/go/gorules from Go's strconv.IsPrint: do not edit.\n")
	b.WriteString("/**\n * The runes Go's `strconv.IsPrint` accepts, as inclusive ranges of hex code points\n")
	b.WriteString(" * (`first-last`, comma-separated), from Go's own tables: Go's Unicode version decides, not the\n")
	b.WriteString(" * runtime's.\n *\n * @module\n */\n\n")
	b.WriteString("/** `first-last,first-last,...` in hex, ascending. */\nexport const GO_PRINT_RANGES: string = [\n")
	for i := 0; i < len(ranges); i += 8 {
		end := min(i+8, len(ranges))
		fmt.Fprintf(&b, "  %q,\n", strings.Join(ranges[i:end], ","))
	}
	b.WriteString("].join(\",\");\n")
	return []byte(b.String())
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: go run ./gorules <src/_internal/go>")
		os.Exit(2)
	}
	dir := os.Args[1]
	if err := os.MkdirAll(filepath.Join(dir, "testdata"), 0o755); err != nil {
		panic(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "print_table.ts"), printTable(), 0o644); err != nil {
		panic(err)
	}
	tables := map[string]any{
		"url.json": writeURL(), "json.json": writeJSON(), "strconv.json": writeStrconv(),
		"content_type.json": writeContentType(),
	}
	for name, v := range tables {
		b, err := json.MarshalIndent(v, "", " ")
		if err != nil {
			panic(err)
		}
		b = append(b, '\n')
		if err := os.WriteFile(filepath.Join(dir, "testdata", name), b, 0o644); err != nil {
			panic(err)
		}
	}
}

package sink

import (
	"bufio"
	"io"
	"strconv"
	"unicode/utf8"

	"github.com/serpstat-export/serpstat-export/serpstat"
)

// NDJSON writes rows as newline-delimited JSON: one object a line, "\n"
// terminated, keys named and ordered as the method's OutputColumns.
//
// A value is written by its column's Kind: string, date and timestamp as
// JSON strings; integer and float as numbers (a float as encoding/json
// writes a float64; NaN and the infinities, which JSON cannot hold, as
// null); list<string> as an array of strings; the extra column as the
// JSON object of the row's unknown keys, null when it had none. A value
// the API answered null (serpstat.Value.Null) is null.
//
// Each line is byte for byte what a json.Encoder with SetEscapeHTML(false)
// writes for such an object: strings are escaped as encoding/json escapes
// them (invalid UTF-8 becomes U+FFFD, U+2028 and U+2029 are escaped),
// except that < > & are left as they are, since they fill URLs and this
// output is not HTML. The encoder is hand-written and appends to the
// buffer of a bufio.Writer: no reflection and no allocation a row.
//
// Make one with NewNDJSON; the zero value is not usable. An NDJSON is not
// safe for concurrent use.
type NDJSON struct {
	// QueryColumn, when true, adds a leading "query" key holding the value
	// given to SetQuery: rows of several queries in one file.
	QueryColumn bool

	enc    *rowEncoder
	prefix []byte // `{"query":"…"` when QueryColumn
	w      *bufio.Writer
	closed bool
	err    error
}

// ndjsonBufferSize is the size of the NDJSON's bufio.Writer.
const ndjsonBufferSize = 64 << 10

// ndjsonRoom is the free space below which Write flushes before encoding
// a row, so that a row (rarely over 1 KiB) is encoded in place instead of
// in a slice that append grows.
const ndjsonRoom = 4 << 10

// NewNDJSON returns an NDJSON writing the rows of method m to w. m must
// not be nil.
func NewNDJSON(w io.Writer, m *serpstat.Method) *NDJSON {
	if m == nil {
		panic(errNilMethod)
	}
	return &NDJSON{enc: newRowEncoder(m), w: bufio.NewWriterSize(w, ndjsonBufferSize)}
}

// SetQuery sets the query key's value for the rows written next.
func (n *NDJSON) SetQuery(q string) {
	n.prefix = appendJSONString(append(n.prefix[:0], `{"query":`...), q)
}

// Write writes one line a row. Rows are buffered; an error of w may surface
// on a later Write or on Close.
func (n *NDJSON) Write(rows []serpstat.Row) error {
	if n.err != nil {
		return n.err
	}
	if n.closed {
		return errClosed
	}
	if n.QueryColumn && n.prefix == nil {
		n.SetQuery("")
	}
	for i := range rows {
		r := &rows[i]
		if err := rowFits(n.enc.m, r); err != nil {
			n.err = err
			return err
		}
		if n.w.Available() < ndjsonRoom {
			if err := n.w.Flush(); err != nil {
				n.err = err
				return err
			}
		}
		// Appending to AvailableBuffer and writing the result back costs
		// no copy while the line fits in the buffer.
		line := n.w.AvailableBuffer()
		if n.QueryColumn {
			line = n.enc.appendRow(append(line, n.prefix...), true, r)
		} else {
			line = n.enc.appendRow(line, false, r)
		}
		if _, err := n.w.Write(line); err != nil {
			n.err = err
			return err
		}
	}
	return nil
}

// Close flushes and returns the first error of the writer's life. It does
// not close the io.Writer. Close may be called more than once.
func (n *NDJSON) Close() error {
	if n.closed || n.err != nil {
		return n.err
	}
	n.closed = true
	n.err = n.w.Flush()
	return n.err
}

// rowEncoder encodes the rows of one method as JSON objects: its keys are
// escaped once. It is read-only once made.
type rowEncoder struct {
	m *serpstat.Method
	// open are the members' keys when none comes before: `{"url_from":`,
	// then `,"url_to":` and the others; more the same with a comma first
	// (after a query member). The extra column's key ends each.
	open, more []jsonKey
	kinds      []serpstat.Kind // a column
}

// jsonKey is a member's key and its colon, with the comma or brace before
// it. Most fit in b, and are copied with one store instead of a call to
// memmove (a tenth of the NDJSON writer's time).
type jsonKey struct {
	b    [24]byte
	n    int
	long []byte // the key, when it does not fit b
}

func newJSONKey(prefix byte, name string) jsonKey {
	text := append(appendJSONString([]byte{prefix}, name), ':')
	k := jsonKey{n: len(text)}
	if len(text) > len(k.b) {
		k.long = text
	}
	copy(k.b[:], text)
	return k
}

// appendKey appends k to dst. It is inlined; appendKeySlow is its rare
// case.
func appendKey(dst []byte, k *jsonKey) []byte {
	n := len(dst)
	if cap(dst)-n < len(k.b) || k.long != nil {
		return appendKeySlow(dst, k)
	}
	*(*[len(k.b)]byte)(dst[n : n+len(k.b)]) = k.b
	return dst[:n+k.n]
}

func appendKeySlow(dst []byte, k *jsonKey) []byte {
	if k.long != nil {
		return append(dst, k.long...)
	}
	return append(dst, k.b[:k.n]...)
}

func newRowEncoder(m *serpstat.Method) *rowEncoder {
	e := &rowEncoder{m: m}
	for i, name := range m.OutputColumns() {
		open := byte(',')
		if i == 0 {
			open = '{'
		}
		e.open = append(e.open, newJSONKey(open, name))
		e.more = append(e.more, newJSONKey(',', name))
	}
	for _, c := range m.Columns {
		e.kinds = append(e.kinds, c.Kind)
	}
	return e
}

// appendRow appends r as a JSON object and "\n" to dst. When more is
// true, dst holds the object's "{" and members already: r's follow. r
// must fit the method (rowFits).
func (e *rowEncoder) appendRow(dst []byte, more bool, r *serpstat.Row) []byte {
	keys := e.open
	if more {
		keys = e.more
	}
	if len(keys) == 0 { // a method of no column
		if !more {
			dst = append(dst, '{')
		}
		return append(dst, "}\n"...)
	}
	kinds := e.kinds
	vals := r.Values[:len(kinds)]
	for c := range vals {
		v := &vals[c] // a Value is 64 bytes: not copied
		dst = appendKey(dst, &keys[c])
		if v.Null {
			dst = append(dst, "null"...)
			continue
		}
		switch kinds[c] {
		case serpstat.KindInt:
			dst = strconv.AppendInt(dst, v.Int, 10)
		case serpstat.KindFloat:
			if finite(v.Float) {
				dst = appendJSONFloat(dst, v.Float)
			} else {
				dst = append(dst, "null"...)
			}
		case serpstat.KindStrings:
			dst = appendJSONList(dst, v.List)
		default: // string, date, timestamp
			dst = appendJSONString(dst, v.Str)
		}
	}
	if len(keys) > len(kinds) {
		dst = appendKey(dst, &keys[len(kinds)])
		if len(r.Extra) == 0 {
			dst = append(dst, "null"...)
		} else {
			dst = appendExtra(dst, r.Extra)
		}
	}
	return append(dst, "}\n"...)
}

// jsonSafe marks the ASCII bytes that go into a JSON string unescaped: all
// but control characters, '"' and '\\'.
var jsonSafe = func() (t [utf8.RuneSelf]bool) {
	for b := 0x20; b < utf8.RuneSelf; b++ {
		t[b] = b != '"' && b != '\\'
	}
	return t
}()

const hexDigits = "0123456789abcdef"

// plain8 tells whether the eight bytes of x (a little-endian load) are
// all ASCII that goes into a JSON string unescaped: none is below ' ', a
// '"', a '\\' or a byte of a multi-byte rune (0x80 and up). It tests the
// eight at once: a byte below ' ', or one equal to '"' or '\\' (then x
// XOR that byte has a zero byte), borrows when subtracted and sets its
// top bit (Hacker's Delight, 6-1); a borrow only ever comes from such a
// byte below, so the test is exact.
func plain8(x uint64) bool {
	const lsb, msb = 0x0101010101010101, 0x8080808080808080
	below := x - ' '*lsb
	quote := (x ^ '"'*lsb) - lsb
	backslash := (x ^ '\\'*lsb) - lsb
	return (below|quote|backslash|x)&msb == 0
}

// load8 is the eight bytes of s from i as a little-endian uint64 (the
// compiler makes it one load).
func load8(s string, i int) uint64 {
	s = s[i : i+8]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}

// appendJSONString appends s as a JSON string, escaped the way
// encoding/json escapes it with HTML escaping off.
func appendJSONString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		// Eight bytes at a time while none needs a look (most of a URL).
		for i+8 <= len(s) && plain8(load8(s, i)) {
			i += 8
		}
		if i == len(s) {
			break
		}
		b := s[i]
		if b < utf8.RuneSelf {
			if jsonSafe[b] {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch b {
			case '\\', '"':
				dst = append(dst, '\\', b)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[b>>4], hexDigits[b&0xF])
			}
			i++
			start = i
			continue
		}
		c, size := utf8.DecodeRuneInString(s[i:])
		if c == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i++
			start = i
			continue
		}
		// U+2028 LINE SEPARATOR and U+2029 PARAGRAPH SEPARATOR are valid in
		// JSON but not in JavaScript source; encoding/json escapes them.
		if c == '\u2028' || c == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[c&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

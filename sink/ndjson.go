package sink

import (
	"bufio"
	"io"
	"strconv"
	"unicode/utf8"

	"github.com/serpstat-export/serpstat-export/serpstat"
)

// NDJSON writes rows as newline-delimited JSON: one object a line, "\n"
// terminated, keys named and ordered as serpstat.Columns, links_ext and
// domain_rank as numbers, everything else as strings; a field the API
// answered null (serpstat.Backlink.Null) is null.
//
// Each line is byte for byte what a json.Encoder with SetEscapeHTML(false)
// writes for a serpstat.Backlink: strings are escaped as encoding/json
// escapes them (invalid UTF-8 becomes U+FFFD, U+2028 and U+2029 are
// escaped), except that < > & are left as they are, since they fill URLs
// and this output is not HTML. The encoder is hand-written and appends to
// the buffer of a bufio.Writer: no reflection and no allocation a row.
//
// Make one with NewNDJSON; the zero value is not usable. An NDJSON is not
// safe for concurrent use.
type NDJSON struct {
	// QueryColumn, when true, adds a leading "query" key holding the value
	// given to SetQuery: rows of several queries in one file.
	QueryColumn bool

	prefix []byte // `{"query":"…",` when QueryColumn
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

// NewNDJSON returns an NDJSON writing to w.
func NewNDJSON(w io.Writer) *NDJSON {
	return &NDJSON{w: bufio.NewWriterSize(w, ndjsonBufferSize)}
}

// SetQuery sets the query key's value for the rows written next.
func (n *NDJSON) SetQuery(q string) {
	n.prefix = append(appendJSONString(append(n.prefix[:0], `{"query":`...), q), ',')
}

// Write writes one line a row. Rows are buffered; an error of w may surface
// on a later Write or on Close.
func (n *NDJSON) Write(rows []serpstat.Backlink) error {
	if n.err != nil {
		return n.err
	}
	if n.closed {
		return errClosed
	}
	for i := range rows {
		if n.w.Available() < ndjsonRoom {
			if err := n.w.Flush(); err != nil {
				n.err = err
				return err
			}
		}
		// Appending to AvailableBuffer and writing the result back costs
		// no copy while the line fits in the buffer.
		line := appendNDJSON(n.w.AvailableBuffer(), &rows[i])
		if n.QueryColumn {
			if n.prefix == nil {
				n.SetQuery("")
			}
			// Replace the line's "{" with the query key.
			line = append(append([]byte(nil), n.prefix...), line[1:]...)
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

// AppendNDJSON appends r to dst as NDJSON writes it: one JSON object, keys
// in column order, and a newline. It does not allocate when dst has room.
func AppendNDJSON(dst []byte, r *serpstat.Backlink) []byte { return appendNDJSON(dst, r) }

// appendNDJSON appends r as one JSON object and a newline to dst.
func appendNDJSON(dst []byte, r *serpstat.Backlink) []byte {
	if r.Null != 0 {
		return appendNDJSONNulls(dst, r)
	}
	dst = append(dst, `{"url_from":`...)
	dst = appendJSONString(dst, r.URLFrom)
	dst = append(dst, `,"url_to":`...)
	dst = appendJSONString(dst, r.URLTo)
	dst = append(dst, `,"nofollow":`...)
	dst = appendJSONString(dst, r.Nofollow)
	dst = append(dst, `,"link_type":`...)
	dst = appendJSONString(dst, r.LinkType)
	dst = append(dst, `,"links_ext":`...)
	dst = strconv.AppendInt(dst, int64(r.LinksExt), 10)
	dst = append(dst, `,"link_text":`...)
	dst = appendJSONString(dst, r.LinkText)
	dst = append(dst, `,"first_seen":`...)
	dst = appendJSONString(dst, r.FirstSeen)
	dst = append(dst, `,"last_visited":`...)
	dst = appendJSONString(dst, r.LastVisited)
	dst = append(dst, `,"domain_rank":`...)
	dst = strconv.AppendInt(dst, int64(r.DomainRank), 10)
	return append(dst, "}\n"...)
}

// appendNDJSONNulls is appendNDJSON for a row with null fields, written as
// JSON null (the rare case, kept off the hot path).
func appendNDJSONNulls(dst []byte, r *serpstat.Backlink) []byte {
	texts := [...]string{r.URLFrom, r.URLTo, r.Nofollow, r.LinkType, "", r.LinkText, r.FirstSeen, r.LastVisited, ""}
	for col, name := range serpstat.Columns {
		if col == 0 {
			dst = append(dst, '{')
		} else {
			dst = append(dst, ',')
		}
		dst = appendJSONString(dst, name)
		dst = append(dst, ':')
		switch {
		case r.Null.Has(col):
			dst = append(dst, "null"...)
		case col == serpstat.ColLinksExt:
			dst = strconv.AppendInt(dst, int64(r.LinksExt), 10)
		case col == serpstat.ColDomainRank:
			dst = strconv.AppendInt(dst, int64(r.DomainRank), 10)
		default:
			dst = appendJSONString(dst, texts[col])
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

// appendJSONString appends s as a JSON string, escaped the way
// encoding/json escapes it with HTML escaping off.
func appendJSONString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
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

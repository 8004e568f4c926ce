package serpstat

import (
	"bytes"
	"strings"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// decodeNewBacklinks is the fast path of Client.call for getNewBacklinks
// (issue #8): it decodes an answer of the usual shape,
//
//	{"id":…,"result":{"data":[{row},…],"summary_info":{…}}}
//
// straight into page, with a handful of allocations per page instead of
// several per row. page must be the zero BacklinksPage.
//
// encoding/json stays the reference. decodeNewBacklinks reports false, and
// leaves page untouched, on anything it is not sure to decode exactly as
// json.Unmarshal would into the envelope Client.call uses: a syntax error, an
// "error" key, a null result, data or row, a key with an escape or one that
// only case-folds to a known name, a duplicate known key, a value of an
// unexpected kind (a number for a string field, an object for an Int, …), an
// Int that Int.UnmarshalJSON refuses, invalid UTF-8 (which the caller counts
// and encoding/json repairs), or nesting deeper than maxSkipDepth in a
// skipped value. The caller then decodes raw with encoding/json, which
// produces the same page or the error. When it reports true, page is what
// encoding/json would have produced (FuzzDecodeNewBacklinks checks it).
//
// Every string of the page is a substring of one strings.Builder's result
// (one arena per page, no unsafe here): a row's strings keep that page's
// text alive, about the size of the answer, for as long as any is kept.
func decodeNewBacklinks(raw []byte, page *BacklinksPage) bool {
	if page.Data != nil || page.Summary != (SummaryInfo{}) {
		return false
	}
	d := fastDecoder{raw: raw}
	// Decoded text is never longer than the JSON it comes from, so the
	// arena never grows.
	d.sb.Grow(len(raw))
	res := BacklinksPage{Summary: SummaryInfo{Total: TotalUnknown}}
	if !d.envelope(&res) {
		return false
	}
	page.Data, page.Summary = res.Data, res.Summary
	return true
}

// maxSkipDepth bounds the nesting of skipped (unknown) values.
const maxSkipDepth = 64

// fastDecoder is the state of one decodeNewBacklinks. It is not copied after
// use (sb would panic).
type fastDecoder struct {
	raw []byte
	pos int
	sb  strings.Builder // the page's string arena
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// ws skips JSON whitespace.
func (d *fastDecoder) ws() {
	for d.pos < len(d.raw) && isSpace(d.raw[d.pos]) {
		d.pos++
	}
}

// peek returns the byte at pos, 0 at the end.
func (d *fastDecoder) peek() byte {
	if d.pos < len(d.raw) {
		return d.raw[d.pos]
	}
	return 0
}

// next skips whitespace, then consumes c if it is the next byte.
func (d *fastDecoder) next(c byte) bool {
	d.ws()
	if d.peek() == c {
		d.pos++
		return true
	}
	return false
}

// objectStart consumes `{` and reports whether the object is empty (its
// `}` consumed too). Without a `{` it fails.
func (d *fastDecoder) objectStart() (empty, ok bool) {
	if !d.next('{') {
		return false, false
	}
	if d.next('}') {
		return true, true
	}
	return false, true
}

// plain tells the bytes a string holds as they are, with nothing to check:
// printable ASCII but the quote and the backslash.
var plain = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// key reads `"name" :` and returns name. A name with an escape or a control
// character fails, as does invalid UTF-8.
func (d *fastDecoder) key() ([]byte, bool) {
	d.ws()
	if d.peek() != '"' {
		return nil, false
	}
	start := d.pos + 1
	i := start
	for i < len(d.raw) {
		for i < len(d.raw) && plain[d.raw[i]] {
			i++
		}
		if i >= len(d.raw) {
			break
		}
		c := d.raw[i]
		if c == '"' {
			break
		}
		if c == '\\' || c < 0x20 {
			return nil, false
		}
		if c >= utf8.RuneSelf {
			r, n := utf8.DecodeRune(d.raw[i:])
			if r == utf8.RuneError && n == 1 {
				return nil, false
			}
			i += n
			continue
		}
		i++
	}
	if i >= len(d.raw) {
		return nil, false
	}
	d.pos = i + 1
	if !d.next(':') {
		return nil, false
	}
	d.ws()
	return d.raw[start:i], true
}

// afterValue consumes the `,` or `}` after a member's value and reports
// whether the object goes on.
func (d *fastDecoder) afterValue() (more, ok bool) {
	d.ws()
	switch d.peek() {
	case ',':
		d.pos++
		return true, true
	case '}':
		d.pos++
		return false, true
	}
	return false, false
}

// unknown reports whether key may be skipped: encoding/json matches field
// names case-insensitively (bytes.EqualFold), so a key that folds to one of
// names is not unknown to it.
func unknown(key []byte, names ...string) bool {
	for _, n := range names {
		if bytes.EqualFold(key, []byte(n)) {
			return false
		}
	}
	return true
}

// envelope decodes the whole answer.
func (d *fastDecoder) envelope(res *BacklinksPage) bool {
	empty, ok := d.objectStart()
	if !ok || empty {
		return false
	}
	haveResult := false
	for more := true; more; {
		k, ok := d.key()
		if !ok {
			return false
		}
		switch string(k) {
		case "result":
			if haveResult || !d.result(res) {
				return false
			}
			haveResult = true
		default:
			// "error" (and its case variants) go to encoding/json.
			if !unknown(k, "result", "error") || !d.skip(0) {
				return false
			}
		}
		if more, ok = d.afterValue(); !ok {
			return false
		}
	}
	d.ws()
	return haveResult && d.pos == len(d.raw)
}

// result decodes the result object.
func (d *fastDecoder) result(res *BacklinksPage) bool {
	empty, ok := d.objectStart()
	if !ok {
		return false
	}
	if empty {
		return true
	}
	haveData, haveSummary := false, false
	for more := true; more; {
		k, ok := d.key()
		if !ok {
			return false
		}
		switch string(k) {
		case "data":
			if haveData || !d.rows(res) {
				return false
			}
			haveData = true
		case "summary_info":
			if haveSummary || !d.summary(&res.Summary) {
				return false
			}
			haveSummary = true
		default:
			if !unknown(k, "data", "summary_info") || !d.skip(0) {
				return false
			}
		}
		if more, ok = d.afterValue(); !ok {
			return false
		}
	}
	return true
}

// rows decodes the data array.
func (d *fastDecoder) rows(res *BacklinksPage) bool {
	if d.peek() != '[' {
		return false
	}
	d.pos++
	// A capacity hint, right for a full page of rows of 200 bytes or more
	// (a row of the API is 250-400); more rows just grow the slice.
	data := make([]Backlink, 0, min(len(d.raw)/200+1, MaxPageSize))
	if d.next(']') {
		res.Data = data // [] is an empty slice, not nil, as in encoding/json
		return true
	}
	for {
		data = append(data, Backlink{})
		if !d.row(&data[len(data)-1]) {
			return false
		}
		d.ws()
		switch d.peek() {
		case ',':
			d.pos++
			d.ws()
			continue
		case ']':
			d.pos++
			res.Data = data
			return true
		}
		return false
	}
}

// Bits of the row fields, to refuse duplicates.
const (
	fURLFrom = 1 << iota
	fURLTo
	fNofollow
	fLinkType
	fLinksExt
	fLinkText
	fFirstSeen
	fLastVisited
	fDomainRank
)

// row decodes one row object.
func (d *fastDecoder) row(b *Backlink) bool {
	empty, ok := d.objectStart()
	if !ok {
		return false
	}
	if empty {
		return true
	}
	seen := 0
	for more := true; more; {
		k, ok := d.key()
		if !ok {
			return false
		}
		var (
			bit int
			s   *string
			n   *Int
		)
		switch string(k) {
		case "url_from":
			bit, s = fURLFrom, &b.URLFrom
		case "url_to":
			bit, s = fURLTo, &b.URLTo
		case "nofollow":
			bit, s = fNofollow, &b.Nofollow
		case "link_type":
			bit, s = fLinkType, &b.LinkType
		case "links_ext":
			bit, n = fLinksExt, &b.LinksExt
		case "link_text":
			bit, s = fLinkText, &b.LinkText
		case "first_seen":
			bit, s = fFirstSeen, &b.FirstSeen
		case "last_visited":
			bit, s = fLastVisited, &b.LastVisited
		case "domain_rank":
			bit, n = fDomainRank, &b.DomainRank
		default:
			if !unknown(k, "url_from", "url_to", "nofollow", "link_type", "links_ext",
				"link_text", "first_seen", "last_visited", "domain_rank") || !d.skip(0) {
				return false
			}
		}
		if bit != 0 {
			if seen&bit != 0 {
				return false
			}
			seen |= bit
			if d.peek() == 'n' {
				// null: the zero value, marked (the bits are Columns').
				if !d.literal("null") {
					return false
				}
				b.Null |= NullMask(bit)
			} else if s != nil && !d.stringField(s) || n != nil && !d.intField(n) {
				return false
			}
		}
		if more, ok = d.afterValue(); !ok {
			return false
		}
	}
	return true
}

// summary decodes summary_info.
func (d *fastDecoder) summary(sum *SummaryInfo) bool {
	empty, ok := d.objectStart()
	if !ok {
		return false
	}
	if empty {
		return true
	}
	seen := 0
	for more := true; more; {
		k, ok := d.key()
		if !ok {
			return false
		}
		var (
			bit int
			s   *string
			n   *Int
		)
		switch string(k) {
		case "left_lines":
			bit, n = 1, &sum.LeftLines
		case "page":
			bit, n = 2, &sum.Page
		case "count":
			bit, n = 4, &sum.Count
		case "total":
			bit, n = 8, &sum.Total
		case "sort":
			bit, s = 16, &sum.Sort
		case "order":
			bit, s = 32, &sum.Order
		default:
			if !unknown(k, "left_lines", "page", "count", "total", "sort", "order") || !d.skip(0) {
				return false
			}
		}
		if bit != 0 {
			if seen&bit != 0 {
				return false
			}
			seen |= bit
			if n == &sum.Total && d.peek() == 'n' {
				if !d.literal("null") {
					return false
				}
				sum.Total = TotalUnknown
			} else if s != nil && !d.stringField(s) || n != nil && !d.intField(n) {
				return false
			}
		}
		if more, ok = d.afterValue(); !ok {
			return false
		}
	}
	return true
}

// literal consumes lit ("null", "true", "false") if it is next.
func (d *fastDecoder) literal(lit string) bool {
	if len(d.raw)-d.pos >= len(lit) && string(d.raw[d.pos:d.pos+len(lit)]) == lit {
		d.pos += len(lit)
		return true
	}
	return false
}

// stringField decodes a string or null into a string field: null leaves
// it as it is (""), as encoding/json does.
func (d *fastDecoder) stringField(dst *string) bool {
	switch d.peek() {
	case '"':
		s, ok := d.str()
		*dst = s
		return ok
	case 'n':
		return d.literal("null")
	}
	return false
}

// str decodes the JSON string at pos into the arena and returns it.
func (d *fastDecoder) str() (string, bool) {
	raw := d.raw
	i := d.pos + 1
	from := d.sb.Len()
	start := i // start of the text not yet copied
	for i < len(raw) {
		for i < len(raw) && plain[raw[i]] {
			i++
		}
		if i >= len(raw) {
			break
		}
		c := raw[i]
		switch {
		case c == '"':
			d.sb.Write(raw[start:i])
			d.pos = i + 1
			return d.sb.String()[from:], true
		case c == '\\':
			d.sb.Write(raw[start:i])
			n, ok := d.escape(raw[i:])
			if !ok {
				return "", false
			}
			i += n
			start = i
		case c < 0x20:
			return "", false
		case c >= utf8.RuneSelf:
			r, n := utf8.DecodeRune(raw[i:])
			if r == utf8.RuneError && n == 1 {
				return "", false // the caller counts it; encoding/json repairs it
			}
			i += n
		default:
			i++
		}
	}
	return "", false
}

// escape writes the character of the escape at the start of s to the arena
// and returns the escape's length, exactly as encoding/json unquotes it: a
// \u surrogate pair is one rune, a lone or mismatched surrogate is U+FFFD
// (the \u after a lone one is read on its own).
func (d *fastDecoder) escape(s []byte) (int, bool) {
	if len(s) < 2 {
		return 0, false
	}
	var c byte
	switch s[1] {
	case '"', '\\', '/':
		c = s[1]
	case 'b':
		c = '\b'
	case 'f':
		c = '\f'
	case 'n':
		c = '\n'
	case 'r':
		c = '\r'
	case 't':
		c = '\t'
	case 'u':
		rr := getu4(s)
		if rr < 0 {
			return 0, false
		}
		if utf16.IsSurrogate(rr) {
			if dec := utf16.DecodeRune(rr, getu4(s[6:])); dec != unicode.ReplacementChar {
				d.sb.WriteRune(dec)
				return 12, true
			}
			rr = unicode.ReplacementChar
		}
		d.sb.WriteRune(rr)
		return 6, true
	default:
		return 0, false
	}
	d.sb.WriteByte(c)
	return 2, true
}

// getu4 decodes \uXXXX at the start of s, or returns -1.
func getu4(s []byte) rune {
	if len(s) < 6 || s[0] != '\\' || s[1] != 'u' {
		return -1
	}
	var r rune
	for _, c := range s[2:6] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			c = c - 'A' + 10
		default:
			return -1
		}
		r = r*16 + rune(c)
	}
	return r
}

// intField decodes an Int field: a number, a string or null. The common
// forms (an integer of up to 18 digits, as a number or a plain string, "",
// null) are decoded here; any other valid number or string is handed to
// Int.UnmarshalJSON, as encoding/json would, and its error means fallback.
func (d *fastDecoder) intField(dst *Int) bool {
	start := d.pos
	switch c := d.peek(); {
	case c == 'n':
		if !d.literal("null") {
			return false
		}
		*dst = 0
		return true
	case c == '"':
		if v, n, ok := plainInt(d.raw[start+1:], '"'); ok {
			d.pos = start + 1 + n + 1
			*dst = Int(v)
			return true
		}
		if !d.skipString() {
			return false
		}
	case c == '-' || '0' <= c && c <= '9':
		if v, n, ok := plainInt(d.raw[start:], 0); ok && d.numberEnds(start+n) {
			d.pos = start + n
			*dst = Int(v)
			return true
		}
		if !d.number() {
			return false
		}
	default:
		return false
	}
	return dst.UnmarshalJSON(d.raw[start:d.pos]) == nil
}

// plainInt parses -?[0-9]{1,18} at the start of s, followed by end (a
// closing quote) or, when end is 0, by anything but a number's character;
// a number (end 0) may not have a leading zero. It returns the value and the
// length. Up to 18 digits never overflow.
func plainInt(s []byte, end byte) (v int64, n int, ok bool) {
	neg := false
	if n < len(s) && s[n] == '-' {
		neg = true
		n++
	}
	digits := n
	for n < len(s) && '0' <= s[n] && s[n] <= '9' {
		v = v*10 + int64(s[n]-'0')
		n++
	}
	digits = n - digits
	switch {
	case end == '"' && digits == 0 && !neg && n < len(s) && s[n] == '"':
		return 0, 0, true // ""
	case digits == 0 || digits > 18:
		return 0, 0, false
	case end == 0 && digits > 1 && s[n-digits] == '0':
		return 0, 0, false // leading zero: a syntax error
	case end == '"' && (n >= len(s) || s[n] != '"'):
		return 0, 0, false
	}
	if neg {
		v = -v
	}
	return v, n, true
}

// numberEnds reports whether the number ending at i is not continued by a
// fraction or exponent.
func (d *fastDecoder) numberEnds(i int) bool {
	if i >= len(d.raw) {
		return true
	}
	c := d.raw[i]
	return c != '.' && c != 'e' && c != 'E' && (c < '0' || c > '9')
}

// number consumes a JSON number: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func (d *fastDecoder) number() bool {
	raw, i := d.raw, d.pos
	digits := func() bool {
		j := i
		for i < len(raw) && '0' <= raw[i] && raw[i] <= '9' {
			i++
		}
		return i > j
	}
	if i < len(raw) && raw[i] == '-' {
		i++
	}
	switch {
	case i < len(raw) && raw[i] == '0':
		i++
	case !digits():
		return false
	}
	if i < len(raw) && raw[i] == '.' {
		i++
		if !digits() {
			return false
		}
	}
	if i < len(raw) && (raw[i] == 'e' || raw[i] == 'E') {
		i++
		if i < len(raw) && (raw[i] == '+' || raw[i] == '-') {
			i++
		}
		if !digits() {
			return false
		}
	}
	d.pos = i
	return true
}

// skipString consumes a valid JSON string without decoding it.
func (d *fastDecoder) skipString() bool {
	raw := d.raw
	for i := d.pos + 1; i < len(raw); {
		for i < len(raw)-1 && plain[raw[i]] {
			i++
		}
		switch c := raw[i]; {
		case c == '"':
			d.pos = i + 1
			return true
		case c == '\\':
			if i+1 >= len(raw) {
				return false
			}
			switch raw[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if getu4(raw[i:]) < 0 {
					return false
				}
				i += 6
			default:
				return false
			}
		case c < 0x20:
			return false
		case c >= utf8.RuneSelf:
			r, n := utf8.DecodeRune(raw[i:])
			if r == utf8.RuneError && n == 1 {
				return false
			}
			i += n
		default:
			i++
		}
	}
	return false
}

// skip consumes any valid JSON value (validating it, as encoding/json does
// before decoding anything), nested at most maxSkipDepth deep.
func (d *fastDecoder) skip(depth int) bool {
	if depth > maxSkipDepth {
		return false
	}
	d.ws()
	switch d.peek() {
	case '"':
		return d.skipString()
	case 'n':
		return d.literal("null")
	case 't':
		return d.literal("true")
	case 'f':
		return d.literal("false")
	case '{':
		empty, ok := d.objectStart()
		if !ok || empty {
			return ok
		}
		for more := true; more; {
			if _, ok := d.key(); !ok || !d.skip(depth+1) {
				return false
			}
			if more, ok = d.afterValue(); !ok {
				return false
			}
		}
		return true
	case '[':
		d.pos++
		if d.next(']') {
			return true
		}
		for {
			if !d.skip(depth + 1) {
				return false
			}
			d.ws()
			switch d.peek() {
			case ',':
				d.pos++
				continue
			case ']':
				d.pos++
				return true
			}
			return false
		}
	}
	return d.number()
}

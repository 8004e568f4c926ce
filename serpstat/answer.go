package serpstat

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/go-json-experiment/json/jsontext"
)

// This file is the one decoder of paged answers: a streaming reader on
// jsontext (the token layer of encoding/json/v2, from the Go team's
// go-json-experiment module) driven by a Method's columns. It reads every
// documented variant of an answer: numbers as numeric strings and
// strings as numbers, null in any field, keys of any case, alias keys,
// lists as arrays or a single string, unknown keys (kept in Row.Extra),
// an id of any type, invalid UTF-8 (each bad byte read as U+FFFD).
// FuzzDecodeAnswer checks it against encoding/json.

// DecodeAnswer decodes the raw body of an answer of m. A "no data" error
// answer is an empty page with NoData set; another API error is returned
// as its *Error; a body that is not complete JSON is a *BodyError, and a
// well-formed one this version cannot read an *UnexpectedError naming the
// field. It also reads a stored answer again (UnexpectedError.Raw).
func (m *Method) DecodeAnswer(raw []byte) (*Page, error) {
	page, err := m.decodeAnswer(raw)
	var ae *Error
	if errors.As(err, &ae) && ae.Class() == ClassNoData {
		return &Page{NoData: true, Summary: SummaryInfo{Total: TotalUnknown}}, nil
	}
	if err != nil {
		return nil, err
	}
	return page, nil
}

func (m *Method) decodeAnswer(raw []byte) (*Page, error) {
	d := answerDecoder{m: m, raw: raw, page: &Page{Summary: SummaryInfo{Total: TotalUnknown}}}
	if !utf8.Valid(raw) {
		d.page.Repaired = countInvalidUTF8(raw)
	}
	d.keys = m.keyIndex()
	d.valid = d.page.Repaired == 0
	err := d.envelope()
	switch {
	case err == nil:
		return d.page, nil
	case errors.As(err, new(*Error)):
		return nil, err
	case !json.Valid(raw) && !(d.page.Repaired > 0 && json.Valid(bytes.ToValidUTF8(raw, []byte("\uFFFD")))):
		return nil, &BodyError{Err: fmt.Errorf("decode %s answer (%d bytes): %w", m.API, len(raw), err)}
	}
	var ue *UnexpectedError
	if errors.As(err, &ue) {
		ue.Method, ue.Raw, ue.Rows = m.API, raw, len(d.page.Data)
		return nil, ue
	}
	return nil, &UnexpectedError{Method: m.API, Raw: raw, Rows: len(d.page.Data), Err: err}
}

// keyIndex maps every wire key of m, and its lower-case form, to its column.
func (m *Method) keyIndex() map[string]int {
	m.keysOnce.Do(func() {
		m.keys = make(map[string]int)
		for i, c := range m.Columns {
			for _, k := range c.Keys {
				m.keys[k] = i
			}
		}
		for i, c := range m.Columns {
			for _, k := range c.Keys {
				if _, ok := m.keys[strings.ToLower(k)]; !ok {
					m.keys[strings.ToLower(k)] = i
				}
			}
		}
	})
	return m.keys
}

type answerDecoder struct {
	m    *Method
	raw  []byte
	dec  *jsontext.Decoder
	page *Page
	keys map[string]int
	slab []Value // rows' values are cut from it
	seen map[string]bool
	buf  []byte
	// valid is true when the whole answer is valid UTF-8 (no string needs
	// checking); last holds the previous row's member names by position
	// with their columns, since rows of one answer repeat their keys in
	// order (a byte comparison instead of a map lookup).
	valid bool
	last  []lastKey
	// summary is set once result.summary_info was read.
	summary bool
}

type lastKey struct {
	name []byte // the quoted member name
	col  int
}

func (d *answerDecoder) envelope() error {
	d.dec = jsontext.NewDecoder(bytes.NewReader(d.raw), jsontext.AllowInvalidUTF8(true), jsontext.AllowDuplicateNames(true))
	if err := d.open('{', "(answer)"); err != nil {
		return err
	}
	var result, nullResult bool
	var outer []byte // a summary_info beside result (getDistributionTLD's schema)
	for d.dec.PeekKind() != '}' {
		name, err := d.name()
		if err != nil {
			return err
		}
		switch {
		case strings.EqualFold(name, "result"):
			if d.dec.PeekKind() == 'n' {
				d.dec.SkipValue()
				nullResult = true
				continue
			}
			result = true
			if err := d.result(); err != nil {
				return err
			}
		case strings.EqualFold(name, "error"):
			v, err := d.dec.ReadValue()
			if err != nil {
				return err
			}
			if string(v) == "null" {
				continue
			}
			var e Error
			if err := json.Unmarshal(v, &e); err != nil {
				return &UnexpectedError{Field: "error", Value: short(v), Err: err}
			}
			return &e
		case strings.EqualFold(name, "summary_info"):
			v, err := d.dec.ReadValue()
			if err != nil {
				return err
			}
			outer = append(outer[:0], v...)
		default:
			if err := d.dec.SkipValue(); err != nil {
				return err
			}
		}
	}
	if _, err := d.dec.ReadToken(); err != nil {
		return err
	}
	if outer != nil && !d.summary {
		if err := json.Unmarshal(outer, &d.page.Summary); err != nil {
			field, value := summaryField(outer)
			return &UnexpectedError{Field: "summary_info" + field, Value: value, Err: err}
		}
	}
	if _, err := d.dec.ReadToken(); err != io.EOF {
		return errors.New("data after the answer")
	}
	if !result && nullResult {
		return &UnexpectedError{Field: "result", Value: "null"}
	}
	if !result {
		return &UnexpectedError{Field: "result", Value: "nothing (neither result nor error)"}
	}
	return nil
}

// open reads the start of an object ('{') or array ('[') at path.
func (d *answerDecoder) open(kind jsontext.Kind, path string) error {
	if k := d.dec.PeekKind(); k != kind {
		if k == 0 {
			_, err := d.dec.ReadToken()
			return err
		}
		v, err := d.dec.ReadValue()
		if err != nil {
			return err
		}
		return &UnexpectedError{Field: path, Value: short(v)}
	}
	_, err := d.dec.ReadToken()
	return err
}

// name reads an object member's name.
func (d *answerDecoder) name() (string, error) {
	t, err := d.dec.ReadToken()
	if err != nil {
		return "", err
	}
	return t.String(), nil
}

func (d *answerDecoder) result() error {
	if err := d.open('{', "result"); err != nil {
		return err
	}
	for d.dec.PeekKind() != '}' {
		name, err := d.name()
		if err != nil {
			return err
		}
		switch {
		case strings.EqualFold(name, "data"):
			if d.dec.PeekKind() == 'n' {
				d.dec.SkipValue()
				continue
			}
			if d.dec.PeekKind() == '{' && !d.m.Paged() {
				if err := d.object(); err != nil {
					return err
				}
				continue
			}
			if err := d.rows(); err != nil {
				return err
			}
		case strings.EqualFold(name, "summary_info"):
			d.summary = true
			v, err := d.dec.ReadValue()
			if err != nil {
				return err
			}
			if err := json.Unmarshal(v, &d.page.Summary); err != nil {
				field, value := summaryField(v)
				return &UnexpectedError{Field: "result.summary_info" + field, Value: value, Err: err}
			}
		default:
			if err := d.dec.SkipValue(); err != nil {
				return err
			}
		}
	}
	_, err := d.dec.ReadToken()
	return err
}

func (d *answerDecoder) rows() error {
	if err := d.open('[', "result.data"); err != nil {
		return err
	}
	n := len(d.m.Columns)
	for i := 0; d.dec.PeekKind() != ']'; i++ {
		if len(d.slab) < n {
			d.slab = make([]Value, n*256)
		}
		row := Row{Values: d.slab[:n:n]}
		d.slab = d.slab[n:]
		if err := d.row(&row, i); err != nil {
			return err
		}
		d.page.Data = append(d.page.Data, row)
	}
	_, err := d.dec.ReadToken()
	return err
}

// object reads the data of a method that is not paged answered as one
// object (getSummaryV2): one row, or none when the object is empty.
func (d *answerDecoder) object() error {
	v, err := d.dec.ReadValue()
	if err != nil {
		return err
	}
	one := *d
	one.dec = jsontext.NewDecoder(bytes.NewReader(v), jsontext.AllowInvalidUTF8(true), jsontext.AllowDuplicateNames(true))
	if _, err := one.dec.ReadToken(); err != nil {
		return err
	}
	if one.dec.PeekKind() == '}' {
		return nil // {}: no data
	}
	one.dec = jsontext.NewDecoder(bytes.NewReader(v), jsontext.AllowInvalidUTF8(true), jsontext.AllowDuplicateNames(true))
	row := Row{Values: make([]Value, len(d.m.Columns))}
	if err := one.row(&row, 0); err != nil {
		var ue *UnexpectedError
		if errors.As(err, &ue) {
			ue.Field = strings.Replace(ue.Field, "result.data[0]", "result.data", 1)
		}
		return err
	}
	d.seen, d.buf, d.last = one.seen, one.buf, one.last
	d.page.Data = append(d.page.Data, row)
	return nil
}

// row reads one row. A key no column has goes to Extra; a column no key
// filled is null. When two keys fill one column (a key and its alias), a
// value wins over a null, else the later one.
func (d *answerDecoder) row(r *Row, i int) error {
	at := func() string { return "result.data[" + strconv.Itoa(i) + "]" }
	if err := d.open('{', "result.data[?]"); err != nil {
		var ue *UnexpectedError
		if errors.As(err, &ue) {
			ue.Field = at()
		}
		return err
	}
	var filled uint64 // bit c: column c has a value or an explicit null
	var extra []byte
	for pos := 0; d.dec.PeekKind() != '}'; pos++ {
		nt, err := d.dec.ReadValue()
		if err != nil {
			return err
		}
		var c int
		var ok bool
		if pos < len(d.last) && bytes.Equal(d.last[pos].name, nt) {
			c, ok = d.last[pos].col, true
		} else {
			c, ok = d.column(nt)
			if ok && pos <= len(d.last) {
				if pos == len(d.last) {
					d.last = append(d.last, lastKey{})
				}
				d.last[pos] = lastKey{name: append(d.last[pos].name[:0], nt...), col: c}
			}
		}
		if !ok {
			key := d.unquote(nt)
			v, err := d.dec.ReadValue()
			if err != nil {
				return err
			}
			if extra == nil {
				extra = append(extra, '{')
			} else {
				extra = append(extra, ',')
			}
			extra, _ = jsontext.AppendQuote(extra, key)
			extra = append(extra, ':')
			if utf8.Valid(v) {
				extra = append(extra, v...)
			} else {
				extra = append(extra, validUTF8(v)...)
			}
			d.unknown(key)
			continue
		}
		var v Value
		if err := d.value(&v, d.m.Columns[c].Kind); err != nil {
			var ue *UnexpectedError
			if errors.As(err, &ue) {
				ue.Field = at() + "." + d.unquote(nt)
			}
			return err
		}
		if c < 64 && filled&(1<<c) != 0 && v.Null {
			continue // an alias's null does not hide a value
		}
		r.Values[c] = v
		if c < 64 {
			filled |= 1 << c
		}
	}
	if _, err := d.dec.ReadToken(); err != nil {
		return err
	}
	for c := range r.Values {
		if c < 64 && filled&(1<<c) == 0 {
			r.Values[c].Null = true
		}
	}
	if extra != nil {
		r.Extra = append(extra, '}')
	}
	return nil
}

// column finds the column of the quoted member name nt.
func (d *answerDecoder) column(nt jsontext.Value) (int, bool) {
	key := nt[1 : len(nt)-1]
	if bytes.IndexByte(key, '\\') >= 0 {
		key = []byte(d.unquote(nt))
	}
	if c, ok := d.keys[string(key)]; ok {
		return c, true
	}
	if c, ok := d.keys[strings.ToLower(string(key))]; ok {
		return c, true
	}
	for c, col := range d.m.Columns {
		if col.KeyPrefix != "" && len(key) > len(col.KeyPrefix) && strings.EqualFold(string(key[:len(col.KeyPrefix)]), col.KeyPrefix) {
			if d.page.Intersect == nil {
				d.page.Intersect = make(map[string]string)
			}
			d.page.Intersect[col.Name] = string(key[len(col.KeyPrefix):])
			return c, true
		}
	}
	return 0, false
}

func (d *answerDecoder) unknown(key string) {
	if d.seen == nil {
		d.seen = make(map[string]bool)
	}
	if !d.seen[key] {
		d.seen[key] = true
		d.page.UnknownKeys = append(d.page.UnknownKeys, key)
	}
}

// unquote is the text of a JSON string, each invalid UTF-8 byte read as
// U+FFFD as encoding/json reads it.
func (d *answerDecoder) unquote(v jsontext.Value) string {
	s := v[1 : len(v)-1]
	if bytes.IndexByte(s, '\\') < 0 {
		if d.valid || utf8.Valid(s) {
			return string(s)
		}
		return validUTF8(s)
	}
	d.buf, _ = jsontext.AppendUnquote(d.buf[:0], v)
	if d.valid || utf8.Valid(d.buf) {
		return string(d.buf)
	}
	return validUTF8(d.buf)
}

// validUTF8 replaces each invalid byte of b with U+FFFD.
func validUTF8(b []byte) string {
	var sb strings.Builder
	for len(b) > 0 {
		r, size := utf8.DecodeRune(b)
		if r == utf8.RuneError && size == 1 {
			sb.WriteString("\uFFFD")
		} else {
			sb.Write(b[:size])
		}
		b = b[size:]
	}
	return sb.String()
}

// value reads one value of kind into v.
func (d *answerDecoder) value(v *Value, kind Kind) error {
	raw, err := d.dec.ReadValue()
	if err != nil {
		return err
	}
	bad := func() error { return &UnexpectedError{Value: short(raw)} }
	switch raw.Kind() {
	case 'n':
		v.Null = true
		return nil
	case 't', 'f':
		return bad()
	}
	switch kind {
	case KindString, KindDate, KindTimestamp:
		switch raw.Kind() {
		case '"':
			v.Str = d.unquote(raw)
		case '0':
			v.Str = string(raw) // the schema says string, an example a number
		default:
			return bad()
		}
	case KindInt, KindFloat:
		text := string(raw)
		if raw.Kind() == '"' {
			text = strings.TrimSpace(d.unquote(raw))
			if text == "" {
				return nil // "" reads as 0, as the API's numeric strings mean
			}
		} else if raw.Kind() != '0' {
			return bad()
		}
		if kind == KindFloat {
			f, err := strconv.ParseFloat(text, 64)
			if err != nil {
				return bad()
			}
			v.Float = f
			return nil
		}
		n, err := strconv.ParseInt(text, 10, 64)
		if err != nil {
			f, ferr := strconv.ParseFloat(text, 64)
			if ferr != nil || math.IsInf(f, 0) || math.IsNaN(f) {
				return bad()
			}
			n = int64(f)
		}
		v.Int = n
	case KindStrings:
		switch raw.Kind() {
		case '"':
			v.List = []string{d.unquote(raw)}
		case '[':
			list, ok := d.stringList(raw)
			if !ok {
				return bad()
			}
			v.List = list
		default:
			return bad()
		}
	default:
		return fmt.Errorf("column kind %v has no decoder", kind)
	}
	return nil
}

// stringList reads a list column's array, already checked to be valid
// JSON: strings as they are, numbers in encoding/json's float64 form, nulls
// left out; false for an element of another kind (an object, a bool).
func (d *answerDecoder) stringList(raw jsontext.Value) ([]string, bool) {
	list := make([]string, 0, 4)
	i := 1 // past '['
	for {
		for i < len(raw) && (raw[i] == ' ' || raw[i] == '\t' || raw[i] == '\n' || raw[i] == '\r' || raw[i] == ',') {
			i++
		}
		if i >= len(raw) || raw[i] == ']' {
			return list, true
		}
		switch c := raw[i]; {
		case c == '"':
			j := i + 1
			for raw[j] != '"' {
				if raw[j] == '\\' {
					j++
				}
				j++
			}
			list = append(list, d.unquote(raw[i:j+1]))
			i = j + 1
		case c == '-' || (c >= '0' && c <= '9'):
			j := i
			for j < len(raw) && !strings.ContainsRune(" \t\n\r,]", rune(raw[j])) {
				j++
			}
			f, err := strconv.ParseFloat(string(raw[i:j]), 64)
			if err != nil {
				return nil, false
			}
			list = append(list, strconv.FormatFloat(f, 'f', -1, 64))
			i = j
		case c == 'n':
			i += len("null")
		default:
			return nil, false
		}
	}
}

// short is v cut to 80 bytes.
func short(v []byte) string {
	if len(v) > 80 {
		return string(v[:77]) + "..."
	}
	return string(v)
}

// summaryField names the member of a summary_info object SummaryInfo
// cannot read (".total") and its value, or the whole object.
func summaryField(v []byte) (field, value string) {
	var members map[string]json.RawMessage
	if json.Unmarshal(v, &members) != nil {
		return "", short(v)
	}
	for k, mv := range members {
		var err error
		switch strings.ToLower(k) {
		case "left_lines", "page", "count", "total":
			var n Int
			err = json.Unmarshal(mv, &n)
		case "sort", "order":
			var s string
			err = json.Unmarshal(mv, &s)
		}
		if err != nil {
			return "." + k, short(mv)
		}
	}
	return "", short(v)
}

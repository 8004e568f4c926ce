package exporter

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/serpstat-export/serpstat-export/serpstat"
)

// A spooled row is one JSON array on a line: a value per column, then the
// row's unknown keys (an object, or null). It describes itself, so a spool
// is read without its method: null is a null; a string a string, date or
// timestamp; an integer number an integer; a number with a fraction or an
// exponent (written so even when whole: 3.0) a float; an array a list of
// strings. A zero value (0, "", no list) is written 0 and read as the zero
// Value, which it is whatever its kind.

// appendSpoolRow appends r as one spool line, without the newline.
func appendSpoolRow(b []byte, r *serpstat.Row) []byte {
	b = append(b, '[')
	for i := range r.Values {
		if i > 0 {
			b = append(b, ',')
		}
		v := &r.Values[i]
		switch {
		case v.Null:
			b = append(b, "null"...)
		case v.List != nil:
			b = append(b, '[')
			for j, s := range v.List {
				if j > 0 {
					b = append(b, ',')
				}
				b = appendJSONString(b, s)
			}
			b = append(b, ']')
		case v.Str != "":
			b = appendJSONString(b, v.Str)
		case v.Float != 0:
			start := len(b)
			b = strconv.AppendFloat(b, v.Float, 'g', -1, 64)
			if !bytes.ContainsAny(b[start:], ".eE") {
				b = append(b, ".0"...)
			}
		default:
			b = strconv.AppendInt(b, v.Int, 10)
		}
	}
	if len(r.Values) > 0 {
		b = append(b, ',')
	}
	if len(r.Extra) > 0 {
		b = append(b, r.Extra...)
	} else {
		b = append(b, "null"...)
	}
	return append(b, ']')
}

func appendJSONString(b []byte, s string) []byte {
	out, err := jsontext.AppendQuote(b, s)
	if err != nil {
		// Invalid UTF-8 (the decoder repairs it, so never from an answer).
		out, _ = jsontext.AppendQuote(b, strings.ToValidUTF8(s, "\uFFFD"))
	}
	return out
}

// parseSpoolRow reads a line appendSpoolRow wrote.
func parseSpoolRow(line []byte) (serpstat.Row, error) {
	var elems []json.RawMessage
	if err := json.Unmarshal(line, &elems); err != nil {
		return serpstat.Row{}, err
	}
	if len(elems) == 0 {
		return serpstat.Row{}, errors.New("an empty row")
	}
	r := serpstat.Row{Values: make([]serpstat.Value, len(elems)-1)}
	for i, e := range elems[:len(elems)-1] {
		v := &r.Values[i]
		switch {
		case len(e) == 0:
			return r, fmt.Errorf("value %d is empty", i+1)
		case string(e) == "null":
			v.Null = true
		case e[0] == '"':
			if err := json.Unmarshal(e, &v.Str); err != nil {
				return r, fmt.Errorf("value %d: %w", i+1, err)
			}
		case e[0] == '[':
			v.List = []string{}
			if err := json.Unmarshal(e, &v.List); err != nil {
				return r, fmt.Errorf("value %d: %w", i+1, err)
			}
		case bytes.ContainsAny(e, ".eE"):
			f, err := strconv.ParseFloat(string(e), 64)
			if err != nil || math.IsInf(f, 0) {
				return r, fmt.Errorf("value %d: not a float: %s", i+1, e)
			}
			v.Float = f
		default:
			n, err := strconv.ParseInt(string(e), 10, 64)
			if err != nil {
				return r, fmt.Errorf("value %d: not an integer: %s", i+1, e)
			}
			v.Int = n
		}
	}
	if last := elems[len(elems)-1]; string(last) != "null" {
		if len(last) == 0 || last[0] != '{' {
			return r, errors.New("the unknown keys are not an object")
		}
		r.Extra = bytes.Clone(last)
	}
	return r, nil
}

// AppendRow appends r as one line of the spool's row format, without the
// newline; ParseRow reads it back. Rows kept on disk outside a spool (the
// rows a run defers for its shared outputs) use the same format.
func AppendRow(b []byte, r *serpstat.Row) []byte { return appendSpoolRow(b, r) }

// ParseRow reads a line AppendRow wrote.
func ParseRow(line []byte) (serpstat.Row, error) { return parseSpoolRow(line) }

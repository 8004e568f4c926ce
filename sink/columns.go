package sink

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"

	"github.com/serpstat-export/serpstat-export/serpstat"
)

// This file holds what the three formats share about a method's columns:
// the check that a row fits its method, and the JSON forms of the values
// that are not plain text or integers (floats, lists, the extra column).

// errNilMethod is the panic of a constructor given no method.
const errNilMethod = "sink: a writer needs a method (a *serpstat.Method), got nil"

// rowFits returns an error when r does not have one Value a column of m.
func rowFits(m *serpstat.Method, r *serpstat.Row) error {
	if len(r.Values) != len(m.Columns) {
		return fmt.Errorf("sink: a row of %d values, but method %s has %d columns", len(r.Values), m.Name, len(m.Columns))
	}
	return nil
}

// finite tells whether f can be written as a JSON number: NaN and the
// infinities cannot, and are written as nulls.
func finite(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) }

// appendJSONFloat appends f as encoding/json writes a float64: the
// shortest decimal that reads back as f, in exponent form only below 1e-6
// or from 1e21 on. f must be finite.
func appendJSONFloat(dst []byte, f float64) []byte {
	abs := math.Abs(f)
	format := byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	dst = strconv.AppendFloat(dst, f, format, -1, 64)
	if format == 'e' {
		// Clean up e-09 to e-9, as encoding/json does.
		n := len(dst)
		if n >= 4 && dst[n-4] == 'e' && dst[n-3] == '-' && dst[n-2] == '0' {
			dst[n-2] = dst[n-1]
			dst = dst[:n-1]
		}
	}
	return dst
}

// appendJSONList appends list as a JSON array of strings:
// ["windows","linux"]; an empty list is [].
func appendJSONList(dst []byte, list []string) []byte {
	dst = append(dst, '[')
	for i, s := range list {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendJSONString(dst, s)
	}
	return append(dst, ']')
}

// appendExtra appends the JSON object of a row's unknown keys, compact
// and on one line. The decoder keeps their values as the answer wrote
// them, which may be indented over lines (an NDJSON line must not
// break); such an object is compacted.
func appendExtra(dst []byte, extra json.RawMessage) []byte {
	if !spaced(extra) {
		return append(dst, extra...)
	}
	buf := bytes.NewBuffer(dst)
	if err := json.Compact(buf, extra); err != nil {
		// Not JSON (the decoder never makes such an object): written as
		// one JSON string rather than breaking the line.
		return appendJSONString(dst, string(extra))
	}
	return buf.Bytes()
}

// spaced tells whether b holds a JSON whitespace byte (maybe inside a
// string: then compacting it changes nothing).
func spaced(b []byte) bool {
	for _, c := range b {
		if c <= ' ' && (c == ' ' || c == '\n' || c == '\r' || c == '\t') {
			return true
		}
	}
	return false
}

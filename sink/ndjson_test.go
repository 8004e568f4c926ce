package sink

import (
	"bytes"
	"encoding/json"
	"math"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/require"

	"github.com/serpstat-export/serpstat-export/serpstat"
	"github.com/serpstat-export/serpstat-export/serpstat/backlinks"
	"github.com/serpstat-export/serpstat-export/serpstat/serpstattest"
)

func TestNDJSONGolden(t *testing.T) {
	var buf bytes.Buffer
	w := NewNDJSON(&buf, nb)
	require.NoError(t, w.Write(backlinkRows(awkwardRows)))
	require.NoError(t, w.Close())
	golden(t, "awkward.ndjson", buf.Bytes())
}

// encodeJSON is what encoding/json writes for a row with HTML escaping off.
func encodeJSON(t testing.TB, r serpstattest.Backlink) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	require.NoError(t, enc.Encode(r))
	return buf.Bytes()
}

// TestNDJSONMatchesEncodingJSON requires the hand-written encoder to write
// for a new-backlinks row the bytes encoding/json writes for a
// serpstattest.Backlink.
func TestNDJSONMatchesEncodingJSON(t *testing.T) {
	rows := append([]serpstattest.Backlink{{}}, awkwardRows...)
	rows = append(rows, serpstattest.Backlink{LinkText: string(allBytes()), LinksExt: -9223372036854775808})
	for i, r := range rows {
		want := string(encodeJSON(t, r))
		require.Equal(t, want, string(newRowEncoder(nb).appendRow(nil, false, &backlinkRows([]serpstattest.Backlink{r})[0])), "row %d", i)
		var buf bytes.Buffer
		w := NewNDJSON(&buf, nb)
		require.NoError(t, w.Write(backlinkRows([]serpstattest.Backlink{r})))
		require.NoError(t, w.Close())
		require.Equal(t, want, buf.String(), "row %d", i)
	}
}

// encodeRow is what encoding/json writes, HTML escaping off, for a row of
// m as NDJSON promises it: an object of the output columns in order,
// each value by its kind, null for a null.
func encodeRow(t testing.TB, m *serpstat.Method, r *serpstat.Row) string {
	enc := func(v any) string {
		var buf bytes.Buffer
		e := json.NewEncoder(&buf)
		e.SetEscapeHTML(false)
		require.NoError(t, e.Encode(v))
		return strings.TrimSuffix(buf.String(), "\n")
	}
	var b strings.Builder
	b.WriteByte('{')
	for c, col := range m.Columns {
		if c > 0 {
			b.WriteByte(',')
		}
		b.WriteString(enc(col.Name) + ":")
		v := r.Values[c]
		switch {
		case v.Null:
			b.WriteString("null")
		case col.Kind == serpstat.KindInt:
			b.WriteString(enc(v.Int))
		case col.Kind == serpstat.KindFloat:
			if math.IsNaN(v.Float) || math.IsInf(v.Float, 0) {
				b.WriteString("null")
			} else {
				b.WriteString(enc(v.Float))
			}
		case col.Kind == serpstat.KindStrings:
			b.WriteString(enc(v.List))
		default:
			b.WriteString(enc(v.Str))
		}
	}
	if m.Extra {
		b.WriteString(`,"extra":`)
		if len(r.Extra) == 0 {
			b.WriteString("null")
		} else {
			b.WriteString(enc(r.Extra)) // a RawMessage, compacted
		}
	}
	b.WriteString("}\n")
	return b.String()
}

// TestNDJSONMatchesEncodingJSONMethods: for rows of every method and every
// kind, each line is what encoding/json writes for its values.
func TestNDJSONMatchesEncodingJSONMethods(t *testing.T) {
	methods := append([]*serpstat.Method{everyKind}, backlinks.Methods...)
	for _, m := range methods {
		t.Run(m.Name, func(t *testing.T) {
			rows := syntheticRows(m, 300)
			switch m {
			case backlinks.Threats:
				rows = append(rows, threatRows...)
			case backlinks.RefDomains:
				rows = append(rows, refDomainRows...)
			}
			var buf bytes.Buffer
			w := NewNDJSON(&buf, m)
			require.NoError(t, w.Write(rows))
			require.NoError(t, w.Close())
			lines := strings.SplitAfter(buf.String(), "\n")
			require.Equal(t, "", lines[len(lines)-1])
			require.Len(t, lines, len(rows)+1)
			for i := range rows {
				require.Equal(t, encodeRow(t, m, &rows[i]), lines[i], "row %d", i)
			}
		})
	}
}

// TestJSONFloat compares the float form with encoding/json's.
func TestJSONFloat(t *testing.T) {
	for _, f := range []float64{0, math.Copysign(0, -1), 1, -1, 0.1, 1.5, 1e-6, 9.99e-7, 1e-7, 1.25e-10, 1e20, 1e21, 123456789e15,
		-1e21, math.MaxFloat64, math.SmallestNonzeroFloat64, 1 / 3.0, 100, 1e300} {
		want, err := json.Marshal(f)
		require.NoError(t, err)
		require.Equal(t, string(want), string(appendJSONFloat(nil, f)), "%v", f)
	}
}

func FuzzJSONFloat(f *testing.F) {
	f.Add(1.5)
	f.Add(1e-7)
	f.Add(1e21)
	f.Fuzz(func(t *testing.T, x float64) {
		if !finite(x) {
			return
		}
		want, err := json.Marshal(x)
		require.NoError(t, err)
		require.Equal(t, string(want), string(appendJSONFloat(nil, x)))
	})
}

// allBytes returns every byte value, which covers each escape and every
// kind of invalid UTF-8 lead byte.
func allBytes() []byte {
	b := make([]byte, 256)
	for i := range b {
		b[i] = byte(i)
	}
	return b
}

func FuzzAppendJSONString(f *testing.F) {
	for _, r := range awkwardRows {
		f.Add(r.LinkText)
		f.Add(r.URLFrom)
	}
	f.Add(string(allBytes()))
	f.Fuzz(func(t *testing.T, s string) {
		got := appendJSONString(nil, s)
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		require.NoError(t, enc.Encode(s))
		require.Equal(t, bytes.TrimSuffix(buf.Bytes(), []byte("\n")), got)
		var back string
		require.NoError(t, json.Unmarshal(got, &back))
		require.Equal(t, validUTF8(s), back)
	})
}

// TestPlain8 compares the eight-byte test with the byte table, for every
// byte value at every position, among plain bytes and among others.
func TestPlain8(t *testing.T) {
	for _, fill := range []byte{'a', '~', ' ', 0x7f, '"', 0xff, 0} {
		for pos := range 8 {
			for b := range 256 {
				s := bytes.Repeat([]byte{fill}, 8)
				s[pos] = byte(b)
				want := true
				for _, c := range s {
					want = want && c < utf8.RuneSelf && jsonSafe[c]
				}
				require.Equal(t, want, plain8(load8(string(s), 0)), "%q", s)
			}
		}
	}
}

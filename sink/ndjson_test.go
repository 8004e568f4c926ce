package sink

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/serpstat-export/serpstat-export/serpstat"
)

func TestNDJSONGolden(t *testing.T) {
	var buf bytes.Buffer
	w := NewNDJSON(&buf)
	require.NoError(t, w.Write(awkwardRows))
	require.NoError(t, w.Close())
	golden(t, "awkward.ndjson", buf.Bytes())
}

// encodeJSON is what encoding/json writes for a row with HTML escaping off.
func encodeJSON(t testing.TB, r serpstat.Backlink) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	require.NoError(t, enc.Encode(r))
	return buf.Bytes()
}

// TestNDJSONMatchesEncodingJSON requires the hand-written encoder to write
// the bytes encoding/json writes.
func TestNDJSONMatchesEncodingJSON(t *testing.T) {
	rows := append([]serpstat.Backlink{{}}, awkwardRows...)
	rows = append(rows, serpstat.Backlink{LinkText: string(allBytes()), LinksExt: -9223372036854775808})
	for i, r := range rows {
		require.Equal(t, string(encodeJSON(t, r)), string(appendNDJSON(nil, &r)), "row %d", i)
	}
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

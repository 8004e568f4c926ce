package exporter

import (
	"bytes"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/serpstat-export/serpstat-export/serpstat"
)

// countUnknown adds to counts, for each unknown key of a row (its Extra),
// one row: how many written rows held each key.
func countUnknown(counts map[string]int64, rows []serpstat.Row) map[string]int64 {
	for i := range rows {
		if len(rows[i].Extra) == 0 {
			continue
		}
		if counts == nil {
			counts = make(map[string]int64)
		}
		for _, k := range extraKeys(rows[i].Extra) {
			counts[k]++
		}
	}
	return counts
}

// extraKeys are the member names of a row's Extra object.
func extraKeys(extra []byte) []string {
	dec := jsontext.NewDecoder(bytes.NewReader(extra))
	if tok, err := dec.ReadToken(); err != nil || tok.Kind() != '{' {
		return nil
	}
	var keys []string
	for dec.PeekKind() == '"' {
		tok, err := dec.ReadToken()
		if err != nil {
			return keys
		}
		keys = append(keys, tok.String())
		if err := dec.SkipValue(); err != nil {
			return keys
		}
	}
	return keys
}

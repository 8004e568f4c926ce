package serpstattest

import (
	"encoding/json"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/serpstat-export/serpstat-export/serpstat"
)

// This file is the fake's side of the params a method documents beyond
// the common ones (serpstat.Method.Params): decoded and checked by the
// descriptor, and, where the fake knows what they mean, applied to the
// rows: getAnchors' anchor and count.

// decodeExtra decodes the value of m's own param p from raw as the spec
// types it (a JSON string for KindString, a number for KindInt) and
// checks it as the descriptor does; the error is a schema error's
// detail.
func decodeExtra(p *serpstat.Param, raw json.RawMessage) (string, string) {
	var text string
	if p.Kind == serpstat.KindInt {
		var n json.Number
		if err := json.Unmarshal(raw, &n); err != nil {
			return "", "params." + p.Name + ": must be an integer"
		}
		text = n.String()
	} else if err := json.Unmarshal(raw, &text); err != nil {
		return "", "params." + p.Name + ": must be a string"
	}
	if msg := p.Check(text); msg != "" {
		return text, "params." + p.Name + ": " + msg
	}
	return text, ""
}

// extraMatch selects the rows a method's own params ask for: getAnchors'
// anchor (rows whose anchor holds it, in any case) and count (rows whose
// anchor has exactly that many words, as strings.Fields splits them). A
// nil *extraMatch selects every row.
type extraMatch struct {
	col    int    // the anchor column
	anchor string // lower case; "" for any
	words  int    // 0 for any
}

// newExtraMatch is the match of m's params extra, nil when none of them
// selects rows.
func newExtraMatch(m *serpstat.Method, extra map[string]string) *extraMatch {
	col := m.ColumnIndex("anchor")
	if col < 0 || m.Param("anchor") == nil {
		return nil
	}
	x := &extraMatch{col: col, anchor: strings.ToLower(extra["anchor"])}
	if n, err := strconv.Atoi(extra["count"]); err == nil {
		x.words = n
	}
	if x.anchor == "" && x.words == 0 {
		return nil
	}
	return x
}

func (x *extraMatch) match(r *mrow) bool {
	if x == nil {
		return true
	}
	a := r.vals[x.col].Str
	if x.anchor != "" && !strings.Contains(strings.ToLower(a), x.anchor) {
		return false
	}
	return x.words == 0 || len(strings.Fields(a)) == x.words
}

// extraKey is extra as NAME=VALUE pairs by name, for cache and page keys;
// "" for none.
func extraKey(extra map[string]string) string {
	if len(extra) == 0 {
		return ""
	}
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(extra)) {
		b.WriteString(strconv.Quote(k) + "=" + strconv.Quote(extra[k]) + ";")
	}
	return b.String()
}

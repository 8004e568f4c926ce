package serpstat_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/serpstat-export/serpstat-export/serpstat"
	"github.com/serpstat-export/serpstat-export/serpstat/backlinks"
)

// fuzzMethods are the methods FuzzDecodeAnswer decodes for: plain string
// and integer columns, alias keys (domainRank), a key prefix (intersect),
// lists (threats).
var fuzzMethods = []*serpstat.Method{backlinks.NewBacklinks, backlinks.RefDomains, backlinks.Intersect, backlinks.Threats, backlinks.Anchors}

// FuzzDecodeAnswer checks Method.DecodeAnswer against encoding/json: when
// the decoder accepts an answer, encoding/json reading the same bytes into
// maps and values finds the same rows, value by value (a missing key
// null, an alias's null not hiding a value), the same unknown keys with
// the same values, and the same total. It replaces the fuzz test of the
// hand-written getNewBacklinks decoder.
func FuzzDecodeAnswer(f *testing.F) {
	for i, s := range fuzzSeeds {
		f.Add(uint8(i), []byte(s))
	}
	// raw is tried as a whole answer and, so that mutations reach the
	// value decoders rather than break the envelope, spliced into one.
	templates := []string{
		`{"result":{"data":[{"url_from":%s,"domain_rank":1,"anchor":"x"}]}}`,
		`{"result":{"data":[{"domain_rank":%s,"domainRank":2,"total":%[1]s,"platform_type":%[1]s}],"summary_info":{"page":1}}}`,
		`{"result":{"data":[{"%s":"v","Domain":1}],"summary_info":{"total":3}}}`,
		`{"result":{"data":[%s]}}`,
	}
	f.Fuzz(func(t *testing.T, which uint8, raw []byte) {
		m := fuzzMethods[int(which)%len(fuzzMethods)]
		checkAnswer(t, m, raw)
		if len(raw) > 200 {
			return
		}
		for _, tmpl := range templates {
			checkAnswer(t, m, fmt.Appendf(nil, tmpl, raw))
		}
	})
}

// TestFuzzSeedsAreRows: the seeds of FuzzDecodeAnswer are answers its
// methods read, with rows, so the fuzz compares values from the start.
func TestFuzzSeedsAreRows(t *testing.T) {
	for i, s := range fuzzSeeds[:8] {
		m := fuzzMethods[i%len(fuzzMethods)]
		page, err := m.DecodeAnswer([]byte(s))
		if err != nil {
			t.Fatalf("seed %d (%s): %v", i, m.Name, err)
		}
		if i != 1 && len(page.Data) == 0 {
			t.Fatalf("seed %d (%s): no rows", i, m.Name)
		}
		checkAnswer(t, m, []byte(s))
	}
}

var fuzzSeeds = []string{
	`{"id":1,"result":{"data":[{"url_from":"a","url_to":"b","nofollow":"follow","link_type":"href","links_ext":3,"link_text":"t","first_seen":"2024-01-02","last_visited":"2024-01-03 04:05:06","domain_rank":"25"}],"summary_info":{"total":1,"page":1}}}`,
	`{"result":{"data":[],"summary_info":{"total":null}}}`,
	`{"result":{"data":[{"domain_from":"x.com","ref_pages":"12","domainRank":null,"domain_rank":7,"new":[1,{"a":null}]}],"summary_info":{"total":"5"}}}`,
	`{"result":{"data":[{"Domain":"d.com","SDR":3,"Links count for domain #1 gepur.com":"4","Links count for domain #2 b.com":null}]}}`,
	`{"result":{"data":[{"domain":"bad.com","link_from":"x","platform_type":["windows",2,null],"threat_type":"MALWARE","lastupdate":"2024-01-01","links_count":" 2.5e1 "}]}}`,
	`{"result":{"data":[{"anchor":"\ud83d\ude80 \ud800\u0041 \"\\\/\b\f\n\r\t","refDomains":-12.5E-1,"total":"","noFollow":1}]}}`,
	"{\"result\":{\"data\":[{\"anchor\":\"Caf\xe9 \xff\",\"total\":1}]}}",
	`{"result":{"data":[{"URL_FROM":"a","ſ":1,"url_from":null}]},"error":null}`,
	`{"error":{"code":32017,"message":"no data"}}`,
}

// member is one name and value of a JSON object, in order, duplicates
// kept.
type member struct {
	name  string
	value json.RawMessage
}

// members reads an object's members with encoding/json; ok is false when
// raw is not an object.
func members(raw []byte) (out []member, ok bool) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, false
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, false
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, false
		}
		out = append(out, member{tok.(string), v})
	}
	return out, true
}

// lookup is the value of the only member named name in any case; ok is
// false when there is none or more than one (the reference then has no
// say).
func lookup(ms []member, name string) (json.RawMessage, bool) {
	var v json.RawMessage
	n := 0
	for _, m := range ms {
		if strings.EqualFold(m.name, name) {
			v = m.value
			n++
		}
	}
	return v, n == 1
}

func checkAnswer(t *testing.T, m *serpstat.Method, raw []byte) {
	page, err := m.DecodeAnswer(raw)
	if err != nil || page.NoData {
		return
	}
	// encoding/json reads each invalid UTF-8 byte of a string as U+FFFD,
	// as DecodeAnswer does: the reference reads raw itself.
	valid := raw
	if !json.Valid(valid) {
		t.Fatalf("%s: DecodeAnswer accepted what encoding/json calls invalid: %q", m.Name, raw)
	}
	env, _ := members(valid)
	result, ok := lookup(env, "result")
	if !ok {
		return
	}
	res, _ := members(result)
	data, ok := lookup(res, "data")
	if !ok {
		return
	}
	var rows []json.RawMessage
	if string(data) != "null" {
		if err := json.Unmarshal(data, &rows); err != nil {
			t.Fatalf("%s: data decoded, but is not an array to encoding/json: %s", m.Name, data)
		}
	}
	if len(rows) != len(page.Data) {
		t.Fatalf("%s: %d rows, encoding/json finds %d in %q", m.Name, len(page.Data), len(rows), raw)
	}
	for i, r := range rows {
		want, extra, ok := referenceRow(m, r)
		if !ok {
			continue
		}
		got := page.Data[i]
		for c := range want {
			if !sameValue(want[c], got.Values[c]) {
				t.Fatalf("%s: row %d column %s: decoded %+v, encoding/json reads %+v, in %q", m.Name, i, m.Columns[c].Name, got.Values[c], want[c], raw)
			}
		}
		gotExtra, _ := members(got.Extra)
		if len(got.Extra) > 0 && gotExtra == nil {
			t.Fatalf("%s: row %d: Extra is not an object: %s", m.Name, i, got.Extra)
		}
		if len(gotExtra) != len(extra) {
			t.Fatalf("%s: row %d: unknown keys %v, encoding/json finds %v, in %q", m.Name, i, gotExtra, extra, raw)
		}
		for k := range extra {
			if gotExtra[k].name != extra[k].name || !sameJSON(gotExtra[k].value, extra[k].value) {
				t.Fatalf("%s: row %d: unknown key %q=%s, encoding/json finds %q=%s", m.Name, i, gotExtra[k].name, gotExtra[k].value, extra[k].name, extra[k].value)
			}
		}
	}
	if sum, ok := lookup(res, "summary_info"); ok {
		if ms, ok := members(sum); ok {
			if tv, ok := lookup(ms, "total"); ok && page.Summary.Total >= 0 {
				var n json.Number
				if json.Unmarshal(tv, &n) == nil {
					if v, err := n.Int64(); err == nil && v != int64(page.Summary.Total) {
						t.Fatalf("%s: total %d, encoding/json reads %s", m.Name, page.Summary.Total, tv)
					}
				}
			}
		}
	}
}

// referenceRow decodes one row of m with encoding/json: ok is false when
// the row is not one the reference can judge (not an object).
func referenceRow(m *serpstat.Method, raw json.RawMessage) (vals []serpstat.Value, extra []member, ok bool) {
	ms, ok := members(raw)
	if !ok {
		return nil, nil, false
	}
	exact, lower := map[string]int{}, map[string]int{}
	for c, col := range m.Columns {
		for _, k := range col.Keys {
			exact[k] = c
		}
	}
	for c, col := range m.Columns {
		for _, k := range col.Keys {
			if _, ok := lower[strings.ToLower(k)]; !ok {
				lower[strings.ToLower(k)] = c
			}
		}
	}
	column := func(key string) (int, bool) {
		if c, ok := exact[key]; ok {
			return c, true
		}
		if c, ok := lower[strings.ToLower(key)]; ok {
			return c, true
		}
		for c, col := range m.Columns {
			if col.KeyPrefix != "" && len(key) > len(col.KeyPrefix) && strings.EqualFold(key[:len(col.KeyPrefix)], col.KeyPrefix) {
				return c, true
			}
		}
		return 0, false
	}
	vals = make([]serpstat.Value, len(m.Columns))
	filled := make([]bool, len(m.Columns))
	for _, mb := range ms {
		c, ok := column(mb.name)
		if !ok {
			extra = append(extra, mb)
			continue
		}
		v, ok := referenceValue(m.Columns[c].Kind, mb.value)
		if !ok {
			return nil, nil, false
		}
		if filled[c] && v.Null {
			continue
		}
		vals[c], filled[c] = v, true
	}
	for c := range vals {
		if !filled[c] {
			vals[c].Null = true
		}
	}
	return vals, extra, true
}

// referenceValue reads a value of kind as the spec's variants mean it.
func referenceValue(kind serpstat.Kind, raw json.RawMessage) (v serpstat.Value, ok bool) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var x any
	if err := dec.Decode(&x); err != nil {
		return v, false
	}
	if x == nil {
		return serpstat.Value{Null: true}, true
	}
	switch kind {
	case serpstat.KindString, serpstat.KindDate, serpstat.KindTimestamp:
		switch s := x.(type) {
		case string:
			v.Str = s
		case json.Number:
			v.Str = string(s)
		default:
			return v, false
		}
	case serpstat.KindInt, serpstat.KindFloat:
		var text string
		switch s := x.(type) {
		case string:
			text = strings.TrimSpace(s)
			if text == "" {
				return v, true
			}
		case json.Number:
			text = string(s)
		default:
			return v, false
		}
		if kind == serpstat.KindFloat {
			f, err := strconv.ParseFloat(text, 64)
			v.Float = f
			return v, err == nil
		}
		n, err := strconv.ParseInt(text, 10, 64)
		if err != nil {
			f, ferr := strconv.ParseFloat(text, 64)
			if ferr != nil || math.IsInf(f, 0) || math.IsNaN(f) {
				return v, false
			}
			n = int64(f)
		}
		v.Int = n
	case serpstat.KindStrings:
		switch s := x.(type) {
		case string:
			v.List = []string{s}
		case []any:
			v.List = []string{}
			for _, it := range s {
				switch y := it.(type) {
				case string:
					v.List = append(v.List, y)
				case json.Number:
					f, err := strconv.ParseFloat(string(y), 64)
					if err != nil {
						return v, false
					}
					v.List = append(v.List, strconv.FormatFloat(f, 'f', -1, 64))
				case nil:
				default:
					return v, false
				}
			}
		default:
			return v, false
		}
	}
	return v, true
}

func sameValue(a, b serpstat.Value) bool {
	return a.Null == b.Null && a.Str == b.Str && a.Int == b.Int && a.Float == b.Float && reflect.DeepEqual(a.List, b.List)
}

func sameJSON(a, b []byte) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return bytes.Equal(a, b)
	}
	return reflect.DeepEqual(x, y)
}

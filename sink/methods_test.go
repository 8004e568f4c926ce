package sink

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"
	"github.com/stretchr/testify/require"

	"github.com/serpstat-export/serpstat-export/serpstat"
	"github.com/serpstat-export/serpstat-export/serpstat/backlinks"
)

// This file is the suite shared by the three formats for rows of any
// method: each format's output is read back by a standard reader into
// serpstat.Row values, by the method's column kinds.

// everyKind is a method with a column of each Kind and the extra column,
// floats included (no Backlinks method has one yet).
var everyKind = &serpstat.Method{
	Name: "every-kind", API: "Test.getEveryKind",
	Columns: []serpstat.Column{
		{Name: "text", Kind: serpstat.KindString, Keys: []string{"text"}},
		{Name: "count", Kind: serpstat.KindInt, Keys: []string{"count"}},
		{Name: "share", Kind: serpstat.KindFloat, Keys: []string{"share"}},
		{Name: "day", Kind: serpstat.KindDate, Keys: []string{"day"}},
		{Name: "at", Kind: serpstat.KindTimestamp, Keys: []string{"at"}},
		{Name: "tags", Kind: serpstat.KindStrings, Keys: []string{"tags"}},
	},
	Extra: true,
}

// threatRows are rows of backlinks.Threats with every case of its kinds:
// lists of several, one or no names and null lists, awkward text, null
// integers and dates, unknown keys (one spanning lines, as an answer may
// indent them).
var threatRows = []serpstat.Row{
	{Values: []serpstat.Value{
		{Str: "malware.example"}, {Str: "https://shop.test/a?b=1&c=2"}, {Int: 12},
		{List: []string{"windows", "linux"}}, {List: []string{"malware", "phishing"}}, {Str: "2025-01-23"},
	}},
	{Values: []serpstat.Value{
		{Str: `say "hi", then leave`}, {Str: "line one\nline two\r\nend"}, {Int: 0},
		{List: []string{"android"}}, {List: []string{}}, {Str: "1970-01-01"},
	}, Extra: json.RawMessage(`{"risk":"high","score":9.5}`)},
	{Values: []serpstat.Value{
		{Str: "=HYPERLINK(\"http://evil.test\")"}, {Str: "+1+2"}, {Int: -5},
		{List: []string{"=cmd", `quote " and, comma`}}, {Null: true}, {Null: true},
	}, Extra: json.RawMessage("{\"nested\": {\n  \"a\": [1, 2],\n  \"b\": null\n}}")},
	{Values: []serpstat.Value{
		{Null: true}, {Null: true}, {Null: true},
		{Null: true}, {Null: true}, {Str: ""},
	}},
	{Values: []serpstat.Value{
		{Str: "é 日本語 🚀 bad-\xff-utf8"}, {Str: "line\u2028separator <b>&amp;</b>"}, {Int: 9223372036854775807},
		{List: []string{"OS X", "é", ""}}, {List: []string{"unwanted software"}}, {Str: "2024-02-29"},
	}, Extra: json.RawMessage(`{"Mixed Case Key":"v","list":["x"]}`)},
}

// refDomainRows are rows of backlinks.RefDomains: integers, nulls, text.
var refDomainRows = []serpstat.Row{
	{Values: []serpstat.Value{{Str: "blog.example"}, {Int: 120}, {Int: 37}}},
	{Values: []serpstat.Value{{Str: "-dash.example"}, {Int: 0}, {Null: true}}, Extra: json.RawMessage(`{"domain_links":"7"}`)},
	{Values: []serpstat.Value{{Null: true}, {Null: true}, {Int: -1}}},
	{Values: []serpstat.Value{{Str: "xn--80ak6aa92e.example"}, {Int: 9223372036854775807}, {Int: 100}}},
}

// syntheticRows returns n rows of m, every value made from its row and
// column number: text of every awkward kind, nulls, empty and long lists,
// valid and invalid dates, unknown keys every few rows.
func syntheticRows(m *serpstat.Method, n int) []serpstat.Row {
	texts := []string{"plain", `quote " and, comma`, "new\nline\r\nand\rcr", "\ttab", "é 日本語 🚀",
		"=1+1", "", `back\slash`, "line\u2028sep", "nul \x00 byte", "bad \xff\xfe utf8", "-minus", "@at"}
	days := []string{"1970-01-01", "1969-12-31", "2024-02-29", "2099-12-31", "2023-02-29", ""}
	times := []string{"1970-01-01 00:00:00", "1969-12-31 23:59:59", "2038-01-19 03:14:08", "2024-01-01 24:00:00"}
	floats := []float64{0, 1.5, -2.25, 1e-7, 123456789012345678901234.0, 0.1, math.MaxFloat64, math.SmallestNonzeroFloat64}
	rows := make([]serpstat.Row, n)
	for i := range rows {
		vals := make([]serpstat.Value, len(m.Columns))
		for c, col := range m.Columns {
			k := i*7 + c*3
			if k%11 == 5 {
				vals[c] = serpstat.Value{Null: true}
				continue
			}
			switch col.Kind {
			case serpstat.KindInt:
				vals[c].Int = int64(k*1009) - 500
			case serpstat.KindFloat:
				vals[c].Float = floats[k%len(floats)]
			case serpstat.KindDate:
				vals[c].Str = days[k%len(days)]
			case serpstat.KindTimestamp:
				vals[c].Str = times[k%len(times)]
			case serpstat.KindStrings:
				vals[c].List = []string{}
				for j := range k % 4 {
					vals[c].List = append(vals[c].List, texts[(k+j)%len(texts)])
				}
			default:
				vals[c].Str = fmt.Sprintf("%s %d", texts[k%len(texts)], i)
			}
		}
		rows[i] = serpstat.Row{Values: vals}
		if i%3 == 1 {
			note, _ := json.Marshal(texts[i%len(texts)])
			rows[i].Extra = json.RawMessage(fmt.Sprintf(`{"unknown_%d": %d, "note":%s}`, i%5, i, note))
		}
	}
	return rows
}

// rowFormat is one output format as the method suite sees it.
type rowFormat struct {
	name string
	new  func(io.Writer, *serpstat.Method) RowWriter
	read func(t *testing.T, m *serpstat.Method, b []byte) []serpstat.Row
	// want is what read gives back for a row written.
	want func(m *serpstat.Method, r serpstat.Row) serpstat.Row
}

var rowFormats = []rowFormat{
	{
		name: "csv",
		new:  func(w io.Writer, m *serpstat.Method) RowWriter { return NewCSV(w, m) },
		read: readCSVRows,
		// An empty cell is both "" and null: it reads back as null.
		// encoding/csv's Reader turns "\r\n" in a quoted field into "\n".
		want: func(m *serpstat.Method, r serpstat.Row) serpstat.Row {
			r = writtenRow(m, r)
			for c := range r.Values {
				v := &r.Values[c]
				if !v.Null && m.Columns[c].Kind != serpstat.KindStrings && m.Columns[c].Kind != serpstat.KindInt && m.Columns[c].Kind != serpstat.KindFloat {
					v.Str = strings.ReplaceAll(v.Str, "\r\n", "\n")
					if v.Str == "" {
						*v = serpstat.Value{Null: true}
					}
				}
				if m.Columns[c].Kind == serpstat.KindStrings && !v.Null {
					v.List = mapStrings(v.List, validUTF8) // the cell is JSON
				}
			}
			return r
		},
	},
	{
		name: "ndjson",
		new:  func(w io.Writer, m *serpstat.Method) RowWriter { return NewNDJSON(w, m) },
		read: readNDJSONRows,
		// JSON strings are Unicode: like encoding/json, every byte of
		// invalid UTF-8 becomes U+FFFD.
		want: func(m *serpstat.Method, r serpstat.Row) serpstat.Row {
			r = writtenRow(m, r)
			for c := range r.Values {
				v := &r.Values[c]
				v.Str = validUTF8(v.Str)
				v.List = mapStrings(v.List, validUTF8)
			}
			return r
		},
	},
	{
		name: "parquet",
		new:  func(w io.Writer, m *serpstat.Method) RowWriter { return NewParquet(w, m) },
		read: readParquetRows,
		// Dates and times that do not parse are nulls.
		want: func(m *serpstat.Method, r serpstat.Row) serpstat.Row {
			r = writtenRow(m, r)
			for c := range r.Values {
				v := &r.Values[c]
				switch m.Columns[c].Kind {
				case serpstat.KindDate:
					if _, ok := parseDate(v.Str); !ok {
						*v = serpstat.Value{Null: true}
					}
				case serpstat.KindTimestamp:
					if _, ok := parseDateTime(v.Str); !ok {
						*v = serpstat.Value{Null: true}
					}
				}
			}
			return r
		},
	},
}

// writtenRow is r as every format writes it: a copy, its extra compacted
// (nil when the method has no extra column), floats that JSON cannot
// hold as nulls.
func writtenRow(m *serpstat.Method, r serpstat.Row) serpstat.Row {
	r.Values = append([]serpstat.Value(nil), r.Values...)
	for c := range r.Values {
		if m.Columns[c].Kind == serpstat.KindFloat && !r.Values[c].Null && !finite(r.Values[c].Float) {
			r.Values[c] = serpstat.Value{Null: true}
		}
	}
	if !m.Extra || len(r.Extra) == 0 {
		r.Extra = nil
	} else {
		var buf bytes.Buffer
		if err := json.Compact(&buf, r.Extra); err != nil {
			panic(err)
		}
		r.Extra = buf.Bytes()
	}
	return r
}

func mapStrings(list []string, f func(string) string) []string {
	if list == nil {
		return nil
	}
	out := make([]string, len(list))
	for i, s := range list {
		out[i] = f(s)
	}
	return out
}

// cellValue parses a CSV cell or a JSON value of a column of kind k.
func parseJSONValue(t *testing.T, k serpstat.Kind, raw json.RawMessage) serpstat.Value {
	t.Helper()
	if string(raw) == "null" {
		return serpstat.Value{Null: true}
	}
	var v serpstat.Value
	var err error
	switch k {
	case serpstat.KindInt:
		err = json.Unmarshal(raw, &v.Int)
		require.NotContains(t, string(raw), `"`, "an integer is a number")
	case serpstat.KindFloat:
		err = json.Unmarshal(raw, &v.Float)
	case serpstat.KindStrings:
		require.Equal(t, byte('['), raw[0], "a list is an array")
		err = json.Unmarshal(raw, &v.List)
	default:
		require.Equal(t, byte('"'), raw[0], "text is a string")
		err = json.Unmarshal(raw, &v.Str)
	}
	require.NoError(t, err, "%s", raw)
	return v
}

func readCSVRows(t *testing.T, m *serpstat.Method, b []byte) []serpstat.Row {
	t.Helper()
	recs, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
	require.NoError(t, err)
	require.NotEmpty(t, recs)
	require.Equal(t, m.OutputColumns(), recs[0])
	rows := []serpstat.Row{}
	for _, rec := range recs[1:] {
		r := serpstat.Row{Values: make([]serpstat.Value, len(m.Columns))}
		for c, col := range m.Columns {
			cell := rec[c]
			switch {
			case cell == "":
				r.Values[c].Null = true
			case col.Kind == serpstat.KindInt:
				n, err := strconv.ParseInt(cell, 10, 64)
				require.NoError(t, err)
				r.Values[c].Int = n
			case col.Kind == serpstat.KindFloat:
				f, err := strconv.ParseFloat(cell, 64)
				require.NoError(t, err)
				r.Values[c].Float = f
			case col.Kind == serpstat.KindStrings:
				r.Values[c] = parseJSONValue(t, col.Kind, json.RawMessage(cell))
			default:
				r.Values[c].Str = cell
			}
		}
		if m.Extra && rec[len(m.Columns)] != "" {
			r.Extra = json.RawMessage(rec[len(m.Columns)])
			require.True(t, json.Valid(r.Extra))
		}
		rows = append(rows, r)
	}
	return rows
}

func readNDJSONRows(t *testing.T, m *serpstat.Method, b []byte) []serpstat.Row {
	t.Helper()
	rows := []serpstat.Row{}
	for _, line := range bytes.SplitAfter(b, []byte("\n")) {
		if len(line) == 0 {
			continue
		}
		require.Equal(t, byte('\n'), line[len(line)-1], "line %q is not terminated", line)
		require.Equal(t, 1, bytes.Count(line, []byte("\n")))
		dec := json.NewDecoder(bytes.NewReader(line))
		tok, err := dec.Token()
		require.NoError(t, err)
		require.Equal(t, json.Delim('{'), tok)
		var keys []string
		obj := map[string]json.RawMessage{}
		for dec.More() {
			tok, err := dec.Token()
			require.NoError(t, err)
			var raw json.RawMessage
			require.NoError(t, dec.Decode(&raw))
			keys = append(keys, tok.(string))
			obj[tok.(string)] = raw
		}
		require.Equal(t, m.OutputColumns(), keys, "keys in column order")
		r := serpstat.Row{Values: make([]serpstat.Value, len(m.Columns))}
		for c, col := range m.Columns {
			r.Values[c] = parseJSONValue(t, col.Kind, obj[col.Name])
		}
		if m.Extra && string(obj[serpstat.ExtraColumn]) != "null" {
			require.Equal(t, byte('{'), obj[serpstat.ExtraColumn][0], "extra is an object")
			r.Extra = obj[serpstat.ExtraColumn]
		}
		rows = append(rows, r)
	}
	return rows
}

// readParquetRows reads a file back with parquet-go's own reader, value
// by value with their levels: the leaf of each column in order, a LIST's
// elements gathered by their repetition levels.
func readParquetRows(t *testing.T, m *serpstat.Method, b []byte) []serpstat.Row {
	t.Helper()
	_, rows := readParquetQueryRows(t, m, b)
	return rows
}

// readParquetQueryRows is readParquetRows for a file that may have a
// leading query column: its values are returned too (nil when none).
func readParquetQueryRows(t *testing.T, m *serpstat.Method, b []byte) (queries []string, rows []serpstat.Row) {
	t.Helper()
	f, err := parquet.OpenFile(bytes.NewReader(b), int64(len(b)))
	require.NoError(t, err)
	first := 0
	if f.Schema().Fields()[0].Name() == "query" {
		first = 1
	}
	require.Len(t, f.Schema().Columns(), first+len(m.OutputColumns()), "one leaf a column")
	r := parquet.NewReader(f)
	defer r.Close()
	rows = []serpstat.Row{}
	buf := make([]parquet.Row, 64)
	for {
		n, err := r.ReadRows(buf)
		for _, pr := range buf[:n] {
			row := serpstat.Row{Values: make([]serpstat.Value, len(m.Columns))}
			seen := make([]bool, len(m.OutputColumns()))
			for _, v := range pr {
				leaf := v.Column() - first
				if leaf < 0 { // query: required
					require.Zero(t, v.DefinitionLevel())
					queries = append(queries, string(v.ByteArray()))
					continue
				}
				if leaf == len(m.Columns) { // extra
					require.False(t, seen[leaf])
					if !v.IsNull() {
						row.Extra = json.RawMessage(bytes.Clone(v.ByteArray()))
					}
					seen[leaf] = true
					continue
				}
				col := m.Columns[leaf]
				out := &row.Values[leaf]
				if col.Kind == serpstat.KindStrings {
					switch {
					case v.RepetitionLevel() == 0:
						require.False(t, seen[leaf])
						switch v.DefinitionLevel() {
						case 0:
							out.Null = true
						case 1:
							out.List = []string{}
						case 2:
							out.List = []string{string(v.ByteArray())}
						}
					default:
						require.Equal(t, 2, v.DefinitionLevel())
						out.List = append(out.List, string(v.ByteArray()))
					}
					seen[leaf] = true
					continue
				}
				require.False(t, seen[leaf], "column %s twice", col.Name)
				seen[leaf] = true
				require.Zero(t, v.RepetitionLevel())
				if v.IsNull() {
					require.Zero(t, v.DefinitionLevel())
					out.Null = true
					continue
				}
				require.Equal(t, 1, v.DefinitionLevel())
				switch col.Kind {
				case serpstat.KindInt:
					out.Int = v.Int64()
				case serpstat.KindFloat:
					out.Float = v.Double()
				case serpstat.KindDate:
					out.Str = time.Unix(int64(v.Int32())*86400, 0).UTC().Format(time.DateOnly)
				case serpstat.KindTimestamp:
					out.Str = time.UnixMicro(v.Int64()).UTC().Format(time.DateTime)
				default:
					out.Str = string(v.ByteArray())
				}
			}
			for leaf, ok := range seen {
				require.True(t, ok, "no value for leaf %d", leaf)
			}
			rows = append(rows, row)
		}
		if errors.Is(err, io.EOF) {
			return queries, rows
		}
		require.NoError(t, err)
	}
}

// TestQueryColumnMethods: the leading query column of every format, for
// a method with lists and the extra column: the other columns come back
// as without it.
func TestQueryColumnMethods(t *testing.T) {
	m := backlinks.Threats
	for _, f := range rowFormats {
		t.Run(f.name, func(t *testing.T) {
			var buf bytes.Buffer
			w := f.new(&buf, m)
			w.(interface{ SetQuery(string) }).SetQuery("one.example")
			switch x := w.(type) {
			case *CSV:
				x.QueryColumn = true
			case *NDJSON:
				x.QueryColumn = true
			case *Parquet:
				x.QueryColumn = true
			}
			require.NoError(t, w.Write(threatRows[:2]))
			w.(interface{ SetQuery(string) }).SetQuery(`two "2".example`)
			require.NoError(t, w.Write(threatRows[2:]))
			require.NoError(t, w.Close())
			var want []serpstat.Row
			wantQ := []string{"one.example", "one.example"}
			for i, r := range threatRows {
				want = append(want, f.want(m, r))
				if i >= 2 {
					wantQ = append(wantQ, `two "2".example`)
				}
			}
			var queries []string
			var rows []serpstat.Row
			switch f.name {
			case "csv":
				recs, err := csv.NewReader(bytes.NewReader(buf.Bytes())).ReadAll()
				require.NoError(t, err)
				var stripped bytes.Buffer
				cw := csv.NewWriter(&stripped)
				for i, rec := range recs {
					if i == 0 {
						require.Equal(t, "query", rec[0])
					} else {
						queries = append(queries, rec[0])
					}
					require.NoError(t, cw.Write(rec[1:]))
				}
				cw.Flush()
				rows = readCSVRows(t, m, stripped.Bytes())
			case "ndjson":
				var stripped []byte
				for _, line := range bytes.SplitAfter(buf.Bytes(), []byte("\n")) {
					if len(line) == 0 {
						continue
					}
					var q struct{ Query string }
					require.NoError(t, json.Unmarshal(line, &q))
					queries = append(queries, q.Query)
					prefix := appendJSONString([]byte(`{"query":`), q.Query)
					require.True(t, bytes.HasPrefix(line, append(prefix, ',')), "%s", line)
					stripped = append(append(stripped, '{'), line[len(prefix)+1:]...)
				}
				rows = readNDJSONRows(t, m, stripped)
			case "parquet":
				queries, rows = readParquetQueryRows(t, m, buf.Bytes())
			}
			require.Equal(t, wantQ, queries)
			require.Equal(t, want, rows)
		})
	}
}

// TestRoundTripMethods is the suite shared by every format, for every
// method and a method of every kind: rows written come back equal from a
// standard reader of the format, in batches of any size.
func TestRoundTripMethods(t *testing.T) {
	methods := append([]*serpstat.Method{everyKind}, backlinks.Methods...)
	for _, f := range rowFormats {
		for _, m := range methods {
			cases := []struct {
				name    string
				batches [][]serpstat.Row
			}{
				{"no rows", nil},
				{"1100 rows in uneven batches", func() [][]serpstat.Row {
					rows := syntheticRows(m, 1100)
					return [][]serpstat.Row{rows[:1], rows[1:1030], {}, rows[1030:]}
				}()},
			}
			switch m {
			case backlinks.Threats:
				cases = append(cases, struct {
					name    string
					batches [][]serpstat.Row
				}{"threat rows", [][]serpstat.Row{threatRows}})
			case backlinks.RefDomains:
				cases = append(cases, struct {
					name    string
					batches [][]serpstat.Row
				}{"ref-domain rows", [][]serpstat.Row{refDomainRows}})
			}
			for _, c := range cases {
				t.Run(f.name+"/"+m.Name+"/"+c.name, func(t *testing.T) {
					var buf bytes.Buffer
					w := f.new(&buf, m)
					want := []serpstat.Row{}
					for _, b := range c.batches {
						require.NoError(t, w.Write(b))
						for _, r := range b {
							want = append(want, f.want(m, r))
						}
					}
					require.NoError(t, w.Close())
					require.Equal(t, want, f.read(t, m, buf.Bytes()))
				})
			}
		}
	}
}

// TestRowOfAnotherMethod: a row whose values do not match the method's
// columns is refused with an error naming the method, and the error
// sticks.
func TestRowOfAnotherMethod(t *testing.T) {
	for _, f := range rowFormats {
		t.Run(f.name, func(t *testing.T) {
			w := f.new(io.Discard, backlinks.Threats)
			err := w.Write(refDomainRows)
			require.ErrorContains(t, err, "threats")
			require.ErrorContains(t, err, "3 values")
			require.Equal(t, err, w.Write(threatRows))
			require.Equal(t, err, w.Close())
		})
	}
}

// TestNilMethod: New refuses a nil method; the constructors panic.
func TestNilMethod(t *testing.T) {
	_, err := New(FormatCSV, io.Discard, nil)
	require.ErrorContains(t, err, "method")
	require.Panics(t, func() { NewCSV(io.Discard, nil) })
	require.Panics(t, func() { NewNDJSON(io.Discard, nil) })
	require.Panics(t, func() { NewParquet(io.Discard, nil) })
}

// TestMethodGolden pins the exact bytes of CSV and NDJSON for threats
// (lists, extra, nulls) and ref-domains (integers, nulls, extra).
func TestMethodGolden(t *testing.T) {
	for _, c := range []struct {
		name string
		m    *serpstat.Method
		rows []serpstat.Row
	}{
		{"threats", backlinks.Threats, threatRows},
		{"ref-domains", backlinks.RefDomains, refDomainRows},
	} {
		t.Run(c.name, func(t *testing.T) {
			for _, neutralize := range []bool{false, true} {
				var buf bytes.Buffer
				w := NewCSV(&buf, c.m)
				w.Neutralize = neutralize
				require.NoError(t, w.Write(c.rows))
				require.NoError(t, w.Close())
				name := c.name + ".csv"
				if neutralize {
					name = c.name + "-neutralized.csv"
				}
				golden(t, name, buf.Bytes())
			}
			var buf bytes.Buffer
			w := NewNDJSON(&buf, c.m)
			require.NoError(t, w.Write(c.rows))
			require.NoError(t, w.Close())
			golden(t, c.name+".ndjson", buf.Bytes())
		})
	}
}

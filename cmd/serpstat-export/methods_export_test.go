package main_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/parquet-go/parquet-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/serpstat-export/serpstat-export/serpstat"
	"github.com/serpstat-export/serpstat-export/serpstat/backlinks"
	"github.com/serpstat-export/serpstat-export/serpstat/serpstattest"
	"github.com/serpstat-export/serpstat-export/sink"
)

// sent are the params of the first paged request srv got for m, Page and
// Size cleared: the query's params as the export sent them.
func sent(t *testing.T, srv *serpstattest.Server, m *serpstat.Method) serpstat.Params {
	t.Helper()
	for _, e := range srv.Log() {
		if e.Method == m.API {
			p := e.Params
			p.Page, p.Size, p.ComplexFilter = 0, 0, nil
			return p
		}
	}
	t.Fatalf("no request of %s", m.API)
	return serpstat.Params{}
}

// formatted is rows as the sink of format f writes them for m: the bytes
// an output must hold.
func formatted(t *testing.T, f sink.Format, m *serpstat.Method, rows []serpstat.Row) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := sink.New(f, &buf, m)
	require.NoError(t, err)
	if c, ok := w.(*sink.CSV); ok {
		c.Neutralize = true
	}
	require.NoError(t, w.Write(rows))
	require.NoError(t, w.Close())
	return buf.Bytes()
}

// lines are the lines of data after its first skip lines, sorted: rows
// compared as a set.
func lines(data []byte, skip int) []string {
	ls := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")[skip:]
	slices.Sort(ls)
	return ls
}

// TestExportOtherMethods exports ref-domains and threats through the
// binary against the fake answering with the spec's wire keys (an
// undocumented key every 7 rows, numbers as strings): the CSV and NDJSON
// hold exactly the rows the fake's data set says, in API order, the
// Parquet file the same number with the method's columns, and billed =
// rows. Past the wall, threats is sliced by lastupdate and still holds
// every row once.
func TestExportOtherMethods(t *testing.T) {
	for _, tt := range []struct {
		m     *serpstat.Method
		rows  int
		extra []string
	}{
		{backlinks.RefDomains, 2500, nil},
		{backlinks.Threats, 1800, nil},
		{backlinks.Threats, 1800, []string{"--wall", "700"}},
		{backlinks.LostBacklinks, 1200, nil},
		{backlinks.TopPages, 1300, nil},
		{backlinks.Anchors, 1100, nil},
	} {
		t.Run(tt.m.Name+strings.Join(tt.extra, ""), func(t *testing.T) {
			srv := serpstattest.NewServer(serpstattest.Options{Rows: tt.rows, UnknownKeyEvery: 7, NumbersAsStrings: true})
			defer srv.Close()
			dir := t.TempDir()
			csv, nd, pq, sum := filepath.Join(dir, "m.csv"), filepath.Join(dir, "m.ndjson"), filepath.Join(dir, "m.parquet"), filepath.Join(dir, "s.json")
			args := exportArgs(srv, "methods.example", append([]string{"--method", tt.m.Name, "--out", csv, "--out", nd, "--out", pq, "--summary-json", sum}, tt.extra...)...)
			res := runCLI(t, serpstattest.DefaultToken, args...)
			require.Equal(t, 0, res.code, res.stderr)
			want := srv.Expected(tt.m, "methods.example", sent(t, srv, tt.m))
			require.Len(t, want, tt.rows)

			gotCSV, err := os.ReadFile(csv)
			require.NoError(t, err)
			gotND, err := os.ReadFile(nd)
			require.NoError(t, err)
			wantCSV, wantND := formatted(t, sink.FormatCSV, tt.m, want), formatted(t, sink.FormatNDJSON, tt.m, want)
			sliced := len(tt.extra) > 0
			if sliced {
				assert.Equal(t, lines(wantCSV, 1), lines(gotCSV, 1), "every row once")
				assert.Equal(t, lines(wantND, 0), lines(gotND, 0), "every row once")
			} else {
				assert.Equal(t, string(wantCSV), string(gotCSV))
				assert.Equal(t, string(wantND), string(gotND))
			}
			header := strings.SplitN(string(gotCSV), "\n", 2)[0]
			assert.Equal(t, strings.Join(tt.m.OutputColumns(), ","), header)

			f, err := os.Open(pq)
			require.NoError(t, err)
			defer f.Close()
			st, err := f.Stat()
			require.NoError(t, err)
			pf, err := parquet.OpenFile(f, st.Size())
			require.NoError(t, err)
			assert.EqualValues(t, tt.rows, pf.NumRows())
			var names []string
			for _, c := range pf.Schema().Fields() {
				names = append(names, c.Name())
			}
			assert.Equal(t, tt.m.OutputColumns(), names)

			data, err := os.ReadFile(sum)
			require.NoError(t, err)
			var s struct {
				Method        string           `json:"method"`
				Rows          int64            `json:"rows"`
				CreditsBilled int64            `json:"credits_billed"`
				UnknownKeys   map[string]int64 `json:"unknown_keys"`
				Sliced        bool             `json:"sliced"`
			}
			require.NoError(t, json.Unmarshal(data, &s))
			assert.Equal(t, tt.m.Name, s.Method)
			assert.EqualValues(t, tt.rows, s.Rows)
			assert.Equal(t, map[string]int64{serpstattest.UnknownKey: int64(tt.rows / 7)}, s.UnknownKeys)
			assert.Equal(t, srv.Stats().CreditsBilled, s.CreditsBilled, "the summary's credits are the fake's bill")
			assert.Equal(t, sliced, s.Sliced)
			if !sliced {
				assert.EqualValues(t, tt.rows, srv.Stats().CreditsBilled, "billed = rows")
			}
			for _, e := range srv.Log() {
				if e.Method != serpstat.MethodStats {
					require.Equal(t, tt.m.API, e.Method)
				}
			}
		})
	}
}

// TestIncrementalFollowsTheMethodsCursor: threats loads incrementally by
// its lastupdate: the second run asks lastupdate gte the newest day the
// first exported, pays for the new rows and that day only, and writes only
// the new rows.
func TestIncrementalFollowsTheMethodsCursor(t *testing.T) {
	var rows atomic.Int64
	rows.Store(3000)
	m := backlinks.Threats
	q := serpstattest.GrowingPrefix + "example.com"
	srv := serpstattest.NewServer(serpstattest.Options{RowsFor: func(string) int { return int(rows.Load()) }})
	defer srv.Close()
	dir := t.TempDir()
	state := filepath.Join(dir, "state.json")
	run := func(name string) []string {
		out := filepath.Join(dir, name+".ndjson")
		res := runCLI(t, serpstattest.DefaultToken, exportArgs(srv, q, "--method", m.Name, "--incremental", state, "--out", out)...)
		require.Equal(t, 0, res.code, res.stderr)
		data, err := os.ReadFile(out)
		require.NoError(t, err)
		if len(data) == 0 {
			return nil
		}
		return lines(data, 0)
	}
	first := run("first")
	require.Len(t, first, 3000)
	billed := srv.Stats().CreditsBilled
	assert.EqualValues(t, 3000, billed)

	rows.Store(3000 + 777)
	second := run("second")
	paid := srv.Stats().CreditsBilled - billed
	assert.Len(t, second, 777, "only the new rows are written")
	assert.GreaterOrEqual(t, paid, int64(777))
	assert.LessOrEqual(t, paid, int64(777+serpstattest.GrowingRowsPerDay), "the new rows and the boundary day")
	var since bool
	for _, e := range srv.Log() {
		for _, g := range e.Params.ComplexFilter {
			for _, c := range g {
				since = since || c.Field == "lastupdate" && c.CompareType == "gte"
			}
		}
	}
	assert.True(t, since, "the second run asks lastupdate gte the boundary day")

	params := sent(t, srv, m)
	want := lines(formatted(t, sink.FormatNDJSON, m, srv.Expected(m, q, params)), 0)
	assert.Equal(t, want, lines([]byte(strings.Join(append(first, second...), "\n")), 0), "together: the data set, each row once")

	// Another method's load refuses the state: its cursor is another.
	before := srv.Stats().Requests
	res := runCLI(t, serpstattest.DefaultToken, exportArgs(srv, q, "--incremental", state, "--out", filepath.Join(dir, "nb.csv"))...)
	require.Equal(t, 2, res.code, res.stderr)
	assert.Contains(t, res.stderr, "is the state of getThreats loads, not of getNewBacklinks")
	assert.Equal(t, before, srv.Stats().Requests, "nothing sent")
}

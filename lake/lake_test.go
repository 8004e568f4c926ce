package lake

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/serpstat-export/serpstat-export/pager"
	"github.com/serpstat-export/serpstat-export/serpstat"
	"github.com/serpstat-export/serpstat-export/serpstat/backlinks"
	"github.com/serpstat-export/serpstat-export/serpstat/serpstattest"
)

// newRun is a run against srv with the settings s (RunID and Date filled
// in when empty), its state under the test's directory, in pages of 1000.
func newRun(t *testing.T, srv *serpstattest.Server, s Settings, budget int64) *Run {
	t.Helper()
	return newRunSize(t, srv, s, budget, 1000)
}

// newRunSize is newRun in pages of size rows.
func newRunSize(t *testing.T, srv *serpstattest.Server, s Settings, budget int64, size int) *Run {
	t.Helper()
	if s.RunID == "" {
		s.RunID = "run1"
	}
	if s.Date == "" {
		s.Date = "2026-01-31"
	}
	if s.StateDir == "" {
		s.StateDir = filepath.Join(t.TempDir(), "state")
	}
	if s.Workers == 0 {
		s.Workers = 2
	}
	p := pager.New(pager.Config{
		Fetcher: &serpstat.Client{Endpoint: srv.URL, Token: serpstattest.DefaultToken},
		Params:  serpstat.Params{Query: "example.com", SearchType: serpstat.SearchDomain, Size: size},
		Sleep:   func(context.Context, time.Duration) error { return nil },
	})
	return &Run{Settings: s, Pager: p, Budget: pager.NewBudget(budget), Stdout: io.Discard}
}

func readManifest(t *testing.T, path string) manifest {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	var m manifest
	require.NoError(t, json.Unmarshal(data, &m))
	require.Equal(t, pathsManifest, m.Paths)
	for _, f := range m.Files {
		// Relative to the manifest: as the test names them.
		f.Path = fromManifest(path, f.Path)
	}
	return m
}

func TestExpand(t *testing.T) {
	for _, tc := range []struct {
		tmpl, query, method, want string
		part                      int
	}{
		{"out/{method}/dt={date}/{query}.csv", "a.com", "new-backlinks", "out/new-backlinks/dt=2026-01-31/a.com.csv", 0},
		{"out/{method}/{query}-{part}.parquet", "a.com", "lost-backlinks", "out/lost-backlinks/a.com-00003.parquet", 3},
		{"s3://b/{run}/{query}.ndjson", "x/../y", "ref-domains", "s3://b/r1/x___y.ndjson", 0},
		{"{method}.csv", "", "../evil", "__evil.csv", 0},
		{"plain.csv", "a.com", "new-backlinks", "plain.csv", 0},
	} {
		require.Equal(t, tc.want, expand(tc.tmpl, tc.query, "2026-01-31", "r1", tc.part, tc.method), tc.tmpl)
	}
}

func TestParseOutsRefuses(t *testing.T) {
	for _, tc := range []struct {
		name   string
		outs   []string
		format string
		rows   int
		want   string
	}{
		{"unknown placeholder", []string{"out/{day}.csv"}, "", 0, "unknown placeholder {day}"},
		{"twice", []string{"a.csv", "a.csv"}, "", 0, "is given twice"},
		{"no format", []string{"a.txt"}, "", 0, "--out a.txt"},
		{"stdout parts", []string{"-{part}"}, "csv", 0, ""},
		{"parts without {part}", []string{"a.csv"}, "", 10, "--max-rows-per-file needs {part}"},
		{"empty", []string{""}, "", 0, "--out must not be empty"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseOuts(tc.outs, tc.format, true, tc.rows, DefaultMethod)
			if tc.want == "" {
				return // only that it does not panic
			}
			var ue *UsageError
			require.ErrorAs(t, err, &ue)
			require.Contains(t, err.Error(), tc.want)
		})
	}
}

// A lake load of three domains with {method} in the path: one file a
// query under the method's directory, the manifest beside the data naming
// the method for the run and the schema, credits billed = rows, and the
// summary counting what the files hold.
func TestLakeLoadWithMethodInThePath(t *testing.T) {
	rows := map[string]int{"a.example": 1500, "b.example": 0, "c.example": 2300}
	srv := serpstattest.NewServer(serpstattest.Options{RowsFor: func(q string) int { return rows[q] }})
	defer srv.Close()
	dir := t.TempDir()
	for _, method := range []string{"", "lost-backlinks"} {
		t.Run("method="+method, func(t *testing.T) {
			before := srv.Stats().CreditsBilled
			r := newRun(t, srv, Settings{Method: method, Queries: []string{"a.example", "b.example", "c.example"}, ManyQueries: true,
				Out: []string{filepath.Join(dir, "{method}", "dt={date}", "{query}.csv")}}, 0)
			res, err := r.Export(context.Background())
			require.NoError(t, err)
			want := method
			if want == "" {
				want = DefaultMethod
			}
			base := filepath.Join(dir, want, "dt=2026-01-31")
			m := readManifest(t, filepath.Join(base, "_manifest.json"))
			require.Equal(t, want, m.Method)
			require.True(t, m.Complete)
			require.FileExists(t, filepath.Join(base, "_SUCCESS"))
			require.Len(t, m.Queries, 3)
			var sum int64
			for _, q := range m.Queries {
				require.Equal(t, "done", q.Status)
				require.Equal(t, want, q.Method)
				require.Equal(t, int64(rows[q.Query]), q.Rows, q.Query)
				sum += q.Rows
			}
			billed := srv.Stats().CreditsBilled - before
			require.Equal(t, sum+1, billed, "billed = rows, and 1 for the empty query's empty page")
			require.Equal(t, billed, m.CreditsBilled)
			for _, f := range m.Files {
				require.True(t, strings.HasPrefix(f.Path, base), f.Path)
				fh, err := os.Open(f.Path)
				require.NoError(t, err)
				recs, err := csv.NewReader(fh).ReadAll()
				fh.Close()
				require.NoError(t, err)
				require.Equal(t, f.Rows+1, int64(len(recs)), "a header and the rows")
			}
			require.Equal(t, "url_from", m.Schema[0].Name)

			s := NewSummary("run1", "export", "done", 0, res, nil, time.Second)
			require.Equal(t, want, s.Method)
			require.Equal(t, sum, s.Rows)
			require.Equal(t, billed, s.CreditsBilled)
			require.Len(t, s.Queries, 3)
			require.Equal(t, filepath.Join(base, "_manifest.json"), s.Manifest)
			var text strings.Builder
			s.WriteText(&text)
			require.Contains(t, text.String(), fmt.Sprintf("serpstat-export: 3 queries (run run1): %d rows, %d credits billed, 0 failed\n", sum, billed))
			require.Contains(t, text.String(), "  query b.example                      done: total 0, 0 rows, 1 pages, 1 credits\n")
			require.Contains(t, text.String(), "  wrote "+filepath.Join(base, "_manifest.json")+" and _SUCCESS\n")
			js, err := json.Marshal(s)
			require.NoError(t, err)
			var doc map[string]any
			require.NoError(t, json.Unmarshal(js, &doc))
			for _, k := range []string{"run_id", "command", "status", "exit_code", "total", "rows", "credits_billed", "outputs", "queries", "method", "credits_billed_in_all"} {
				require.Contains(t, doc, k)
			}
			q0 := doc["queries"].([]any)[0].(map[string]any)
			for _, k := range []string{"query", "status", "total", "rows", "already_exported", "pages", "credits_billed", "sliced"} {
				require.Contains(t, q0, k)
			}
		})
	}
}

// A partition of an output the queries share, fully loaded twice on the
// same day: the second run's parts are numbered after the first's, and
// once they are committed the first run's are removed (each row once in
// the partition); the manifest lists only what is there.
func TestRerunOnTheSameDayReplacesTheSharedParts(t *testing.T) {
	srv := serpstattest.NewServer(serpstattest.Options{Rows: 2500})
	defer srv.Close()
	dir := t.TempDir()
	out := filepath.Join(dir, "dt={date}", "part-{part}.ndjson")
	state := filepath.Join(dir, "state")
	var paths []string
	for _, run := range []string{"r1", "r2"} {
		r := newRun(t, srv, Settings{RunID: run, StateDir: state, Queries: []string{"a.example", "b.example"}, ManyQueries: true,
			Out: []string{out}, MaxRowsPerFile: 2000}, 0)
		_, err := r.Export(context.Background())
		require.NoError(t, err)
		m := readManifest(t, filepath.Join(dir, "dt=2026-01-31", "_manifest.json"))
		paths = paths[:0]
		var total int64
		for _, f := range m.Files {
			require.Equal(t, run, f.Run)
			paths = append(paths, filepath.Base(f.Path))
			total += f.Rows
		}
		sort.Strings(paths)
		require.Equal(t, int64(5000), total, run)
	}
	require.Equal(t, []string{"part-00003.ndjson", "part-00004.ndjson", "part-00005.ndjson"}, paths)
	onDisk, _ := filepath.Glob(filepath.Join(dir, "dt=2026-01-31", "part-*"))
	require.Len(t, onDisk, 3, "the first run's parts are gone")
}

// An incremental load: the second run asks only for rows first seen on or
// after the newest exported, drops the boundary day's rows it had, and
// writes no file when nothing is new.
func TestIncrementalSecondRunFindsNothingNew(t *testing.T) {
	srv := serpstattest.NewServer(serpstattest.Options{Rows: 1200})
	defer srv.Close()
	dir := t.TempDir()
	stateFile := filepath.Join(dir, "incremental.json")
	out := filepath.Join(dir, "{run}", "{query}.csv")
	r := newRun(t, srv, Settings{RunID: "r1", Queries: []string{"a.example"}, Out: []string{out}, Incremental: stateFile}, 0)
	res, err := r.Export(context.Background())
	require.NoError(t, err)
	require.Equal(t, int64(1200), res.queries[0].written())
	st, err := LoadState(context.Background(), stateFile, r.S3, r.descriptor())
	require.NoError(t, err)
	require.Equal(t, int64(1200), st.Queries["a.example"].Rows)
	require.NotEmpty(t, st.Queries["a.example"].Boundary)

	r = newRun(t, srv, Settings{RunID: "r2", Queries: []string{"a.example"}, Out: []string{out}, Incremental: stateFile}, 0)
	res, err = r.Export(context.Background())
	require.NoError(t, err)
	q := res.queries[0]
	require.Equal(t, int64(0), q.written())
	require.Equal(t, int64(len(st.Queries["a.example"].Boundary)), q.Dropped, "the boundary day's rows, paid for again, not written")
	require.NoFileExists(t, filepath.Join(dir, "r2", "a.example.csv"))
	s := NewSummary("r2", "export", "done", 0, res, nil, time.Second)
	require.Equal(t, q.Dropped, s.AlreadyExported)
}

// Several queries into their own outputs, stopped by the budget: what
// became of each is recorded, and the same run again exports only the
// others, paying nothing for the first again; its manifest lists every
// file. The record is kept, so the next run of the same command and date
// reuses every query and pays nothing.
func TestBudgetStopResumesFinishedQueriesFromTheRecord(t *testing.T) {
	srv := serpstattest.NewServer(serpstattest.Options{Rows: 1000})
	defer srv.Close()
	dir := t.TempDir()
	state := filepath.Join(dir, "state")
	s := Settings{StateDir: state, Queries: []string{"a.example", "b.example", "c.example"}, ManyQueries: true,
		Out: []string{filepath.Join(dir, "{query}.csv")}}
	r := newRun(t, srv, s, 1500)
	_, err := r.Export(context.Background())
	var bs *BudgetStop
	require.ErrorAs(t, err, &bs)
	require.True(t, errors.Is(err, pager.ErrBudgetExhausted))
	// The queries run at once: which of them the budget let finish is
	// a race; at least one did, and whatever was bought is not bought
	// again.
	require.GreaterOrEqual(t, bs.Finished, 1)
	require.Equal(t, 3, bs.Of)
	require.True(t, bs.Recorded)
	require.LessOrEqual(t, srv.Stats().CreditsBilled, int64(1500), "never past the budget")
	finished := 0
	for _, q := range []string{"a.example", "b.example", "c.example"} {
		if _, err := os.Stat(filepath.Join(dir, q+".csv")); err == nil {
			finished++
		}
	}
	require.Equal(t, bs.Finished, finished, "a file for every query finished")

	r = newRun(t, srv, s, 0)
	res, err := r.Export(context.Background())
	require.NoError(t, err)
	reused := 0
	for _, q := range res.queries {
		if q.Earlier != nil {
			reused++
		}
	}
	require.Equal(t, bs.Finished, reused, "the finished queries came from the record")
	require.Equal(t, int64(3000), srv.Stats().CreditsBilled, "3000 rows for 3000 credits in all: a page 1 cut to what the budget left is not bought again")
	m := readManifest(t, filepath.Join(dir, "_manifest.json"))
	require.True(t, m.Complete)
	require.Len(t, m.Files, 3, "the manifest lists the first run's file too")
	require.Equal(t, int64(3000), m.CreditsBilled, "the credits of every attempt")
	for _, q := range []string{"a.example", "b.example", "c.example"} {
		data, err := os.ReadFile(filepath.Join(dir, q+".csv"))
		require.NoError(t, err)
		recs, err := csv.NewReader(strings.NewReader(string(data))).ReadAll()
		require.NoError(t, err)
		require.Len(t, recs, 1+1000, q)
	}

	// The next run of the command and date reuses every query.
	r = newRun(t, srv, s, 0)
	res, err = r.Export(context.Background())
	require.NoError(t, err)
	for _, q := range res.queries {
		require.NotNil(t, q.Earlier, "%s: from the record", q.Query)
	}
	require.Equal(t, int64(3000), srv.Stats().CreditsBilled, "nothing bought again")
}

// Bad outputs are refused before anything is sent.
func TestRefusedBeforeAnythingIsSent(t *testing.T) {
	srv := serpstattest.NewServer(serpstattest.Options{Rows: 10})
	defer srv.Close()
	dir := t.TempDir()
	for _, tc := range []struct {
		name string
		s    Settings
		want string
	}{
		{"no out", Settings{Queries: []string{"a.example"}}, "--out is required"},
		{"parts without {part}", Settings{Queries: []string{"a.example"}, Out: []string{filepath.Join(dir, "a.csv")}, MaxRowsPerFile: 5}, "--max-rows-per-file needs {part}"},
		{"bad placeholder", Settings{Queries: []string{"a.example"}, Out: []string{filepath.Join(dir, "{x}.csv")}}, "unknown placeholder"},
		{"bad earlier manifest", Settings{Queries: []string{"a.example"}, Out: []string{filepath.Join(dir, "m", "{query}.csv")}, Manifest: filepath.Join(dir, "bad.json")}, "is not a manifest"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.NoError(t, os.WriteFile(filepath.Join(dir, "bad.json"), []byte("{"), 0o644))
			before := srv.Stats().Requests
			_, err := newRun(t, srv, tc.s, 0).Export(context.Background())
			if tc.want == "" {
				return
			}
			var ue *UsageError
			require.ErrorAs(t, err, &ue)
			require.Contains(t, err.Error(), tc.want)
			require.Equal(t, before, srv.Stats().Requests, "nothing sent")
		})
	}
}

// The manifest's schema is the method's output columns with their kinds
// and Parquet types; new-backlinks' nine columns are as they always were.
func TestSchemaOf(t *testing.T) {
	names := func(cols []schemaColumn) (out []string) {
		for _, c := range cols {
			out = append(out, c.Name+" "+c.Type+" "+c.Logical+" "+c.Kind)
		}
		return out
	}
	require.Equal(t, []string{
		"url_from BYTE_ARRAY STRING string", "url_to BYTE_ARRAY STRING string", "nofollow BYTE_ARRAY STRING string",
		"link_type BYTE_ARRAY STRING string", "links_ext INT64  integer", "link_text BYTE_ARRAY STRING string",
		"first_seen INT32 DATE date", "last_visited INT64 TIMESTAMP(MICROS,isAdjustedToUTC=false) timestamp",
		"domain_rank INT64  integer",
	}, names(schemaOf(backlinks.NewBacklinks, false)))
	for _, m := range backlinks.Methods {
		cols := schemaOf(m, true)
		require.Equal(t, "query", cols[0].Name)
		var got []string
		for _, c := range cols[1:] {
			got = append(got, c.Name)
			require.NotEmpty(t, c.Type, "%s %s", m.Name, c.Name)
		}
		require.Equal(t, m.OutputColumns(), got, m.Name)
		if m.Extra {
			require.Equal(t, "json", cols[len(cols)-1].Kind)
		}
	}
	threats := backlinks.Lookup("threats")
	require.NotNil(t, threats)
	found := false
	for _, c := range schemaOf(threats, false) {
		if c.Name == "platform_type" {
			require.Equal(t, "LIST<STRING>", c.Logical)
			found = true
		}
	}
	require.True(t, found)
}

// The summary adds up, over the queries of a run, the rows holding each
// answer key the method does not know.
func TestSummaryUnknownKeys(t *testing.T) {
	res := &Result{multi: true, method: "lost-backlinks", queries: []*QueryResult{
		{Query: "a.example", UnknownKeys: map[string]int64{"new_key": 3, "other": 1}},
		{Query: "b.example", UnknownKeys: map[string]int64{"new_key": 2}},
		{Query: "c.example"},
	}}
	s := NewSummary("r1", "export", "done", 0, res, nil, time.Second)
	require.Equal(t, map[string]int64{"new_key": 5, "other": 1}, s.UnknownKeys)
	require.Equal(t, "lost-backlinks", s.Method)
	js, err := json.Marshal(s)
	require.NoError(t, err)
	require.Contains(t, string(js), `"unknown_keys":{"new_key":5,"other":1}`)
	require.Contains(t, string(js), `"method":"lost-backlinks"`)
}

// An incremental load whose API ignores the cursor's filter: the rows
// older than the cursor are not written again, the summary counts them,
// and the load stops with CursorIgnoredError rather than buying the
// whole history again; its rerun pays nothing more.
func TestIncrementalCursorIgnoredByTheAPIStops(t *testing.T) {
	srv := serpstattest.NewServer(serpstattest.Options{Rows: 12000})
	defer srv.Close()
	dir := t.TempDir()
	stateFile := filepath.Join(dir, "incremental.json")
	out := filepath.Join(dir, "{run}", "{query}.csv")
	r := newRun(t, srv, Settings{RunID: "r1", Queries: []string{"a.example"}, Out: []string{out}, Incremental: stateFile}, 0)
	_, err := r.Export(context.Background())
	require.NoError(t, err)

	// The same data, served by an API that reads the cursor's filter as
	// if it were not there.
	deaf := serpstattest.NewServer(serpstattest.Options{Rows: 12000, IgnoreFilters: []string{"add"}})
	defer deaf.Close()
	state := filepath.Join(dir, "state2")
	s := Settings{RunID: "r2", Queries: []string{"a.example"}, Out: []string{out}, Incremental: stateFile, StateDir: state}
	r = newRun(t, deaf, s, 0)
	res, err := r.Export(context.Background())
	var ci *CursorIgnoredError
	require.ErrorAs(t, err, &ci)
	require.Equal(t, "new-backlinks", ci.Method)
	require.Equal(t, "add", ci.Filter)
	q := res.queries[0]
	require.Positive(t, q.OlderThanCursor)
	require.Equal(t, q.OlderThanCursor, ci.Older)
	require.NoFileExists(t, filepath.Join(dir, "r2", "a.example.csv"), "no old row is written again")
	billed := deaf.Stats().CreditsBilled
	require.Less(t, billed, int64(12000), "stopped before buying the history again")
	sum := NewSummary("r2", "export", "failed", 1, res, err, time.Second)
	require.Equal(t, q.OlderThanCursor, sum.OlderThanCursor)

	// The state is not advanced, and the rerun pays nothing for the
	// pages it bought.
	st, err := LoadState(context.Background(), stateFile, r.S3, r.descriptor())
	require.NoError(t, err)
	require.Equal(t, int64(12000), st.Queries["a.example"].Rows)
	r = newRun(t, deaf, s, 0)
	_, err = r.Export(context.Background())
	require.ErrorAs(t, err, &ci)
	require.Equal(t, billed, deaf.Stats().CreditsBilled, "the rerun bought nothing again")
}

package lake

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/serpstat-export/serpstat-export/pager"
	"github.com/serpstat-export/serpstat-export/serpstat/serpstattest"
)

// poolQueries are n domains, the i-th with rowsOf(i) rows.
func poolQueries(n int) []string {
	qs := make([]string, n)
	for i := range qs {
		qs[i] = fmt.Sprintf("q%02d.example", i)
	}
	return qs
}

// poolRows gives each query of poolQueries a different row count: three
// pages of 100 to one (the first query: three).
func poolRows(q string) int {
	var i int
	_, _ = fmt.Sscanf(q, "q%02d.example", &i)
	return 250 - 70*(i%4)
}

// checkShared checks a shared CSV: the rows of each query together, in
// the queries' order, as many as the fake has, none twice, and the same
// as the query's own file when own is set.
func checkShared(t *testing.T, path string, queries []string, own func(q string) string) {
	t.Helper()
	header, rows := readCSV(t, path)
	require.Equal(t, "query", header[0])
	at := 0
	for _, q := range queries {
		seen := map[string]bool{}
		var got [][]string
		for at < len(rows) && rows[at][0] == q {
			line := strings.Join(rows[at][1:], "\x1f")
			require.False(t, seen[line], "%s: a row twice", q)
			seen[line] = true
			got = append(got, rows[at][1:])
			at++
		}
		require.Len(t, got, poolRows(q), "%s: its rows, together, in query order", q)
		if own != nil {
			_, mine := readCSV(t, own(q))
			require.Equal(t, mine, got, "%s: the shared file holds its own file's rows, in order", q)
		}
	}
	require.Equal(t, len(rows), at, "no other rows")
}

// Several queries are in flight at once, within the run's workers; a
// later query finishing before an earlier one (its page held back) has
// its rows written to the shared output after the earlier one's: every
// row once, in query order, and the same rows in each query's own file.
func TestPoolQueriesOverlapAndKeepOrder(t *testing.T) {
	queries := poolQueries(12)
	// Deferred rows go to os.TempDir(): the test's own, so that files of
	// other tests running at once (other packages, the binary) are not
	// taken for ours.
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	// The first query's page 2 is answered only once the sixth query was
	// asked: the queries between finish first, and their rows wait for
	// it. (The wait is on an event; the timeout only keeps a broken
	// scheduler from hanging the test.)
	later := make(chan struct{})
	var once sync.Once
	var overlapped atomic.Bool
	srv := serpstattest.NewServer(serpstattest.Options{RowsFor: poolRows, Fault: func(fi serpstattest.FaultInfo) serpstattest.Fault {
		switch {
		case fi.Params.Query == queries[5]:
			once.Do(func() { close(later) })
		case fi.Params.Query == queries[0] && fi.Params.Page == 2:
			select {
			case <-later:
				overlapped.Store(true)
			case <-time.After(10 * time.Second):
			}
		}
		return serpstattest.Fault{}
	}})
	defer srv.Close()
	dir := t.TempDir()
	s := Settings{Queries: queries, ManyQueries: true, Workers: 4,
		Out: []string{filepath.Join(dir, "all.csv"), filepath.Join(dir, "{query}.csv")}}
	res, err := newRunSize(t, srv, s, 0, 100).Export(context.Background())
	require.NoError(t, err)

	st := srv.Stats()
	require.Greater(t, st.MaxInFlight, 1, "several requests in flight at once")
	require.LessOrEqual(t, st.MaxInFlight, 4, "never more than --workers")
	require.True(t, overlapped.Load(), "the sixth query was asked while the first's page 2 was in flight")

	var want int64
	for _, q := range queries {
		want += int64(poolRows(q))
	}
	require.Equal(t, want, st.CreditsBilled, "every row bought once")
	checkShared(t, filepath.Join(dir, "all.csv"), queries, func(q string) string { return filepath.Join(dir, q+".csv") })
	require.Len(t, res.queries, len(queries))
	for i, qr := range res.queries {
		require.Equal(t, queries[i], qr.Query, "results in query order")
		require.NoError(t, qr.Err)
	}
	m := readManifest(t, filepath.Join(dir, "_manifest.json"))
	require.Len(t, m.Queries, len(queries))
	for i, mq := range m.Queries {
		require.Equal(t, queries[i], mq.Query, "the manifest lists the queries in their order")
		require.Equal(t, StatusDone, mq.Status)
		require.Equal(t, int64(poolRows(queries[i])), mq.Rows)
	}
	left, err := filepath.Glob(filepath.Join(tmp, "serpstat-export-deferred-*"))
	require.NoError(t, err)
	require.Empty(t, left, "deferred rows' files removed")
}

// The budget runs out while several queries are exported: no more start,
// the running ones stop, their spools are kept; the same run again
// completes, paying for nothing twice, and the outputs hold every row
// once, in query order.
func TestPoolBudgetStopResumes(t *testing.T) {
	for _, shared := range []bool{true, false} {
		t.Run(map[bool]string{true: "one file", false: "a file a query"}[shared], func(t *testing.T) {
			queries := poolQueries(8)
			srv := serpstattest.NewServer(serpstattest.Options{RowsFor: poolRows, Latency: 20 * time.Millisecond})
			defer srv.Close()
			dir := t.TempDir()
			state := filepath.Join(dir, "state")
			out := filepath.Join(dir, "all.csv")
			if !shared {
				out = filepath.Join(dir, "{query}.csv")
			}
			s := Settings{Queries: queries, ManyQueries: true, Workers: 4, StateDir: state, Out: []string{out}}
			res, err := newRunSize(t, srv, s, 700, 100).Export(context.Background())
			require.True(t, errors.Is(err, pager.ErrBudgetExhausted), "%v", err)
			var bs *BudgetStop
			require.ErrorAs(t, err, &bs)
			require.Less(t, bs.Finished, len(queries))
			require.LessOrEqual(t, srv.Stats().CreditsBilled, int64(700), "never past the budget")
			require.Equal(t, len(queries), len(res.queries)+res.notStarted, "every query started or counted as not started")
			if shared {
				require.NoFileExists(t, out, "the shared output is not committed")
			}
			entries, err := os.ReadDir(state)
			require.NoError(t, err)
			require.NotEmpty(t, entries, "the spools are kept for a resume")

			res, err = newRunSize(t, srv, s, 0, 100).Export(context.Background())
			require.NoError(t, err)
			var want int64
			for _, q := range queries {
				want += int64(poolRows(q))
			}
			require.Equal(t, want, srv.Stats().CreditsBilled, "nothing bought twice")
			if shared {
				checkShared(t, out, queries, nil)
			} else {
				for _, q := range queries {
					_, rows := readCSV(t, filepath.Join(dir, q+".csv"))
					require.Len(t, rows, poolRows(q), q)
				}
			}
			require.Len(t, res.queries, len(queries))
		})
	}
}

// A query that fails (a refused query, not a run-wide failure) does not
// stop the others exported with it.
func TestPoolFailingQueryDoesNotStopTheOthers(t *testing.T) {
	queries := poolQueries(6)
	bad := queries[2]
	srv := serpstattest.NewServer(serpstattest.Options{RowsFor: poolRows, Fault: func(fi serpstattest.FaultInfo) serpstattest.Fault {
		if fi.Params.Query == bad {
			return serpstattest.Fault{Kind: serpstattest.FaultAPIError, Code: serpstattest.CodeFilter, Message: "Invalid value for field query"}
		}
		return serpstattest.Fault{}
	}})
	defer srv.Close()
	dir := t.TempDir()
	s := Settings{Queries: queries, ManyQueries: true, Workers: 4, Out: []string{filepath.Join(dir, "all.csv")}}
	res, err := newRunSize(t, srv, s, 0, 100).Export(context.Background())
	var qf *QueriesFailed
	require.ErrorAs(t, err, &qf)
	require.Equal(t, 1, qf.failed)
	require.Len(t, res.queries, len(queries))
	ok := make([]string, 0, len(queries))
	for i, qr := range res.queries {
		require.Equal(t, queries[i], qr.Query)
		if qr.Query == bad {
			require.Error(t, qr.Err)
			continue
		}
		require.NoError(t, qr.Err)
		ok = append(ok, qr.Query)
	}
	checkShared(t, filepath.Join(dir, "all.csv"), ok, nil)
	m := readManifest(t, filepath.Join(dir, "_manifest.json"))
	require.False(t, m.Complete)
	require.Equal(t, StatusFailed, m.Queries[2].Status)
}

// With a budget that pays for only some of the queries, the queries
// admitted end whole, one after another as when they went one at a time,
// instead of several stopping half done: a query starts only when the
// budget has room for the plans of those running and for it.
func TestPoolTightBudgetEndsQueriesWhole(t *testing.T) {
	queries := poolQueries(8) // 250, 180, 110, 40, 250, ... rows
	srv := serpstattest.NewServer(serpstattest.Options{RowsFor: poolRows, Latency: 10 * time.Millisecond})
	defer srv.Close()
	dir := t.TempDir()
	s := Settings{Queries: queries, ManyQueries: true, Workers: 4, StateDir: filepath.Join(dir, "state"),
		Out: []string{filepath.Join(dir, "{query}.csv")}}
	res, err := newRunSize(t, srv, s, 700, 100).Export(context.Background())
	var bs *BudgetStop
	require.ErrorAs(t, err, &bs)
	require.Equal(t, 4, bs.Finished, "the first four (580 credits) fit in 700 and end whole")
	for i, qr := range res.queries[:4] {
		require.NoError(t, qr.Err, queries[i])
		_, rows := readCSV(t, filepath.Join(dir, queries[i]+".csv"))
		require.Len(t, rows, poolRows(queries[i]))
	}
	require.Len(t, res.queries, 5, "the fifth started, found its plan past the budget and stopped")
	require.ErrorIs(t, res.queries[4].Err, pager.ErrBudgetExhausted)
	require.Equal(t, 3, res.notStarted)
	require.LessOrEqual(t, srv.Stats().CreditsBilled, int64(700))
}

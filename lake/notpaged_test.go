package lake

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/serpstat-export/serpstat-export/pager"
	"github.com/serpstat-export/serpstat-export/serpstat"
	"github.com/serpstat-export/serpstat-export/serpstat/backlinks"
	"github.com/serpstat-export/serpstat-export/serpstat/serpstattest"
)

// wholeRun is a run of m, a method that is not paged, against srv; its
// spools where Settings put them (no state directory unless s has one).
func wholeRun(srv *serpstattest.Server, m *serpstat.Method, s Settings, budget int64) *Run {
	if s.RunID == "" {
		s.RunID = "run1"
	}
	if s.Date == "" {
		s.Date = "2026-01-31"
	}
	s.ManyQueries = len(s.Queries) > 1
	params := serpstat.Params{Query: s.Queries[0]}
	if m.SearchTypes != nil {
		params.SearchType = serpstat.SearchDomainWithSubdomains
	}
	p := pager.New(pager.Config{
		Fetcher: &serpstat.Client{Endpoint: srv.URL, Token: serpstattest.DefaultToken},
		Method:  m, Params: params,
		Sleep: func(context.Context, time.Duration) error { return nil },
	})
	return &Run{Settings: s, Pager: p, Budget: pager.NewBudget(budget), Stdout: io.Discard, Descriptor: m}
}

// readCSV reads a CSV output: its header and its rows.
func readCSV(t *testing.T, path string) ([]string, [][]string) {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	require.NoError(t, err)
	require.NotEmpty(t, recs)
	return recs[0], recs[1:]
}

// cell is v as the CSV sink writes it (no value here starts with a
// character the formula guard quotes).
func cell(m *serpstat.Method, c int, v serpstat.Value) string {
	switch {
	case v.Null:
		return ""
	case m.Columns[c].Kind == serpstat.KindInt:
		return strconv.FormatInt(v.Int, 10)
	case m.Columns[c].Kind == serpstat.KindFloat:
		return strconv.FormatFloat(v.Float, 'f', -1, 64)
	}
	return v.Str
}

var sixDomains = []string{"a.example", "bb.example.org", "ccc.example", "d.example", "ee.example", "f.example"}

// TestNotPagedRunIntoOneFile: summary-v2 of six domains into one CSV and
// one NDJSON file (their spools beside them, one a query, gone at the
// end): a row a domain, led by its query, every count the fake's,
// serpstat_domain_rank filled; billed 30. Its estimate said 30 and
// spent nothing. distribution-tld: every TLD row of every domain, billed
// 1 a domain.
func TestNotPagedRunIntoOneFile(t *testing.T) {
	ctx := context.Background()
	for _, m := range []*serpstat.Method{backlinks.SummaryV2, backlinks.DistributionTLD} {
		t.Run(m.Name, func(t *testing.T) {
			srv := serpstattest.NewServer(serpstattest.Options{})
			defer srv.Close()
			dir := t.TempDir()
			s := Settings{Queries: sixDomains, Out: []string{filepath.Join(dir, "s.csv"), filepath.Join(dir, "s.ndjson")}}
			price := m.Price(serpstat.Params{})

			est, err := wholeRun(srv, m, s, 0).Estimate(ctx)
			require.NoError(t, err)
			require.Equal(t, price*6, est.Credits)
			require.Zero(t, est.EstimateCost)
			require.Equal(t, 6, est.Pages)
			require.True(t, est.List[0].NotPaged)
			require.Zero(t, srv.Stats().Requests, "an estimate asks nothing")

			res, err := wholeRun(srv, m, s, 0).Export(ctx)
			require.NoError(t, err)
			require.Equal(t, price*6, srv.Stats().CreditsBilled)
			require.Len(t, res.queries, 6)

			head, rows := readCSV(t, filepath.Join(dir, "s.csv"))
			require.Equal(t, append([]string{"query"}, m.OutputColumns()...), head)
			var want [][]string
			for _, q := range sixDomains {
				exp := srv.Expected(m, q, serpstat.Params{Query: q, SearchType: serpstat.SearchDomainWithSubdomains})
				if m == backlinks.DistributionTLD {
					require.Len(t, exp, serpstattest.TLDRows(q))
				}
				for _, r := range exp {
					line := []string{q}
					for c, v := range r.Values {
						line = append(line, cell(m, c, v))
					}
					want = append(want, append(line, ""))
				}
			}
			require.Equal(t, want, rows)
			if m == backlinks.SummaryV2 {
				for _, r := range rows {
					require.NotEmpty(t, r[1], "serpstat_domain_rank")
				}
			}
			data, err := os.ReadFile(filepath.Join(dir, "s.ndjson"))
			require.NoError(t, err)
			lines := strings.Split(strings.TrimSpace(string(data)), "\n")
			require.Len(t, lines, len(want))
			var first map[string]any
			require.NoError(t, json.Unmarshal([]byte(lines[0]), &first))
			require.Equal(t, sixDomains[0], first["query"])

			entries, err := os.ReadDir(dir)
			require.NoError(t, err)
			for _, e := range entries {
				require.False(t, strings.Contains(e.Name(), "spool"), "spools removed: %s", e.Name())
			}
		})
	}
}

// TestNotPagedRerunPaysOnlyWhatWasNotBought: the third domain's answer
// fails (out of credits, which stops the run); the run's outputs are not
// committed, the two answers bought are kept; the rerun buys the other
// four only, into one shared file or into a file a query.
func TestNotPagedRerunPaysOnlyWhatWasNotBought(t *testing.T) {
	ctx := context.Background()
	for _, shared := range []bool{true, false} {
		t.Run(map[bool]string{true: "one file", false: "a file a query"}[shared], func(t *testing.T) {
			var broken atomic.Bool
			broken.Store(true)
			srv := serpstattest.NewServer(serpstattest.Options{Fault: func(fi serpstattest.FaultInfo) serpstattest.Fault {
				if broken.Load() && fi.Params.Query == sixDomains[2] {
					return serpstattest.Fault{Kind: serpstattest.FaultAPIError, Code: serpstattest.CodeNoCredits, Message: serpstattest.MsgNoCredits}
				}
				return serpstattest.Fault{}
			}})
			defer srv.Close()
			dir := t.TempDir()
			out := filepath.Join(dir, "s.csv")
			if !shared {
				out = filepath.Join(dir, "{query}.csv")
			}
			s := Settings{Queries: sixDomains, Out: []string{out}, StateDir: filepath.Join(dir, "state")}
			_, err := wholeRun(srv, backlinks.SummaryV2, s, 0).Export(ctx)
			require.Equal(t, serpstat.ClassCredits, serpstat.Classify(err), "%v", err)
			// The queries run at once: the two before it are bought,
			// and those started while its answer was awaited.
			billed := srv.Stats().CreditsBilled
			require.GreaterOrEqual(t, billed, int64(10), "two answers at least, the error not billed")
			require.LessOrEqual(t, billed, int64(25), "five answers at most, the error not billed")

			broken.Store(false)
			_, err = wholeRun(srv, backlinks.SummaryV2, s, 0).Export(ctx)
			require.NoError(t, err)
			require.EqualValues(t, 30, srv.Stats().CreditsBilled, "the rerun paid for the four not bought")
			for _, q := range sixDomains {
				key := serpstattest.PageKey{Query: q, Method: backlinks.SummaryV2.Name}
				require.Equal(t, 1, srv.Stats().PagesBilled[key], q)
			}
			if shared {
				_, rows := readCSV(t, out)
				require.Len(t, rows, 6)
				return
			}
			for _, q := range sixDomains {
				_, rows := readCSV(t, filepath.Join(dir, q+".csv"))
				require.Len(t, rows, 1, q)
			}
		})
	}
}

// TestNotPagedBudget: a budget below a query's price sends nothing; one
// that pays for two of six queries buys two and stops as a budget stop.
func TestNotPagedBudget(t *testing.T) {
	ctx := context.Background()
	srv := serpstattest.NewServer(serpstattest.Options{})
	defer srv.Close()
	dir := t.TempDir()
	_, err := wholeRun(srv, backlinks.SummaryV2, Settings{Queries: sixDomains[:1], Out: []string{filepath.Join(dir, "one.csv")}}, 4).Export(ctx)
	require.ErrorIs(t, err, pager.ErrBudgetExhausted)
	require.Zero(t, srv.Stats().Requests, "nothing sent")
	_, err = os.Stat(filepath.Join(dir, "one.csv"))
	require.ErrorIs(t, err, os.ErrNotExist)

	_, err = wholeRun(srv, backlinks.SummaryV2, Settings{Queries: sixDomains, Out: []string{filepath.Join(dir, "{query}.csv")}, StateDir: filepath.Join(dir, "state")}, 12).Export(ctx)
	var bs *BudgetStop
	require.True(t, errors.As(err, &bs), "%v", err)
	require.Equal(t, 2, bs.Finished)
	require.EqualValues(t, 10, srv.Stats().CreditsBilled)
}

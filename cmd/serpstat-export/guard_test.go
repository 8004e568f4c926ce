package main_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/serpstat-export/serpstat-export/serpstat/backlinks"
	"github.com/serpstat-export/serpstat-export/serpstat/serpstattest"
	"github.com/serpstat-export/serpstat-export/sink"
)

// Issue 20's acceptance through the binary: every credit is planned, and
// no answer of the API makes an export spend past its plan.

// TestFiltersWithNoEffectStopWithRowsInDoubt: an API that answers every
// slicing filter as if it had no effect (the fake's IgnoreFilters, what
// fake-api --ignore-filter all does) cannot make a sliced export spend:
// it stops with the rows past the wall in doubt (exit 1), names the
// filters that had no effect, and bills page 1 and a few probes, under
// twice the query's rows. With the filters honoured the same export is
// exact: every row once, billed rows and probes.
func TestFiltersWithNoEffectStopWithRowsInDoubt(t *testing.T) {
	const rows, wall = 2345, 1000
	for _, ignore := range []bool{true, false} {
		t.Run(fmt.Sprintf("ignored %v", ignore), func(t *testing.T) {
			opts := serpstattest.Options{Rows: rows}
			if ignore {
				opts.IgnoreFilters = []string{"all"}
			}
			srv := serpstattest.NewServer(opts)
			defer srv.Close()
			dir := t.TempDir()
			out, sum := filepath.Join(dir, "t.ndjson"), filepath.Join(dir, "s.json")
			res := runCLI(t, serpstattest.DefaultToken, exportArgs(srv, "threats.example", "--method", "threats", "--wall", strconv.Itoa(wall),
				"--out", out, "--summary-json", sum)...)
			billed := srv.Stats().CreditsBilled
			var s struct {
				Rows        int64 `json:"rows"`
				RowsInDoubt int64 `json:"rows_in_doubt"`
				Credits     int64 `json:"credits_billed"`
			}
			data, err := os.ReadFile(sum)
			require.NoError(t, err)
			require.NoError(t, json.Unmarshal(data, &s))
			assert.Equal(t, billed, s.Credits)
			if ignore {
				require.Equal(t, 1, res.code, res.stderr)
				assert.Contains(t, res.stderr, "ROWS IN DOUBT")
				assert.Contains(t, res.stderr, "lastupdate (the parts of all add up to")
				assert.Contains(t, res.stderr, "links_count (the parts of all add up to")
				assert.EqualValues(t, rows-wall, s.RowsInDoubt)
				assert.EqualValues(t, wall, s.Rows, "the rows reachable without slicing are written")
				assert.LessOrEqual(t, billed, int64(2*rows), "never more than twice the query's rows")
				assert.LessOrEqual(t, billed, int64(wall+10), "page 1, the rest of the wall's rows and two probes a slicing field")
				return
			}
			require.Equal(t, 0, res.code, res.stderr)
			want := srv.Expected(backlinks.Threats, "threats.example", sent(t, srv, backlinks.Threats))
			got, err := os.ReadFile(out)
			require.NoError(t, err)
			assert.Equal(t, lines(formatted(t, sink.FormatNDJSON, backlinks.Threats, want), 0), lines(got, 0), "every row once")
			assert.Zero(t, s.RowsInDoubt)
			assert.GreaterOrEqual(t, billed, int64(rows))
			assert.LessOrEqual(t, billed, int64(rows+rows/50), "rows and the probes; page 1 is not bought twice")
		})
	}
}

// TestABudgetStopOfTenDomainsNeverPaysTwice: ten domains of 230 rows in
// pages of 100 (as 2,300 in pages of 1,000) under --budget 1000: the
// domains exported at once spend at most the 1,000 (a page 1 cut to the
// credits left), and the run stops (exit 3). The rerun with a larger
// budget reuses every row bought: 2,300 credits for 2,300 rows.
func TestABudgetStopOfTenDomainsNeverPaysTwice(t *testing.T) {
	const rows = 230
	srv := serpstattest.NewServer(serpstattest.Options{RowsFor: func(string) int { return rows }})
	defer srv.Close()
	dir := t.TempDir()
	var domains []string
	for i := range 10 {
		domains = append(domains, fmt.Sprintf("d%02d.example", i))
	}
	require.NoError(t, os.WriteFile(filepath.Join(dir, "domains.txt"), []byte(strings.Join(domains, "\n")), 0o644))
	args := []string{"export", "--endpoint", srv.URL, "--rps", "1000", "--size", "100", "--queries-file", filepath.Join(dir, "domains.txt"),
		"--out", filepath.Join(dir, "out", "{query}.csv"), "--state-dir", filepath.Join(dir, "state")}
	res := runCLI(t, serpstattest.DefaultToken, append(args, "--budget", "1000")...)
	require.Equal(t, 3, res.code, res.stderr)
	// The domains run several at once: the budget stops the run when one
	// of them cannot reserve its next page, within the 1,000.
	assert.LessOrEqual(t, srv.Stats().CreditsBilled, int64(1000), "never past the budget")
	assert.Positive(t, srv.Stats().CreditsBilled)
	res = runCLI(t, serpstattest.DefaultToken, append(args, "--budget", "10000")...)
	require.Equal(t, 0, res.code, res.stderr)
	assert.EqualValues(t, 10*rows, srv.Stats().CreditsBilled, "2,300 credits for 2,300 rows")
	for _, d := range domains {
		requireSameSet(t, asCSV(serpstattest.Rows(d, rows)), readCSV(t, filepath.Join(dir, "out", d+".csv")), d)
	}
}

// TestMaxRowsPastAnEarlierWall: --max-rows 3100 of 5,000 rows past a
// 2,000-row wall is sliced, writes exactly 3,100 rows, and bills them and
// the probes (page 1 is the first slices' rows, not bought again).
func TestMaxRowsPastTheWallBillsThePlan(t *testing.T) {
	srv := serpstattest.NewServer(serpstattest.Options{Rows: 5000})
	defer srv.Close()
	dir := t.TempDir()
	out := filepath.Join(dir, "m.csv")
	est := runCLI(t, serpstattest.DefaultToken, "estimate", "--endpoint", srv.URL, "--rps", "1000", "--query", "max.example",
		"--wall", "2000", "--size", "500", "--max-rows", "3100", "--json")
	require.Equal(t, 0, est.code, est.stderr)
	var e struct {
		Credits      int64 `json:"credits"`
		EstimateCost int64 `json:"estimate_cost"`
	}
	require.NoError(t, json.Unmarshal([]byte(est.stdout), &e))
	before := srv.Stats().CreditsBilled
	res := runCLI(t, serpstattest.DefaultToken, exportArgs(srv, "max.example", "--wall", "2000", "--size", "500", "--max-rows", "3100", "--out", out)...)
	require.Equal(t, 0, res.code, res.stderr)
	got := readCSV(t, out)
	require.Len(t, got, 3100)
	seen := map[any]bool{}
	for _, r := range got {
		require.False(t, seen[r], "a row written twice")
		seen[r] = true
	}
	billed := srv.Stats().CreditsBilled - before
	assert.LessOrEqual(t, billed, int64(3300))
	assert.Equal(t, e.Credits, billed, "the estimate's plan is the export's")
}

// TestEstimateAndExportShareThePlan: a sliced 4,000-row query with a hot
// day (35% of its rows first seen on one day) under a 1,000-row wall (as
// 20,000 rows under 5,000): the export bills what estimate said, within
// 0.1%.
func TestEstimateAndExportShareThePlan(t *testing.T) {
	const rows = 4000
	srv := serpstattest.NewServer(serpstattest.Options{Rows: rows, SameDayShare: 0.35})
	defer srv.Close()
	est := runCLI(t, serpstattest.DefaultToken, "estimate", "--endpoint", srv.URL, "--rps", "1000", "--query", "hot.example", "--wall", "1000", "--json")
	require.Equal(t, 0, est.code, est.stderr)
	var e struct {
		Credits int64 `json:"credits"`
		Guard   int64 `json:"guard"`
		Slices  int   `json:"slices"`
	}
	require.NoError(t, json.Unmarshal([]byte(est.stdout), &e))
	require.Positive(t, e.Slices)
	before := srv.Stats().CreditsBilled
	out := filepath.Join(t.TempDir(), "h.csv")
	res := runCLI(t, serpstattest.DefaultToken, exportArgs(srv, "hot.example", "--wall", "1000", "--out", out)...)
	require.Equal(t, 0, res.code, res.stderr)
	billed := srv.Stats().CreditsBilled - before
	requireSameSet(t, asCSV(srv.Rows("hot.example", rows)), readCSV(t, out), "every row once")
	assert.InEpsilon(t, e.Credits, billed, 0.001, "estimate %d, billed %d", e.Credits, billed)
	assert.Less(t, billed, e.Guard)
	t.Logf("estimate %d credits, export billed %d for %d rows in %d slices", e.Credits, billed, rows, e.Slices)
}

// TestLiveDataWithFaultsIsProvenByTheRunOrItsRerun: 260 rows arrive on
// top (newest first) after page 6 of 2,000 in pages of 100 (as 1,300
// after page 6 of 10,000 in pages of 500), while a tenth of the
// requests fail with 502, resets and truncated answers. The first run,
// or else its rerun, exits 0 with every row that existed at page 1 once;
// the rerun never buys again a window the first run kept.
func TestLiveDataWithFaultsIsProvenByTheRunOrItsRerun(t *testing.T) {
	const rows = 2000
	for _, seed := range []int64{2, 3, 6} {
		t.Run(fmt.Sprintf("seed %d", seed), func(t *testing.T) {
			srv := serpstattest.NewServer(serpstattest.Options{Rows: rows, InsertRows: 260, InsertAfter: 6,
				Faults: serpstattest.FaultRates{Seed: seed, Status502: 0.1, Reset: 0.05, Truncate: 0.05}})
			defer srv.Close()
			dir := t.TempDir()
			out, summary := filepath.Join(dir, "live.csv"), filepath.Join(dir, "summary.json")
			args := exportArgs(srv, "live.example", "--sort", "add", "--order", "desc", "--size", "100", "--workers", "6", "--retries", "20",
				"--out", out, "--summary-json", summary)
			res := runCLI(t, serpstattest.DefaultToken, args...)
			kept := map[string]bool{}
			for _, e := range srv.Log() {
				if e.Outcome == serpstattest.OutcomeOK {
					kept[fmt.Sprintf("%d/%d/%v", e.Params.Page, e.Params.Size, e.Params.ComplexFilter)] = true
				}
			}
			first := len(srv.Log())
			if res.code != 0 {
				require.Equal(t, 1, res.code, res.stderr)
				assert.Contains(t, res.stderr, "pays only for what is still unproven")
				t.Logf("the first run stopped, after %d credits: %s", srv.Stats().CreditsBilled, lastLine(res.stderr))
				res = runCLI(t, serpstattest.DefaultToken, args...)
				require.Equal(t, 0, res.code, "the rerun proves what the first run could not: %s", res.stderr)
				for _, e := range srv.Log()[first:] {
					k := fmt.Sprintf("%d/%d/%v", e.Params.Page, e.Params.Size, e.Params.ComplexFilter)
					require.False(t, e.Outcome == serpstattest.OutcomeOK && kept[k], "the rerun bought %s again", k)
				}
			}
			got := readCSV(t, out)
			count := map[string]int{}
			for _, r := range got {
				count[fmt.Sprint(r)]++
			}
			for i, r := range asCSV(serpstattest.Rows("live.example", rows)) {
				require.Equal(t, 1, count[fmt.Sprint(r)], "starting row %d written %d times", i, count[fmt.Sprint(r)])
			}
			for k, n := range count {
				require.Equal(t, 1, n, "row %s written %d times", k, n)
			}
			raw, err := os.ReadFile(summary)
			require.NoError(t, err)
			var sum struct {
				Reread     int64 `json:"reread"`
				Duplicates int64 `json:"duplicates"`
				Retries    int64 `json:"retries"`
			}
			require.NoError(t, json.Unmarshal(raw, &sum))
			t.Logf("rows %d, billed %d over %d requests; %d retries, %d re-read, %d duplicates", len(got), srv.Stats().CreditsBilled, srv.Stats().Requests, sum.Retries, sum.Reread, sum.Duplicates)
		})
	}
}

// lastLine is the last line of s that is not a log line.
func lastLine(s string) string {
	ls := strings.Split(strings.TrimSpace(s), "\n")
	for i := len(ls) - 1; i >= 0; i-- {
		if !strings.HasPrefix(ls[i], "time=") && !strings.HasPrefix(ls[i], "  ") {
			return ls[i]
		}
	}
	return ""
}

// TestIncrementalRunOfAnAPIThatIgnoresTheCursorStops: the second
// incremental run of a threat method, against an API that reads the
// cursor's filter as if it were not there, writes no old row again, says
// how many it saw in the summary (older_than_cursor) and on stderr, and
// exits 1 having bought page 1, not the whole history.
func TestIncrementalRunOfAnAPIThatIgnoresTheCursorStops(t *testing.T) {
	const rows = 2400
	srv := serpstattest.NewServer(serpstattest.Options{Rows: rows})
	defer srv.Close()
	dir := t.TempDir()
	state := filepath.Join(dir, "inc.json")
	args := func(srv *serpstattest.Server, out string) []string {
		return exportArgs(srv, "threats.example", "--method", "threats", "--incremental", state,
			"--out", filepath.Join(dir, out), "--summary-json", filepath.Join(dir, "s.json"), "--size", "200")
	}
	res := runCLI(t, serpstattest.DefaultToken, args(srv, "first.csv")...)
	require.Equal(t, 0, res.code, res.stderr)

	deaf := serpstattest.NewServer(serpstattest.Options{Rows: rows, IgnoreFilters: []string{"lastupdate"}})
	defer deaf.Close()
	res = runCLI(t, serpstattest.DefaultToken, args(deaf, "second.csv")...)
	require.Equal(t, 1, res.code, res.stderr)
	assert.Contains(t, res.stderr, "did not apply the cursor filter of threats")
	assert.NoFileExists(t, filepath.Join(dir, "second.csv"))
	var s struct {
		Older int64 `json:"older_than_cursor"`
	}
	data, err := os.ReadFile(filepath.Join(dir, "s.json"))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(data, &s))
	assert.Positive(t, s.Older)
	assert.Less(t, deaf.Stats().CreditsBilled, int64(rows), "the history is not bought again")
}

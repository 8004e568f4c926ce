package main_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/serpstat-export/serpstat-export/serpstat/serpstattest"
)

// Tests of the engine's promises under attack (issue 12): damaged
// checkpoints, budgets across resumes, exact --max-rows, live data.

// storedPages lists the page numbers of the query's pages of 1000 rows a
// spool holds (page-OFFSET-SIZE.json).
func storedPages(t *testing.T, spool string) []int {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(spool, "page-*.json"))
	require.NoError(t, err)
	var out []int
	for _, n := range names {
		var off, size int
		_, err := fmt.Sscanf(filepath.Base(n), "page-%09d-%d.json", &off, &size)
		require.NoError(t, err)
		if size == 1000 {
			out = append(out, off/size+1)
		}
	}
	sort.Ints(out)
	return out
}

// pageFile is the file of the query's page n of 1000 rows in a spool.
func pageFile(spool string, n int) string {
	return filepath.Join(spool, fmt.Sprintf("page-%09d-%d.json", (n-1)*1000, 1000))
}

// killAfter starts the binary with args and kills it (SIGKILL) once the
// fake has billed at least pages answers, and waits until the fake has
// billed every request the process sent.
func killAfter(t *testing.T, srv *serpstattest.Server, pages int, args ...string) {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Env = append(os.Environ(), "SERPSTAT_TOKEN="+serpstattest.DefaultToken)
	require.NoError(t, cmd.Start())
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	for {
		select {
		case err := <-done:
			t.Fatalf("the run ended before the kill: %v", err)
		case <-time.After(2 * time.Millisecond):
		}
		if srv.Stats().ByOutcome[serpstattest.OutcomeOK] >= pages {
			break
		}
	}
	require.NoError(t, cmd.Process.Kill())
	<-done
	waitIdle(t, srv)
}

// waitIdle waits until srv has answered (and billed) every request of a
// process that has ended: a kill -9 can leave its last request on its way
// in, and a test that reads the bill before it is billed reads too little.
func waitIdle(t *testing.T, srv *serpstattest.Server) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute) // a bound on a hang, not a timing assertion
	defer cancel()
	require.NoError(t, srv.WaitIdle(ctx))
}

func TestDamagedCheckpointPagesAreBoughtAgainAlone(t *testing.T) {
	clean, _ := cleanRun(t, "damage.example", 12000)
	srv := serpstattest.NewServer(serpstattest.Options{Rows: 12000, Latency: 30 * time.Millisecond})
	defer srv.Close()
	dir := t.TempDir()
	args := exportArgs(srv, "damage.example", append([]string{"--workers", "1"}, outArgs(dir)...)...)
	killAfter(t, srv, 7, args...)

	spool := filepath.Join(dir, ".b.csv.spool")
	stored := storedPages(t, spool)
	require.Subset(t, stored, []int{1, 2, 3, 4, 5, 6})
	page := func(n int) string { return pageFile(spool, n) }
	// Page 3 cut short; page 4 overwritten with page 5's content.
	data, err := os.ReadFile(page(3))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(page(3), data[:len(data)/2], 0o644))
	data, err = os.ReadFile(page(5))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(page(4), data, 0o644))

	before := len(srv.Log())
	summary := filepath.Join(t.TempDir(), "summary.json")
	res := runCLI(t, serpstattest.DefaultToken, append(args, "--summary-json", summary)...)
	require.Equal(t, 0, res.code, res.stderr)
	requireSameOutputs(t, clean, readOutputs(t, dir))
	require.Contains(t, res.stderr, "damaged")

	// The resume bought the pages not stored, and pages 3 and 4 again:
	// nothing else.
	want := map[int]bool{3: true, 4: true}
	for n := 1; n <= 12; n++ {
		if !contains(stored, n) {
			want[n] = true
		}
	}
	got := map[int]bool{}
	for _, e := range srv.Log()[before:] {
		if e.Method == "SerpstatBacklinksProcedure.getNewBacklinks" {
			require.False(t, got[e.Params.Page], "page %d bought twice by the resume", e.Params.Page)
			got[e.Params.Page] = true
		}
	}
	require.Equal(t, want, got)
	var sum struct {
		DamagedPages int `json:"damaged_pages"`
		ExitCode     int `json:"exit_code"`
	}
	raw, err := os.ReadFile(summary)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(raw, &sum))
	require.Equal(t, 2, sum.DamagedPages)
}

func contains(s []int, v int) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// stopAfterBilled starts the binary with args and stops it once the fake has
// billed at least credits: with SIGINT (and waits for its exit 130) or
// with SIGKILL; then it waits until the fake has billed every request the
// process sent.
func stopAfterBilled(t *testing.T, srv *serpstattest.Server, credits int64, sig os.Signal, args ...string) {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Env = append(os.Environ(), "SERPSTAT_TOKEN="+serpstattest.DefaultToken)
	require.NoError(t, cmd.Start())
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	for srv.Stats().CreditsBilled < credits {
		select {
		case err := <-done:
			t.Fatalf("the run ended before it was stopped: %v", err)
		case <-time.After(time.Millisecond):
		}
	}
	require.NoError(t, cmd.Process.Signal(sig))
	err := <-done
	if sig == os.Interrupt {
		var ee *exec.ExitError
		require.ErrorAs(t, err, &ee)
		require.Equal(t, 130, ee.ExitCode())
	}
	waitIdle(t, srv)
}

func TestBudgetCapsTheExportAcrossResumes(t *testing.T) {
	for _, tc := range []struct {
		name       string
		sig        os.Signal
		budget, at int64
	}{
		{"ctrl-c", os.Interrupt, 5000, 4000},
		{"kill -9", os.Kill, 10000, 4000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// Past the stop point the first attempt's pages are held, so the
			// signal finds it running however loaded the machine is (at
			// --rps 25 one page is 40 ms: a busy machine could finish the
			// export before the signal).
			var hold atomic.Bool
			hold.Store(true)
			srv := serpstattest.NewServer(serpstattest.Options{Rows: 30000, Latency: 20 * time.Millisecond,
				Fault: func(fi serpstattest.FaultInfo) serpstattest.Fault {
					if hold.Load() && int64(fi.Params.Page)*1000 > tc.at {
						return serpstattest.Fault{Kind: serpstattest.FaultDelay, Delay: 300 * time.Millisecond}
					}
					return serpstattest.Fault{}
				}})
			defer srv.Close()
			dir := t.TempDir()
			out := filepath.Join(dir, "b.csv")
			summary := filepath.Join(dir, "summary.json")
			args := []string{"export", "--endpoint", srv.URL, "--query", "budget.example", "--rps", "25", "--workers", "2",
				"--budget", fmt.Sprint(tc.budget), "--partial", "--out", out, "--summary-json", summary}
			stopAfterBilled(t, srv, tc.at, tc.sig, args...)
			hold.Store(false)
			first := srv.Stats().CreditsBilled
			require.Less(t, first, tc.budget)

			res := runCLI(t, serpstattest.DefaultToken, args...)
			require.Equal(t, 0, res.code, res.stderr)
			billed := srv.Stats().CreditsBilled
			rows := readCSV(t, out)
			t.Logf("first attempt billed %d, in all %d, rows %d", first, billed, len(rows))
			require.LessOrEqual(t, billed, tc.budget, "--budget caps the export in all")
			requireRows(t, asCSV(apiRows(srv, "budget.example", len(rows))), rows, "the first rows")
			if tc.sig == os.Interrupt {
				require.EqualValues(t, billed, len(rows), "rows written = credits billed")
			}
			var sum struct {
				CreditsBilled      int64 `json:"credits_billed"`
				CreditsBilledInAll int64 `json:"credits_billed_in_all"`
				Attempts           int   `json:"attempts"`
			}
			raw, err := os.ReadFile(summary)
			require.NoError(t, err)
			require.NoError(t, json.Unmarshal(raw, &sum))
			require.Equal(t, 2, sum.Attempts)
			require.Equal(t, billed-first, sum.CreditsBilled, "this attempt")
			require.GreaterOrEqual(t, sum.CreditsBilledInAll, billed, "the export in all (a kill may count requests in flight that were never billed)")
			require.LessOrEqual(t, sum.CreditsBilledInAll, tc.budget)
		})
	}
}

func TestMaxRowsBillsExactlyTheRowsWanted(t *testing.T) {
	for _, n := range []int{2344, 3001, 999} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			srv := serpstattest.NewServer(serpstattest.Options{Rows: 5000})
			defer srv.Close()
			est := runCLI(t, serpstattest.DefaultToken, "estimate", "--endpoint", srv.URL, "--rps", "1000", "--query", "max.example",
				"--max-rows", fmt.Sprint(n), "--budget", fmt.Sprint(n), "--json")
			require.Equal(t, 0, est.code, est.stderr)
			var e struct {
				Pages      int    `json:"pages"`
				PagePlan   string `json:"page_plan"`
				Credits    int64  `json:"credits"`
				FitsBudget bool   `json:"fits_budget"`
			}
			require.NoError(t, json.Unmarshal([]byte(est.stdout), &e), est.stdout)
			require.EqualValues(t, n, e.Credits, e.PagePlan)
			require.True(t, e.FitsBudget)
			spent := srv.Stats().CreditsBilled // the estimate's size-1 request

			out := filepath.Join(t.TempDir(), "top.csv")
			res := runCLI(t, serpstattest.DefaultToken, exportArgs(srv, "max.example", "--max-rows", fmt.Sprint(n),
				"--budget", fmt.Sprint(n), "--out", out)...)
			require.Equal(t, 0, res.code, res.stderr)
			requireRows(t, asCSV(apiRows(srv, "max.example", n)), readCSV(t, out), "the first rows")
			require.EqualValues(t, n, srv.Stats().CreditsBilled-spent, "billed exactly --max-rows")
			pages := 0
			for _, en := range srv.Log() {
				if en.Method == "SerpstatBacklinksProcedure.getNewBacklinks" {
					pages++
				}
			}
			require.Equal(t, e.Pages, pages-1, "the pages estimate showed: %s", e.PagePlan)
			t.Logf("--max-rows %d: %s", n, e.PagePlan)
		})
	}
}

func TestLiveDataEveryStartingRowExactlyOnce(t *testing.T) {
	tests := []struct {
		name                      string
		rows, size, insert, after int
		extra                     []string
	}{
		{"size 100, 150 at the top after 5 pages", 1500, 100, 150, 5, []string{"--sort", "check"}},
		{"size 100, 150 after 5 pages, default order", 1500, 100, 150, 5, nil},
		{"size 1000, 300 at the top after 1 page", 3000, 1000, 300, 1, []string{"--sort", "check", "--order", "desc"}},
		{"size 1000, 300 after 1 page, default order", 3000, 1000, 300, 1, nil},
		{"size 100, 150 at the top after 5 pages, 1 worker", 1500, 100, 150, 5, []string{"--sort", "check", "--workers", "1"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := serpstattest.NewServer(serpstattest.Options{Rows: tc.rows, InsertRows: tc.insert, InsertAfter: tc.after})
			defer srv.Close()
			dir := t.TempDir()
			out := filepath.Join(dir, "live.csv")
			summary := filepath.Join(dir, "summary.json")
			res := runCLI(t, serpstattest.DefaultToken, exportArgs(srv, "live.example",
				append([]string{"--size", fmt.Sprint(tc.size), "--out", out, "--summary-json", summary}, tc.extra...)...)...)
			require.Equal(t, 0, res.code, res.stderr)
			got := readCSV(t, out)
			count := map[string]int{}
			for _, r := range got {
				count[fmt.Sprint(r)]++
			}
			for i, r := range asCSV(serpstattest.Rows("live.example", tc.rows)) {
				require.Equal(t, 1, count[fmt.Sprint(r)], "starting row %d written %d times", i, count[fmt.Sprint(r)])
			}
			for k, n := range count {
				require.Equal(t, 1, n, "row %s written %d times", k, n)
			}
			var sum struct {
				Duplicates int64 `json:"duplicates"`
				Reread     int64 `json:"reread"`
				InDoubt    int64 `json:"rows_in_doubt"`
				Billed     int64 `json:"credits_billed"`
			}
			raw, err := os.ReadFile(summary)
			require.NoError(t, err)
			require.NoError(t, json.Unmarshal(raw, &sum))
			require.Zero(t, sum.InDoubt)
			t.Logf("rows %d, duplicates %d, re-read %d, billed %d", len(got), sum.Duplicates, sum.Reread, sum.Billed)
		})
	}
}

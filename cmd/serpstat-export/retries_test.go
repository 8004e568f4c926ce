package main_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/serpstat-export/serpstat-export/serpstat/serpstattest"
)

// retrySummary is what the tests of issue 22's accounting read of
// --summary-json.
type retrySummary struct {
	RunID              string `json:"run_id"`
	ExitCode           int    `json:"exit_code"`
	Date               string `json:"date"`
	Rows               int64  `json:"rows"`
	CreditsBilled      int64  `json:"credits_billed"`
	CreditsBilledInAll int64  `json:"credits_billed_in_all"`
	BalanceBefore      *int64 `json:"balance_before"`
	BalanceAfter       *int64 `json:"balance_after"`
	QueriesReused      *int   `json:"queries_reused"`
	QueriesNotStarted  *int   `json:"queries_not_started"`
	RunRecord          string `json:"run_record"`
	Fresh              bool   `json:"fresh"`
	Queries            []struct {
		Query              string `json:"query"`
		Status             string `json:"status"`
		Error              string `json:"error"`
		CreditsBilled      int64  `json:"credits_billed"`
		CreditsBilledInAll int64  `json:"credits_billed_in_all"`
		Reused             bool   `json:"reused"`
	} `json:"queries"`
	Outputs []struct {
		Path string `json:"path"`
		Run  string `json:"run"`
	} `json:"outputs"`
}

func readRetrySummary(t *testing.T, path string) retrySummary {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	var s retrySummary
	require.NoError(t, json.Unmarshal(data, &s))
	return s
}

// retryManifest is what these tests read of _manifest.json.
type retryManifest struct {
	RunID         string `json:"run_id"`
	Date          string `json:"date"`
	Paths         string `json:"paths"`
	CreditsBilled int64  `json:"credits_billed"`
	Complete      bool   `json:"complete"`
	Files         []struct {
		Path  string `json:"path"`
		Query string `json:"query"`
		Run   string `json:"run"`
		Rows  int64  `json:"rows"`
	} `json:"files"`
	Queries []struct {
		Query         string `json:"query"`
		Status        string `json:"status"`
		Run           string `json:"run"`
		CreditsBilled int64  `json:"credits_billed"`
		Reused        bool   `json:"reused"`
	} `json:"queries"`
}

func readRetryManifest(t *testing.T, path string) retryManifest {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	var m retryManifest
	require.NoError(t, json.Unmarshal(data, &m))
	return m
}

// lakeRows reads every CSV part under dir/domain=q, in part order.
func lakeRows(t *testing.T, dir, q string) []serpstattest.Backlink {
	t.Helper()
	parts, err := filepath.Glob(filepath.Join(dir, "domain="+q, "*.csv"))
	require.NoError(t, err)
	sort.Strings(parts)
	var rows []serpstattest.Backlink
	for _, p := range parts {
		rows = append(rows, readCSV(t, p)...)
	}
	return rows
}

// TestASchedulersRetryPaysNothingTwice is issue 22's acceptance scaled
// down: five domains of 300 rows in pages of 100, parts of 200 rows, and
// one domain the API refuses (error 32117) on every try. The first run
// exits 1 after 1,200 credits for the four good ones; the same command
// run again bills nothing more, writes no row twice, exits 1 again for
// the refused one, and its summary says four were reused and counts the
// 1,200 credits of both attempts; the manifest counts them too and names
// the run that wrote each entry, its paths relative to it. --fresh then
// buys them again on purpose and still leaves each row once in the lake.
func TestASchedulersRetryPaysNothingTwice(t *testing.T) {
	const rows = 300
	srv := serpstattest.NewServer(serpstattest.Options{RowsFor: func(string) int { return rows }, Fault: func(fi serpstattest.FaultInfo) serpstattest.Fault {
		if fi.Params.Query == "refused.example" {
			return serpstattest.Fault{Kind: serpstattest.FaultAPIError, Code: serpstattest.CodeFilter, Message: "Invalid value for field query"}
		}
		return serpstattest.Fault{}
	}})
	defer srv.Close()
	dir := t.TempDir()
	domains := []string{"a.example", "b.example", "refused.example", "c.example", "d.example"}
	good := []string{"a.example", "b.example", "c.example", "d.example"}
	qf := filepath.Join(dir, "domains.txt")
	require.NoError(t, os.WriteFile(qf, []byte(strings.Join(domains, "\n")+"\n"), 0o644))
	sumPath := filepath.Join(dir, "summary.json")
	args := []string{"export", "--endpoint", srv.URL, "--rps", "1000", "--size", "100", "--queries-file", qf,
		"--out", filepath.Join(dir, "lake", "dt={date}", "domain={query}", "part-{part}.csv"), "--max-rows-per-file", "200",
		"--state-dir", filepath.Join(dir, "state"), "--summary-json", sumPath}
	date := time.Now().UTC().Format(time.DateOnly)
	partition := filepath.Join(dir, "lake", "dt="+date)

	res := runCLI(t, serpstattest.DefaultToken, args...)
	require.Equal(t, 1, res.code, res.stderr)
	require.EqualValues(t, 4*rows, srv.Stats().CreditsBilled, "the four good domains")
	first := readRetrySummary(t, sumPath)
	assert.EqualValues(t, 4*rows, first.CreditsBilled)
	assert.EqualValues(t, srv.Stats().CreditsBilled, first.CreditsBilledInAll, "what the API billed")
	assert.Equal(t, date, first.Date)
	require.NotNil(t, first.QueriesReused)
	assert.Equal(t, 0, *first.QueriesReused)
	assert.True(t, strings.HasPrefix(first.RunRecord, filepath.Join(dir, "state", "run-")), first.RunRecord)
	assert.FileExists(t, first.RunRecord)
	require.NotNil(t, first.BalanceAfter, "the account was read from the answers")
	for _, q := range first.Queries {
		if q.Query == "refused.example" {
			assert.Equal(t, "failed", q.Status)
			assert.Contains(t, q.Error, "32117")
		} else {
			assert.Equal(t, "done", q.Status, q.Query)
			assert.EqualValues(t, rows, q.CreditsBilledInAll, q.Query)
		}
	}

	res = runCLI(t, serpstattest.DefaultToken, args...)
	require.Equal(t, 1, res.code, res.stderr)
	assert.EqualValues(t, 4*rows, srv.Stats().CreditsBilled, "the rerun bills nothing for the four")
	for k, n := range srv.Stats().PagesBilled {
		assert.Equal(t, 1, n, "%+v billed once", k)
	}
	second := readRetrySummary(t, sumPath)
	require.NotNil(t, second.QueriesReused)
	assert.Equal(t, 4, *second.QueriesReused)
	assert.EqualValues(t, 0, second.CreditsBilled)
	assert.EqualValues(t, srv.Stats().CreditsBilled, second.CreditsBilledInAll, "every attempt's credits: what the API billed")
	for _, q := range second.Queries {
		assert.Equal(t, q.Query != "refused.example", q.Reused, q.Query)
	}
	for _, o := range second.Outputs {
		assert.Equal(t, first.RunID, o.Run, "%s: written by the first run", o.Path)
	}
	assert.Contains(t, res.stderr, "4 reused")
	assert.Contains(t, res.stderr, "run record "+first.RunRecord)
	for _, q := range good {
		requireRows(t, asCSV(apiRows(srv, q, rows)), lakeRows(t, partition, q), q+": each row once")
	}

	m := readRetryManifest(t, filepath.Join(partition, "_manifest.json"))
	assert.Equal(t, "manifest", m.Paths)
	assert.False(t, m.Complete)
	assert.Equal(t, second.RunID, m.RunID)
	assert.EqualValues(t, 4*rows, m.CreditsBilled, "the credits of every attempt of the run")
	require.Len(t, m.Files, 8, "two parts of each good domain, once")
	for _, f := range m.Files {
		assert.True(t, strings.HasPrefix(f.Path, "domain="+f.Query+"/part-"), "%s is relative to the manifest", f.Path)
		assert.FileExists(t, filepath.Join(partition, f.Path))
		assert.Equal(t, first.RunID, f.Run)
	}
	for _, q := range m.Queries {
		if q.Query == "refused.example" {
			assert.Equal(t, second.RunID, q.Run)
			continue
		}
		assert.Equal(t, first.RunID, q.Run, q.Query)
		assert.True(t, q.Reused, q.Query)
	}

	// The estimate of the same command and date reads the record: the
	// four done are reused, priced 0 and not probed.
	billed := srv.Stats().CreditsBilled
	res = runCLI(t, serpstattest.DefaultToken, append([]string{"estimate", "--json"}, args[1:]...)...)
	require.Equal(t, 1, res.code, "the refused query fails its estimate: %s", res.stderr)
	var est struct {
		Credits int64 `json:"credits"`
		Reused  int   `json:"queries_reused"`
		List    []struct {
			Query   string `json:"query"`
			Credits int64  `json:"credits"`
			Reused  bool   `json:"reused"`
			Run     string `json:"reused_run"`
		} `json:"queries"`
	}
	require.NoError(t, json.Unmarshal([]byte(res.stdout), &est), res.stdout)
	assert.Equal(t, 4, est.Reused)
	assert.EqualValues(t, 0, est.Credits, "nothing left to buy but the refused query, which has no price")
	for _, e := range est.List {
		assert.Equal(t, e.Query != "refused.example", e.Reused, e.Query)
		if e.Reused {
			assert.Equal(t, first.RunID, e.Run, e.Query)
		}
	}
	assert.Equal(t, billed, srv.Stats().CreditsBilled, "the estimate probed none of the four")

	// --fresh starts over on purpose: bought again, still each row once.
	res = runCLI(t, serpstattest.DefaultToken, append(args, "--fresh")...)
	require.Equal(t, 1, res.code, res.stderr)
	assert.EqualValues(t, 8*rows, srv.Stats().CreditsBilled)
	fresh := readRetrySummary(t, sumPath)
	assert.True(t, fresh.Fresh)
	assert.Equal(t, 0, *fresh.QueriesReused)
	for _, q := range good {
		requireRows(t, asCSV(apiRows(srv, q, rows)), lakeRows(t, partition, q), q+": each row once after --fresh")
	}
	m = readRetryManifest(t, filepath.Join(partition, "_manifest.json"))
	require.Len(t, m.Files, 8)
	for _, f := range m.Files {
		assert.Equal(t, fresh.RunID, f.Run)
	}
}

// TestFakeAPIRefusesAQuery: fake-api --refuse-query answers error 32117
// to every request for the domains named, and the others as usual.
func TestFakeAPIRefusesAQuery(t *testing.T) {
	url := startFakeAPI(t, "--rows", "40", "--refuse-query", "refused.example,Other.example")
	dir := t.TempDir()
	sumPath := filepath.Join(dir, "summary.json")
	res := runCLI(t, serpstattest.DefaultToken, "export", "--endpoint", url, "--rps", "1000", "--query", "ok.example",
		"--query", "refused.example", "--query", "other.example", "--out", filepath.Join(dir, "{query}.csv"),
		"--state-dir", filepath.Join(dir, "state"), "--summary-json", sumPath)
	require.Equal(t, 1, res.code, res.stderr)
	s := readRetrySummary(t, sumPath)
	require.Len(t, s.Queries, 3)
	assert.Equal(t, "done", s.Queries[0].Status)
	for _, q := range s.Queries[1:] {
		assert.Equal(t, "failed", q.Status, q.Query)
		assert.Contains(t, q.Error, "api error 32117", q.Query)
	}
	assert.EqualValues(t, 40, s.CreditsBilledInAll)
	require.NotNil(t, s.BalanceBefore)
	require.NotNil(t, s.BalanceAfter)
	assert.EqualValues(t, 40, *s.BalanceBefore-*s.BalanceAfter, "the account's balance says the same")
}

// TestDateFillsThePartitionAndTheManifest: --date 2026-11-01 puts every
// part under dt=2026-11-01, and the manifest, the summary and the run
// record say that date.
func TestDateFillsThePartitionAndTheManifest(t *testing.T) {
	srv := serpstattest.NewServer(serpstattest.Options{Rows: 250})
	defer srv.Close()
	dir := t.TempDir()
	sumPath := filepath.Join(dir, "summary.json")
	res := runCLI(t, serpstattest.DefaultToken, "export", "--endpoint", srv.URL, "--rps", "1000", "--size", "100",
		"--query", "a.example", "--query", "b.example", "--date", "2026-11-01", "--max-rows-per-file", "100",
		"--out", filepath.Join(dir, "lake", "dt={date}", "domain={query}", "part-{part}.csv"),
		"--state-dir", filepath.Join(dir, "state"), "--summary-json", sumPath)
	require.Equal(t, 0, res.code, res.stderr)
	entries, err := os.ReadDir(filepath.Join(dir, "lake"))
	require.NoError(t, err)
	require.Len(t, entries, 1)
	assert.Equal(t, "dt=2026-11-01", entries[0].Name(), "every part under the logical date")
	m := readRetryManifest(t, filepath.Join(dir, "lake", "dt=2026-11-01", "_manifest.json"))
	assert.Equal(t, "2026-11-01", m.Date)
	assert.True(t, m.Complete)
	assert.Len(t, m.Files, 6)
	s := readRetrySummary(t, sumPath)
	assert.Equal(t, "2026-11-01", s.Date)
	data, err := os.ReadFile(s.RunRecord)
	require.NoError(t, err)
	assert.Contains(t, string(data), `"date": "2026-11-01"`)

	// SERPSTAT_DATE sets it too.
	res = runCLIEnv(t, []string{"SERPSTAT_TOKEN=" + serpstattest.DefaultToken, "SERPSTAT_DATE=2026-10-31"}, "export", "--endpoint", srv.URL,
		"--rps", "1000", "--query", "a.example", "--out", filepath.Join(dir, "lake", "dt={date}", "a.csv"), "--state-dir", filepath.Join(dir, "state2"))
	require.Equal(t, 0, res.code, res.stderr)
	assert.FileExists(t, filepath.Join(dir, "lake", "dt=2026-10-31", "a.csv"))
}

// TestManifestPathTakesTheDate: --manifest fills {date}, {method} and
// {run} as --out does; {query} or {part} in it is refused before anything
// is sent (one manifest covers every query).
func TestManifestPathTakesTheDate(t *testing.T) {
	srv := serpstattest.NewServer(serpstattest.Options{Rows: 150})
	defer srv.Close()
	dir := t.TempDir()
	args := []string{"export", "--endpoint", srv.URL, "--rps", "1000", "--query", "a.example", "--query", "b.example",
		"--date", "2026-11-01", "--out", filepath.Join(dir, "lake", "dt={date}", "domain={query}", "part-{part}.csv"),
		"--state-dir", filepath.Join(dir, "state")}
	res := runCLI(t, serpstattest.DefaultToken, append(args, "--manifest", filepath.Join(dir, "manifests", "{method}-{date}.json"))...)
	require.Equal(t, 0, res.code, res.stderr)
	m := readRetryManifest(t, filepath.Join(dir, "manifests", "new-backlinks-2026-11-01.json"))
	assert.Equal(t, "2026-11-01", m.Date)
	assert.Len(t, m.Files, 2)
	billed := srv.Stats().CreditsBilled
	for _, bad := range []string{"{query}.json", "m-{part}.json"} {
		res = runCLI(t, serpstattest.DefaultToken, append(args, "--manifest", filepath.Join(dir, "manifests", bad))...)
		require.Equal(t, 2, res.code, res.stderr)
		assert.Contains(t, res.stderr, "--manifest")
		assert.Contains(t, res.stderr, "{date}, {method} and {run}")
	}
	assert.Equal(t, billed, srv.Stats().CreditsBilled, "nothing sent for a bad --manifest")
}

// TestDateRefusedBeforeAnythingIsSent: a malformed --date, or one in the
// future, exits 2 naming the flag and the format, with no request sent.
func TestDateRefusedBeforeAnythingIsSent(t *testing.T) {
	srv := serpstattest.NewServer(serpstattest.Options{Rows: 10})
	defer srv.Close()
	dir := t.TempDir()
	tomorrow := time.Now().UTC().AddDate(0, 0, 1).Format(time.DateOnly)
	for _, tc := range []struct{ date, want string }{
		{"2026-13-01", "want the run's logical day as YYYY-MM-DD"},
		{"01.11.2026", "want the run's logical day as YYYY-MM-DD"},
		{"2026-1-5", "want the run's logical day as YYYY-MM-DD"},
		{tomorrow, "is in the future"},
	} {
		t.Run(tc.date, func(t *testing.T) {
			res := runCLI(t, serpstattest.DefaultToken, "export", "--endpoint", srv.URL, "--query", "a.example", "--query", "b.example",
				"--date", tc.date, "--out", filepath.Join(dir, "dt={date}", "{query}.csv"))
			require.Equal(t, 2, res.code, res.stderr)
			assert.Contains(t, res.stderr, "--date")
			assert.Contains(t, res.stderr, tc.want)
			assert.Contains(t, res.stderr, "YYYY-MM-DD")
		})
	}
	assert.Zero(t, srv.Stats().Requests, "nothing sent")
}

// TestADamagedRunRecordNamesItselfAndTheFix: a damaged run record exits 2
// before anything is sent, naming its real path and --fresh (never
// "delete it"); --fresh keeps a .damaged copy and runs.
func TestADamagedRunRecordNamesItselfAndTheFix(t *testing.T) {
	srv := serpstattest.NewServer(serpstattest.Options{Rows: 30})
	defer srv.Close()
	dir := t.TempDir()
	sumPath := filepath.Join(dir, "summary.json")
	args := []string{"export", "--endpoint", srv.URL, "--rps", "1000", "--query", "a.example", "--query", "b.example",
		"--out", filepath.Join(dir, "{query}.csv"), "--state-dir", filepath.Join(dir, "state"), "--summary-json", sumPath}
	res := runCLI(t, serpstattest.DefaultToken, args...)
	require.Equal(t, 0, res.code, res.stderr)
	record := readRetrySummary(t, sumPath).RunRecord
	require.NoError(t, os.WriteFile(record, []byte("{not json"), 0o644))
	before := srv.Stats().Requests

	res = runCLI(t, serpstattest.DefaultToken, args...)
	require.Equal(t, 2, res.code, res.stderr)
	assert.Contains(t, res.stderr, "run record "+record+" is damaged")
	assert.Contains(t, res.stderr, "--fresh")
	assert.NotContains(t, strings.ToLower(res.stderr), "delete")
	assert.Equal(t, before, srv.Stats().Requests, "nothing sent")

	res = runCLI(t, serpstattest.DefaultToken, append(args, "--fresh")...)
	require.Equal(t, 0, res.code, res.stderr)
	kept, err := os.ReadFile(record + ".damaged")
	require.NoError(t, err)
	assert.Equal(t, "{not json", string(kept))
}

// TestSingleQuerySummaryHasTheBalance: one query's summary has
// credits_billed_in_all, balance_before and balance_after, and they add
// up.
func TestSingleQuerySummaryHasTheBalance(t *testing.T) {
	srv := serpstattest.NewServer(serpstattest.Options{Rows: 120})
	defer srv.Close()
	dir := t.TempDir()
	sumPath := filepath.Join(dir, "summary.json")
	res := runCLI(t, serpstattest.DefaultToken, append(exportArgs(srv, "a.example"), "--out", filepath.Join(dir, "a.csv"), "--summary-json", sumPath)...)
	require.Equal(t, 0, res.code, res.stderr)
	s := readRetrySummary(t, sumPath)
	assert.EqualValues(t, 120, s.CreditsBilledInAll)
	require.NotNil(t, s.BalanceBefore)
	require.NotNil(t, s.BalanceAfter)
	assert.EqualValues(t, 120, *s.BalanceBefore-*s.BalanceAfter)
	assert.Equal(t, time.Now().UTC().Format(time.DateOnly), s.Date)
}

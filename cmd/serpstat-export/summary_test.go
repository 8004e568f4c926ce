package main_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/serpstat-export/serpstat-export/serpstat/serpstattest"
)

type summaryDoc struct {
	RunID            string  `json:"run_id"`
	Status           string  `json:"status"`
	Total            int     `json:"total"`
	Reachable        int     `json:"reachable"`
	Rows             int64   `json:"rows"`
	AlreadyExported  int64   `json:"already_exported"`
	Pages            int     `json:"pages"`
	CreditsEstimated int64   `json:"credits_estimated"`
	CreditsBilled    int64   `json:"credits_billed"`
	ElapsedSeconds   float64 `json:"elapsed_seconds"`
	RowsPerSecond    float64 `json:"rows_per_second"`
	CellsGuarded     int64   `json:"cells_guarded"`
	Outputs          []struct {
		Path   string `json:"path"`
		Format string `json:"format"`
		Rows   int64  `json:"rows"`
	} `json:"outputs"`
	Queries []struct {
		Query            string  `json:"query"`
		Status           string  `json:"status"`
		Total            int     `json:"total"`
		Reachable        int     `json:"reachable"`
		Rows             int64   `json:"rows"`
		AlreadyExported  int64   `json:"already_exported"`
		Pages            int     `json:"pages"`
		CreditsEstimated int64   `json:"credits_estimated"`
		CreditsBilled    int64   `json:"credits_billed"`
		ElapsedSeconds   float64 `json:"elapsed_seconds"`
		RowsPerSecond    float64 `json:"rows_per_second"`
	} `json:"queries"`
}

func readSummary(t *testing.T, path string) summaryDoc {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	var s summaryDoc
	require.NoError(t, json.Unmarshal(data, &s))
	return s
}

// countLines is the data lines of an output: CSV without its header,
// NDJSON lines.
func countLines(t *testing.T, path string) int64 {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	if strings.HasSuffix(path, ".csv") {
		return int64(len(parseRFC4180(t, data)) - 1)
	}
	return int64(strings.Count(string(data), "\n"))
}

// TestMultiQuerySummaryEqualsTheOutputsAndTheManifest: the --summary-json
// of a run of four queries, each into its own CSV parts and all into one
// NDJSON file: its counts are filled, for the run and each query, and
// equal what the manifest and the files hold, and the text on stderr says
// the same. The incremental second load, whose rows are only the new ones
// (already_exported the boundary day's), is lake's
// TestSummaryEqualsTheOutputsAndTheManifest, in-process.
func TestMultiQuerySummaryEqualsTheOutputsAndTheManifest(t *testing.T) {
	rowsOf := map[string]int{}
	var domains []string
	for i := 1; i <= 4; i++ {
		q := fmt.Sprintf("m%d.example", i)
		domains = append(domains, q)
		rowsOf[q] = 150 + 25*i
	}
	srv := serpstattest.NewServer(serpstattest.Options{RowsFor: func(q string) int { return rowsOf[q] }})
	defer srv.Close()
	dir := t.TempDir()
	lake := filepath.Join(dir, "lake")
	args := []string{"export", "--endpoint", srv.URL, "--rps", "1000", "--workers", "3", "--size", "100",
		"--out", filepath.Join(lake, "{query}", "part-{part}.csv"), "--max-rows-per-file", "70",
		"--out", filepath.Join(lake, "all.ndjson"), "--state-dir", filepath.Join(dir, "spool")}
	for _, q := range domains {
		args = append(args, "--query", q)
	}
	sumPath := filepath.Join(dir, "summary.json")
	check := func(run string) summaryDoc {
		before := srv.Stats().CreditsBilled
		res := runCLI(t, serpstattest.DefaultToken, append(args, "--summary-json", sumPath)...)
		require.Equal(t, 0, res.code, res.stderr)
		billed := srv.Stats().CreditsBilled - before
		sum := readSummary(t, sumPath)
		var m manifestDoc
		data, err := os.ReadFile(filepath.Join(lake, "_manifest.json"))
		require.NoError(t, err)
		require.NoError(t, json.Unmarshal(data, &m))
		require.Equal(t, sum.RunID, m.RunID, run)
		m = m.thisRun()

		// The run: every count filled, and equal to the outputs'.
		assert.Equal(t, billed, sum.CreditsBilled, run)
		assert.Equal(t, billed, m.CreditsBilled, run)
		assert.Positive(t, sum.Total, run)
		assert.Positive(t, sum.Pages, run)
		assert.Positive(t, sum.CreditsEstimated, run)
		assert.Positive(t, sum.ElapsedSeconds, run)
		assert.Positive(t, sum.RowsPerSecond, run)
		assert.Equal(t, countLines(t, filepath.Join(lake, "all.ndjson")), sum.Rows, "%s: rows = the shared output's lines", run)
		perQueryFiles := map[string]int64{}
		var csvRows int64
		for _, f := range m.Files {
			if strings.HasSuffix(f.Path, ".csv") {
				n := countLines(t, filepath.Join(lake, f.Path)) // relative to the manifest
				assert.Equal(t, n, f.Rows, "%s: the manifest's rows of %s", run, f.Path)
				perQueryFiles[f.Query] += n
				csvRows += n
			}
		}
		assert.Equal(t, csvRows, sum.Rows, "%s: rows = the per-query files' rows", run)
		var outRows int64
		for _, o := range sum.Outputs {
			if o.Format == "csv" {
				outRows += o.Rows
			}
		}
		assert.Equal(t, sum.Rows, outRows, run)
		assert.Contains(t, res.stderr, fmt.Sprintf("4 queries (run "), run)
		assert.Contains(t, res.stderr, fmt.Sprintf(": %d rows, %d credits billed", sum.Rows, sum.CreditsBilled), "%s: the text says the same", run)

		// Each query: filled, and equal to the manifest and its files.
		require.Len(t, sum.Queries, 4)
		require.Len(t, m.Queries, 4)
		var total, pages int
		var rows, est, credits int64
		for i, q := range sum.Queries {
			assert.Equal(t, "done", q.Status)
			assert.Equal(t, m.Queries[i].Query, q.Query)
			assert.Equal(t, m.Queries[i].Rows, q.Rows, "%s %s: summary and manifest", run, q.Query)
			assert.Equal(t, perQueryFiles[q.Query], q.Rows, "%s %s: summary and files", run, q.Query)
			assert.Positive(t, q.Total, q.Query)
			assert.Positive(t, q.Pages, q.Query)
			assert.Positive(t, q.CreditsEstimated, q.Query)
			assert.Positive(t, q.ElapsedSeconds, q.Query)
			total, pages, rows, est, credits = total+q.Total, pages+q.Pages, rows+q.Rows, est+q.CreditsEstimated, credits+q.CreditsBilled
		}
		assert.Equal(t, sum.Total, total, run)
		assert.Equal(t, sum.Pages, pages, run)
		assert.Equal(t, sum.Rows, rows, run)
		assert.Equal(t, sum.CreditsEstimated, est, run)
		assert.Equal(t, sum.CreditsBilled, credits, run)
		return sum
	}
	first := check("load")
	assert.EqualValues(t, 175+200+225+250, first.Rows)
}

func TestIncrementalWithNothingNewWritesNoEmptyPart(t *testing.T) {
	g := &growingFake{rows: map[string]int{}}
	a, b := serpstattest.GrowingPrefix+"a.example", serpstattest.GrowingPrefix+"b.example"
	g.rows[a], g.rows[b] = 2345, 1234
	srv := serpstattest.NewServer(serpstattest.Options{RowsFor: g.rowsFor})
	defer srv.Close()
	dir := t.TempDir()
	run := func(name string) (manifestDoc, int64) {
		before := srv.Stats().CreditsBilled
		res := runCLI(t, serpstattest.DefaultToken, "export", "--endpoint", srv.URL, "--rps", "1000", "--query", a, "--query", b,
			"--incremental", filepath.Join(dir, "state.json"), "--state-dir", filepath.Join(dir, "spool"),
			"--out", filepath.Join(dir, name, "{query}", "part-{part}.parquet"), "--max-rows-per-file", "1000")
		require.Equal(t, 0, res.code, res.stderr)
		var m manifestDoc
		data, err := os.ReadFile(filepath.Join(dir, name, "_manifest.json"))
		require.NoError(t, err, "%s: the manifest is written: %s", name, res.stderr)
		require.NoError(t, json.Unmarshal(data, &m))
		return m, srv.Stats().CreditsBilled - before
	}
	m, _ := run("first")
	assert.Len(t, m.Files, 3+2)

	g.grow(a, 150)
	m, _ = run("second")
	for _, f := range m.Files {
		assert.Equal(t, a, f.Query, "only the query with new rows has a part")
		assert.Positive(t, f.Rows)
	}
	_, err := os.Stat(filepath.Join(dir, "second", serpstattest.GrowingPrefix+"b.example"))
	assert.True(t, os.IsNotExist(err), "no empty part for the query with no new rows")

	// Nothing new at all: no data file, a manifest that says so, and only
	// the boundary day's check paid for.
	m, paid := run("third")
	assert.Empty(t, m.Files)
	entries, err := os.ReadDir(filepath.Join(dir, "third"))
	require.NoError(t, err)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	assert.ElementsMatch(t, []string{"_manifest.json", "_SUCCESS"}, names, "no empty part files")
	var raw struct {
		Queries []struct {
			Query     string `json:"query"`
			Rows      int64  `json:"rows"`
			NoNewRows bool   `json:"no_new_rows"`
		} `json:"queries"`
		Complete bool `json:"complete"`
	}
	data, err := os.ReadFile(filepath.Join(dir, "third", "_manifest.json"))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(data, &raw))
	assert.True(t, raw.Complete)
	require.Len(t, raw.Queries, 2)
	for _, q := range raw.Queries {
		assert.True(t, q.NoNewRows, q.Query)
		assert.Zero(t, q.Rows, q.Query)
	}
	// The boundary day of each query: at most a day's rows.
	assert.Positive(t, paid)
	assert.LessOrEqual(t, paid, int64(2*serpstattest.GrowingRowsPerDay))
	assert.Equal(t, paid, m.CreditsBilled)
}

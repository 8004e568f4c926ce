package main_test

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/serpstat-export/serpstat-export/serpstat/serpstattest"
)

// TestBudgetStopOfSeveralQueriesResumesWithoutPayingAgain: five domains of
// 230 rows in pages of 100, each into its own file, and a budget that
// stops the run: exit 3, and the stop message says what was spent; the
// rerun with a higher budget pays only for what the domains still need
// and says which queries an earlier run did; the next run reuses them all.
// The manifest and the record of finished queries are lake's
// TestBudgetStopResumesFinishedQueriesFromTheRecord, in-process.
func TestBudgetStopOfSeveralQueriesResumesWithoutPayingAgain(t *testing.T) {
	const rows = 230 // 3 pages: 100, 100, 30
	srv := serpstattest.NewServer(serpstattest.Options{RowsFor: func(string) int { return rows }})
	defer srv.Close()
	dir := t.TempDir()
	domains := []string{"a.example", "b.example", "c.example", "d.example", "e.example"}
	args := []string{"export", "--endpoint", srv.URL, "--rps", "1000", "--size", "100", "--queries-file", filepath.Join(dir, "domains.txt"),
		"--out", filepath.Join(dir, "lake", "dt={date}", "domain={query}", "links.csv"), "--state-dir", filepath.Join(dir, "state")}
	require.NoError(t, os.WriteFile(filepath.Join(dir, "domains.txt"), []byte(strings.Join(domains, "\n")), 0o644))

	res := runCLI(t, serpstattest.DefaultToken, append(args, "--budget", "500")...)
	require.Equal(t, 3, res.code, res.stderr)
	// The domains run several at once: which of them finish before the
	// budget stops the run is a race; what is bought is never bought
	// again.
	first := srv.Stats().CreditsBilled
	assert.LessOrEqual(t, first, int64(500), "never past the budget")
	m := regexp.MustCompile(`(\d+) credits spent of --budget 500; (\d) of 5 queries finished`).FindStringSubmatch(res.stderr)
	require.NotNil(t, m, res.stderr)
	assert.Equal(t, fmt.Sprint(first), m[1])
	assert.Contains(t, res.stderr, "run the same command again", "how to resume")

	res = runCLI(t, serpstattest.DefaultToken, append(args, "--budget", "10000")...)
	require.Equal(t, 0, res.code, res.stderr)
	assert.EqualValues(t, 5*rows, srv.Stats().CreditsBilled, "every row paid for once: the rows bought before the stop are kept")
	for k, n := range srv.Stats().PagesBilled {
		assert.Equal(t, 1, n, "%+v billed once", k)
	}
	if m[2] != "0" {
		assert.Contains(t, res.stderr, "done by an earlier run of this command")
	}
	date := time.Now().UTC().Format(time.DateOnly)
	for _, d := range domains {
		got := readCSV(t, filepath.Join(dir, "lake", "dt="+date, "domain="+d, "links.csv"))
		requireRows(t, asCSV(apiRows(srv, d, rows)), got, d)
	}
	_, err := os.Stat(filepath.Join(dir, "lake", "dt="+date, "_SUCCESS"))
	require.NoError(t, err)

	// The next run of the command and date reuses every query: the run
	// record is kept, so a scheduler's rerun pays nothing.
	res = runCLI(t, serpstattest.DefaultToken, append(args, "--budget", "10000")...)
	require.Equal(t, 0, res.code, res.stderr)
	assert.Contains(t, res.stderr, "0 credits billed (1150 in all attempts of the run), 5 reused, 0 failed")
	assert.EqualValues(t, 5*rows, srv.Stats().CreditsBilled, "nothing bought again")
}

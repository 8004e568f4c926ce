package main_test

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/serpstat-export/serpstat-export/serpstat/serpstattest"
)

type estimateJSON struct {
	Query           string `json:"query"`
	Total           int    `json:"total"`
	Credits         int64  `json:"credits"`
	EstimateCost    int64  `json:"estimate_cost"`
	NewRows         int    `json:"new_rows"`
	AlreadyExported int    `json:"already_exported"`
}

type runEstimateJSON struct {
	Credits      int64          `json:"credits"`
	EstimateCost int64          `json:"estimate_cost"`
	FitsBudget   bool           `json:"fits_budget"`
	Queries      []estimateJSON `json:"queries"`
}

// growingFake is a fake whose queries' data can grow between runs.
type growingFake struct {
	mu   sync.Mutex
	rows map[string]int
}

func (g *growingFake) rowsFor(q string) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.rows[q]
}

func (g *growingFake) grow(q string, n int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.rows[q] += n
}

func TestEstimateOfAWholeIncrementalRun(t *testing.T) {
	g := &growingFake{rows: map[string]int{}}
	var domains []string
	for i := 1; i <= 20; i++ {
		q := fmt.Sprintf("%sd%02d.example", serpstattest.GrowingPrefix, i)
		domains = append(domains, q)
		g.rows[q] = 800 + 97*i
	}
	srv := serpstattest.NewServer(serpstattest.Options{RowsFor: g.rowsFor})
	defer srv.Close()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "nightly.yaml")
	require.NoError(t, os.WriteFile(cfg, []byte(fmt.Sprintf(
		"queries: [%s]\nincremental: %s\nout: %s\nstate_dir: %s\nendpoint: %s\nrps: 1000\nworkers: 4\n",
		strings.Join(domains, ", "), filepath.Join(dir, "state.json"), filepath.Join(dir, "lake", "{date}", "{query}.ndjson"),
		filepath.Join(dir, "spool"), srv.URL)), 0o600))

	// The first load.
	res := runCLI(t, serpstattest.DefaultToken, "export", "--config", cfg)
	require.Equal(t, 0, res.code, res.stderr)

	// A day later: new backlinks for most domains, none for some.
	for i, q := range domains {
		if i%5 != 0 {
			g.grow(q, 13*i+7)
		}
	}
	sumPath := filepath.Join(dir, "estimate-summary.json")
	before := srv.Stats().CreditsBilled
	res = runCLI(t, serpstattest.DefaultToken, "estimate", "--config", cfg, "--json", "--summary-json", sumPath)
	require.Equal(t, 0, res.code, res.stderr)
	assert.EqualValues(t, 20, srv.Stats().CreditsBilled-before, "one credit a query")
	var est runEstimateJSON
	require.NoError(t, json.Unmarshal([]byte(res.stdout), &est))
	require.Len(t, est.Queries, 20)
	assert.EqualValues(t, 20, est.EstimateCost)
	_, err := os.Stat(sumPath)
	assert.True(t, os.IsNotExist(err), "an estimate writes no summary_json")

	// The table form.
	before = srv.Stats().CreditsBilled
	res = runCLI(t, serpstattest.DefaultToken, "estimate", "--config", cfg)
	require.Equal(t, 0, res.code, res.stderr)
	assert.Contains(t, res.stdout, "total (20 queries)")
	assert.Contains(t, res.stdout, domains[7])
	assert.Contains(t, res.stdout, "already exported")
	assert.EqualValues(t, 20, srv.Stats().CreditsBilled-before)

	// A budget the run does not fit: exit 3, for a scheduler to gate on.
	res = runCLI(t, serpstattest.DefaultToken, "estimate", "--config", cfg, "--budget", fmt.Sprint(est.Credits/2))
	require.Equal(t, 3, res.code, res.stderr)
	assert.Contains(t, res.stdout, "does NOT fit")
	res = runCLI(t, serpstattest.DefaultToken, "estimate", "--config", cfg, "--budget", fmt.Sprint(est.Credits+100))
	require.Equal(t, 0, res.code, res.stderr)

	// The export that follows bills what the estimate said, within 5%.
	runSum := filepath.Join(dir, "summary.json")
	before = srv.Stats().CreditsBilled
	res = runCLI(t, serpstattest.DefaultToken, "export", "--config", cfg, "--summary-json", runSum)
	require.Equal(t, 0, res.code, res.stderr)
	billed := srv.Stats().CreditsBilled - before
	t.Logf("estimated %d credits, billed %d", est.Credits, billed)
	assert.InDelta(t, float64(billed), float64(est.Credits), math.Max(1, 0.05*float64(billed)), "total within 5%%")
	var sum struct {
		CreditsBilled int64 `json:"credits_billed"`
		Queries       []struct {
			Query         string `json:"query"`
			CreditsBilled int64  `json:"credits_billed"`
		} `json:"queries"`
	}
	data, err := os.ReadFile(runSum)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(data, &sum))
	assert.Equal(t, billed, sum.CreditsBilled)
	require.Len(t, sum.Queries, 20)
	for i, q := range sum.Queries {
		e := est.Queries[i]
		require.Equal(t, q.Query, e.Query)
		assert.InDelta(t, float64(q.CreditsBilled), float64(e.Credits), math.Max(1, 0.05*float64(q.CreditsBilled)), q.Query)
		if i%5 == 0 {
			assert.Zero(t, e.NewRows, "%s has no new rows", q.Query)
		} else {
			assert.Equal(t, 13*i+7, e.NewRows, q.Query)
		}
	}
}

func TestEstimateTakesTheQueriesOfExport(t *testing.T) {
	srv := serpstattest.NewServer(serpstattest.Options{RowsFor: func(q string) int { return 1000 + 100*len(q) }})
	defer srv.Close()
	dir := t.TempDir()
	qf := filepath.Join(dir, "domains.txt")
	require.NoError(t, os.WriteFile(qf, []byte("# competitors\na.example\nbb.example\n\nccc.example  # note\n"), 0o600))
	res := runCLI(t, serpstattest.DefaultToken, "estimate", "--endpoint", srv.URL, "--rps", "1000", "--queries-file", qf,
		"--query", "dddd.example", "--json")
	require.Equal(t, 0, res.code, res.stderr)
	var est runEstimateJSON
	require.NoError(t, json.Unmarshal([]byte(res.stdout), &est))
	require.Len(t, est.Queries, 4)
	var sum int64
	for _, q := range est.Queries {
		assert.EqualValues(t, 1000+100*len(q.Query), q.Credits, q.Query)
		sum += q.Credits
	}
	assert.Equal(t, sum, est.Credits, "the run's credits are the queries'")
	assert.EqualValues(t, 4, srv.Stats().CreditsBilled, "one credit a query")

	// One query keeps today's object.
	res = runCLI(t, serpstattest.DefaultToken, "estimate", "--endpoint", srv.URL, "--rps", "1000", "--query", "a.example", "--json")
	require.Equal(t, 0, res.code, res.stderr)
	var one map[string]any
	require.NoError(t, json.Unmarshal([]byte(res.stdout), &one))
	for _, k := range []string{"query", "search_type", "balance", "total", "reachable", "unreachable", "size", "pages", "credits",
		"rps", "seconds", "estimate_cost", "balance_after", "fits_budget", "affordable_credits", "slices", "probe_credits"} {
		assert.Contains(t, one, k)
	}
	assert.NotContains(t, one, "queries")
}

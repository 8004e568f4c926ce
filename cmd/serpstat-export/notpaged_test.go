package main_test

import (
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/serpstat-export/serpstat-export/serpstat"
	"github.com/serpstat-export/serpstat-export/serpstat/backlinks"
	"github.com/serpstat-export/serpstat-export/serpstat/serpstattest"
)

var notPagedDomains = []string{"a.example", "bb.example.org", "ccc.example", "d.example", "ee.example", "f.example"}

// notPagedCell is v of column c of m as the CSV output writes it.
func notPagedCell(m *serpstat.Method, c int, v serpstat.Value) string {
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

// TestNotPagedThroughTheBinary: summary-v2 of six domains from a queries
// file into CSV, NDJSON and Parquet: `estimate` said 30 credits and
// spent nothing, the export billed 30, and CSV and NDJSON hold a row a
// domain led by its query, every count the fake's (Parquet: the DuckDB
// test in sink/parquetcheck); distribution-tld of the same domains
// writes every TLD row of every domain and is billed 1 a domain.
func TestNotPagedThroughTheBinary(t *testing.T) {
	srv := serpstattest.NewServer(serpstattest.Options{})
	defer srv.Close()
	dir := t.TempDir()
	qf := filepath.Join(dir, "domains.txt")
	require.NoError(t, os.WriteFile(qf, []byte(strings.Join(notPagedDomains, "\n")+"\n"), 0o644))
	base := []string{"--endpoint", srv.URL, "--rps", "1000", "--queries-file", qf, "--method", "summary-v2"}

	res := runCLI(t, serpstattest.DefaultToken, append([]string{"estimate"}, base...)...)
	require.Equal(t, 0, res.code, res.stderr)
	assert.Contains(t, res.stdout, "export cost:      30 credits")
	assert.Contains(t, res.stdout, "this estimate cost 0 credits")
	res = runCLI(t, serpstattest.DefaultToken, append([]string{"estimate", "--json"}, base...)...)
	require.Equal(t, 0, res.code, res.stderr)
	var est struct {
		Credits      int64 `json:"credits"`
		EstimateCost int64 `json:"estimate_cost"`
	}
	require.NoError(t, json.Unmarshal([]byte(res.stdout), &est))
	assert.EqualValues(t, 30, est.Credits)
	assert.Zero(t, est.EstimateCost)
	assert.Zero(t, srv.Stats().CreditsBilled, "the estimates spent nothing")

	res = runCLI(t, serpstattest.DefaultToken, append(append([]string{"export"}, base...), "--progress", "never",
		"--out", filepath.Join(dir, "s.csv"), "--out", filepath.Join(dir, "s.ndjson"), "--out", filepath.Join(dir, "s.parquet"))...)
	require.Equal(t, 0, res.code, res.stderr)
	assert.EqualValues(t, 30, srv.Stats().CreditsBilled)

	m := backlinks.SummaryV2
	f, err := os.Open(filepath.Join(dir, "s.csv"))
	require.NoError(t, err)
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	require.NoError(t, err)
	require.Equal(t, append([]string{"query"}, m.OutputColumns()...), recs[0])
	require.Len(t, recs, 7)
	ndjson, err := os.ReadFile(filepath.Join(dir, "s.ndjson"))
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSpace(string(ndjson)), "\n")
	require.Len(t, lines, 6)
	for i, q := range notPagedDomains {
		want := srv.Expected(m, q, serpstat.Params{Query: q, SearchType: serpstat.SearchDomainWithSubdomains})
		require.Len(t, want, 1)
		require.Equal(t, q, recs[i+1][0])
		var obj map[string]any
		d := json.NewDecoder(strings.NewReader(lines[i]))
		d.UseNumber()
		require.NoError(t, d.Decode(&obj))
		require.Equal(t, q, obj["query"])
		for c, v := range want[0].Values {
			require.False(t, v.Null)
			require.Equal(t, notPagedCell(m, c, v), recs[i+1][c+1], "%s %s", q, m.Columns[c].Name)
			require.Equal(t, json.Number(strconv.FormatInt(v.Int, 10)), obj[m.Columns[c].Name], "%s %s", q, m.Columns[c].Name)
		}
		require.NotEmpty(t, recs[i+1][1], "serpstat_domain_rank")
	}
	info, err := os.Stat(filepath.Join(dir, "s.parquet"))
	require.NoError(t, err)
	assert.Positive(t, info.Size())

	before := srv.Stats().CreditsBilled
	res = runCLI(t, serpstattest.DefaultToken, "export", "--endpoint", srv.URL, "--rps", "1000", "--queries-file", qf,
		"--method", "distribution-tld", "--progress", "never", "--out", filepath.Join(dir, "tld.csv"))
	require.Equal(t, 0, res.code, res.stderr)
	assert.EqualValues(t, 6, srv.Stats().CreditsBilled-before, "1 a domain")
	f2, err := os.Open(filepath.Join(dir, "tld.csv"))
	require.NoError(t, err)
	defer f2.Close()
	recs, err = csv.NewReader(f2).ReadAll()
	require.NoError(t, err)
	perDomain := map[string]int{}
	for _, r := range recs[1:] {
		perDomain[r[0]]++
	}
	for _, q := range notPagedDomains {
		assert.Equal(t, serpstattest.TLDRows(q), perDomain[q], q)
	}
}

// TestNotPagedRefusesPagingSettings: a setting only a paged method takes,
// when someone set it (a flag, a variable, a config key other than its
// default), exits 2 naming it, nothing sent; a config restating a
// default is fine.
func TestNotPagedRefusesPagingSettings(t *testing.T) {
	srv := serpstattest.NewServer(serpstattest.Options{})
	defer srv.Close()
	dir := t.TempDir()
	cfg := func(body string) string {
		p := filepath.Join(dir, strconv.Itoa(len(body))+".yaml")
		require.NoError(t, os.WriteFile(p, []byte(body), 0o644))
		return p
	}
	tests := []struct {
		name string
		env  []string
		args []string
		want string // "" for a run that is not refused
	}{
		{"--sort", nil, []string{"--sort", "anchor"}, "--sort (set by a flag) is not taken by summary-v2"},
		{"--order", nil, []string{"--order", "asc"}, "--order (set by a flag)"},
		{"--filter", nil, []string{"--filter", `[[{"field":"anchor","compareType":"contains","value":["a"]}]]`}, "--filter (set by a flag)"},
		{"--size, even the default", nil, []string{"--size", "1000"}, "--size (set by a flag)"},
		{"--wall", nil, []string{"--wall", "500"}, "--wall (set by a flag)"},
		{"--no-slice", nil, []string{"--no-slice"}, "--no-slice (set by a flag)"},
		{"--max-rows", nil, []string{"--max-rows", "5"}, "--max-rows (set by a flag)"},
		{"--incremental", nil, []string{"--incremental", filepath.Join(dir, "state.json")}, "--incremental (set by a flag)"},
		{"--link-per-domain", nil, []string{"--link-per-domain", "2"}, "--link-per-domain (set by a flag)"},
		{"two", nil, []string{"--size", "10", "--sort", "x"}, "--sort (set by a flag), --size (set by a flag) is not taken by summary-v2, which is not paged"},
		{"a variable", []string{"SERPSTAT_MAX_ROWS=7"}, nil, "--max-rows (set by the environment)"},
		{"a config key", nil, []string{"--config", cfg("size: 500\n")}, "--size (set by the config)"},
		{"a config restating the defaults", nil, []string{"--config", cfg("size: 1000\nsort: \"\"\nwall: 60000\nno_slice: false\nmax_rows: 0\n")}, ""},
		// 0 is a value of linkPerDomain that is sent, not its default.
		{"link_per_domain 0 in the config", nil, []string{"--config", cfg("link_per_domain: 0\n")}, "--link-per-domain (set by the config)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := srv.Stats().Requests
			args := append([]string{"export", "--endpoint", srv.URL, "--rps", "1000", "--query", "a.example", "--method", "summary-v2",
				"--progress", "never", "--out", filepath.Join(dir, "x.csv")}, tt.args...)
			res := runCLIEnv(t, append([]string{"SERPSTAT_TOKEN=" + serpstattest.DefaultToken}, tt.env...), args...)
			if tt.want == "" {
				require.Equal(t, 0, res.code, res.stderr)
				return
			}
			require.Equal(t, 2, res.code, res.stderr)
			assert.Contains(t, res.stderr, tt.want)
			assert.Equal(t, before, srv.Stats().Requests, "nothing sent")
		})
	}
}

// TestNotPagedBudgetAndRerunExitCodes: a budget below the price exits 3
// before anything is sent; a run stopped on the third domain (out of
// credits: exit 4) is resumed by the same command, which pays only for
// the answers not bought.
func TestNotPagedBudgetAndRerunExitCodes(t *testing.T) {
	var broken atomic.Bool
	srv := serpstattest.NewServer(serpstattest.Options{Fault: func(fi serpstattest.FaultInfo) serpstattest.Fault {
		if broken.Load() && fi.Params.Query == notPagedDomains[2] {
			return serpstattest.Fault{Kind: serpstattest.FaultAPIError, Code: serpstattest.CodeNoCredits, Message: "Credits exceeded"}
		}
		return serpstattest.Fault{}
	}})
	defer srv.Close()
	dir := t.TempDir()

	res := runCLIIn(t, serpstattest.DefaultToken, dir, "export", "--endpoint", srv.URL, "--rps", "1000", "--query", "a.example",
		"--method", "summary-v2", "--budget", "4", "--progress", "never", "--out", "one.csv")
	require.Equal(t, 3, res.code, res.stderr)
	assert.Contains(t, res.stderr, "the full export needs 5 credits")
	assert.NotContains(t, res.stderr, "--partial")
	assert.Zero(t, srv.Stats().Requests, "nothing sent")

	qf := filepath.Join(dir, "domains.txt")
	require.NoError(t, os.WriteFile(qf, []byte(strings.Join(notPagedDomains, "\n")+"\n"), 0o644))
	args := []string{"export", "--endpoint", srv.URL, "--rps", "1000", "--queries-file", qf, "--method", "summary-v2",
		"--progress", "never", "--out", "all.csv"}
	broken.Store(true)
	res = runCLIIn(t, serpstattest.DefaultToken, dir, args...)
	require.Equal(t, 4, res.code, res.stderr)
	// The domains run at once: the two before it are bought, and those
	// started while its answer was awaited.
	assert.GreaterOrEqual(t, srv.Stats().CreditsBilled, int64(10))
	assert.LessOrEqual(t, srv.Stats().CreditsBilled, int64(25), "the failing answer is not billed")
	broken.Store(false)
	res = runCLIIn(t, serpstattest.DefaultToken, dir, args...)
	require.Equal(t, 0, res.code, res.stderr)
	assert.EqualValues(t, 30, srv.Stats().CreditsBilled, "the rerun bought the four answers it did not have")
	data, err := os.ReadFile(filepath.Join(dir, "all.csv"))
	require.NoError(t, err)
	assert.Equal(t, 7, strings.Count(string(data), "\n"), "a header and six rows")
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	for _, e := range entries {
		assert.NotContains(t, e.Name(), "spool", "spools removed once committed")
	}
}

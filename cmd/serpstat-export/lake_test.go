package main_test

import (
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/serpstat-export/serpstat-export/serpstat/serpstattest"
)

type manifestFile struct {
	Path   string `json:"path"`
	Query  string `json:"query"`
	Part   int    `json:"part"`
	Rows   int64  `json:"rows"`
	Bytes  int64  `json:"bytes"`
	SHA256 string `json:"sha256"`
	Run    string `json:"run"` // set on an earlier run's files
}

type manifestDoc struct {
	RunID   string         `json:"run_id"`
	Files   []manifestFile `json:"files"`
	Queries []struct {
		Query  string `json:"query"`
		Status string `json:"status"`
		Rows   int64  `json:"rows"`
		Run    string `json:"run"` // set on an earlier run's queries
	} `json:"queries"`
	Schema []struct {
		Name string `json:"name"`
	} `json:"schema"`
	CreditsBilled int64 `json:"credits_billed"`
	Complete      bool  `json:"complete"`
}

func lakeTotal(q string) int { return 300 + 10*len(q) }

// TestDataLakeLoad: the nightly load through the binary: five domains
// from a --queries-file (comments and blank lines ignored) into Parquet
// parts under a file:// URL, a part every 200 rows: each query named on
// stderr, the manifest and _SUCCESS beside the data, and the parts of each
// domain, in order, are its rows. The manifest's checksums, sizes and
// counts are lake's TestLakeLoadPartsManifestAndChecksums, in-process.
func TestDataLakeLoad(t *testing.T) {
	srv := serpstattest.NewServer(serpstattest.Options{RowsFor: lakeTotal})
	defer srv.Close()
	dir := t.TempDir()
	lake := filepath.Join(dir, "lake")
	domains := []string{"alpha.example", "beta.example", "gamma.example.org", "delta.example", "epsilon.example.net"}
	qf := filepath.Join(dir, "domains.txt")
	require.NoError(t, os.WriteFile(qf, []byte("# competitors\n"+strings.Join(domains[:3], "\n")+"\n\n"+domains[3]+"  # trailing comment\n"+domains[4]+"\n"), 0o644))
	date := time.Now().UTC().Format(time.DateOnly)
	out := "file://" + lake + "/dt={date}/domain={query}/part-{part}.parquet"
	res := runCLI(t, serpstattest.DefaultToken, "export", "--endpoint", srv.URL, "--rps", "1000", "--size", "100",
		"--queries-file", qf, "--out", out, "--max-rows-per-file", "200", "--state-dir", filepath.Join(dir, "state"))
	require.Equal(t, 0, res.code, res.stderr)
	for _, d := range domains {
		assert.Contains(t, res.stderr, "query "+d)
	}

	mdata, err := os.ReadFile(filepath.Join(lake, "dt="+date, "_manifest.json"))
	require.NoError(t, err, res.stderr)
	_, err = os.Stat(filepath.Join(lake, "dt="+date, "_SUCCESS"))
	require.NoError(t, err, "_SUCCESS next to the manifest")
	var m manifestDoc
	require.NoError(t, json.Unmarshal(mdata, &m))
	assert.True(t, m.Complete)
	require.Len(t, m.Queries, 5)
	var total int64
	for _, f := range m.Files {
		total += f.Rows
	}
	for _, d := range domains {
		// The parts of a domain, in order, are its rows.
		var got []serpstattest.Backlink
		parts, _ := filepath.Glob(filepath.Join(lake, "dt="+date, "domain="+d, "part-*.parquet"))
		sort.Strings(parts)
		require.Len(t, parts, (lakeTotal(d)+199)/200)
		for _, p := range parts {
			got = append(got, readParquet(t, p)...)
		}
		requireRows(t, apiRows(srv, d, lakeTotal(d)), got, d)
	}
	assert.EqualValues(t, srv.Stats().CreditsBilled, m.CreditsBilled)
	assert.EqualValues(t, total, srv.Stats().CreditsBilled)
}

func TestManyQueriesIntoOneFileGetAQueryColumn(t *testing.T) {
	srv := serpstattest.NewServer(serpstattest.Options{RowsFor: func(q string) int { return 1500 + len(q) }})
	defer srv.Close()
	dir := t.TempDir()
	out := filepath.Join(dir, "all.ndjson")
	res := runCLI(t, serpstattest.DefaultToken, "export", "--endpoint", srv.URL, "--rps", "1000",
		"--query", "one.example", "--query", "two.example", "--out", out, "--state-dir", filepath.Join(dir, "state"))
	require.Equal(t, 0, res.code, res.stderr)
	data, err := os.ReadFile(out)
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	require.Len(t, lines, 1500+11+1500+11)
	assert.Equal(t, 2, strings.Count(res.stderr, "1511 rows, 2 pages, 1511 credits"), "each query's own credits, not the shared budget's running total")
	var first map[string]any
	require.NoError(t, json.Unmarshal([]byte(lines[0]), &first))
	assert.Equal(t, "one.example", first["query"])
	assert.True(t, strings.HasPrefix(lines[0], `{"query":"one.example","url_from":`))
	var last map[string]any
	require.NoError(t, json.Unmarshal([]byte(lines[len(lines)-1]), &last))
	assert.Equal(t, "two.example", last["query"])
	_, err = os.Stat(filepath.Join(dir, "_manifest.json"))
	require.NoError(t, err, "several queries: a manifest")
}

// TestBadDomainsAreRefusedBeforeAnyCredit: a queries file with domains
// that would escape the lake (../../etc, a/b, ..) is refused whole before
// the good ones are paid for (issue 22: found only at their turn before),
// each bad line named, nothing written anywhere.
func TestBadDomainsAreRefusedBeforeAnyCredit(t *testing.T) {
	srv := serpstattest.NewServer(serpstattest.Options{RowsFor: func(q string) int { return 300 }})
	defer srv.Close()
	dir := t.TempDir()
	lake := filepath.Join(dir, "lake")
	qf := filepath.Join(dir, "domains.txt")
	require.NoError(t, os.WriteFile(qf, []byte("good.example\n../../etc\na/b\n..\nalso-good.example\n"), 0o644))
	res := runCLI(t, serpstattest.DefaultToken, "export", "--endpoint", srv.URL, "--rps", "1000",
		"--queries-file", qf, "--out", filepath.Join(lake, "domain={query}", "part-{part}.csv"), "--state-dir", filepath.Join(dir, "state"))
	require.Equal(t, 2, res.code, res.stderr)
	assert.Contains(t, res.stderr, "3 of 5 queries are not valid")
	for _, line := range []string{`:2: "../../etc"`, `:3: "a/b"`, `:4: ".."`} {
		assert.Contains(t, res.stderr, qf+line)
	}
	assert.Zero(t, srv.Stats().Requests)
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Len(t, entries, 1, "only the queries file: nothing written")
}

func TestIncrementalPaysOnlyForNewRows(t *testing.T) {
	var rows atomic.Int64
	rows.Store(1500)
	q := serpstattest.GrowingPrefix + "example.com"
	srv := serpstattest.NewServer(serpstattest.Options{RowsFor: func(string) int { return int(rows.Load()) }})
	defer srv.Close()
	dir := t.TempDir()
	state := filepath.Join(dir, "state.json")
	run := func(name string) []serpstattest.Backlink {
		out := filepath.Join(dir, name+".ndjson")
		res := runCLI(t, serpstattest.DefaultToken, exportArgs(srv, q, "--incremental", state, "--out", out)...)
		require.Equal(t, 0, res.code, res.stderr)
		data, err := os.ReadFile(out)
		require.NoError(t, err)
		return readNDJSON(t, data)
	}
	first := run("first")
	require.Len(t, first, 1500)
	billed := srv.Stats().CreditsBilled
	assert.EqualValues(t, 1500, billed)

	// 1,234 backlinks found since: newer than every row exported.
	rows.Store(1500 + 1234)
	second := run("second")
	paid := srv.Stats().CreditsBilled - billed
	t.Logf("second run: %d rows written, %d credits", len(second), paid)
	assert.Len(t, second, 1234, "only the new rows are written")
	// Paid: the new rows, plus at most the boundary day (100 rows a day).
	assert.GreaterOrEqual(t, paid, int64(1234))
	assert.LessOrEqual(t, paid, int64(1234+serpstattest.GrowingRowsPerDay))

	// Together: the data set, each row once.
	all := append(first, second...)
	seen := map[serpstattest.Backlink]bool{}
	for _, r := range all {
		require.False(t, seen[r], "a row in both runs")
		seen[r] = true
	}
	for _, r := range serpstattest.Rows(q, 2734) {
		require.True(t, seen[r], "a row missing")
	}

	// A third run with nothing new writes nothing new.
	before := srv.Stats().CreditsBilled
	third := run("third")
	assert.Empty(t, third)
	assert.LessOrEqual(t, srv.Stats().CreditsBilled-before, int64(serpstattest.GrowingRowsPerDay))
}

func TestSharedOutputResumesAfterAFatalStop(t *testing.T) {
	// Out of credits during the second of three queries of 250 rows in
	// pages of 100, all into one file: nothing is committed, every page
	// paid for is kept, and the resume pays for no page twice.
	srv := serpstattest.NewServer(serpstattest.Options{RowsFor: func(string) int { return 250 }, Balance: 400})
	defer srv.Close()
	dir := t.TempDir()
	out := filepath.Join(dir, "all.csv")
	args := []string{"export", "--endpoint", srv.URL, "--rps", "1000", "--workers", "1", "--size", "100", "--query", "a.example", "--query", "b.example",
		"--query", "c.example", "--out", out, "--state-dir", filepath.Join(dir, "state")}
	res := runCLI(t, serpstattest.DefaultToken, args...)
	require.Equal(t, 4, res.code, res.stderr)
	_, err := os.Stat(out)
	require.True(t, os.IsNotExist(err), "nothing committed")
	assert.Contains(t, res.stderr, "run the same command again to resume")
	paid := srv.Stats().CreditsBilled

	srv.SetBalance(1_000_000)
	res = runCLI(t, serpstattest.DefaultToken, args...)
	require.Equal(t, 0, res.code, res.stderr)
	data, err := os.ReadFile(out)
	require.NoError(t, err)
	recs := parseRFC4180(t, data)
	require.Equal(t, "query", recs[0][0])
	require.Len(t, recs, 1+750)
	assert.Equal(t, "a.example", recs[1][0])
	assert.Equal(t, "c.example", recs[750][0])
	assert.EqualValues(t, 750, srv.Stats().CreditsBilled, "the first run's %d credits were not paid again", paid)
	for k, n := range srv.Stats().PagesBilled {
		assert.Equal(t, 1, n, "%+v", k)
	}
	entries, err := os.ReadDir(filepath.Join(dir, "state"))
	if err == nil {
		assert.Empty(t, entries, "the spools are removed once the output is committed")
	}
}

// thisRun keeps the manifest's files and queries of the run that wrote it:
// a manifest also lists what earlier runs left in the partition.
func (m manifestDoc) thisRun() manifestDoc {
	mine := func(run string) bool { return run == "" || run == m.RunID }
	out := m
	out.Files, out.Queries = nil, out.Queries[:0:0]
	for _, f := range m.Files {
		if mine(f.Run) {
			out.Files = append(out.Files, f)
		}
	}
	for _, q := range m.Queries {
		if mine(q.Run) {
			out.Queries = append(out.Queries, q)
		}
	}
	return out
}

// TestManyQueriesShareThePool: 20 one-page domains into one shared CSV
// through the binary, with requests in flight for several queries at
// once: the rows of each domain together, in the file's order of
// domains, each once, and exit 0.
func TestManyQueriesShareThePool(t *testing.T) {
	rowsOf := func(q string) int { return 40 + 7*len(q) }
	srv := serpstattest.NewServer(serpstattest.Options{RowsFor: rowsOf, Latency: 100 * time.Millisecond})
	defer srv.Close()
	dir := t.TempDir()
	var domains []string
	for i := range 20 {
		domains = append(domains, strings.Repeat("d", 1+i%5)+"-"+string(rune('a'+i))+".example")
	}
	qf := filepath.Join(dir, "domains.txt")
	require.NoError(t, os.WriteFile(qf, []byte(strings.Join(domains, "\n")+"\n"), 0o644))
	out := filepath.Join(dir, "all.csv")
	res := runCLI(t, serpstattest.DefaultToken, "export", "--endpoint", srv.URL, "--rps", "1000", "--size", "1000",
		"--workers", "4", "--queries-file", qf, "--out", out, "--state-dir", filepath.Join(dir, "state"))
	require.Equal(t, 0, res.code, res.stderr)
	require.Greater(t, srv.Stats().MaxInFlight, 1, "several queries' requests in flight at once")
	require.LessOrEqual(t, srv.Stats().MaxInFlight, 4, "within --workers")

	f, err := os.Open(out)
	require.NoError(t, err)
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	require.NoError(t, err)
	require.Equal(t, "query", recs[0][0])
	rows, at := recs[1:], 0
	for _, d := range domains {
		seen := map[string]bool{}
		n := 0
		for at < len(rows) && rows[at][0] == d {
			key := strings.Join(rows[at], ",")
			require.False(t, seen[key], "%s: a row twice", d)
			seen[key] = true
			n++
			at++
		}
		require.Equal(t, rowsOf(d), n, "%s: its rows together, in the file's order of domains", d)
	}
	require.Equal(t, len(rows), at, "no other rows")
	require.Equal(t, int64(len(rows)), srv.Stats().CreditsBilled, "every row bought once")
}

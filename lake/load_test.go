package lake

import (
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/serpstat-export/serpstat-export/serpstat/serpstattest"
)

// growing is a data set whose queries' rows can grow between runs.
type growing struct {
	mu   sync.Mutex
	rows map[string]int
}

func (g *growing) rowsFor(q string) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.rows[q]
}

func (g *growing) grow(q string, n int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.rows[q] += n
}

// countRows is the data rows of an output: CSV records but the header,
// NDJSON lines.
func countRows(t *testing.T, path string) int64 {
	t.Helper()
	f, err := os.Open(strings.TrimPrefix(path, "file://"))
	require.NoError(t, err)
	defer f.Close()
	if strings.HasSuffix(path, ".csv") {
		recs, err := csv.NewReader(f).ReadAll()
		require.NoError(t, err)
		return int64(len(recs) - 1)
	}
	data, err := os.ReadFile(f.Name())
	require.NoError(t, err)
	return int64(strings.Count(string(data), "\n"))
}

// TestLakeLoadPartsManifestAndChecksums: five domains into one part file
// every 1,000 rows of each, under a file:// URL: the manifest lists every
// part with its rows, bytes and SHA-256, each part at most 1,000 rows
// under its domain's directory, the parts of a domain in order are its
// rows, and the credits billed are the rows. (cmd/serpstat-export's
// TestDataLakeLoad drives the binary with --queries-file into Parquet.)
func TestLakeLoadPartsManifestAndChecksums(t *testing.T) {
	total := func(q string) int { return 1200 + 70*len(q) }
	srv := serpstattest.NewServer(serpstattest.Options{RowsFor: total})
	defer srv.Close()
	dir := filepath.Join(t.TempDir(), "lake")
	domains := []string{"alpha.example", "beta.example", "gamma.example.org", "delta.example", "epsilon.example.net"}
	r := newRun(t, srv, Settings{Queries: domains, ManyQueries: true, MaxRowsPerFile: 1000,
		Out: []string{"file://" + dir + "/dt={date}/domain={query}/part-{part}.ndjson"}}, 0)
	_, err := r.Export(context.Background())
	require.NoError(t, err)

	part := filepath.Join(dir, "dt=2026-01-31")
	m := readManifest(t, filepath.Join(part, "_manifest.json"))
	require.FileExists(t, filepath.Join(part, "_SUCCESS"))
	require.True(t, m.Complete)
	require.Len(t, m.Queries, len(domains))
	var sum int64
	perDomain := map[string]int64{}
	for _, f := range m.Files {
		p := strings.TrimPrefix(f.Path, "file://")
		data, err := os.ReadFile(p)
		require.NoError(t, err)
		h := sha256.Sum256(data)
		require.Equal(t, hex.EncodeToString(h[:]), f.SHA256, p)
		require.EqualValues(t, len(data), f.Bytes, p)
		require.LessOrEqual(t, f.Rows, int64(1000), "rollover at MaxRowsPerFile")
		require.Equal(t, filepath.Join(part, "domain="+f.Query, fmt.Sprintf("part-%05d.ndjson", f.Part)), p)
		require.Equal(t, countRows(t, p), f.Rows, p)
		perDomain[f.Query] += f.Rows
		sum += f.Rows
	}
	for _, d := range domains {
		require.EqualValues(t, total(d), perDomain[d], d)
		parts, err := filepath.Glob(filepath.Join(part, "domain="+d, "part-*.ndjson"))
		require.NoError(t, err)
		sort.Strings(parts)
		require.Len(t, parts, (total(d)+999)/1000, d)
		var got []serpstattest.Backlink
		for _, p := range parts {
			got = append(got, readBacklinks(t, p)...)
		}
		require.Equal(t, serpstattest.Rows(d, total(d)), got, "the parts of %s, in order, are its rows", d)
	}
	require.Equal(t, srv.Stats().CreditsBilled, m.CreditsBilled)
	require.Equal(t, sum, srv.Stats().CreditsBilled, "billed = rows")
}

// TestSummaryEqualsTheOutputsAndTheManifest: four domains, incremental,
// each into its own CSV parts of 700 rows and all into one NDJSON file,
// loaded, grown and loaded again: each time the summary's counts are
// filled, for the run and each query, and equal what the manifest and
// the files hold; the second run's rows are only the new ones, and each
// query billed its new rows and its boundary day. (The binary's
// --summary-json: TestMultiQuerySummaryEqualsTheOutputsAndTheManifest in
// cmd/serpstat-export.)
func TestSummaryEqualsTheOutputsAndTheManifest(t *testing.T) {
	g := &growing{rows: map[string]int{}}
	var domains []string
	for i := 1; i <= 4; i++ {
		q := fmt.Sprintf("%sm%d.example", serpstattest.GrowingPrefix, i)
		domains = append(domains, q)
		g.rows[q] = 1500 + 250*i
	}
	srv := serpstattest.NewServer(serpstattest.Options{RowsFor: g.rowsFor})
	defer srv.Close()
	dir := t.TempDir()
	lake := filepath.Join(dir, "lake")
	state := filepath.Join(dir, "spool")
	check := func(run string) *Summary {
		before := srv.Stats().CreditsBilled
		r := newRun(t, srv, Settings{RunID: run, Queries: domains, ManyQueries: true, Workers: 3, StateDir: state,
			Incremental: filepath.Join(dir, "state.json"), MaxRowsPerFile: 700,
			Out: []string{filepath.Join(lake, "{query}", "part-{part}.csv"), filepath.Join(lake, "all.ndjson")}}, 0)
		res, err := r.Export(context.Background())
		require.NoError(t, err, run)
		billed := srv.Stats().CreditsBilled - before
		sum := NewSummary(run, "export", "done", 0, res, nil, time.Second)
		m := readManifest(t, filepath.Join(lake, "_manifest.json"))
		require.Equal(t, run, m.RunID)

		// The run: every count filled, and equal to the outputs'.
		require.Equal(t, billed, sum.CreditsBilled, run)
		require.Equal(t, billed, m.CreditsBilled, run)
		require.Positive(t, sum.Total, run)
		require.Positive(t, sum.Pages, run)
		require.Positive(t, sum.CreditsEstimated, run)
		require.Positive(t, sum.ElapsedSeconds, run)
		require.Positive(t, sum.RowsPerSecond, run)
		require.Equal(t, countRows(t, filepath.Join(lake, "all.ndjson")), sum.Rows, "%s: rows = the shared output's lines", run)
		perQueryFiles := map[string]int64{}
		var csvRows int64
		for _, f := range m.Files {
			if (f.Run == "" || f.Run == run) && strings.HasSuffix(f.Path, ".csv") {
				n := countRows(t, f.Path)
				require.Equal(t, n, f.Rows, "%s: the manifest's rows of %s", run, f.Path)
				perQueryFiles[f.Query] += n
				csvRows += n
			}
		}
		require.Equal(t, csvRows, sum.Rows, "%s: rows = the per-query files' rows", run)
		var outRows int64
		for _, o := range sum.Outputs {
			if o.Format == "csv" {
				outRows += o.Rows
			}
		}
		require.Equal(t, sum.Rows, outRows, run)
		var text strings.Builder
		sum.WriteText(&text)
		require.Contains(t, text.String(), fmt.Sprintf("4 queries (run %s): %d rows, %d credits billed", run, sum.Rows, sum.CreditsBilled), "%s: the text says the same", run)

		// Each query: filled, and equal to the manifest and its files.
		require.Len(t, sum.Queries, 4)
		var queries []manifestQuery
		for _, q := range m.Queries {
			if q.Run == "" || q.Run == run {
				queries = append(queries, q)
			}
		}
		require.Len(t, queries, 4)
		var total, pages int
		var rows, est, credits int64
		for i, q := range sum.Queries {
			require.Equal(t, "done", q.Status)
			require.Equal(t, queries[i].Query, q.Query)
			require.Equal(t, queries[i].Rows, q.Rows, "%s %s: summary and manifest", run, q.Query)
			require.Equal(t, perQueryFiles[q.Query], q.Rows, "%s %s: summary and files", run, q.Query)
			require.Positive(t, q.Total, q.Query)
			require.Positive(t, q.Pages, q.Query)
			require.Positive(t, q.CreditsEstimated, q.Query)
			require.Positive(t, q.ElapsedSeconds, q.Query)
			total, pages, rows, est, credits = total+q.Total, pages+q.Pages, rows+q.Rows, est+q.CreditsEstimated, credits+q.CreditsBilled
		}
		require.Equal(t, sum.Total, total, run)
		require.Equal(t, sum.Pages, pages, run)
		require.Equal(t, sum.Rows, rows, run)
		require.Equal(t, sum.CreditsEstimated, est, run)
		require.Equal(t, sum.CreditsBilled, credits, run)
		return sum
	}
	first := check("r1")
	require.EqualValues(t, 1750+2000+2250+2500, first.Rows)

	for i, q := range domains {
		g.grow(q, 300*i+50)
	}
	second := check("r2")
	require.EqualValues(t, 50+350+650+950, second.Rows, "only the new rows")
	require.Positive(t, second.AlreadyExported, "the boundary day's rows were paid for and dropped")
	for _, q := range second.Queries {
		require.Equal(t, q.Rows+q.AlreadyExported, q.CreditsBilled, "%s: billed the new rows and the boundary day", q.Query)
	}
}

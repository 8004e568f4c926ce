package parquetcheck

import (
	"bytes"
	"database/sql"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "github.com/duckdb/duckdb-go/v2"
	"github.com/stretchr/testify/require"

	"github.com/serpstat-export/serpstat-export/serpstat/serpstattest"
)

// TestDuckDBReadsTheLake builds the real binary, loads three domains into
// a hive-partitioned Parquet lake against the fake, and reads it back with
// DuckDB's read_parquet(..., hive_partitioning=true): every row, with the
// right domain, first_seen as a DATE and last_visited as a TIMESTAMP.
func TestDuckDBReadsTheLake(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "serpstat-export")
	// Built in the root module, with its own dependencies.
	build := exec.Command("go", "build", "-o", bin, "./cmd/serpstat-export")
	build.Dir = filepath.Join("..", "..")
	out, err := build.CombinedOutput()
	require.NoError(t, err, "%s", out)

	total := func(q string) int { return 9000 + 1000*len(q) }
	srv := serpstattest.NewServer(serpstattest.Options{RowsFor: total})
	defer srv.Close()
	domains := []string{"alpha.example", "beta.example.org", "gamma.example"}
	qf := filepath.Join(dir, "domains.txt")
	require.NoError(t, os.WriteFile(qf, []byte(strings.Join(domains, "\n")+"\n"), 0o644))
	lake := filepath.Join(dir, "lake")
	cmd := exec.Command(bin, "export", "--endpoint", srv.URL, "--rps", "1000", "--queries-file", qf,
		"--out", "file://"+lake+"/dt={date}/domain={query}/part-{part}.parquet", "--max-rows-per-file", "10000",
		"--state-dir", filepath.Join(dir, "state"))
	cmd.Env = append(os.Environ(), "SERPSTAT_TOKEN="+serpstattest.DefaultToken)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	require.NoError(t, cmd.Run(), stderr.String())

	db, err := sql.Open("duckdb", "")
	require.NoError(t, err)
	defer db.Close()
	glob := filepath.Join(lake, "**", "*.parquet")
	rows, err := db.Query(`select domain, count(*), count(distinct url_from || url_to || link_text || first_seen), typeof(any_value(first_seen)), typeof(any_value(last_visited)), typeof(any_value(links_ext)), min(first_seen), cast(any_value(dt) as varchar)
		from read_parquet(?, hive_partitioning=true) group by domain order by domain`, glob)
	require.NoError(t, err)
	defer rows.Close()
	got := map[string]int{}
	for rows.Next() {
		var domain, fsType, lvType, leType, dt string
		var n, distinct int
		var minFS time.Time
		require.NoError(t, rows.Scan(&domain, &n, &distinct, &fsType, &lvType, &leType, &minFS, &dt))
		got[domain] = n
		require.Equal(t, "DATE", fsType)
		require.Equal(t, "TIMESTAMP", lvType)
		require.Equal(t, "BIGINT", leType)
		require.Equal(t, serpstattest.FirstSeenFrom, minFS.Format(time.DateOnly))
		require.Equal(t, time.Now().UTC().Format(time.DateOnly), dt)
	}
	require.NoError(t, rows.Err())
	for _, d := range domains {
		require.Equal(t, total(d), got[d], d)
	}
	require.Len(t, got, len(domains))

	// Row for row, a domain's data equals the fake's, in the order the
	// export asked (first seen ascending).
	want := serpstattest.SortBacklinks(serpstattest.Rows("beta.example.org", total("beta.example.org")), "add", "asc")
	r, err := db.Query(`select url_from, link_text, strftime(first_seen, '%Y-%m-%d'), strftime(last_visited, '%Y-%m-%d %H:%M:%S'), domain_rank
		from read_parquet(?, hive_partitioning=true, filename=true, file_row_number=true) where domain = 'beta.example.org' order by filename, file_row_number`, glob)
	if err != nil {
		// Older DuckDB: no file_row_number; fall back to the file's order.
		r, err = db.Query(`select url_from, link_text, strftime(first_seen, '%Y-%m-%d'), strftime(last_visited, '%Y-%m-%d %H:%M:%S'), domain_rank
			from read_parquet(?, hive_partitioning=true) where domain = 'beta.example.org'`, glob)
	}
	require.NoError(t, err)
	defer r.Close()
	i := 0
	for r.Next() {
		var from, text, fs, lv string
		var rank int64
		require.NoError(t, r.Scan(&from, &text, &fs, &lv, &rank))
		require.Less(t, i, len(want))
		require.Equal(t, want[i].URLFrom, from, "row %d", i)
		require.Equal(t, want[i].LinkText, text, "row %d", i)
		require.Equal(t, want[i].FirstSeen, fs, "row %d", i)
		require.Equal(t, want[i].LastVisited, lv, "row %d", i)
		require.EqualValues(t, want[i].DomainRank, rank, "row %d", i)
		i++
	}
	require.NoError(t, r.Err())
	require.Equal(t, len(want), i)
}

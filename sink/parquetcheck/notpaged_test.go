package parquetcheck

import (
	"database/sql"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "github.com/duckdb/duckdb-go/v2"
	"github.com/stretchr/testify/require"

	"github.com/serpstat-export/serpstat-export/serpstat"
	"github.com/serpstat-export/serpstat-export/serpstat/backlinks"
	"github.com/serpstat-export/serpstat-export/serpstat/serpstattest"
)

var notPagedDomains = []string{"alpha.example", "beta.example.org", "gamma.example", "delta.example", "epsilon.example", "zeta.example"}

// TestNotPagedMethodsReadBackInDuckDB: each method that is not paged,
// exported for six domains from a queries file into one Parquet file,
// reads back in DuckDB with a leading query column and the descriptor's
// types (every count INT64, distribution-tld's percentage DOUBLE,
// changes-history's date a DATE), every value the fake's, domain after
// domain; billed at the method's price a domain (summary-v2: 30).
func TestNotPagedMethodsReadBackInDuckDB(t *testing.T) {
	db, err := sql.Open("duckdb", "")
	require.NoError(t, err)
	defer db.Close()
	dir := t.TempDir()
	qf := filepath.Join(dir, "domains.txt")
	require.NoError(t, os.WriteFile(qf, []byte(strings.Join(notPagedDomains, "\n")+"\n"), 0o644))
	for _, m := range backlinks.NotPaged {
		t.Run(m.Name, func(t *testing.T) {
			srv := serpstattest.NewServer(serpstattest.Options{})
			defer srv.Close()
			pq := filepath.Join(dir, m.Name+".parquet")
			args := []string{"export", "--endpoint", srv.URL, "--rps", "1000", "--method", m.Name, "--queries-file", qf,
				"--out", pq, "--state-dir", filepath.Join(dir, m.Name+"-state")}
			params := serpstat.Params{SearchType: searchType(m)}
			if m.Intersect > 0 {
				args = append(args, "--intersect", "x.example,y.example")
				params.Intersect = []string{"x.example", "y.example"}
			}
			run(t, args...)

			var exp []serpstat.Row
			var queries []string
			for _, q := range notPagedDomains {
				params.Query = q
				rows := srv.Expected(m, q, params)
				require.NotEmpty(t, rows, q)
				exp = append(exp, rows...)
				for range rows {
					queries = append(queries, q)
				}
			}
			require.Equal(t, 6*m.Price(params), srv.Stats().CreditsBilled)
			if m == backlinks.SummaryV2 {
				require.EqualValues(t, 30, srv.Stats().CreditsBilled)
			}

			types := describe(t, db, "read_parquet('"+pq+"')")
			require.Equal(t, append([]string{"query"}, m.OutputColumns()...), keys(types))
			require.Equal(t, "VARCHAR", types[0][1])
			for i, c := range m.Columns {
				require.Equal(t, duckType[c.Kind], types[i+1][1], c.Name)
			}
			physical := parquetTypes(t, db, pq)
			for _, c := range m.Columns {
				switch c.Kind {
				case serpstat.KindInt:
					require.Equal(t, "INT64", physical[c.Name], c.Name)
				case serpstat.KindFloat:
					require.Equal(t, "DOUBLE", physical[c.Name], c.Name)
				case serpstat.KindDate:
					require.Equal(t, "INT32", physical[c.Name], c.Name)
				}
			}

			got := query(t, db, "select * from read_parquet('"+pq+"')")
			require.Len(t, got, len(exp))
			for r := range got {
				require.Equal(t, queries[r], got[r][0], "row %d", r)
				got[r] = got[r][1:]
			}
			compare(t, m, exp, got, true)
			if m == backlinks.SummaryV2 {
				for r := range got {
					require.NotNil(t, got[r][0], "serpstat_domain_rank of row %d", r)
				}
			}
		})
	}
}

// parquetTypes are the physical types of a Parquet file's columns, by
// name, as DuckDB's parquet_schema reads them.
func parquetTypes(t *testing.T, db *sql.DB, path string) map[string]string {
	t.Helper()
	rows, err := db.Query("select name, coalesce(type, '') from parquet_schema(?)", path)
	require.NoError(t, err)
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var n, ty string
		require.NoError(t, rows.Scan(&n, &ty))
		out[n] = ty
	}
	require.NoError(t, rows.Err())
	return out
}

// TestDuckDBReadsTheLakeOfTwoMethods: summary-v2 and ref-domains of
// three domains loaded into one hive-partitioned lake,
// dt={date}/method={method}/domain={query}/part-{part}.parquet, read
// back by DuckDB with hive_partitioning: one row a domain of
// summary-v2, every row of ref-domains, each under its method and
// domain, the counts BIGINT, and each method's manifest beside its data.
func TestDuckDBReadsTheLakeOfTwoMethods(t *testing.T) {
	dir := t.TempDir()
	const refRows = 1500
	srv := serpstattest.NewServer(serpstattest.Options{Rows: refRows})
	defer srv.Close()
	domains := notPagedDomains[:3]
	qf := filepath.Join(dir, "domains.txt")
	require.NoError(t, os.WriteFile(qf, []byte(strings.Join(domains, "\n")+"\n"), 0o644))
	lake := filepath.Join(dir, "lake")
	for _, m := range []string{"summary-v2", "ref-domains"} {
		run(t, "export", "--endpoint", srv.URL, "--rps", "1000", "--method", m, "--queries-file", qf,
			"--out", "file://"+lake+"/dt={date}/method={method}/domain={query}/part-{part}.parquet",
			"--state-dir", filepath.Join(dir, "state-"+m))
	}
	require.EqualValues(t, 3*5+3*refRows, srv.Stats().CreditsBilled)

	db, err := sql.Open("duckdb", "")
	require.NoError(t, err)
	defer db.Close()
	today := time.Now().UTC().Format(time.DateOnly)
	glob := filepath.Join(lake, "**", "*.parquet")
	got := query(t, db, `select method, domain, count(*), cast(any_value(dt) as varchar)
		from read_parquet('`+glob+`', hive_partitioning=true, union_by_name=true) group by method, domain order by method, domain`)
	var want [][]any
	for _, m := range []string{"ref-domains", "summary-v2"} {
		n := int64(refRows)
		if m == "summary-v2" {
			n = 1
		}
		for _, d := range []string{"alpha.example", "beta.example.org", "gamma.example"} {
			want = append(want, []any{m, d, n, today})
		}
	}
	require.Equal(t, want, got)

	// summary-v2's partition alone: its columns typed, its counts the fake's.
	sum := filepath.Join(lake, "dt="+today, "method=summary-v2", "**", "*.parquet")
	types := describe(t, db, "read_parquet('"+sum+"', hive_partitioning=true)")
	m := backlinks.SummaryV2
	for i, c := range m.Columns {
		require.Equal(t, c.Name, types[i][0])
		require.Equal(t, "BIGINT", types[i][1], c.Name)
	}
	for _, d := range domains {
		row := query(t, db, "select * exclude (dt, method, domain) from read_parquet('"+sum+"', hive_partitioning=true) where domain = '"+d+"'")
		compare(t, m, srv.Expected(m, d, serpstat.Params{Query: d, SearchType: serpstat.SearchDomainWithSubdomains}), row, true)
	}
	for _, method := range []string{"summary-v2", "ref-domains"} {
		data, err := os.ReadFile(filepath.Join(lake, "dt="+today, "method="+method, "_manifest.json"))
		require.NoError(t, err)
		var man struct {
			Method string `json:"method"`
			Files  []any  `json:"files"`
		}
		require.NoError(t, json.Unmarshal(data, &man))
		require.Equal(t, method, man.Method)
		require.Len(t, man.Files, 3)
		_, err = os.Stat(filepath.Join(lake, "dt="+today, "method="+method, "_SUCCESS"))
		require.NoError(t, err)
	}
}

package parquetcheck

import (
	"bytes"
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/duckdb/duckdb-go/v2"
	"github.com/stretchr/testify/require"

	"github.com/serpstat-export/serpstat-export/serpstat"
	"github.com/serpstat-export/serpstat-export/serpstat/backlinks"
	"github.com/serpstat-export/serpstat-export/serpstat/serpstattest"
)

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// binary builds the real serpstat-export once for the tests of this file.
func binary(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "serpstat-export-bin")
		if err != nil {
			binErr = err
			return
		}
		binPath = filepath.Join(dir, "serpstat-export")
		build := exec.Command("go", "build", "-o", binPath, "./cmd/serpstat-export")
		build.Dir = filepath.Join("..", "..")
		if out, err := build.CombinedOutput(); err != nil {
			binErr = fmt.Errorf("%v: %s", err, out)
		}
	})
	require.NoError(t, binErr)
	return binPath
}

func run(t *testing.T, args ...string) {
	t.Helper()
	cmd := exec.Command(binary(t), args...)
	cmd.Env = append(os.Environ(), "SERPSTAT_TOKEN="+serpstattest.DefaultToken)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	require.NoError(t, cmd.Run(), "%s\n%s", strings.Join(args, " "), stderr.String())
}

// duckType is the DuckDB type a column of kind k must read as from Parquet.
var duckType = map[serpstat.Kind]string{
	serpstat.KindString:    "VARCHAR",
	serpstat.KindInt:       "BIGINT",
	serpstat.KindFloat:     "DOUBLE",
	serpstat.KindDate:      "DATE",
	serpstat.KindTimestamp: "TIMESTAMP",
	serpstat.KindStrings:   "VARCHAR[]",
}

// canon is a cell as DuckDB hands it over, made comparable: int64, a
// []string for lists, nil for null, time.Time kept for the column's kind.
func canon(v any) any {
	switch x := v.(type) {
	case []any:
		out := make([]string, len(x))
		for i, e := range x {
			out[i] = fmt.Sprint(e)
		}
		return out
	case []byte:
		return string(x)
	case int32:
		return int64(x)
	}
	return v
}

// want is an expected cell as canon gives it, times as text.
func want(c serpstat.Column, v serpstat.Value) any {
	if v.Null {
		return nil
	}
	switch c.Kind {
	case serpstat.KindInt:
		return v.Int
	case serpstat.KindFloat:
		return v.Float
	case serpstat.KindStrings:
		if v.List == nil {
			return []string{}
		}
		return v.List
	}
	return v.Str
}

// sameCell compares an expected cell with one DuckDB read, a date or
// timestamp written in the kind's form.
func sameCell(c serpstat.Column, w, g any) bool {
	if tm, ok := g.(time.Time); ok {
		switch c.Kind {
		case serpstat.KindDate:
			g = tm.Format(time.DateOnly)
		case serpstat.KindTimestamp:
			g = tm.Format(time.DateTime)
		}
	}
	return fmt.Sprint(w) == fmt.Sprint(g)
}

// TestEveryFormatOfFiveMethodsReadsBackInDuckDB is issue 13's acceptance:
// for lost-backlinks, ref-domains, top-pages, anchors and threats, an
// export against the fake answering with the spec's wire keys gives
// exactly the fake's rows in CSV, NDJSON and Parquet, which DuckDB reads
// back with the descriptor's column names (and, from Parquet, its types);
// the credits billed equal the rows.
func TestEveryFormatOfFiveMethodsReadsBackInDuckDB(t *testing.T) {
	db, err := sql.Open("duckdb", "")
	require.NoError(t, err)
	defer db.Close()
	for _, name := range []string{"lost-backlinks", "ref-domains", "top-pages", "anchors", "threats"} {
		t.Run(name, func(t *testing.T) {
			m := backlinks.Lookup(name)
			require.NotNil(t, m)
			const rows = 2345
			srv := serpstattest.NewServer(serpstattest.Options{Rows: rows, UnknownKeyEvery: 7})
			defer srv.Close()
			q := name + ".example.com"
			dir := t.TempDir()
			csvPath, ndPath, pqPath := filepath.Join(dir, "x.csv"), filepath.Join(dir, "x.ndjson"), filepath.Join(dir, "x.parquet")
			run(t, "export", "--endpoint", srv.URL, "--rps", "1000", "--method", name, "--query", q,
				"--csv-raw", "--out", csvPath, "--out", ndPath, "--out", pqPath, "--state-dir", filepath.Join(dir, "state"))
			p := serpstat.Params{Query: q, SearchType: searchType(m)}
			if m.AppendSort != "" { // what the export sends unless told
				p.Sort, p.Order = m.AppendSort, "asc"
			}
			exp := srv.Expected(m, q, p)
			require.Len(t, exp, rows)
			require.EqualValues(t, rows, srv.Stats().CreditsBilled, "billed = rows")
			names := m.OutputColumns()

			// Parquet: names and types from the descriptor, every value.
			types := describe(t, db, "read_parquet('"+pqPath+"')")
			require.Equal(t, names, keys(types))
			for i, c := range m.Columns {
				require.Equal(t, duckType[c.Kind], types[i][1], c.Name)
			}
			if m.Extra {
				require.Equal(t, "VARCHAR", types[len(types)-1][1])
			}
			compare(t, m, exp, query(t, db, "select * from read_parquet('"+pqPath+"')"), true)

			// NDJSON: DuckDB's read_json infers the types; lists are arrays.
			nd := describe(t, db, "read_json('"+ndPath+"', format='newline_delimited')")
			require.Equal(t, names, keys(nd))
			for i, c := range m.Columns {
				switch c.Kind {
				case serpstat.KindInt:
					require.Equal(t, "BIGINT", nd[i][1], c.Name)
				case serpstat.KindStrings:
					require.Equal(t, "VARCHAR[]", nd[i][1], c.Name)
				}
			}
			compare(t, m, exp, query(t, db, "select * from read_json('"+ndPath+"', format='newline_delimited', columns={"+jsonColumns(m)+"})"), false)

			// CSV: the header is the column names; every cell as text.
			csvCols := describe(t, db, "read_csv('"+csvPath+"', header=true)")
			require.Equal(t, names, keys(csvCols))
			got := query(t, db, "select * from read_csv('"+csvPath+"', header=true, all_varchar=true)")
			require.Len(t, got, rows)
			for r, row := range exp {
				for i, c := range m.Columns {
					require.Equal(t, csvText(c, row.Values[i]), got[r][i], "row %d %s", r, c.Name)
				}
				if m.Extra {
					requireSameJSON(t, row.Extra, got[r][len(m.Columns)], "row %d extra", r)
				}
			}
		})
	}
}

func searchType(m *serpstat.Method) string {
	if m.SearchTypes == nil {
		return ""
	}
	return serpstat.SearchDomainWithSubdomains
}

// jsonColumns types read_json's columns as the descriptor does, so the
// values compare exactly (extra as JSON text).
func jsonColumns(m *serpstat.Method) string {
	var parts []string
	for _, c := range m.Columns {
		parts = append(parts, fmt.Sprintf("'%s': '%s'", c.Name, duckType[c.Kind]))
	}
	if m.Extra {
		parts = append(parts, "'extra': 'JSON'")
	}
	return strings.Join(parts, ", ")
}

func csvText(c serpstat.Column, v serpstat.Value) any {
	if v.Null {
		return nil
	}
	switch c.Kind {
	case serpstat.KindInt:
		return fmt.Sprint(v.Int)
	case serpstat.KindStrings:
		b, _ := json.Marshal(v.List)
		if v.List == nil {
			b = []byte("[]")
		}
		return string(b)
	}
	if v.Str == "" {
		return nil // an empty string and a null are both an empty cell
	}
	return v.Str
}

func requireSameJSON(t *testing.T, want json.RawMessage, got any, msg string, args ...any) {
	t.Helper()
	if want == nil {
		require.Nil(t, got, append([]any{msg}, args...)...)
		return
	}
	require.NotNil(t, got, append([]any{msg}, args...)...)
	text, ok := got.(string)
	if !ok { // DuckDB's JSON type scans as a decoded value
		b, err := json.Marshal(got)
		require.NoError(t, err)
		text = string(b)
	}
	require.JSONEq(t, string(want), text, append([]any{msg}, args...)...)
}

func compare(t *testing.T, m *serpstat.Method, exp []serpstat.Row, got [][]any, typed bool) {
	t.Helper()
	require.Len(t, got, len(exp))
	for r, row := range exp {
		require.Len(t, got[r], len(m.OutputColumns()))
		for i, c := range m.Columns {
			w, g := want(c, row.Values[i]), got[r][i]
			if c.Kind == serpstat.KindString && !row.Values[i].Null && row.Values[i].Str == "" && g == nil && !typed {
				continue
			}
			require.True(t, sameCell(c, w, g), "row %d %s: want %#v, got %#v", r, c.Name, w, g)
		}
		if m.Extra {
			requireSameJSON(t, row.Extra, got[r][len(m.Columns)], "row %d extra", r)
		}
	}
}

func describe(t *testing.T, db *sql.DB, from string) [][2]string {
	t.Helper()
	rows, err := db.Query("select column_name, column_type from (describe select * from " + from + ")")
	require.NoError(t, err)
	defer rows.Close()
	var out [][2]string
	for rows.Next() {
		var n, ty string
		require.NoError(t, rows.Scan(&n, &ty))
		out = append(out, [2]string{n, ty})
	}
	require.NoError(t, rows.Err())
	return out
}

func keys(cols [][2]string) []string {
	out := make([]string, len(cols))
	for i, c := range cols {
		out[i] = c[0]
	}
	return out
}

func query(t *testing.T, db *sql.DB, q string) [][]any {
	t.Helper()
	rows, err := db.Query(q)
	require.NoError(t, err)
	defer rows.Close()
	cols, err := rows.Columns()
	require.NoError(t, err)
	var out [][]any
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		require.NoError(t, rows.Scan(ptrs...))
		for i := range vals {
			vals[i] = canon(vals[i])
		}
		out = append(out, vals)
	}
	require.NoError(t, rows.Err())
	return out
}

// TestDuckDBReadsALakeOfTwoMethods loads three domains with each of two
// methods into one hive-partitioned lake, {method} in the path, and reads
// it back with DuckDB: every row of every (method, domain), each method's
// own columns.
func TestDuckDBReadsALakeOfTwoMethods(t *testing.T) {
	dir := t.TempDir()
	total := func(q string) int { return 1000 + 100*len(q) }
	srv := serpstattest.NewServer(serpstattest.Options{RowsFor: total})
	defer srv.Close()
	domains := []string{"alpha.example", "beta.example.org", "gamma.example"}
	qf := filepath.Join(dir, "domains.txt")
	require.NoError(t, os.WriteFile(qf, []byte(strings.Join(domains, "\n")+"\n"), 0o644))
	lake := filepath.Join(dir, "lake")
	methods := []string{"ref-domains", "threats"}
	for _, m := range methods {
		run(t, "export", "--endpoint", srv.URL, "--rps", "1000", "--method", m, "--queries-file", qf,
			"--out", "file://"+lake+"/method={method}/dt={date}/domain={query}/part-{part}.parquet",
			"--state-dir", filepath.Join(dir, "state"))
	}
	db, err := sql.Open("duckdb", "")
	require.NoError(t, err)
	defer db.Close()
	rows, err := db.Query(`select method, domain, count(*) from read_parquet(?, hive_partitioning=true, union_by_name=true) group by all order by all`,
		filepath.Join(lake, "**", "*.parquet"))
	require.NoError(t, err)
	defer rows.Close()
	got := map[string]int{}
	for rows.Next() {
		var m, d string
		var n int
		require.NoError(t, rows.Scan(&m, &d, &n))
		got[m+" "+d] = n
	}
	require.NoError(t, rows.Err())
	require.Len(t, got, len(methods)*len(domains))
	for _, m := range methods {
		for _, d := range domains {
			require.Equal(t, total(d), got[m+" "+d], "%s %s", m, d)
		}
		// Each method's partition has its own columns and types.
		cols := describe(t, db, "read_parquet('"+filepath.Join(lake, "method="+m, "**", "*.parquet")+"', hive_partitioning=false)")
		require.Equal(t, backlinks.Lookup(m).OutputColumns(), keys(cols), m)
	}
	var platforms string
	require.NoError(t, db.QueryRow(`select typeof(any_value(platform_type)) from read_parquet(?)`,
		filepath.Join(lake, "method=threats", "**", "*.parquet")).Scan(&platforms))
	require.Equal(t, "VARCHAR[]", platforms)
}

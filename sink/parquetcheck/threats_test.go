package parquetcheck

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	_ "github.com/duckdb/duckdb-go/v2"
	"github.com/stretchr/testify/require"

	"github.com/serpstat-export/serpstat-export/dest"
	"github.com/serpstat-export/serpstat-export/serpstat"
	"github.com/serpstat-export/serpstat-export/serpstat/backlinks"
	"github.com/serpstat-export/serpstat-export/sink"
)

// threatRows returns n rows of backlinks.Threats: lists of two, one and no
// names, null lists and counts, unknown keys every third row.
func threatRows(n int) []serpstat.Row {
	platforms := [][]string{{"windows", "linux"}, {"android"}, {}, nil, {"OS X", "é 日本語", `quote " and, comma`}}
	rows := make([]serpstat.Row, n)
	for i := range rows {
		list := func(l []string) serpstat.Value {
			if l == nil {
				return serpstat.Value{Null: true}
			}
			return serpstat.Value{List: l}
		}
		count := serpstat.Value{Int: int64(i * 3)}
		if i%7 == 3 {
			count = serpstat.Value{Null: true}
		}
		rows[i] = serpstat.Row{Values: []serpstat.Value{
			{Str: fmt.Sprintf("bad%d.example", i)}, {Str: "shop.example"}, count,
			list(platforms[i%len(platforms)]), list(platforms[(i+1)%len(platforms)]),
			{Str: time.Date(2025, 1, 1+i%28, 0, 0, 0, 0, time.UTC).Format(time.DateOnly)},
		}}
		if i%3 == 0 {
			rows[i].Extra = json.RawMessage(fmt.Sprintf(`{"risk":%d}`, i))
		}
	}
	return rows
}

// TestDuckDBReadsThreats writes a threats file with sink.Parquet and reads
// it with DuckDB: the column names and types of the method (platform_type
// and threat_type as VARCHAR[], lastupdate as DATE, links_count BIGINT,
// extra VARCHAR), and every value, nulls and empty lists included.
func TestDuckDBReadsThreats(t *testing.T) {
	m := backlinks.Threats
	rows := threatRows(2500)
	path := filepath.Join(t.TempDir(), "threats.parquet")
	f, err := dest.Create(path)
	require.NoError(t, err)
	defer f.Abort()
	w := sink.NewParquet(f, m)
	w.RowGroupRows = 1000 // three row groups
	for start := 0; start < len(rows); start += 700 {
		require.NoError(t, w.Write(rows[start:min(start+700, len(rows))]))
	}
	require.NoError(t, w.Close())
	require.NoError(t, f.Commit())

	db, err := sql.Open("duckdb", "")
	require.NoError(t, err)
	defer db.Close()

	types, err := db.Query(`select column_name, column_type from (describe select * from read_parquet(?))`, path)
	require.NoError(t, err)
	var got [][2]string
	for types.Next() {
		var name, typ string
		require.NoError(t, types.Scan(&name, &typ))
		got = append(got, [2]string{name, typ})
	}
	require.NoError(t, types.Err())
	types.Close()
	require.Equal(t, [][2]string{
		{"domain", "VARCHAR"}, {"domain_link", "VARCHAR"}, {"links_count", "BIGINT"},
		{"platform_type", "VARCHAR[]"}, {"threat_type", "VARCHAR[]"},
		{"lastupdate", "DATE"}, {"extra", "VARCHAR"},
	}, got)

	// Each list comes back as JSON text, so that null, [] and the names
	// compare exactly.
	r, err := db.Query(`select domain, domain_link, links_count, to_json(platform_type)::varchar, to_json(threat_type)::varchar,
		strftime(lastupdate, '%Y-%m-%d'), extra from read_parquet(?, file_row_number=true) order by file_row_number`, path)
	require.NoError(t, err)
	defer r.Close()
	i := 0
	for r.Next() {
		var domain, link, lastupdate string
		var count sql.NullInt64
		var platforms, threats, extra sql.NullString
		require.NoError(t, r.Scan(&domain, &link, &count, &platforms, &threats, &lastupdate, &extra))
		require.Less(t, i, len(rows))
		want := rows[i].Values
		require.Equal(t, want[0].Str, domain, "row %d", i)
		require.Equal(t, want[1].Str, link, "row %d", i)
		require.Equal(t, !want[2].Null, count.Valid, "row %d", i)
		require.Equal(t, want[2].Int, count.Int64, "row %d", i)
		for j, got := range []sql.NullString{platforms, threats} {
			v := want[3+j]
			require.Equal(t, !v.Null, got.Valid, "row %d list %d", i, j)
			if !v.Null {
				var list []string
				require.NoError(t, json.Unmarshal([]byte(got.String), &list), "row %d: %s", i, got.String)
				require.Equal(t, v.List, list, "row %d list %d", i, j)
			}
		}
		require.Equal(t, want[5].Str, lastupdate, "row %d", i)
		require.Equal(t, rows[i].Extra != nil, extra.Valid, "row %d", i)
		if extra.Valid {
			require.JSONEq(t, string(rows[i].Extra), extra.String, "row %d", i)
		}
		i++
	}
	require.NoError(t, r.Err())
	require.Equal(t, len(rows), i)

	// DuckDB's own list functions work on the column.
	var n int
	require.NoError(t, db.QueryRow(`select count(*) from read_parquet(?) where list_contains(platform_type, 'linux')`, path).Scan(&n))
	require.Equal(t, len(rows)/5, n)
}

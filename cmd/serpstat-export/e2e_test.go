package main_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/serpstat-export/serpstat-export/serpstat"
	"github.com/serpstat-export/serpstat-export/serpstat/backlinks"
	"github.com/serpstat-export/serpstat-export/serpstat/serpstattest"
)

// binary is the serpstat-export built once for every test here: the tests
// drive the real binary, as users' scripts do. It is built as the Makefile
// builds it, with the version, commit and build date set by -ldflags to
// the values of testBuild (TestVersion reads them back).
var binary string

// testBuild is what TestMain sets with -ldflags.
var testBuild = struct{ version, commit, date string }{"v1.2.3", "abc123", "2026-12-01T00:00:00Z"}

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "serpstat-export-bin")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "serpstat-export")
	ldflags := fmt.Sprintf("-X main.version=%s -X main.commit=%s -X main.buildDate=%s", testBuild.version, testBuild.commit, testBuild.date)
	build := exec.Command("go", "build", "-ldflags", ldflags, "-o", binary, ".")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		panic(err)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

type result struct {
	code           int
	stdout, stderr string
}

// runCLI runs the binary with args and the token in the environment.
func runCLI(t *testing.T, token string, args ...string) result {
	t.Helper()
	return runCLIEnv(t, []string{"SERPSTAT_TOKEN=" + token}, args...)
}

// exportArgs are the flags every export here uses against srv.
func exportArgs(srv *serpstattest.Server, query string, extra ...string) []string {
	return append([]string{"export", "--endpoint", srv.URL, "--query", query, "--rps", "1000", "--workers", "4"}, extra...)
}

func readCSV(t *testing.T, path string) []serpstattest.Backlink {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	recs := parseRFC4180(t, data)
	cols := backlinks.NewBacklinks.OutputColumns()
	require.Equal(t, cols, recs[0])
	rows := make([]serpstattest.Backlink, 0, len(recs)-1)
	for _, r := range recs[1:] {
		require.Len(t, r, len(cols))
		le, err := strconv.ParseInt(r[4], 10, 64)
		require.NoError(t, err)
		dr, err := strconv.ParseInt(r[8], 10, 64)
		require.NoError(t, err)
		rows = append(rows, serpstattest.Backlink{URLFrom: r[0], URLTo: r[1], Nofollow: r[2], LinkType: r[3], LinksExt: serpstat.Int(le), LinkText: r[5], FirstSeen: r[6], LastVisited: r[7], DomainRank: serpstat.Int(dr)})
	}
	return rows
}

// asCSV is what the CSV output holds of rows by default: a text cell that
// a spreadsheet would run as a formula (leading = + - @, tab or CR) gets a
// leading '.
func asCSV(rows []serpstattest.Backlink) []serpstattest.Backlink {
	out := make([]serpstattest.Backlink, len(rows))
	n := func(s string) string {
		if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
			return "'" + s
		}
		return s
	}
	for i, r := range rows {
		r.URLFrom, r.URLTo, r.Nofollow, r.LinkType, r.LinkText, r.FirstSeen, r.LastVisited = n(r.URLFrom), n(r.URLTo), n(r.Nofollow), n(r.LinkType), n(r.LinkText), n(r.FirstSeen), n(r.LastVisited)
		out[i] = r
	}
	return out
}

// parseRFC4180 reads CSV exactly as RFC 4180 says, keeping a CR inside a
// quoted field (encoding/csv's reader drops it, so it cannot check that
// field values survive byte for byte).
func parseRFC4180(t *testing.T, data []byte) [][]string {
	t.Helper()
	var recs [][]string
	var rec []string
	var field []byte
	for i := 0; i < len(data); {
		if data[i] == '"' {
			i++
			for {
				require.Less(t, i, len(data), "unterminated quoted field")
				if data[i] == '"' {
					if i+1 < len(data) && data[i+1] == '"' {
						field = append(field, '"')
						i += 2
						continue
					}
					i++
					break
				}
				field = append(field, data[i])
				i++
			}
		}
		for i < len(data) && data[i] != ',' && data[i] != '\n' {
			require.NotEqual(t, byte('"'), data[i], "a quote inside an unquoted field at byte %d", i)
			field = append(field, data[i])
			i++
		}
		rec = append(rec, string(field))
		field = field[:0]
		if i < len(data) && data[i] == '\n' {
			recs = append(recs, rec)
			rec = nil
		}
		i++
	}
	if rec != nil {
		recs = append(recs, rec)
	}
	return recs
}

func readNDJSON(t *testing.T, data []byte) []serpstattest.Backlink {
	t.Helper()
	var rows []serpstattest.Backlink
	lines := bytes.Split(bytes.TrimSuffix(data, []byte("\n")), []byte("\n"))
	for i, line := range lines {
		if len(line) == 0 {
			continue
		}
		var keys []string
		dec := json.NewDecoder(bytes.NewReader(line))
		dec.UseNumber()
		_, err := dec.Token()
		require.NoError(t, err, "line %d", i+1)
		for dec.More() {
			k, err := dec.Token()
			require.NoError(t, err)
			keys = append(keys, k.(string))
			var v any
			require.NoError(t, dec.Decode(&v))
			if k == "links_ext" || k == "domain_rank" {
				require.IsType(t, json.Number(""), v, "%s is a JSON number", k)
			}
		}
		require.Equal(t, backlinks.NewBacklinks.OutputColumns(), keys, "line %d: keys in column order", i+1)
		var r serpstattest.Backlink
		require.NoError(t, json.Unmarshal(line, &r))
		rows = append(rows, r)
	}
	return rows
}

// parquetRow reads back what sink.Parquet writes.
type parquetRow struct {
	URLFrom     string `parquet:"url_from"`
	URLTo       string `parquet:"url_to"`
	Nofollow    string `parquet:"nofollow"`
	LinkType    string `parquet:"link_type"`
	LinksExt    int64  `parquet:"links_ext"`
	LinkText    string `parquet:"link_text"`
	FirstSeen   *int32 `parquet:"first_seen,date"`
	LastVisited *int64 `parquet:"last_visited,timestamp(microsecond:local)"`
	DomainRank  int64  `parquet:"domain_rank"`
}

func readParquet(t *testing.T, path string) []serpstattest.Backlink {
	t.Helper()
	prs, err := parquet.ReadFile[parquetRow](path)
	require.NoError(t, err)
	rows := make([]serpstattest.Backlink, len(prs))
	for i, p := range prs {
		require.NotNil(t, p.FirstSeen)
		require.NotNil(t, p.LastVisited)
		rows[i] = serpstattest.Backlink{URLFrom: p.URLFrom, URLTo: p.URLTo, Nofollow: p.Nofollow, LinkType: p.LinkType,
			LinksExt: serpstat.Int(p.LinksExt), LinkText: p.LinkText,
			FirstSeen:   time.Unix(int64(*p.FirstSeen)*86400, 0).UTC().Format(time.DateOnly),
			LastVisited: time.UnixMicro(*p.LastVisited).UTC().Format(time.DateTime),
			DomainRank:  serpstat.Int(p.DomainRank)}
	}
	return rows
}

// apiRows are the first n rows of query's data set on srv in the order
// an export asks for them: first seen ascending (sort add, order asc,
// serpstat-export's default), ties in data-set order.
func apiRows(srv *serpstattest.Server, query string, n int) []serpstattest.Backlink {
	all := serpstattest.SortBacklinks(srv.Rows(query, srv.RowsFor(query)), "add", "asc")
	return all[:min(n, len(all))]
}

// requireRows compares row by row, so a failure names the first row that
// differs rather than printing two huge slices.
func requireRows(t *testing.T, want, got []serpstattest.Backlink, what string) {
	t.Helper()
	require.Equal(t, len(want), len(got), "%s: row count", what)
	for i := range want {
		if want[i] != got[i] {
			require.Equal(t, want[i], got[i], "%s: row %d", what, i)
		}
	}
}

// TestExportAllFormatsExactlyOnce: one pass into CSV, NDJSON and Parquet:
// every row once in each, one request a page, each page billed once. The
// pages of a query just under the wall are those of a 2,950-row query in
// pages of 50 under a 3,000-row wall (60 pages, as 59,500 rows in pages
// of 1,000 under the API's 60,000).
func TestExportAllFormatsExactlyOnce(t *testing.T) {
	for _, tc := range []struct{ total, size, wall int }{{2500, 1000, 0}, {1250, 50, 0}, {2950, 50, 3000}} {
		t.Run(fmt.Sprintf("%d rows in pages of %d", tc.total, tc.size), func(t *testing.T) {
			total := tc.total
			srv := serpstattest.NewServer(serpstattest.Options{Rows: total, Wall: tc.wall})
			defer srv.Close()
			dir := t.TempDir()
			csvPath, ndPath, pqPath := filepath.Join(dir, "b.csv"), filepath.Join(dir, "b.ndjson"), filepath.Join(dir, "b.parquet")
			args := []string{"--size", strconv.Itoa(tc.size), "--out", csvPath, "--out", ndPath, "--out", pqPath}
			if tc.wall > 0 {
				args = append(args, "--wall", strconv.Itoa(tc.wall))
			}
			res := runCLI(t, serpstattest.DefaultToken, exportArgs(srv, "example.com", args...)...)
			require.Equal(t, 0, res.code, res.stderr)
			assert.Empty(t, res.stdout, "nothing but rows goes to stdout")

			want := apiRows(srv, "example.com", total)
			requireRows(t, asCSV(want), readCSV(t, csvPath), "csv")
			var formulas int
			for _, r := range readCSV(t, csvPath) {
				for _, c := range []string{r.URLFrom, r.URLTo, r.LinkText} {
					if c != "" && strings.ContainsRune("=+-@", rune(c[0])) {
						formulas++
					}
				}
			}
			assert.Zero(t, formulas, "no CSV cell begins with = + - @")
			nd, err := os.ReadFile(ndPath)
			require.NoError(t, err)
			requireRows(t, want, readNDJSON(t, nd), "ndjson")
			requireRows(t, want, readParquet(t, pqPath), "parquet")

			st := srv.Stats()
			assert.EqualValues(t, total, st.CreditsBilled, "billed exactly the total")
			pages := (total + tc.size - 1) / tc.size
			assert.Len(t, st.PagesBilled, pages)
			for k, n := range st.PagesBilled {
				assert.Equal(t, 1, n, "page %+v billed once", k)
				assert.Equal(t, tc.size, k.Size)
			}
			assert.Equal(t, pages, st.Requests, "one request a page")
			assert.Contains(t, res.stderr, fmt.Sprintf("%d rows, %d pages, %d credits billed", total, pages, total))
			// No temp files left next to the outputs.
			entries, err := os.ReadDir(dir)
			require.NoError(t, err)
			assert.Len(t, entries, 3)
		})
	}
}

func TestCSVRawKeepsTheExactText(t *testing.T) {
	srv := serpstattest.NewServer(serpstattest.Options{Rows: 2500})
	defer srv.Close()
	out := filepath.Join(t.TempDir(), "raw.csv")
	res := runCLI(t, serpstattest.DefaultToken, exportArgs(srv, "raw.example", "--csv-raw", "--out", out)...)
	require.Equal(t, 0, res.code, res.stderr)
	want := apiRows(srv, "raw.example", 2500)
	require.NotEqual(t, want, asCSV(want), "the fake's data holds formula-like anchors")
	requireRows(t, want, readCSV(t, out), "raw csv")
}

func TestExportToStdout(t *testing.T) {
	srv := serpstattest.NewServer(serpstattest.Options{Rows: 1500})
	defer srv.Close()
	res := runCLI(t, serpstattest.DefaultToken, exportArgs(srv, "stdout.example", "--out", "-")...)
	require.Equal(t, 0, res.code, res.stderr)
	requireRows(t, apiRows(srv, "stdout.example", 1500), readNDJSON(t, []byte(res.stdout)), "stdout")

	dir := t.TempDir()
	res = runCLI(t, serpstattest.DefaultToken, exportArgs(srv, "stdout.example", "--out", "-", "--format", "csv")...)
	require.Equal(t, 0, res.code, res.stderr)
	p := filepath.Join(dir, "x.csv")
	require.NoError(t, os.WriteFile(p, []byte(res.stdout), 0o644))
	requireRows(t, asCSV(apiRows(srv, "stdout.example", 1500)), readCSV(t, p), "stdout csv")
}

// TestExportStopsAtTheWall: --no-slice stops at the wall (6,000 rows
// here, the fake's and --wall's, as the API's 60,000), exit 0, and says
// how many rows were out of reach; pages of 70 do not divide the wall, and
// no request reaches past it.
func TestExportStopsAtTheWall(t *testing.T) {
	srv := serpstattest.NewServer(serpstattest.Options{Rows: 6150, Wall: 6000})
	defer srv.Close()
	out := filepath.Join(t.TempDir(), "w.ndjson")
	res := runCLI(t, serpstattest.DefaultToken, exportArgs(srv, "wall.example", "--wall", "6000", "--no-slice", "--size", "70", "--workers", "8", "--out", out)...)
	require.Equal(t, 0, res.code, res.stderr)
	data, err := os.ReadFile(out)
	require.NoError(t, err)
	requireRows(t, apiRows(srv, "wall.example", 6000), readNDJSON(t, data), "up to the wall")
	assert.Contains(t, res.stderr, "150 matching rows were out of reach")
	st := srv.Stats()
	assert.EqualValues(t, 6000, st.CreditsBilled)
	assert.Zero(t, st.ByOutcome["wall"], "no request past the wall")
	for _, e := range srv.Log() {
		assert.LessOrEqual(t, e.Params.Page*e.Params.Size, 6000, "page %d size %d ends past the wall", e.Params.Page, e.Params.Size)
	}
}

// TestExportSlicesPastTheWall: a query over the wall (6,000 rows here, the
// fake's and --wall's) is sliced: every row once, nothing asked past the
// wall, and the summary says the slices add up.
func TestExportSlicesPastTheWall(t *testing.T) {
	srv := serpstattest.NewServer(serpstattest.Options{Rows: 6150, Wall: 6000})
	defer srv.Close()
	out := filepath.Join(t.TempDir(), "s.csv")
	res := runCLI(t, serpstattest.DefaultToken, exportArgs(srv, "slice.example", "--wall", "6000", "--out", out)...)
	require.Equal(t, 0, res.code, res.stderr)
	got := readCSV(t, out)
	require.Len(t, got, 6150)
	seen := map[serpstattest.Backlink]bool{}
	for _, r := range got {
		require.False(t, seen[r], "a row written twice")
		seen[r] = true
	}
	for _, r := range asCSV(serpstattest.Rows("slice.example", 6150)) {
		require.True(t, seen[r], "a row missing")
	}
	assert.Contains(t, res.stderr, "sliced past the 6000-row wall into")
	assert.Contains(t, res.stderr, "slice totals add up to 6150 of the unsliced total 6150")
	assert.Zero(t, srv.Stats().ByOutcome["wall"])
}

func TestAnEarlierAPIWallIsSlicedPast(t *testing.T) {
	// An API that draws its wall earlier than --wall (1,800 of 2,500 rows
	// here, refused past it as a 402 or answered empty): the rows before
	// it are kept, and the query is sliced under that wall from there;
	// every row once, and nothing bought twice.
	for _, empty := range []bool{false, true} {
		t.Run(fmt.Sprintf("answered empty %v", empty), func(t *testing.T) {
			srv := serpstattest.NewServer(serpstattest.Options{Rows: 2500, Wall: 1800, WallEmpty: empty})
			defer srv.Close()
			out := filepath.Join(t.TempDir(), "w.ndjson")
			res := runCLI(t, serpstattest.DefaultToken, exportArgs(srv, "wall.example", "--size", "600", "--workers", "1", "--out", out)...)
			require.Equal(t, 0, res.code, res.stderr)
			data, err := os.ReadFile(out)
			require.NoError(t, err)
			requireSameSet(t, serpstattest.Rows("wall.example", 2500), readNDJSON(t, data), "every row, past the API's wall")
			assert.Contains(t, res.stderr, "the API stopped serving rows before the planned wall")
			billed := srv.Stats().CreditsBilled
			assert.GreaterOrEqual(t, billed, int64(2500))
			assert.LessOrEqual(t, billed, int64(2500*105/100), "rows, the probes and at most an empty page")
		})
	}
	t.Run("no-slice", func(t *testing.T) {
		srv := serpstattest.NewServer(serpstattest.Options{Rows: 2500, Wall: 1800})
		defer srv.Close()
		out := filepath.Join(t.TempDir(), "w.ndjson")
		res := runCLI(t, serpstattest.DefaultToken, exportArgs(srv, "wall.example", "--size", "600", "--workers", "1", "--no-slice", "--out", out)...)
		require.Equal(t, 1, res.code, res.stderr)
		assert.Contains(t, res.stderr, "700 rows out of reach")
		assert.EqualValues(t, 1800, srv.Stats().CreditsBilled)
	})
}

// TestBudgetStopsAfterPageOneWhenTheExportDoesNotFit: 1,000 rows in
// pages of 100 (as 10,000 in pages of 1,000), and budgets under, at and
// over page 1: page 1 only is bought (cut to the budget when it is
// smaller), the run exits 3 saying what the export needs, and the resume
// with a budget that fits does not buy page 1 again.
func TestBudgetStopsAfterPageOneWhenTheExportDoesNotFit(t *testing.T) {
	tests := []struct {
		budget  int
		workers string
	}{{1, "1"}, {50, "4"}, {99, "8"}, {100, "4"}, {260, "8"}, {999, "2"}}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("budget %d workers %s", tt.budget, tt.workers), func(t *testing.T) {
			srv := serpstattest.NewServer(serpstattest.Options{Rows: 1000})
			defer srv.Close()
			out := filepath.Join(t.TempDir(), "b.csv")
			res := runCLI(t, serpstattest.DefaultToken, exportArgs(srv, "budget.example", "--workers", tt.workers, "--size", "100",
				"--budget", strconv.Itoa(tt.budget), "--out", out)...)
			require.Equal(t, 3, res.code, res.stderr)
			st := srv.Stats()
			assert.EqualValues(t, min(tt.budget, 100), st.CreditsBilled, "page 1 only")
			assert.Equal(t, 1, st.Requests)
			assert.Contains(t, res.stderr, "the full export needs 1000 credits")
			assert.Contains(t, res.stderr, fmt.Sprintf("credits spent of --budget %d", tt.budget))
			assert.Contains(t, res.stderr, "--partial")
			assert.Contains(t, res.stderr, "run the same command again to resume")
			// What is spent stays spent, and is not bought again: a page
			// 1 cut to the budget included.
			assert.Contains(t, res.stderr, "raise --budget to at least 1000")
			// No file under the final name; the rows paid for are kept in
			// the spool, and a resume with a budget that fits (--budget caps
			// the export in all, the first attempt included) does not pay
			// for them again.
			_, err := os.Stat(out)
			assert.True(t, os.IsNotExist(err))
			res = runCLI(t, serpstattest.DefaultToken, exportArgs(srv, "budget.example", "--workers", tt.workers, "--size", "100",
				"--budget", "1000", "--out", out)...)
			require.Equal(t, 0, res.code, res.stderr)
			requireRows(t, asCSV(apiRows(srv, "budget.example", 1000)), readCSV(t, out), "resumed")
			assert.EqualValues(t, 1000, srv.Stats().CreditsBilled, "page 1 was not bought twice, cut or not")
			assertNoLeftovers(t, filepath.Dir(out), "b.csv")
		})
	}
}

// TestBudgetPropertyNeverOverspends: 25 rows in pages of 10 (3 pages, 25
// credits) under budgets below page 1, between pages and above the
// export, with and without --partial: never a credit past --budget, exit
// 3 for a stop, 0 for an export that fits or a partial one (which says
// so). Every budget from 1 to 35 with 1, 3 and 8 workers is lake's
// TestBudgetPropertyNeverOverspends, in-process.
func TestBudgetPropertyNeverOverspends(t *testing.T) {
	srv := serpstattest.NewServer(serpstattest.Options{Rows: 25})
	defer srv.Close()
	dir := t.TempDir()
	for _, budget := range []int{5, 15, 25} {
		for _, partial := range []bool{false, true} {
			name := fmt.Sprintf("budget %d partial %v", budget, partial)
			before := srv.Stats().CreditsBilled
			out := filepath.Join(dir, fmt.Sprintf("b%d-%v.ndjson", budget, partial))
			args := exportArgs(srv, "property.example", "--size", "10", "--workers", "3", "--budget", strconv.Itoa(budget), "--out", out)
			if partial {
				args = append(args, "--partial")
			}
			res := runCLI(t, serpstattest.DefaultToken, args...)
			billed := srv.Stats().CreditsBilled - before
			require.LessOrEqual(t, billed, int64(budget), name)
			switch {
			case budget >= 25:
				require.Equal(t, 0, res.code, "%s: %s", name, res.stderr)
				require.EqualValues(t, 25, billed, name)
			case partial:
				require.Equal(t, 0, res.code, "%s: %s", name, res.stderr)
				want := min(budget, 10)
				if budget >= 10 {
					want = budget / 10 * 10
				}
				require.EqualValues(t, want, billed, name)
				data, err := os.ReadFile(out)
				require.NoError(t, err, name)
				requireRows(t, apiRows(srv, "property.example", want), readNDJSON(t, data), name)
				require.Contains(t, res.stderr, "partial (as --partial asked)", name)
			default:
				require.Equal(t, 3, res.code, "%s: %s", name, res.stderr)
				require.EqualValues(t, min(budget, 10), billed, name)
			}
		}
	}
}

func TestMaxRows(t *testing.T) {
	srv := serpstattest.NewServer(serpstattest.Options{Rows: 25000})
	defer srv.Close()
	out := filepath.Join(t.TempDir(), "m.csv")
	res := runCLI(t, serpstattest.DefaultToken, exportArgs(srv, "max.example", "--max-rows", "2500", "--size", "1000", "--out", out)...)
	require.Equal(t, 0, res.code, res.stderr)
	requireRows(t, asCSV(apiRows(srv, "max.example", 2500)), readCSV(t, out), "first 2500")
	st := srv.Stats()
	assert.EqualValues(t, 2500, st.CreditsBilled)
	assert.Equal(t, 1, st.PagesBilled[serpstattest.PageKey{Query: "max.example", Page: 5, Size: 500}], "2,000 done, 500 wanted: size 500, page 5")
	assert.Contains(t, res.stderr, "credits: estimated 2500, billed 2500 (balance dropped by 2500)")
}

func TestKeepBalance(t *testing.T) {
	srv := serpstattest.NewServer(serpstattest.Options{Rows: 10000, Balance: 13500})
	defer srv.Close()
	out := filepath.Join(t.TempDir(), "k.csv")
	res := runCLI(t, serpstattest.DefaultToken, exportArgs(srv, "floor.example", "--keep-balance", "10000", "--out", out)...)
	require.Equal(t, 3, res.code, res.stderr)
	assert.Contains(t, res.stderr, "--keep-balance 10000")
	assert.GreaterOrEqual(t, srv.Balance(), int64(10000))

	res = runCLI(t, serpstattest.DefaultToken, exportArgs(srv, "floor.example", "--keep-balance", "10000", "--partial", "--out", out)...)
	require.Equal(t, 0, res.code, res.stderr)
	assert.GreaterOrEqual(t, srv.Balance(), int64(10000))
	// Page 1 of the first run came from its checkpoint; pages 2 and 3 fit.
	assert.Equal(t, 3000, len(readCSV(t, out)))
	assert.EqualValues(t, 10500, srv.Balance())

	// Already at the floor: nothing is spent.
	before := srv.Stats().CreditsBilled
	res = runCLI(t, serpstattest.DefaultToken, exportArgs(srv, "floor.example", "--keep-balance", "10500", "--out", out)...)
	require.Equal(t, 3, res.code, res.stderr)
	assert.Equal(t, before, srv.Stats().CreditsBilled)
}

// TestEstimate: a query of 25,000 rows over a 6,000-row wall (the fake's
// and --wall's; the API's is 60,000) in pages of 100: without slicing, the
// rows under the wall, their pages, credits and time at --rps, for 1
// credit; sliced, every row, and exactly what its probes cost; over
// --budget, exit 3.
func TestEstimate(t *testing.T) {
	srv := serpstattest.NewServer(serpstattest.Options{Rows: 25000, Wall: 6000, Balance: 500000})
	defer srv.Close()
	res := runCLI(t, serpstattest.DefaultToken, "estimate", "--endpoint", srv.URL, "--query", "est.example", "--rps", "10", "--json", "--no-slice",
		"--wall", "6000", "--size", "100")
	require.Equal(t, 0, res.code, res.stderr)
	var got map[string]any
	require.NoError(t, json.Unmarshal([]byte(res.stdout), &got))
	assert.EqualValues(t, 500000, got["balance"])
	assert.EqualValues(t, 25000, got["total"])
	assert.EqualValues(t, 6000, got["reachable"])
	assert.EqualValues(t, 19000, got["unreachable"])
	assert.EqualValues(t, 60, got["pages"])
	assert.EqualValues(t, 6000, got["credits"])
	assert.EqualValues(t, 6, got["seconds"])
	assert.EqualValues(t, 1, got["estimate_cost"])
	assert.EqualValues(t, 1, srv.Stats().CreditsBilled, "the estimate cost exactly 1 credit")

	// Sliced: the probes are size-1 requests, and the estimate says
	// exactly what it cost.
	before := srv.Stats().CreditsBilled
	res = runCLI(t, serpstattest.DefaultToken, "estimate", "--endpoint", srv.URL, "--query", "est.example", "--rps", "1000", "--json", "--wall", "6000")
	require.Equal(t, 0, res.code, res.stderr)
	clear(got)
	require.NoError(t, json.Unmarshal([]byte(res.stdout), &got))
	assert.EqualValues(t, 25000, got["reachable"])
	assert.EqualValues(t, 0, got["unreachable"])
	assert.Greater(t, got["slices"], 1.0)
	assert.EqualValues(t, srv.Stats().CreditsBilled-before, got["estimate_cost"], "it reports exactly what it spent")
	assert.Greater(t, got["credits"], 25000.0)
	assert.Less(t, got["credits"], 25000.0+200)
	t.Logf("sliced: %v credits, %v slices, estimate cost %v", got["credits"], got["slices"], got["estimate_cost"])

	res = runCLI(t, serpstattest.DefaultToken, "estimate", "--endpoint", srv.URL, "--query", "est.example", "--max-rows", "2500", "--budget", "2000")
	require.Equal(t, 3, res.code, "an export that does not fit --budget exits 3: %s", res.stderr)
	assert.Contains(t, res.stdout, "export cost:      2500 credits")
	assert.Contains(t, res.stdout, "does NOT fit")
	assert.Contains(t, res.stdout, "this estimate cost 1 credit")
}

func TestInvalidTokenExits4AndNeverShowsIt(t *testing.T) {
	srv := serpstattest.NewServer(serpstattest.Options{Rows: 2500})
	defer srv.Close()
	const bad = "wrong-token-4f9a1c"
	out := filepath.Join(t.TempDir(), "b.csv")
	for _, mode := range [][]string{nil, {"--token-in-query"}} {
		res := runCLI(t, bad, exportArgs(srv, "auth.example", append(mode, "--out", out)...)...)
		require.Equal(t, 4, res.code, res.stderr)
		assert.NotContains(t, res.stderr, bad)
		assert.NotContains(t, res.stdout, bad)
		assert.Contains(t, res.stderr, "Invalid token")
		_, err := os.Stat(out)
		assert.True(t, os.IsNotExist(err), "no output for a refused run")
	}
	assert.Zero(t, srv.Stats().CreditsBilled)
}

func TestOutOfCreditsExits4(t *testing.T) {
	srv := serpstattest.NewServer(serpstattest.Options{Rows: 5000, Balance: 2500})
	defer srv.Close()
	out := filepath.Join(t.TempDir(), "b.ndjson")
	res := runCLI(t, serpstattest.DefaultToken, exportArgs(srv, "credits.example", "--workers", "1", "--out", out)...)
	require.Equal(t, 4, res.code, res.stderr)
	assert.Contains(t, res.stderr, "out of credits")
	billed := srv.Stats().CreditsBilled
	assert.EqualValues(t, 2000, billed)
	// The paid rows are kept for a resume once the account is topped up.
	srv.SetBalance(3000)
	res = runCLI(t, serpstattest.DefaultToken, exportArgs(srv, "credits.example", "--workers", "1", "--out", out)...)
	require.Equal(t, 0, res.code, res.stderr)
	data, err := os.ReadFile(out)
	require.NoError(t, err)
	requireRows(t, apiRows(srv, "credits.example", 5000), readNDJSON(t, data), "resumed")
	assert.EqualValues(t, 5000, srv.Stats().CreditsBilled, "no page bought twice")
}

// assertNoLeftovers checks that dir holds only the named files: no spool,
// no temporary file.
func assertNoLeftovers(t *testing.T, dir string, names ...string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	var got []string
	for _, e := range entries {
		got = append(got, e.Name())
	}
	assert.ElementsMatch(t, names, got)
}

func TestBadInputExits2AndSendsNothing(t *testing.T) {
	srv := serpstattest.NewServer(serpstattest.Options{Rows: 2500})
	defer srv.Close()
	dir := t.TempDir()
	out := filepath.Join(dir, "b.csv")
	tests := []struct {
		name string
		args []string
		msg  string
	}{
		{"size too big", []string{"--size", "5000"}, "size must be 1..1000; got 5000"},
		{"size zero", []string{"--size", "0"}, "size must be 1..1000; got 0"},
		{"order", []string{"--order", "up"}, "order must be asc or desc"},
		{"search type", []string{"--search-type", "page"}, "search-type must be one of domain, domain_with_subdomains, url, part_url"},
		{"sort", []string{"--sort", "rank"}, "sort must be one of"},
		{"malformed filter", []string{"--filter", "[[{"}, "filter must be a JSON array"},
		{"filter field", []string{"--filter", `[[{"field":"x","compareType":"eq","value":["a"]}]]`}, "filter[0][0].field must be one of"},
		{"filter date", []string{"--filter", `[[{"field":"add","compareType":"gte","value":["2024/01/01"]}]]`}, "filter[0][0].value[0] must be a date of add written YYYY-MM-DD, DD.MM.YYYY or D.M.YYYY"},
		{"impossible date", []string{"--filter", `[[{"field":"add","compareType":"gte","value":["2024-02-30"]}]]`}, "not a day of the calendar"},
		{"threat code", []string{"--method", "threats", "--filter", `[[{"field":"threat_type","compareType":"contains","value":[5]}]]`}, "is not a code of threat_type: use one of 1 malware"},
		{"threat compare", []string{"--method", "out-threats", "--filter", `[[{"field":"platform_type","compareType":"gte","value":[1]}]]`}, "use contains, notContains, eq, neq"},
		{"rps", []string{"--rps", "0"}, "--rps must be more than 0"},
		{"workers", []string{"--workers", "-1"}, "--workers must be 1..64, or 0 for automatic; got -1"},
		{"too many workers", []string{"--workers", "65"}, "--workers must be 1..64"},
		{"wall", []string{"--wall", "0"}, "--wall must be 1 or more"},
		{"budget", []string{"--budget", "-5"}, "--budget must be 0"},
		{"unknown extension", []string{"--out", filepath.Join(dir, "x.xlsx")}, "x.xlsx"},
		{"two stdouts", []string{"--out", "-", "--out", "-"}, "given twice"},
		{"unknown flag", []string{"--nope"}, "unknown flag --nope"},
		{"missing config", []string{"--config", filepath.Join(dir, "none.yaml")}, "--config"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append(exportArgs(srv, "example.com"), tt.args...)
			if !strings.Contains(strings.Join(tt.args, " "), "--out") {
				args = append(args, "--out", out)
			}
			res := runCLI(t, serpstattest.DefaultToken, args...)
			require.Equal(t, 2, res.code, res.stderr)
			assert.Contains(t, res.stderr, tt.msg)
		})
	}
	t.Run("no query", func(t *testing.T) {
		res := runCLI(t, serpstattest.DefaultToken, "export", "--endpoint", srv.URL, "--out", out)
		require.Equal(t, 2, res.code, res.stderr)
		assert.Contains(t, res.stderr, "query is required")
	})
	t.Run("url as query", func(t *testing.T) {
		res := runCLI(t, serpstattest.DefaultToken, exportArgs(srv, "https://example.com/page", "--out", out)...)
		require.Equal(t, 2, res.code, res.stderr)
		assert.Contains(t, res.stderr, "try --query example.com")
	})
	t.Run("no token", func(t *testing.T) {
		res := runCLI(t, "", exportArgs(srv, "example.com", "--out", out)...)
		require.Equal(t, 2, res.code, res.stderr)
		assert.Contains(t, res.stderr, "SERPSTAT_TOKEN")
	})
	assert.Zero(t, srv.Stats().Requests, "bad input sends nothing")
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Empty(t, entries, "bad input writes nothing")
}

func TestOverRateAnswersAreRetried(t *testing.T) {
	// Every third request is refused as over-rate: the export still
	// completes, pays each page once, and counts the refusals.
	srv := serpstattest.NewServer(serpstattest.Options{Rows: 5000, Fault: func(fi serpstattest.FaultInfo) serpstattest.Fault {
		if fi.Seq%3 == 0 {
			return serpstattest.Fault{Kind: serpstattest.FaultAPIError, Code: 32000, Message: "You are sending more requests per second then available for your Serpstat plan"}
		}
		return serpstattest.Fault{}
	}})
	defer srv.Close()
	out := filepath.Join(t.TempDir(), "r.ndjson")
	res := runCLI(t, serpstattest.DefaultToken, exportArgs(srv, "rate.example", "--out", out)...)
	require.Equal(t, 0, res.code, res.stderr)
	data, err := os.ReadFile(out)
	require.NoError(t, err)
	requireRows(t, apiRows(srv, "rate.example", 5000), readNDJSON(t, data), "rows")
	assert.EqualValues(t, 5000, srv.Stats().CreditsBilled)
	assert.Contains(t, res.stderr, "over-rate answers:")
}

func TestTransientFaultsAreRetried(t *testing.T) {
	srv := serpstattest.NewServer(serpstattest.Options{Rows: 4000, Fault: func(fi serpstattest.FaultInfo) serpstattest.Fault {
		switch fi.Seq % 5 {
		case 2:
			return serpstattest.Fault{Kind: serpstattest.FaultHTTPStatus, Status: 502}
		case 4:
			return serpstattest.Fault{Kind: serpstattest.FaultReset}
		}
		return serpstattest.Fault{}
	}})
	defer srv.Close()
	out := filepath.Join(t.TempDir(), "t.csv")
	res := runCLI(t, serpstattest.DefaultToken, exportArgs(srv, "faults.example", "--size", "500", "--out", out)...)
	require.Equal(t, 0, res.code, res.stderr)
	requireRows(t, asCSV(apiRows(srv, "faults.example", 4000)), readCSV(t, out), "rows")
	for k, n := range srv.Stats().PagesBilled {
		assert.Equal(t, 1, n, "page %+v billed once", k)
	}
}

func TestRateIsRespected(t *testing.T) {
	if testing.Short() {
		t.Skip("takes a few seconds")
	}
	// The plan allows 5/s; the API takes 300 ms to answer. Four workers at
	// --rps 5 keep the rate busy without one over-rate answer.
	srv := serpstattest.NewServer(serpstattest.Options{Rows: 6000, RPS: 5, Latency: 300 * time.Millisecond})
	defer srv.Close()
	out := filepath.Join(t.TempDir(), "r.csv")
	res := runCLI(t, serpstattest.DefaultToken, "export", "--endpoint", srv.URL, "--query", "rate.example",
		"--rps", "5", "--workers", "4", "--size", "500", "--out", out)
	require.Equal(t, 0, res.code, res.stderr)
	st := srv.Stats()
	assert.Zero(t, st.RateLimited, "no over-rate answers")
	assert.Equal(t, 12, st.Requests)
	log := srv.Log()
	span := log[len(log)-1].Time.Sub(log[0].Time)
	t.Logf("achieved %.2f requests/s of 5 (the benchmark measures it; tests do not time)", float64(len(log)-1)/span.Seconds())
}

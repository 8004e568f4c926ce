package main_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/serpstat-export/serpstat-export/serpstat/backlinks"
	"github.com/serpstat-export/serpstat-export/serpstat/serpstattest"
)

// End-to-end tests of issue 11: the binary against the strict fake, which
// refuses what the spec does not document and answers the variants it does.

// TestSameDayOverTheWallExportsEveryRowOnce: 20,000 rows of which 7,000
// share one first-seen day, over a 6,000-row wall (the fake's and --wall's;
// the same shape as 200,000 rows with 70,000 on a day over the API's
// 60,000): exported completely, each row once, no request refused for its
// filter, billed at most 1.01 × rows.
func TestSameDayOverTheWallExportsEveryRowOnce(t *testing.T) {
	const total, wall = 20000, 6000
	srv := serpstattest.NewServer(serpstattest.Options{Rows: total, Wall: wall, SameDayShare: 0.35})
	defer srv.Close()
	dir := t.TempDir()
	out, sum := filepath.Join(dir, "b.ndjson"), filepath.Join(dir, "summary.json")
	res := runCLI(t, serpstattest.DefaultToken, exportArgs(srv, "sameday.example", "--wall", strconv.Itoa(wall), "--out", out, "--summary-json", sum)...)
	require.Equal(t, 0, res.code, res.stderr)
	data, err := os.ReadFile(out)
	require.NoError(t, err)
	lines := bytes.Split(bytes.TrimSuffix(data, []byte("\n")), []byte("\n"))
	require.Len(t, lines, total)
	got := make([]serpstattest.Backlink, len(lines))
	for i, l := range lines {
		require.NoError(t, json.Unmarshal(l, &got[i]))
	}
	want := srv.Rows("sameday.example", total)
	day := 0
	for _, r := range want {
		if r.FirstSeen == serpstattest.OneDayDate {
			day++
		}
	}
	require.GreaterOrEqual(t, day, 7000, "the data set has 7,000 rows on one day")
	require.Greater(t, day, wall, "more rows on that day than the wall")
	seen := make(map[serpstattest.Backlink]int, total)
	for _, r := range got {
		seen[r]++
	}
	for i, r := range want {
		require.Equal(t, 1, seen[r], "row %d written %d times", i, seen[r])
	}
	st := srv.Stats()
	assert.Zero(t, st.ByOutcome[serpstattest.OutcomeInvalid], "no request refused for its filter")
	assert.Zero(t, st.ByOutcome[serpstattest.OutcomeWall], "no request past the wall")
	assert.LessOrEqual(t, st.CreditsBilled, int64(total*101/100), "billed at most 1.01 × rows")
	t.Logf("billed %d credits for %d rows (%.4f×)", st.CreditsBilled, total, float64(st.CreditsBilled)/total)
	for _, e := range srv.Log() {
		for _, g := range e.Params.ComplexFilter {
			for _, c := range g {
				require.NotEqual(t, "between", c.CompareType, "no between on dates")
			}
		}
	}
	var s map[string]any
	js, err := os.ReadFile(sum)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(js, &s))
	assert.Equal(t, true, s["sliced"])
	assert.EqualValues(t, 0, s["unreachable"])
	assert.NotContains(t, s, "rows_in_doubt")
}

// TestNumbersAsStringsAreExact: an answer with links_ext and domain_rank
// (and the totals) as strings: exact output, integers in NDJSON and
// Parquet, billed exactly the rows.
func TestNumbersAsStringsAreExact(t *testing.T) {
	const total = 2500
	srv := serpstattest.NewServer(serpstattest.Options{Rows: total, NumbersAsStrings: true})
	defer srv.Close()
	dir := t.TempDir()
	csvPath, ndPath, pqPath := filepath.Join(dir, "b.csv"), filepath.Join(dir, "b.ndjson"), filepath.Join(dir, "b.parquet")
	res := runCLI(t, serpstattest.DefaultToken, exportArgs(srv, "strings.example", "--out", csvPath, "--out", ndPath, "--out", pqPath)...)
	require.Equal(t, 0, res.code, res.stderr)
	want := apiRows(srv, "strings.example", total)
	requireRows(t, asCSV(want), readCSV(t, csvPath), "csv")
	nd, err := os.ReadFile(ndPath)
	require.NoError(t, err)
	requireRows(t, want, readNDJSON(t, nd), "ndjson") // readNDJSON checks the numbers are JSON numbers
	requireRows(t, want, readParquet(t, pqPath), "parquet")
	assert.EqualValues(t, total, srv.Stats().CreditsBilled, "billed exactly the rows")
}

// TestEmptyResult404IsNoData: a filter matching nothing answered with the
// documented 404 "Empty result!": exit 0, a header-only CSV, billed 1.
func TestEmptyResult404IsNoData(t *testing.T) {
	srv := serpstattest.NewServer(serpstattest.Options{Rows: 2500, EmptyResult404: true})
	defer srv.Close()
	out := filepath.Join(t.TempDir(), "empty.csv")
	res := runCLI(t, serpstattest.DefaultToken, exportArgs(srv, "empty.example", "--out", out,
		"--filter", `[[{"field":"url_from","compareType":"contains","value":["no-such-page-anywhere"]}]]`)...)
	require.Equal(t, 0, res.code, res.stderr)
	data, err := os.ReadFile(out)
	require.NoError(t, err)
	assert.Equal(t, strings.Join(backlinks.NewBacklinks.OutputColumns(), ",")+"\n", string(data))
	assert.EqualValues(t, 1, srv.Stats().CreditsBilled)
	assert.Equal(t, 1, srv.Stats().ByOutcome[serpstattest.OutcomeNoData])
}

// TestTotalNullExportsEveryRow: "total": null with 2,345 rows: every row,
// billed at most 2,346, and the summary says the total was unknown.
func TestTotalNullExportsEveryRow(t *testing.T) {
	srv := serpstattest.NewServer(serpstattest.Options{Rows: 2345, TotalNull: true})
	defer srv.Close()
	dir := t.TempDir()
	out, sum := filepath.Join(dir, "n.ndjson"), filepath.Join(dir, "summary.json")
	res := runCLI(t, serpstattest.DefaultToken, exportArgs(srv, "null.example", "--out", out, "--summary-json", sum)...)
	require.Equal(t, 0, res.code, res.stderr)
	data, err := os.ReadFile(out)
	require.NoError(t, err)
	requireRows(t, apiRows(srv, "null.example", 2345), readNDJSON(t, data), "rows")
	assert.LessOrEqual(t, srv.Stats().CreditsBilled, int64(2346))
	assert.Contains(t, res.stderr, "the API did not tell the total")
	var s map[string]any
	js, err := os.ReadFile(sum)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(js, &s))
	assert.Equal(t, true, s["total_unknown"])
	assert.EqualValues(t, 2345, s["total"])
}

// TestNullFieldsAreWrittenAsNulls: null in an answer is an empty CSV cell
// and a JSON null.
func TestNullFieldsAreWrittenAsNulls(t *testing.T) {
	srv := serpstattest.NewServer(serpstattest.Options{Rows: 30, NullEvery: 10})
	defer srv.Close()
	dir := t.TempDir()
	nd := filepath.Join(dir, "n.ndjson")
	res := runCLI(t, serpstattest.DefaultToken, exportArgs(srv, "nulls.example", "--out", nd)...)
	require.Equal(t, 0, res.code, res.stderr)
	data, err := os.ReadFile(nd)
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	require.Len(t, lines, 30)
	// Rows 9, 19 and 29 of the data set are answered with nulls, wherever
	// the export's sort puts them.
	rows := serpstattest.Rows("nulls.example", 30)
	nulled := map[string]bool{rows[9].URLFrom: true, rows[19].URLFrom: true, rows[29].URLFrom: true}
	nulls := 0
	for i, l := range lines {
		var r struct {
			URLFrom string `json:"url_from"`
		}
		require.NoError(t, json.Unmarshal([]byte(l), &r))
		null := nulled[r.URLFrom]
		if null {
			nulls++
		}
		assert.Equal(t, null, strings.Contains(l, `"link_text":null`), "line %d", i)
		assert.Equal(t, null, strings.HasSuffix(l, `"domain_rank":null}`), "line %d", i)
	}
	assert.Equal(t, 3, nulls)
}

// TestSearchTypeURL: --search-type url takes a page's URL as --query; a
// bare domain with it is a usage error, before anything is sent.
func TestSearchTypeURL(t *testing.T) {
	srv := serpstattest.NewServer(serpstattest.Options{Rows: 1500})
	defer srv.Close()
	dir := t.TempDir()
	out := filepath.Join(dir, "u.ndjson")
	res := runCLI(t, serpstattest.DefaultToken, exportArgs(srv, "https://example.com/page", "--search-type", "url", "--out", out)...)
	require.Equal(t, 0, res.code, res.stderr)
	data, err := os.ReadFile(out)
	require.NoError(t, err)
	want := apiRows(srv, "https://example.com/page", 1500)
	for i := range want {
		want[i].URLTo = "https://example.com/page" // a url search: every backlink is to the page
	}
	requireRows(t, want, readNDJSON(t, data), "rows")
	for _, e := range srv.Log() {
		assert.Equal(t, "url", e.Params.SearchType)
		assert.Equal(t, "https://example.com/page", e.Params.Query)
	}
	res = runCLI(t, serpstattest.DefaultToken, exportArgs(srv, "example.com/blog/", "--search-type", "part_url", "--out", filepath.Join(dir, "p.ndjson"))...)
	require.Equal(t, 0, res.code, res.stderr)

	requests := srv.Stats().Requests
	res = runCLI(t, serpstattest.DefaultToken, exportArgs(srv, "example.com", "--search-type", "url", "--out", filepath.Join(dir, "bad.ndjson"))...)
	assert.Equal(t, 2, res.code, res.stderr)
	assert.Contains(t, res.stderr, "query")
	assert.Contains(t, res.stderr, "https://example.com/page")
	assert.Equal(t, requests, srv.Stats().Requests, "nothing sent")
}

// TestUnexpectedAnswerStopsWithoutPayingTwice: a well-formed answer whose
// shape surprises the decoder is not retried: exit 1 with the method, field
// and value named; the next run reads it from the spool without paying.
func TestUnexpectedAnswerStopsWithoutPayingTwice(t *testing.T) {
	srv := serpstattest.NewServer(serpstattest.Options{Rows: 3500, Fault: func(fi serpstattest.FaultInfo) serpstattest.Fault {
		if fi.Params.Page == 3 {
			return serpstattest.Fault{Kind: serpstattest.FaultUnexpected}
		}
		return serpstattest.Fault{}
	}})
	defer srv.Close()
	out := filepath.Join(t.TempDir(), "u.csv")
	for run := 1; run <= 2; run++ {
		res := runCLI(t, serpstattest.DefaultToken, exportArgs(srv, "shape.example", "--out", out)...)
		require.Equal(t, 1, res.code, res.stderr)
		for _, want := range []string{backlinks.NewBacklinks.API, "links_ext", `"abc"`} {
			assert.Contains(t, res.stderr, want, "run %d", run)
		}
		assert.Equal(t, 1, srv.Stats().ByOutcome[serpstattest.OutcomeFaultShape], "run %d: asked once in all", run)
		assert.EqualValues(t, 3500, srv.Stats().CreditsBilled, "run %d: every page billed once", run)
		_, err := os.Stat(out)
		assert.True(t, os.IsNotExist(err), "no output of an export that did not complete")
	}
}

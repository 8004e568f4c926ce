package main_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/serpstat-export/serpstat-export/serpstat"
	"github.com/serpstat-export/serpstat-export/serpstat/backlinks"
	"github.com/serpstat-export/serpstat-export/serpstat/serpstattest"
	"github.com/serpstat-export/serpstat-export/sink"
)

// Issue 21's acceptance through the binary, for value formats: each
// method's dates in the format its spec documents, and the threat
// methods' example filters.

// filterValues are the values of every condition on field the fake got
// for m, in its requests from the from-th on.
func filterValues(srv *serpstattest.Server, m *serpstat.Method, field string, from int) []string {
	var out []string
	for _, e := range srv.Log()[from:] {
		if e.Method != m.API {
			continue
		}
		for _, g := range e.Params.ComplexFilter {
			for _, c := range g {
				if c.Field == field {
					for _, v := range c.Value {
						out = append(out, fmt.Sprint(v))
					}
				}
			}
		}
	}
	return out
}

// rawFilterCode posts a request of m with complexFilter filter (JSON) to
// srv as is, and returns the error code answered (0: none).
func rawFilterCode(t *testing.T, srv *serpstattest.Server, m *serpstat.Method, filter string) int {
	t.Helper()
	body := `{"id":"1","method":"` + m.API + `","params":{"query":"raw.example","searchType":"domain","page":1,"size":1,"complexFilter":` + filter + `}}`
	req, err := http.NewRequest(http.MethodPost, srv.URL, strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("token", serpstattest.DefaultToken)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	var a struct {
		Error *serpstat.Error `json:"error"`
	}
	require.NoError(t, json.Unmarshal(raw, &a), string(raw))
	if a.Error == nil {
		return 0
	}
	return a.Error.Code
}

// TestThreatsPastTheWallAgainstAFakeReadingOnlyYYYYMMDD: getThreats and
// getThreatsLinks (whose only slicing field is lastupdate) past a
// 1,000-row wall, against the fake that refuses any lastupdate but
// YYYY-MM-DD: slicing by lastupdate is never refused, every row is
// written exactly once, exit 0.
func TestThreatsPastTheWallAgainstAFakeReadingOnlyYYYYMMDD(t *testing.T) {
	const rows, wall = 3456, 1000
	for _, m := range []*serpstat.Method{backlinks.Threats, backlinks.ThreatsLinks} {
		t.Run(m.Name, func(t *testing.T) {
			srv := serpstattest.NewServer(serpstattest.Options{Rows: rows})
			defer srv.Close()
			require.Equal(t, serpstattest.CodeFilter, rawFilterCode(t, srv, m, `[[{"field":"lastupdate","compareType":"gte","value":["01.04.2024"]}]]`), "the fake refuses DD.MM.YYYY here")
			require.Equal(t, serpstattest.CodeFilter, rawFilterCode(t, srv, m, `[[{"field":"lastupdate","compareType":"gte","value":["1.4.2024"]}]]`))
			require.Zero(t, rawFilterCode(t, srv, m, `[[{"field":"lastupdate","compareType":"gte","value":["2024-04-01"]}]]`), "and reads YYYY-MM-DD")
			refusedBefore, logged := srv.Stats().ByOutcome[serpstattest.OutcomeInvalid], len(srv.Log())

			dir := t.TempDir()
			out, sum := filepath.Join(dir, "t.ndjson"), filepath.Join(dir, "s.json")
			res := runCLI(t, serpstattest.DefaultToken, exportArgs(srv, "threats.example", "--method", m.Name,
				"--wall", strconv.Itoa(wall), "--out", out, "--summary-json", sum)...)
			require.Equal(t, 0, res.code, res.stderr)
			assert.Equal(t, refusedBefore, srv.Stats().ByOutcome[serpstattest.OutcomeInvalid], "no request of the export refused")
			assert.NotContains(t, res.stderr, "refused a slicing filter")

			want := srv.Expected(m, "threats.example", sent(t, srv, m))
			require.Len(t, want, rows)
			got, err := os.ReadFile(out)
			require.NoError(t, err)
			assert.Equal(t, lines(formatted(t, sink.FormatNDJSON, m, want), 0), lines(got, 0), "every row exactly once")

			dates := filterValues(srv, m, "lastupdate", logged)
			require.NotEmpty(t, dates, "sliced by lastupdate")
			iso := regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)
			for _, d := range dates {
				require.Regexp(t, iso, d)
			}
			var s struct {
				Sliced      bool  `json:"sliced"`
				RowsInDoubt int64 `json:"rows_in_doubt"`
			}
			data, err := os.ReadFile(sum)
			require.NoError(t, err)
			require.NoError(t, json.Unmarshal(data, &s))
			assert.True(t, s.Sliced)
			assert.Zero(t, s.RowsInDoubt)
		})
	}
}

// TestNewBacklinksSlicedByDateAgainstAFakeReadingOnlyDDMMYYYY:
// getNewBacklinks past the wall is sliced by first-seen date (add)
// against the fake that refuses 1.4.2025 and reads 01.04.2025: no
// request refused, every row once, each date sent DD.MM.YYYY.
func TestNewBacklinksSlicedByDateAgainstAFakeReadingOnlyDDMMYYYY(t *testing.T) {
	const rows, wall = 3600, 1000
	srv := serpstattest.NewServer(serpstattest.Options{Rows: rows})
	defer srv.Close()
	m := backlinks.NewBacklinks
	require.Equal(t, serpstattest.CodeFilter, rawFilterCode(t, srv, m, `[[{"field":"add","compareType":"gte","value":["1.4.2025"]}]]`), "the fake refuses 1.4.2025")
	require.Equal(t, serpstattest.CodeFilter, rawFilterCode(t, srv, m, `[[{"field":"add","compareType":"gte","value":["2025-04-01"]}]]`))
	require.Zero(t, rawFilterCode(t, srv, m, `[[{"field":"add","compareType":"gte","value":["01.04.2025"]}]]`), "and reads 01.04.2025")
	refusedBefore, logged := srv.Stats().ByOutcome[serpstattest.OutcomeInvalid], len(srv.Log())

	out := filepath.Join(t.TempDir(), "n.ndjson")
	// The user's own date in another spelling is converted too.
	res := runCLI(t, serpstattest.DefaultToken, exportArgs(srv, "dates.example", "--wall", strconv.Itoa(wall), "--out", out,
		"--filter", `[[{"field":"check","compareType":"gte","value":["2000-01-01"]}]]`)...)
	require.Equal(t, 0, res.code, res.stderr)
	assert.Equal(t, refusedBefore, srv.Stats().ByOutcome[serpstattest.OutcomeInvalid], "no request of the export refused")
	data, err := os.ReadFile(out)
	require.NoError(t, err)
	requireSameSet(t, apiRows(srv, "dates.example", rows), readNDJSON(t, data), "every row once")

	adds := filterValues(srv, m, "add", logged)
	require.NotEmpty(t, adds, "sliced by add")
	checks := filterValues(srv, m, "check", logged)
	require.Contains(t, checks, "01.01.2000", "the user's 2000-01-01, as getNewBacklinks takes it")
	dmy := regexp.MustCompile(`^\d{2}\.\d{2}\.\d{4}$`)
	for _, d := range append(adds, checks...) {
		require.Regexp(t, dmy, d)
	}
}

// threatExamples are the complexFilter examples of the four threat
// methods' requests in Serpstat's OpenAPI spec (Serpstat-Backlinks-API.json),
// each with its example's query, as the spec writes them.
var threatExamples = []struct {
	m             *serpstat.Method
	query, filter string
}{
	{backlinks.Threats, "kinopoisk.ru", `[[{"field":"domain_link","compareType":"contains","value":[".com"]},{"field":"links_count","compareType":"gte","value":[1]},{"field":"platform_type","compareType":"contains","value":["1"]}]]`},
	{backlinks.ThreatsLinks, "kinopoisk.ru", `[[{"field":"url_from","compareType":"contains","value":[".com"]},{"field":"platform_type","compareType":"contains","value":[1]},{"field":"threat_type","compareType":"contains","value":[9]},{"field":"url_to","compareType":"contains","value":["."]}]]`},
	{backlinks.OutThreats, "drweb.com", `[[{"field":"domain_link","compareType":"contains","value":[".ru"]},{"field":"links_count","compareType":"gte","value":[1]},{"field":"platform_type","compareType":"contains","value":[1]}]]`},
	{backlinks.OutThreats, "drweb.com", `[[{"field":"domain_link","compareType":"contains","value":[".ru"]},{"field":"links_count","compareType":"gte","value":[1]},{"field":"platform_type","compareType":"contains","value":[1]},{"field":"threat_type","compareType":"contains","value":[9]}]]`},
	{backlinks.OutThreatsLinks, "drweb.com", `[[{"field":"platform_type","compareType":"contains","value":["1"]},{"field":"url_from","compareType":"contains","value":[".com"]},{"field":"url_to","compareType":"contains","value":[".ru"]},{"field":"threat_type","compareType":"contains","value":[9]}]]`},
}

// exampleHolds tells whether row r of m satisfies the AND-list group of
// a spec example, by its own reading of the spec: contains on text,
// gte on numbers, and a code's name in a list (platform 1 windows,
// threat 9 threat_type_unspecified as the fake takes it).
func exampleHolds(t *testing.T, m *serpstat.Method, group []serpstat.Condition, r serpstat.Row) bool {
	column := map[string]string{"url_from": "link_from", "url_to": "link_to"}
	names := map[string]string{"platform_type 1": "windows", "threat_type 9": "threat_type_unspecified"}
	for _, c := range group {
		name := c.Field
		if col, ok := column[name]; ok {
			name = col
		}
		i := m.ColumnIndex(name)
		require.GreaterOrEqual(t, i, 0, c.Field)
		v := r.Values[i]
		require.Len(t, c.Value, 1)
		arg := fmt.Sprint(c.Value[0])
		var ok bool
		switch {
		case c.CompareType == "contains" && m.Columns[i].Kind == serpstat.KindStrings:
			n, known := names[c.Field+" "+arg]
			require.True(t, known, "%s %s", c.Field, arg)
			ok = slices.Contains(v.List, n)
		case c.CompareType == "contains":
			ok = strings.Contains(v.Str, arg)
		case c.CompareType == "gte":
			n, err := strconv.ParseInt(arg, 10, 64)
			require.NoError(t, err)
			ok = v.Int >= n
		default:
			t.Fatalf("the examples use contains and gte, not %s", c.CompareType)
		}
		if !ok {
			return false
		}
	}
	return true
}

// TestThreatSpecExampleFilters: the four threat methods run the spec's own
// example filters (exit 0) and write exactly the rows of the fake's data
// set that match them.
func TestThreatSpecExampleFilters(t *testing.T) {
	const rows = 3000
	srv := serpstattest.NewServer(serpstattest.Options{Rows: rows})
	defer srv.Close()
	for i, ex := range threatExamples {
		t.Run(fmt.Sprintf("%s %d", ex.m.Name, i), func(t *testing.T) {
			var f serpstat.Filter
			require.NoError(t, json.Unmarshal([]byte(ex.filter), &f))
			out := filepath.Join(t.TempDir(), "x.ndjson")
			before := srv.Stats().ByOutcome[serpstattest.OutcomeInvalid]
			res := runCLI(t, serpstattest.DefaultToken, exportArgs(srv, ex.query, "--method", ex.m.Name, "--filter", ex.filter, "--out", out)...)
			require.Equal(t, 0, res.code, res.stderr)
			assert.Equal(t, before, srv.Stats().ByOutcome[serpstattest.OutcomeInvalid], "no request refused")

			p := sent(t, srv, ex.m) // the query's params, no filter: every row
			p.Query = ex.query
			var want []serpstat.Row
			for _, r := range srv.Expected(ex.m, ex.query, p) {
				if exampleHolds(t, ex.m, f[0], r) {
					want = append(want, r)
				}
			}
			require.NotEmpty(t, want, "the example matches some rows")
			require.Less(t, len(want), rows/4, "and few of them")
			got, err := os.ReadFile(out)
			require.NoError(t, err)
			assert.Equal(t, lines(formatted(t, sink.FormatNDJSON, ex.m, want), 0), lines(got, 0), "exactly the matching rows")
			t.Logf("%d of %d rows match", len(want), rows)
		})
	}
}

package main_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/serpstat-export/serpstat-export/serpstat"
	"github.com/serpstat-export/serpstat-export/serpstat/backlinks"
	"github.com/serpstat-export/serpstat-export/serpstat/serpstattest"
)

// TestFakeAPIServesEveryMethod drives the built fake-api: every paged
// method answers with its own keys, --unknown-key-every adds the
// undocumented key, and the rows are those serpstattest.Expected names.
func TestFakeAPIServesEveryMethod(t *testing.T) {
	res := runCLI(t, "", "fake-api", "-h")
	require.Equal(t, 0, res.code)
	assert.Contains(t, res.stdout, "--unknown-key-every N")

	endpoint := startFakeAPI(t, "--rows", "12", "--unknown-key-every", "4", "--numbers-as-strings")
	// The same data, in-process, for the rows the binary must answer.
	fake := serpstattest.New(serpstattest.Options{Rows: 12, UnknownKeyEvery: 4, NumbersAsStrings: true})
	for _, m := range backlinks.Methods {
		t.Run(m.Name, func(t *testing.T) {
			p := serpstat.Params{Query: "every.example", Page: 1, Size: 100}
			if m.SearchTypes != nil {
				p.SearchType = serpstat.SearchDomain
			}
			if m.Intersect > 0 {
				p.Intersect = []string{"a.example", "b.example"}
			}
			params, err := m.MarshalParams(p)
			require.NoError(t, err)
			body, err := json.Marshal(map[string]any{"id": 1, "method": m.API, "params": params})
			require.NoError(t, err)
			req, err := http.NewRequest(http.MethodPost, endpoint, strings.NewReader(string(body)))
			require.NoError(t, err)
			req.Header.Set("token", serpstattest.DefaultToken)
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			raw, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			require.NoError(t, err)
			assert.Equal(t, 3, strings.Count(string(raw), `"`+serpstattest.UnknownKey+`":`), "%.300s", raw)
			page, err := m.DecodeAnswer(raw)
			require.NoError(t, err, "%.300s", raw)
			assert.Equal(t, []string{serpstattest.UnknownKey}, page.UnknownKeys)
			assert.Equal(t, fake.Expected(m, p.Query, p), page.Data)
		})
	}

	res = runCLI(t, "", "fake-api", "--unknown-key-every", "-1")
	assert.Equal(t, 2, res.code)
	assert.Contains(t, res.stderr, "--unknown-key-every")
}

// ask posts p to m at endpoint and decodes the answer; raw is its body.
func ask(t *testing.T, endpoint string, m *serpstat.Method, p serpstat.Params) (*serpstat.Page, string) {
	t.Helper()
	params, err := m.MarshalParams(p)
	require.NoError(t, err)
	body, err := json.Marshal(map[string]any{"id": 1, "method": m.API, "params": params})
	require.NoError(t, err)
	req, err := http.NewRequest(http.MethodPost, endpoint, strings.NewReader(string(body)))
	require.NoError(t, err)
	req.Header.Set("token", serpstattest.DefaultToken)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	raw, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.NoError(t, err)
	page, err := m.DecodeAnswer(raw)
	require.NoError(t, err, "%.300s", raw)
	return page, string(raw)
}

// TestFakeAPISurpriseFlags drives the built fake-api: --ignore-filter
// reaches Options.IgnoreFilters (the named fields no longer filter, the
// others still do) and --wall-empty Options.WallEmpty (an empty page at
// the wall, not 402); an empty or unknown field name is refused.
func TestFakeAPISurpriseFlags(t *testing.T) {
	res := runCLI(t, "", "fake-api", "-h")
	require.Equal(t, 0, res.code)
	assert.Contains(t, res.stdout, "--ignore-filter FIELDS")
	assert.Contains(t, res.stdout, "--wall-empty")

	const rows = 500
	endpoint := startFakeAPI(t, "--rows", "500", "--wall", "200", "--ignore-filter", "add, lastupdate", "--wall-empty")
	plain := serpstattest.New(serpstattest.Options{Rows: rows})
	for _, tt := range []struct {
		m       *serpstat.Method
		filter  serpstat.Filter
		ignored bool
	}{
		{backlinks.NewBacklinks, serpstat.Filter{{{Field: "add", CompareType: "gte", Value: []any{"1.1.2024"}}}}, true},
		{backlinks.Threats, serpstat.Filter{{{Field: "lastupdate", CompareType: "gte", Value: []any{"1.1.2024"}}}}, true},
		{backlinks.RefDomains, serpstat.Filter{{{Field: "domain_rank", CompareType: "gte", Value: []any{50}}}}, false},
	} {
		t.Run(tt.m.Name, func(t *testing.T) {
			p := serpstat.Params{Query: "surprise.example", SearchType: serpstat.SearchDomain, Page: 1, Size: 100, ComplexFilter: tt.filter}
			filtered := len(plain.Expected(tt.m, p.Query, p))
			require.Less(t, filtered, rows, "the filter must split the data set")
			page, _ := ask(t, endpoint, tt.m, p)
			if tt.ignored {
				assert.EqualValues(t, rows, page.Summary.Total, "an ignored filter: the unfiltered total")
			} else {
				assert.EqualValues(t, filtered, page.Summary.Total, "a field not named still filters")
			}
		})
	}
	page, raw := ask(t, endpoint, backlinks.NewBacklinks, serpstat.Params{Query: "wall.example", SearchType: serpstat.SearchDomain, Page: 2, Size: 200})
	assert.Empty(t, page.Data)
	assert.Contains(t, raw, `"data":[]`)
	assert.EqualValues(t, rows, page.Summary.Total, "past the wall: an empty page with the full total")

	for _, arg := range []string{"", "add,", "add,,check", " "} {
		res := runCLI(t, "", "fake-api", "--ignore-filter", arg)
		assert.Equal(t, 2, res.code, "--ignore-filter %q", arg)
		assert.Contains(t, res.stderr, "--ignore-filter: a field name is empty")
	}
	res = runCLI(t, "", "fake-api", "--ignore-filter", "adde")
	assert.Equal(t, 2, res.code)
	assert.Contains(t, res.stderr, "did you mean add?")
}

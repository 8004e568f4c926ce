package main_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/serpstat-export/serpstat-export/serpstat"
	"github.com/serpstat-export/serpstat-export/serpstat/backlinks"
	"github.com/serpstat-export/serpstat-export/serpstat/serpstattest"
)

// TestMethodsListsTheFourteen: `methods --json` is a JSON array of the
// fourteen paged methods, then the seven not paged, each with its output
// columns in order and their types, the extra column included, "paged"
// and its price; `methods` prints them for people.
func TestMethodsListsTheFourteen(t *testing.T) {
	res := runCLI(t, "", "methods", "--json")
	require.Equal(t, 0, res.code, res.stderr)
	var got []struct {
		Name    string `json:"name"`
		API     string `json:"api"`
		Doc     string `json:"doc"`
		Columns []struct {
			Name string `json:"name"`
			Type string `json:"type"`
		} `json:"columns"`
		SortFields  []string `json:"sort_fields"`
		DefaultSort string   `json:"default_sort"`
		Filters     []struct {
			Name   string   `json:"name"`
			Type   string   `json:"type"`
			Values []string `json:"values"`
		} `json:"filter_fields"`
		SearchTypes []string          `json:"search_types"`
		Slices      []string          `json:"slice_fields"`
		Incremental map[string]string `json:"incremental"`
		Paged       bool              `json:"paged"`
		Price       struct {
			Credits     int64  `json:"credits"`
			Per         string `json:"per"`
			EmptyAnswer int64  `json:"empty_answer"`
		} `json:"price"`
	}
	require.NoError(t, json.Unmarshal([]byte(res.stdout), &got))
	require.Len(t, got, 21)
	var names []string
	for i, m := range got {
		want := backlinks.All[i]
		require.Equal(t, i < 14, m.Paged, m.Name)
		if m.Paged {
			assert.Equal(t, int64(1), m.Price.Credits)
			assert.Equal(t, "row", m.Price.Per)
		}
		assert.Equal(t, int64(1), m.Price.EmptyAnswer)
		names = append(names, m.Name)
		assert.Equal(t, want.API, m.API)
		assert.NotEmpty(t, m.Doc)
		cols := want.OutputColumns()
		require.Len(t, m.Columns, len(cols), m.Name)
		for j, c := range m.Columns {
			assert.Equal(t, cols[j], c.Name)
			if c.Name == "extra" {
				assert.Equal(t, "json", c.Type)
			} else {
				assert.Equal(t, want.Columns[j].Kind.String(), c.Type)
			}
		}
		if want.Paged() {
			assert.Equal(t, want.Sorts, m.SortFields)
		}
		assert.Len(t, m.Filters, len(want.Filters))
		assert.NotNil(t, m.SearchTypes, "an empty list, not null")
	}
	assert.Equal(t, []string{"new-backlinks", "lost-backlinks", "outlinks", "lost-outlinks", "ref-domains", "out-domains",
		"redirected-domains", "top-pages", "anchors", "intersect", "threats", "threats-links", "out-threats", "out-threats-links",
		"summary-v2", "summary", "top-anchors", "intersect-summary", "distribution-sdr", "distribution-tld", "changes-history"}, names)
	prices := map[string]string{}
	for _, m := range got[14:] {
		prices[m.Name] = fmt.Sprintf("%d/%s", m.Price.Credits, m.Price.Per)
		assert.Empty(t, m.SortFields)
		assert.Empty(t, m.Filters)
		assert.Empty(t, m.Slices)
	}
	assert.Equal(t, map[string]string{"summary-v2": "5/request", "summary": "5/request", "top-anchors": "1/request",
		"intersect-summary": "1/row", "distribution-sdr": "1/request", "distribution-tld": "1/request", "changes-history": "1/request"}, prices)
	assert.Equal(t, "serpstat_domain_rank", got[14].Columns[0].Name)
	assert.Equal(t, "float", got[19].Columns[3].Type, "distribution-tld's percentage")
	assert.Equal(t, "first_seen", got[0].Columns[6].Name)
	assert.Equal(t, "date", got[0].Columns[6].Type)
	assert.Len(t, got[0].Columns, 9, "new-backlinks keeps its nine columns")
	assert.Equal(t, map[string]string{"filter": "add", "column": "first_seen"}, got[0].Incremental)
	assert.Nil(t, got[4].Incremental, "ref-domains has no cursor")
	assert.Equal(t, "list<string>", got[10].Columns[3].Type, "threats' platform_type")
	assert.Equal(t, []string{"domain_rank", "domain_links"}, got[4].Slices)

	res = runCLI(t, "", "methods")
	require.Equal(t, 0, res.code, res.stderr)
	for _, m := range backlinks.All {
		assert.Contains(t, res.stdout, m.Name)
	}
	assert.Contains(t, res.stdout, "5 credits a request")
	assert.Contains(t, res.stdout, "one answer per query")
	assert.Contains(t, res.stdout, "platform_type list<string>")
	assert.Contains(t, res.stdout, "domain_rank integer")

	res = runCLI(t, "", "help", "methods")
	require.Equal(t, 0, res.code, res.stderr)
	assert.Contains(t, res.stdout, "--json")
}

// TestEstimateOfAnotherMethod: estimate --method asks that method (1
// credit) and says which.
func TestEstimateOfAnotherMethod(t *testing.T) {
	srv := serpstattest.NewServer(serpstattest.Options{Rows: 2500, Balance: 500000})
	defer srv.Close()
	res := runCLI(t, serpstattest.DefaultToken, "estimate", "--method", "ref-domains", "--endpoint", srv.URL, "--rps", "1000", "--query", "est.example", "--json")
	require.Equal(t, 0, res.code, res.stderr)
	var got map[string]any
	require.NoError(t, json.Unmarshal([]byte(res.stdout), &got))
	assert.Equal(t, "ref-domains", got["method"])
	assert.EqualValues(t, 2500, got["total"])
	assert.EqualValues(t, 2500, got["credits"])
	assert.EqualValues(t, 1, srv.Stats().CreditsBilled, "the estimate cost exactly 1 credit")
	for _, e := range srv.Log() {
		if e.Method != serpstat.MethodStats {
			assert.Equal(t, backlinks.RefDomains.API, e.Method)
		}
	}

	res = runCLI(t, serpstattest.DefaultToken, "estimate", "--method", "threats", "--endpoint", srv.URL, "--rps", "1000", "--query", "est.example")
	require.Equal(t, 0, res.code, res.stderr)
	assert.Contains(t, res.stdout, "method:           threats")

	// intersect takes its domains from --intersect (SERPSTAT_INTERSECT),
	// and no searchType.
	res = runCLIEnv(t, []string{"SERPSTAT_TOKEN=" + serpstattest.DefaultToken, "SERPSTAT_INTERSECT=a.example,b.example"},
		"estimate", "--method", "intersect", "--endpoint", srv.URL, "--rps", "1000", "--query", "est.example", "--json")
	require.Equal(t, 0, res.code, res.stderr)
	log := srv.Log()
	last := log[len(log)-1]
	assert.Equal(t, backlinks.Intersect.API, last.Method)
	assert.Equal(t, []string{"a.example", "b.example"}, last.Params.Intersect)
	assert.Empty(t, last.Params.SearchType)
}

// TestMethodInputIsCheckedAgainstTheMethod: a method's own sort fields,
// filter fields and params decide; bad input exits 2 naming the field
// and sends nothing.
func TestMethodInputIsCheckedAgainstTheMethod(t *testing.T) {
	srv := serpstattest.NewServer(serpstattest.Options{Rows: 2500})
	defer srv.Close()
	dir := t.TempDir()
	out := filepath.Join(dir, "m.ndjson")
	for _, tt := range []struct {
		name string
		args []string
		msg  string
	}{
		{"unknown method", []string{"--method", "new-backlink"}, "method is not a method (did you mean new-backlinks?): use one of new-backlinks, lost-backlinks,"},
		{"another method's sort", []string{"--method", "ref-domains", "--sort", "add"}, "sort must be one of domain_links, domain_from, domain_rank, check for ref-domains; got \"add\""},
		{"another method's filter", []string{"--method", "ref-domains", "--filter", `[[{"field":"add","compareType":"gte","value":["1.1.2024"]}]]`}, "filter[0][0].field must be one of domain_links, domain_from, domain_rank for ref-domains; got \"add\""},
		{"between on a date", []string{"--method", "threats", "--filter", `[[{"field":"lastupdate","compareType":"between","value":["1.1.2024","2.1.2024"]}]]`}, "between"},
		{"search type not taken", []string{"--method", "ref-domains", "--search-type", "url"}, "search-type must be one of domain, domain_with_subdomains for ref-domains; got \"url\""},
		{"intersect without domains", []string{"--method", "intersect"}, "intersect"},
		{"intersect on another method", []string{"--method", "ref-domains", "--intersect", "a.com"}, "intersect is taken only by intersect and intersect-summary: leave it unset for ref-domains; got a.com"},
		{"link per domain not taken", []string{"--method", "ref-domains", "--link-per-domain", "2"}, "link-per-domain is not taken by ref-domains: leave it unset; got 2"},
		{"incremental without a cursor", []string{"--method", "ref-domains", "--incremental", filepath.Join(dir, "state.json")}, "--incremental: ref-domains has no first-seen-like date to follow, so it cannot be loaded incrementally; methods that can: new-backlinks, threats, threats-links, out-threats, out-threats-links"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			res := runCLI(t, serpstattest.DefaultToken, append(exportArgs(srv, "example.com", "--out", out), tt.args...)...)
			require.Equal(t, 2, res.code, res.stderr)
			assert.Contains(t, res.stderr, tt.msg)
		})
	}
	t.Run("environment", func(t *testing.T) {
		res := runCLIEnv(t, []string{"SERPSTAT_TOKEN=" + serpstattest.DefaultToken, "SERPSTAT_METHOD=nope"}, exportArgs(srv, "example.com", "--out", out)...)
		require.Equal(t, 2, res.code, res.stderr)
		assert.Contains(t, res.stderr, "method is not a method: use one of")
	})
	assert.Zero(t, srv.Stats().Requests, "bad input sends nothing")
}

// TestSummaryNamesTheMethodAndCountsUnknownKeys: the summary JSON says
// the method and, for each undocumented key, the rows that held it; the
// nine columns of new-backlinks stay as they are.
func TestSummaryNamesTheMethodAndCountsUnknownKeys(t *testing.T) {
	srv := serpstattest.NewServer(serpstattest.Options{Rows: 2000, UnknownKeyEvery: 4})
	defer srv.Close()
	dir := t.TempDir()
	out, sum := filepath.Join(dir, "nb.csv"), filepath.Join(dir, "summary.json")
	res := runCLI(t, serpstattest.DefaultToken, exportArgs(srv, "unknown.example", "--out", out, "--summary-json", sum)...)
	require.Equal(t, 0, res.code, res.stderr)
	data, err := os.ReadFile(sum)
	require.NoError(t, err)
	var got struct {
		Method      string           `json:"method"`
		UnknownKeys map[string]int64 `json:"unknown_keys"`
		Rows        int64            `json:"rows"`
	}
	require.NoError(t, json.Unmarshal(data, &got))
	assert.Equal(t, "new-backlinks", got.Method)
	assert.Equal(t, map[string]int64{serpstattest.UnknownKey: 500}, got.UnknownKeys)
	assert.EqualValues(t, 2000, got.Rows)
	assert.Len(t, readCSV(t, out), 2000, "the nine columns, no extra")
}

// TestMethodsShowDateFormatsCodesAndAliases: `methods --json` says how
// each date filter is sent, the other spellings a field takes, and what
// each code of platform_type and threat_type means; `methods` prints
// them for people.
func TestMethodsShowDateFormatsCodesAndAliases(t *testing.T) {
	res := runCLI(t, "", "methods", "--json")
	require.Equal(t, 0, res.code, res.stderr)
	var got []struct {
		Name    string `json:"name"`
		Filters []struct {
			Name       string          `json:"name"`
			DateFormat string          `json:"date_format"`
			Aliases    []string        `json:"aliases"`
			Codes      []serpstat.Code `json:"codes"`
		} `json:"filter_fields"`
	}
	require.NoError(t, json.Unmarshal([]byte(res.stdout), &got))
	formats := map[string]string{}
	aliases := map[string][]string{}
	codes := map[string]int{}
	for _, m := range got {
		for _, f := range m.Filters {
			if f.DateFormat != "" {
				formats[m.Name+"."+f.Name] = f.DateFormat
			}
			if f.Aliases != nil {
				aliases[m.Name+"."+f.Name] = f.Aliases
			}
			if f.Codes != nil {
				codes[m.Name+"."+f.Name] = len(f.Codes)
				for _, c := range f.Codes {
					assert.NotEmpty(t, c.Meaning, "%s %s code %s", m.Name, f.Name, c.Code)
				}
			}
		}
	}
	assert.Equal(t, map[string]string{
		"new-backlinks.check": "DD.MM.YYYY", "new-backlinks.add": "DD.MM.YYYY", "lost-backlinks.check": "DD.MM.YYYY",
		"outlinks.check": "DD.MM.YYYY", "lost-outlinks.check": "DD.MM.YYYY", "top-pages.lastupdate": "DD.MM.YYYY",
		"anchors.lastupdate": "DD.MM.YYYY", "threats.lastupdate": "YYYY-MM-DD", "threats-links.lastupdate": "YYYY-MM-DD",
		"out-threats.lastupdate": "YYYY-MM-DD", "out-threats-links.lastupdate": "YYYY-MM-DD",
	}, formats)
	assert.Equal(t, map[string][]string{"anchors.nofollow": {"noFollow"}, "out-domains.domain_from": {"domain_to"}}, aliases)
	for _, m := range []string{"threats", "threats-links", "out-threats", "out-threats-links"} {
		assert.Equal(t, 8, codes[m+".platform_type"], m)
		assert.Equal(t, 5, codes[m+".threat_type"], m)
	}
	assert.Len(t, codes, 8)

	res = runCLI(t, "", "methods")
	require.Equal(t, 0, res.code, res.stderr)
	for _, want := range []string{
		"lastupdate date (sent YYYY-MM-DD)", "add date (sent DD.MM.YYYY)", "nofollow integer (also noFollow)",
		"platform_type: 1 windows, 2 linux, 3 android, 4 OS X (osx)", "8 chrome OS (chrome)",
		"threat_type: 1 malware", "9 code used in the spec's example, meaning undocumented",
		"YYYY-MM-DD, DD.MM.YYYY or D.M.YYYY",
	} {
		assert.Contains(t, res.stdout, want)
	}
}

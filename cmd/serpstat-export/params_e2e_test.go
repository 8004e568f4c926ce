package main_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/serpstat-export/serpstat-export/serpstat"
	"github.com/serpstat-export/serpstat-export/serpstat/backlinks"
	"github.com/serpstat-export/serpstat-export/serpstat/serpstattest"
	"github.com/serpstat-export/serpstat-export/sink"
)

// TestLostBacklinksURLSearch: --method lost-backlinks --search-type url
// with a page's URL runs; every request carries searchType url and the
// output holds the page's lost backlinks, each to that page.
func TestLostBacklinksURLSearch(t *testing.T) {
	const page = "https://example.com/page"
	m := backlinks.LostBacklinks
	srv := serpstattest.NewServer(serpstattest.Options{Rows: 1200})
	defer srv.Close()
	out := filepath.Join(t.TempDir(), "lost.ndjson")
	res := runCLI(t, serpstattest.DefaultToken, exportArgs(srv, page, "--method", m.Name, "--search-type", "url", "--out", out)...)
	require.Equal(t, 0, res.code, res.stderr)
	for _, e := range srv.Log() {
		if e.Method == m.API {
			assert.Equal(t, serpstat.SearchURL, e.Params.SearchType)
			assert.Equal(t, page, e.Params.Query)
		}
	}
	want := srv.Expected(m, page, sent(t, srv, m))
	require.Len(t, want, 1200)
	got, err := os.ReadFile(out)
	require.NoError(t, err)
	assert.Equal(t, string(formatted(t, sink.FormatNDJSON, m, want)), string(got))
	assert.Equal(t, 1200, strings.Count(string(got), `"url_to":"`+page+`"`), "every backlink is to the page")
}

// TestAnchorsParamCount: --param count=2 is sent as the JSON string "2"
// in every request, the output holds only the two-word anchors (the
// fake's answer to it), and the manifest and estimate show it.
func TestAnchorsParamCount(t *testing.T) {
	m := backlinks.Anchors
	srv := serpstattest.NewServer(serpstattest.Options{Rows: 1500})
	defer srv.Close()
	dir := t.TempDir()
	out, man := filepath.Join(dir, "a.ndjson"), filepath.Join(dir, "manifest.json")
	res := runCLI(t, serpstattest.DefaultToken, exportArgs(srv, "anchors.example", "--method", m.Name, "--param", "count=2", "--out", out, "--manifest", man)...)
	require.Equal(t, 0, res.code, res.stderr)
	n := 0
	for _, e := range srv.Log() {
		if e.Method == m.API {
			n++
			assert.Equal(t, map[string]string{"count": "2"}, e.Params.Extra)
		}
	}
	require.Positive(t, n)

	params := sent(t, srv, m)
	want := srv.Expected(m, "anchors.example", params)
	all := srv.Expected(m, "anchors.example", serpstat.Params{SearchType: params.SearchType})
	require.NotEmpty(t, want)
	require.Less(t, len(want), len(all), "count selects rows")
	got, err := os.ReadFile(out)
	require.NoError(t, err)
	assert.Equal(t, string(formatted(t, sink.FormatNDJSON, m, want)), string(got))
	for i, line := range strings.Split(strings.TrimSuffix(string(got), "\n"), "\n") {
		var row struct {
			Anchor string `json:"anchor"`
		}
		require.NoError(t, json.Unmarshal([]byte(line), &row))
		assert.Len(t, strings.Fields(row.Anchor), 2, "line %d: %q", i+1, row.Anchor)
	}

	data, err := os.ReadFile(man)
	require.NoError(t, err)
	var mf struct {
		Queries []struct {
			Params serpstat.Params `json:"params"`
		} `json:"queries"`
	}
	require.NoError(t, json.Unmarshal(data, &mf))
	require.Len(t, mf.Queries, 1)
	assert.Equal(t, map[string]string{"count": "2"}, mf.Queries[0].Params.Extra, "the manifest says what was asked")

	// estimate asks with the same params, from $SERPSTAT_PARAM here.
	res = runCLIEnv(t, []string{"SERPSTAT_TOKEN=" + serpstattest.DefaultToken, "SERPSTAT_PARAM=count=2,anchor=e"},
		"estimate", "--endpoint", srv.URL, "--rps", "1000", "--method", m.Name, "--query", "anchors.example")
	require.Equal(t, 0, res.code, res.stderr)
	assert.Contains(t, res.stdout, "params:           anchor=e, count=2\n")
	last := srv.Log()[len(srv.Log())-1]
	assert.Equal(t, map[string]string{"anchor": "e", "count": "2"}, last.Params.Extra)
	res = runCLI(t, serpstattest.DefaultToken, "estimate", "--endpoint", srv.URL, "--rps", "1000", "--method", m.Name,
		"--query", "anchors.example", "--param", "count=2", "--json")
	require.Equal(t, 0, res.code, res.stderr)
	var est struct {
		Params map[string]string `json:"params"`
		Total  int               `json:"total"`
	}
	require.NoError(t, json.Unmarshal([]byte(res.stdout), &est), res.stdout)
	assert.Equal(t, map[string]string{"count": "2"}, est.Params)
	assert.Equal(t, len(want), est.Total)
}

// TestBadParamExits2NothingSent: an unknown param, a param the method
// does not take and a bad value exit 2 naming the param and what is
// allowed, before any request.
func TestBadParamExits2NothingSent(t *testing.T) {
	srv := serpstattest.NewServer(serpstattest.Options{Rows: 100})
	defer srv.Close()
	for _, tt := range []struct {
		args []string
		msg  string
	}{
		{[]string{"--method", "anchors", "--param", "nope=1"}, "param nope is not taken by anchors: it takes anchor (Anchor text), count (Number of words in anchor)"},
		{[]string{"--method", "ref-domains", "--param", "count=2"}, "param count is not taken by ref-domains, which takes no extra params: remove --param count"},
		{[]string{"--method", "anchors", "--param", "count=0"}, `param count must be a whole number of 1 or more, e.g. --param count=2 for anchors; got "0"`},
		{[]string{"--method", "anchors", "--param", "count"}, `--param: invalid value "count": want NAME=VALUE`},
		{[]string{"--method", "ref-domains", "--link-per-domain", "0"}, "link-per-domain is not taken by ref-domains"},
		{[]string{"--link-per-domain", "-1"}, "link-per-domain must be 0 (one link per page) or more"},
	} {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			for _, cmd := range []string{"export", "estimate"} {
				args := append([]string{cmd, "--endpoint", srv.URL, "--query", "bad.example", "--out", filepath.Join(t.TempDir(), "x.csv")}, tt.args...)
				if cmd == "estimate" {
					args = append([]string{cmd, "--endpoint", srv.URL, "--query", "bad.example"}, tt.args...)
				}
				res := runCLI(t, serpstattest.DefaultToken, args...)
				assert.Equal(t, 2, res.code, "%s: %s", cmd, res.stderr)
				assert.Contains(t, res.stderr, tt.msg, cmd)
			}
			assert.Zero(t, srv.Stats().Requests, "nothing sent")
		})
	}
}

// TestLinkPerDomainZeroIsSent: --link-per-domain 0 sends linkPerDomain 0;
// without it, none is sent.
func TestLinkPerDomainZeroIsSent(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want *int
	}{
		{nil, nil},
		{[]string{"--link-per-domain", "0"}, new(0)},
		{[]string{"--link-per-domain", "3"}, new(3)},
	} {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			srv := serpstattest.NewServer(serpstattest.Options{Rows: 300})
			defer srv.Close()
			out := filepath.Join(t.TempDir(), "b.csv")
			res := runCLI(t, serpstattest.DefaultToken, exportArgs(srv, "lpd.example", append([]string{"--out", out}, tt.args...)...)...)
			require.Equal(t, 0, res.code, res.stderr)
			n := 0
			for _, e := range srv.Log() {
				if e.Method == backlinks.NewBacklinks.API {
					n++
					assert.Equal(t, tt.want, e.Params.LinkPerDomain)
				}
			}
			assert.Positive(t, n)
		})
	}
}

// TestOtherParamsDoNotResumeTheSpool: the params are part of the
// export's identity: a stopped export's checkpoint is not resumed by a
// run with another count, which exits 2 without buying a page, and the
// same params resume it without buying page 1 again.
func TestOtherParamsDoNotResumeTheSpool(t *testing.T) {
	m := backlinks.Anchors
	srv := serpstattest.NewServer(serpstattest.Options{Rows: 3000})
	defer srv.Close()
	out := filepath.Join(t.TempDir(), "a.csv")
	run := func(extra ...string) result {
		return runCLI(t, serpstattest.DefaultToken, exportArgs(srv, "spool.example",
			append([]string{"--method", m.Name, "--size", "100", "--out", out}, extra...)...)...)
	}
	res := run("--param", "count=2", "--budget", "100")
	require.Equal(t, 3, res.code, res.stderr)
	billed := srv.Stats().CreditsBilled
	require.EqualValues(t, 100, billed, "page 1 bought")

	res = run("--param", "count=3")
	require.Equal(t, 2, res.code, res.stderr)
	assert.Contains(t, res.stderr, "--restart")
	assert.Contains(t, res.stderr, `"count":"2"`, "the message says what the spool was made for")
	assert.Equal(t, billed, srv.Stats().CreditsBilled, "no page bought")

	res = run("--param", "count=2")
	require.Equal(t, 0, res.code, res.stderr)
	want := srv.Expected(m, "spool.example", serpstat.Params{SearchType: serpstat.SearchDomainWithSubdomains, Extra: map[string]string{"count": "2"}})
	assert.EqualValues(t, len(want), srv.Stats().CreditsBilled, "page 1 was not bought twice")
}

// TestMethodsListParamsAndSearchTypes: methods --json lists each method's
// params (anchors: anchor and count, sent as strings, count a whole
// number) and its search types (url and part_url for the six methods
// that document them); the text lists them too.
func TestMethodsListParamsAndSearchTypes(t *testing.T) {
	res := runCLI(t, "", "methods", "--json")
	require.Equal(t, 0, res.code, res.stderr)
	var list []struct {
		Name        string   `json:"name"`
		SearchTypes []string `json:"search_types"`
		Params      []struct {
			Name     string   `json:"name"`
			Type     string   `json:"type"`
			Values   []string `json:"values"`
			Positive bool     `json:"positive"`
			Doc      string   `json:"doc"`
		} `json:"params"`
	}
	require.NoError(t, json.Unmarshal([]byte(res.stdout), &list))
	pageSearch := map[string]bool{"new-backlinks": true, "lost-backlinks": true, "outlinks": true, "lost-outlinks": true, "out-domains": true, "anchors": true}
	for _, m := range list {
		require.NotNil(t, m.Params, m.Name)
		switch m.Name {
		case "distribution-tld":
			require.Len(t, m.Params, 1)
			assert.Equal(t, "lang", m.Params[0].Name)
			assert.Equal(t, []string{"en", "ru", "uk", "de", "se"}, m.Params[0].Values)
		case "anchors":
			require.Len(t, m.Params, 2)
			assert.Equal(t, "anchor", m.Params[0].Name)
			assert.Equal(t, "string", m.Params[0].Type)
			assert.Equal(t, "count", m.Params[1].Name)
			assert.Equal(t, "string", m.Params[1].Type)
			assert.True(t, m.Params[1].Positive)
			assert.Equal(t, "Number of words in anchor", m.Params[1].Doc)
		default:
			assert.Empty(t, m.Params, m.Name)
		}
		assert.Equal(t, pageSearch[m.Name], strings.Contains(strings.Join(m.SearchTypes, ","), "url"), m.Name)
	}
	res = runCLI(t, "", "methods")
	require.Equal(t, 0, res.code, res.stderr)
	assert.Contains(t, res.stdout, "params:        anchor string: Anchor text, count string (a whole number, 1 or more): Number of words in anchor")
}

package main_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/serpstat-export/serpstat-export/serpstat/serpstattest"
)

// TestEveryBadQueryIsNamedBeforeAnyCredit: a queries file with bad lines
// 2 and 40 (and a URL on line 41) is refused as a whole, each bad line
// named with its file:line, its value, why and the fix, exit 2, before a
// request reaches the API; bad outputs are named in the same report.
func TestEveryBadQueryIsNamedBeforeAnyCredit(t *testing.T) {
	srv := serpstattest.NewServer(serpstattest.Options{Rows: 300})
	defer srv.Close()
	dir := t.TempDir()
	var lines []string
	for i := 1; i <= 41; i++ {
		switch i {
		case 2:
			lines = append(lines, "exa mple.com")
		case 40:
			lines = append(lines, "bad_domain") // no dot
		case 41:
			lines = append(lines, "https://url.example/page")
		default:
			lines = append(lines, fmt.Sprintf("d%02d.example", i))
		}
	}
	qf := filepath.Join(dir, "domains.txt")
	require.NoError(t, os.WriteFile(qf, []byte(strings.Join(lines, "\n")+"\n"), 0o644))
	lake := filepath.Join(dir, "lake")
	t.Run("queries", func(t *testing.T) {
		res := runCLI(t, serpstattest.DefaultToken, "export", "--endpoint", srv.URL, "--rps", "1000",
			"--queries-file", qf, "--out", filepath.Join(lake, "{query}.csv"))
		require.Equal(t, 2, res.code, res.stderr)
		assert.Contains(t, res.stderr, "3 of 41 queries are not valid")
		assert.Contains(t, res.stderr, qf+`:2: "exa mple.com": must be a bare domain name`)
		assert.Contains(t, res.stderr, qf+`:40: "bad_domain": must be a bare domain name`)
		assert.Contains(t, res.stderr, qf+`:41: "https://url.example/page": must be a bare domain name like example.com, without scheme or path (write url.example)`)
		assert.Contains(t, res.stderr, "nothing was sent, no credit spent")
	})
	t.Run("queries and outputs", func(t *testing.T) {
		res := runCLI(t, serpstattest.DefaultToken, "export", "--endpoint", srv.URL, "--rps", "1000",
			"--queries-file", qf, "--out", filepath.Join(lake, "{qurey}.csv"), "--out", "ftp://host/x.csv", "--out", "s3://my_bucket/{query}.csv")
		require.Equal(t, 2, res.code, res.stderr)
		for _, want := range []string{
			qf + ":2:", qf + ":40:", qf + ":41:",
			"unknown placeholder {qurey}; use {query}, {date}, {method}, {run} or {part} (did you mean {query}?)",
			`unsupported scheme "ftp"`,
			`bucket name "my_bucket" holds "_"`,
		} {
			assert.Contains(t, res.stderr, want)
		}
	})
	t.Run("where each was given", func(t *testing.T) {
		cfg := filepath.Join(dir, "c.yaml")
		require.NoError(t, os.WriteFile(cfg, []byte("queries:\n  - a.example\n  - \"b c.example\"\n"), 0o644))
		res := runCLI(t, serpstattest.DefaultToken, "export", "--endpoint", srv.URL, "--config", cfg, "--out", filepath.Join(lake, "{query}.csv"))
		require.Equal(t, 2, res.code, res.stderr)
		assert.Contains(t, res.stderr, `the config's queries: "b c.example": must be a bare domain name`)
		res = runCLIEnv(t, []string{"SERPSTAT_TOKEN=" + serpstattest.DefaultToken, "SERPSTAT_QUERY=a.example,x y.example"},
			"export", "--endpoint", srv.URL, "--out", filepath.Join(lake, "{query}.csv"))
		require.Equal(t, 2, res.code, res.stderr)
		assert.Contains(t, res.stderr, `SERPSTAT_QUERY: "x y.example": must be a bare domain name`)
	})
	t.Run("estimate", func(t *testing.T) {
		res := runCLI(t, serpstattest.DefaultToken, "estimate", "--endpoint", srv.URL, "--queries-file", qf)
		require.Equal(t, 2, res.code, res.stderr)
		assert.Contains(t, res.stderr, qf+":40:")
	})
	assert.Zero(t, srv.Stats().Requests, "bad input sends nothing")
	_, err := os.Stat(lake)
	assert.True(t, os.IsNotExist(err), "bad input writes nothing")
}

// TestCollidingOutputsAreRefused: two outputs that would write one file
// or object, rendered for every query, exit 2 naming both, before a
// request is sent and before anything is written.
func TestCollidingOutputsAreRefused(t *testing.T) {
	srv := serpstattest.NewServer(serpstattest.Options{Rows: 300})
	defer srv.Close()
	dir := t.TempDir()
	o := func(p string) string { return filepath.Join(dir, "o", p) }
	for _, tc := range []struct {
		name  string
		outs  []string
		extra []string
		want  []string
	}{
		{"template and a literal", []string{o("{query}.csv"), o("t.com.csv")}, nil,
			[]string{"--out " + o("{query}.csv") + " (query t.com) and --out " + o("t.com.csv") + " both write " + o("t.com.csv")}},
		{"case only", []string{o("{query}.csv"), o("U.COM.csv")}, nil,
			[]string{"(query u.com) and --out " + o("U.COM.csv")}},
		{"two templates", []string{o("{query}.csv"), dir + "/o/./{query}.csv"}, nil,
			[]string{"both write"}},
		{"a part template and a part", []string{o("{query}-{part}.csv"), o("t.com-00003.csv")}, []string{"--max-rows-per-file", "100"},
			[]string{"--out " + o("{query}-{part}.csv") + " (query t.com) and --out " + o("t.com-00003.csv") + " both write " + o("t.com-{part}.csv")}},
		{"URL forms", []string{"s3://lake/x/{query}.csv", "S3://LAKE/x//t.com.csv"}, nil,
			[]string{"--out s3://lake/x/{query}.csv (query t.com) and --out S3://LAKE/x//t.com.csv both write s3://lake/x/t.com.csv"}},
		{"file URL and path", []string{"file://" + o("{query}.csv"), o("u.com.csv")}, nil,
			[]string{"(query u.com) and --out " + o("u.com.csv")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := []string{"export", "--endpoint", srv.URL, "--rps", "1000", "--query", "t.com", "--query", "u.com"}
			for _, out := range tc.outs {
				args = append(args, "--out", out)
			}
			res := runCLI(t, serpstattest.DefaultToken, append(args, tc.extra...)...)
			require.Equal(t, 2, res.code, res.stderr)
			for _, w := range tc.want {
				assert.Contains(t, res.stderr, w)
			}
		})
	}
	assert.Zero(t, srv.Stats().Requests, "colliding outputs send nothing")
	_, err := os.Stat(filepath.Join(dir, "o"))
	assert.True(t, os.IsNotExist(err), "colliding outputs write nothing")
}

// TestDuplicateQueriesAreExportedOnce: A.COM and a.com, a trailing dot,
// an IDN and its punycode in one queries file are one query each:
// bought once, written once, and the summary lists the dropped ones.
func TestDuplicateQueriesAreExportedOnce(t *testing.T) {
	srv := serpstattest.NewServer(serpstattest.Options{RowsFor: func(q string) int { return 200 + len(q) }})
	defer srv.Close()
	dir := t.TempDir()
	qf := filepath.Join(dir, "domains.txt")
	require.NoError(t, os.WriteFile(qf, []byte("A.COM\na.com\nb.example.\nB.Example\nпример.рф\nxn--e1afmkfd.xn--p1ai\n"), 0o644))
	sum := filepath.Join(dir, "summary.json")
	res := runCLI(t, serpstattest.DefaultToken, "export", "--endpoint", srv.URL, "--rps", "1000", "--queries-file", qf,
		"--out", filepath.Join(dir, "all.csv"), "--summary-json", sum, "--state-dir", filepath.Join(dir, "state"))
	require.Equal(t, 0, res.code, res.stderr)
	assert.Contains(t, res.stderr, "query given twice: exported once")
	want := []string{"a.com", "b.example", "xn--e1afmkfd.xn--p1ai"}
	rows := 0
	for _, q := range want {
		rows += 200 + len(q)
	}
	assert.EqualValues(t, rows, srv.Stats().CreditsBilled, "each domain bought once")
	data, err := os.ReadFile(filepath.Join(dir, "all.csv"))
	require.NoError(t, err)
	recs := parseRFC4180(t, data)
	require.Len(t, recs, rows+1, "each domain's rows written once")
	seen := map[string]int{}
	for _, r := range recs[1:] {
		seen[r[0]]++
	}
	for _, q := range want {
		assert.Equal(t, 200+len(q), seen[q], q)
	}
	var s struct {
		DuplicateQueries []string `json:"duplicate_queries"`
		Rows             int      `json:"rows"`
	}
	sd, err := os.ReadFile(sum)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(sd, &s))
	assert.Equal(t, []string{"a.com", "B.Example", "xn--e1afmkfd.xn--p1ai"}, s.DuplicateQueries)
	assert.Equal(t, rows, s.Rows)
}

// TestDidYouMean: a near miss of a method, a sort or filter field, a
// search type gets a suggestion, exit 2, nothing sent.
func TestDidYouMean(t *testing.T) {
	srv := serpstattest.NewServer(serpstattest.Options{Rows: 300})
	defer srv.Close()
	out := filepath.Join(t.TempDir(), "x.csv")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--method", "new-backlink"}, "(did you mean new-backlinks?)"},
		{[]string{"--method", "refdomains"}, "(did you mean ref-domains?)"},
		{[]string{"--sort", "domainrank"}, "(did you mean domain_rank?)"},
		{[]string{"--order", "dsc"}, "must be asc or desc (did you mean desc?)"},
		{[]string{"--search-type", "domain_with_subdomain"}, "(did you mean domain_with_subdomains?)"},
		{[]string{"--filter", `[[{"field":"url_form","compareType":"contains","value":["a"]}]]`}, "(did you mean url_from?)"},
		{[]string{"--filter", `[[{"field":"url_from","compareType":"contain","value":["a"]}]]`}, "(did you mean contains?)"},
		{[]string{"--method", "anchors", "--param", "cuont=2"}, "(did you mean count?)"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			res := runCLI(t, serpstattest.DefaultToken, append(exportArgs(srv, "example.com", "--out", out), tc.args...)...)
			require.Equal(t, 2, res.code, res.stderr)
			assert.Contains(t, res.stderr, tc.want)
		})
	}
	assert.Zero(t, srv.Stats().Requests)
}

// TestOrderIsDescribedOnce: README's --order row says what export --help
// says, word for word.
func TestOrderIsDescribedOnce(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	require.NoError(t, err)
	var inReadme string
	for _, line := range strings.Split(string(readme), "\n") {
		if strings.HasPrefix(line, "| `--order O` |") {
			cells := strings.Split(strings.TrimSuffix(strings.TrimSpace(line), "|"), "|")
			inReadme = strings.TrimSpace(cells[len(cells)-1])
		}
	}
	require.NotEmpty(t, inReadme, "README has a --order row")
	res := runCLI(t, "", "export", "--help")
	require.Equal(t, 0, res.code)
	lines := strings.Split(res.stdout, "\n")
	var inHelp string
	for i, line := range lines {
		if strings.TrimSpace(line) == "--order O" && i+1 < len(lines) {
			inHelp = strings.TrimSpace(lines[i+1])
		}
	}
	require.Equal(t, inHelp, inReadme)
}

// TestIncrementalStateAdvancesTheQueriesThatSucceeded: what README says
// of a run where one query fails on its own: no _SUCCESS, exit 1, and the
// state advances the query that succeeded (its rows are in the lake) and
// not the one that failed, so the rerun pays only the boundary day for the
// first and everything for the second, and writes no row twice.
func TestIncrementalStateAdvancesTheQueriesThatSucceeded(t *testing.T) {
	good, bad := serpstattest.GrowingPrefix+"good.example", serpstattest.GrowingPrefix+"bad.example"
	var refuse atomic.Bool
	refuse.Store(true)
	srv := serpstattest.NewServer(serpstattest.Options{RowsFor: func(string) int { return 500 },
		Fault: func(fi serpstattest.FaultInfo) serpstattest.Fault {
			if refuse.Load() && fi.Params.Query == bad {
				return serpstattest.Fault{Kind: serpstattest.FaultAPIError, Code: serpstattest.CodeFilter, Message: "Invalid value for field add"}
			}
			return serpstattest.Fault{}
		}})
	defer srv.Close()
	dir := t.TempDir()
	state := filepath.Join(dir, "state.json")
	lake := filepath.Join(dir, "lake")
	args := []string{"export", "--endpoint", srv.URL, "--rps", "1000", "--query", good, "--query", bad,
		"--incremental", state, "--out", filepath.Join(lake, "{query}", "part-{part}.ndjson"), "--state-dir", filepath.Join(dir, "spool")}
	res := runCLI(t, serpstattest.DefaultToken, args...)
	require.Equal(t, 1, res.code, res.stderr)
	_, err := os.Stat(filepath.Join(lake, "_SUCCESS"))
	require.True(t, os.IsNotExist(err), "no _SUCCESS")
	var st struct {
		Queries map[string]json.RawMessage `json:"queries"`
	}
	data, err := os.ReadFile(state)
	require.NoError(t, err, "the state is saved")
	require.NoError(t, json.Unmarshal(data, &st))
	assert.Contains(t, st.Queries, good, "the query that succeeded advances")
	assert.NotContains(t, st.Queries, bad, "the query that failed does not")

	refuse.Store(false)
	before := srv.Stats().CreditsBilled
	res = runCLI(t, serpstattest.DefaultToken, args...)
	require.Equal(t, 0, res.code, res.stderr)
	paid := srv.Stats().CreditsBilled - before
	assert.GreaterOrEqual(t, paid, int64(500), "the failed query bought whole")
	assert.LessOrEqual(t, paid, int64(500+serpstattest.GrowingRowsPerDay), "the other only its boundary day")
	for q, want := range map[string]int{good: 500, bad: 500} {
		parts, _ := filepath.Glob(filepath.Join(lake, q, "part-*.ndjson"))
		seen := map[serpstattest.Backlink]bool{}
		for _, p := range parts {
			data, err := os.ReadFile(p)
			require.NoError(t, err)
			for _, r := range readNDJSON(t, data) {
				require.False(t, seen[r], "%s: a row written twice", q)
				seen[r] = true
			}
		}
		assert.Len(t, seen, want, q)
	}
}

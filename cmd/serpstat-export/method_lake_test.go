package main_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/serpstat-export/serpstat-export/serpstat/serpstattest"
)

// {method} in an --out names the method's directory; the manifest names
// the method for the run and each query, and the schema's kinds; the
// summary names it too.
func TestMethodInTheLakePathManifestAndSummary(t *testing.T) {
	srv := serpstattest.NewServer(serpstattest.Options{Rows: 1300})
	defer srv.Close()
	dir := t.TempDir()
	sumPath := filepath.Join(dir, "summary.json")
	res := runCLI(t, serpstattest.DefaultToken, "export", "--endpoint", srv.URL, "--rps", "1000",
		"--query", "a.example", "--query", "b.example", "--out", filepath.Join(dir, "lake", "{method}", "dt={date}", "{query}.ndjson"),
		"--state-dir", filepath.Join(dir, "state"), "--summary-json", sumPath)
	require.Equal(t, 0, res.code, res.stderr)
	base := filepath.Join(dir, "lake", "new-backlinks", "dt="+time.Now().UTC().Format(time.DateOnly))
	for _, q := range []string{"a.example", "b.example"} {
		require.Equal(t, int64(1300), countLines(t, filepath.Join(base, q+".ndjson")), q)
	}
	data, err := os.ReadFile(filepath.Join(base, "_manifest.json"))
	require.NoError(t, err)
	var m struct {
		Method  string `json:"method"`
		Queries []struct {
			Query  string `json:"query"`
			Method string `json:"method"`
		} `json:"queries"`
		Schema []struct {
			Name string `json:"name"`
			Type string `json:"type"`
			Kind string `json:"kind"`
		} `json:"schema"`
	}
	require.NoError(t, json.Unmarshal(data, &m))
	assert.Equal(t, "new-backlinks", m.Method)
	require.Len(t, m.Queries, 2)
	for _, q := range m.Queries {
		assert.Equal(t, "new-backlinks", q.Method, q.Query)
	}
	require.Len(t, m.Schema, 9)
	assert.Equal(t, "first_seen", m.Schema[6].Name)
	assert.Equal(t, "date", m.Schema[6].Kind)
	assert.Equal(t, "integer", m.Schema[8].Kind)

	sdata, err := os.ReadFile(sumPath)
	require.NoError(t, err)
	var sum struct {
		Method string `json:"method"`
		Rows   int64  `json:"rows"`
	}
	require.NoError(t, json.Unmarshal(sdata, &sum))
	assert.Equal(t, "new-backlinks", sum.Method)
	assert.Equal(t, int64(2600), sum.Rows)
	assert.EqualValues(t, 2600, srv.Stats().CreditsBilled)
}

// An intersect load's manifest says which domain each links_count_N
// counts: the query first, then the --intersect domains in order.
func TestIntersectManifestNamesTheDomainOfEachCount(t *testing.T) {
	srv := serpstattest.NewServer(serpstattest.Options{Rows: 1200})
	defer srv.Close()
	dir := t.TempDir()
	res := runCLI(t, serpstattest.DefaultToken, "export", "--endpoint", srv.URL, "--rps", "1000",
		"--method", "intersect", "--intersect", "b.example.com,c.example.com", "--query", "a.example.com",
		"--out", filepath.Join(dir, "lake", "dt={date}", "x.csv"), "--state-dir", filepath.Join(dir, "state"))
	require.Equal(t, 0, res.code, res.stderr)
	data, err := os.ReadFile(filepath.Join(dir, "lake", "dt="+time.Now().UTC().Format(time.DateOnly), "_manifest.json"))
	require.NoError(t, err)
	var m struct {
		Queries []struct {
			Method    string            `json:"method"`
			Rows      int64             `json:"rows"`
			Intersect map[string]string `json:"intersect"`
		} `json:"queries"`
	}
	require.NoError(t, json.Unmarshal(data, &m))
	require.Len(t, m.Queries, 1)
	assert.Equal(t, "intersect", m.Queries[0].Method)
	assert.Equal(t, int64(1200), m.Queries[0].Rows)
	assert.Equal(t, map[string]string{"links_count_1": "a.example.com", "links_count_2": "b.example.com", "links_count_3": "c.example.com"}, m.Queries[0].Intersect)
	assert.EqualValues(t, 1200, srv.Stats().CreditsBilled)
}

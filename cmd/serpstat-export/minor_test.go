package main_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/serpstat-export/serpstat-export/serpstat/serpstattest"
)

func TestATokenWithAControlCharacterIsBadInput(t *testing.T) {
	srv := serpstattest.NewServer(serpstattest.Options{Rows: 100})
	defer srv.Close()
	token := "abc\x01" + serpstattest.DefaultToken
	res := runCLI(t, token, exportArgs(srv, "example.com", "--out", filepath.Join(t.TempDir(), "r.csv"))...)
	assert.Equal(t, 2, res.code, res.stderr)
	assert.Contains(t, res.stderr, "control character")
	assert.NotContains(t, res.stderr, serpstattest.DefaultToken)
	assert.Zero(t, srv.Stats().Requests)
}

func TestLogLinesNameTheirQueryOnce(t *testing.T) {
	srv := serpstattest.NewServer(serpstattest.Options{Rows: 1500})
	defer srv.Close()
	dir := t.TempDir()
	res := runCLI(t, serpstattest.DefaultToken, "export", "--endpoint", srv.URL, "--rps", "1000", "--log-level", "debug",
		"--query", "one.example", "--query", "two.example", "--out", filepath.Join(dir, "{query}.csv"), "--state-dir", filepath.Join(dir, "state"))
	require.Equal(t, 0, res.code, res.stderr)
	planned := 0
	for _, line := range strings.Split(res.stderr, "\n") {
		assert.LessOrEqual(t, strings.Count(line, " query="), 1, line)
		if strings.Contains(line, "msg=planned") {
			planned++
			assert.Contains(t, line, "query=")
		}
	}
	assert.Equal(t, 2, planned)
}

package main_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/serpstat-export/serpstat-export/serpstat/serpstattest"
)

// TestSeveralOutputsAreCommittedTogetherOrNotAtAll: when one output's
// final rename fails (a directory is in its way), the outputs already
// renamed are rolled back and no temporary file stays; once the way is
// clear, the same command commits them all without paying again.
func TestSeveralOutputsAreCommittedTogetherOrNotAtAll(t *testing.T) {
	for _, tc := range []struct {
		name    string
		queries []string
	}{
		{"one query", []string{"--query", "one.example"}},
		{"several queries into shared outputs", []string{"--query", "one.example", "--query", "two.example"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := serpstattest.NewServer(serpstattest.Options{Rows: 2500})
			defer srv.Close()
			dir := t.TempDir()
			blocker := filepath.Join(dir, "r.ndjson")
			require.NoError(t, os.MkdirAll(filepath.Join(blocker, "in-the-way"), 0o755))
			args := append([]string{"export", "--endpoint", srv.URL, "--rps", "1000", "--out", filepath.Join(dir, "r.csv"),
				"--out", blocker, "--out", filepath.Join(dir, "r.parquet"), "--state-dir", filepath.Join(dir, "state")}, tc.queries...)
			res := runCLI(t, serpstattest.DefaultToken, args...)
			require.NotEqual(t, 0, res.code, res.stderr)
			assert.Contains(t, res.stderr, "rolled back")
			assertNoLeftovers(t, dir, "r.ndjson", "state")
			paid := srv.Stats().CreditsBilled

			require.NoError(t, os.RemoveAll(blocker))
			res = runCLI(t, serpstattest.DefaultToken, args...)
			require.Equal(t, 0, res.code, res.stderr)
			assert.Equal(t, paid, srv.Stats().CreditsBilled, "the rerun paid nothing: every page was kept")
			for _, f := range []string{"r.csv", "r.ndjson", "r.parquet"} {
				_, err := os.Stat(filepath.Join(dir, f))
				require.NoError(t, err, f)
			}
		})
	}
}

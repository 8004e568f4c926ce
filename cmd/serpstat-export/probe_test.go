package main_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/serpstat-export/serpstat-export/serpstat/serpstattest"
)

// runCLITokenEnv is runCLI with extra environment variables (later ones win).
func runCLITokenEnv(t *testing.T, env []string, args ...string) result {
	t.Helper()
	return runCLIEnv(t, append([]string{"SERPSTAT_TOKEN=" + serpstattest.DefaultToken}, env...), args...)
}

// TestUnwritableDestinationsAreRefusedBeforeACreditIsSpent: a destination
// that cannot be written is found before the first request: exit 2, with
// the reason, nothing billed.
func TestUnwritableDestinationsAreRefusedBeforeACreditIsSpent(t *testing.T) {
	dir := t.TempDir()
	none := filepath.Join(dir, "none")
	noAWS := []string{"AWS_ACCESS_KEY_ID=", "AWS_SECRET_ACCESS_KEY=", "AWS_SESSION_TOKEN=", "AWS_PROFILE=",
		"AWS_CONFIG_FILE=" + none, "AWS_SHARED_CREDENTIALS_FILE=" + none, "AWS_EC2_METADATA_DISABLED=true",
		"AWS_CONTAINER_CREDENTIALS_FULL_URI=", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI=", "AWS_WEB_IDENTITY_TOKEN_FILE="}
	notADir := filepath.Join(dir, "file.txt")
	require.NoError(t, os.WriteFile(notADir, []byte("x"), 0o644))
	for _, tc := range []struct {
		name string
		args []string
		want []string
	}{
		{"S3 without credentials", []string{"--out", "s3://lake/dt={date}/part-{part}.parquet", "--s3-endpoint", "http://127.0.0.1:1"},
			[]string{"no credentials for S3", "AWS_ACCESS_KEY_ID", "AWS_PROFILE"}},
		{"S3 incremental state without credentials", []string{"--out", filepath.Join(dir, "r.csv"), "--incremental", "s3://lake/state.json", "--s3-endpoint", "http://127.0.0.1:1"},
			[]string{"--incremental", "no credentials for S3"}},
		{"a local directory that cannot be made", []string{"--out", filepath.Join(notADir, "r.csv")},
			[]string{"--out " + filepath.Join(notADir, "r.csv")}},
		{"every local directory that cannot be made", []string{"--out", filepath.Join(notADir, "r.csv"), "--out", filepath.Join(notADir, "d", "r.ndjson")},
			[]string{"2 outputs cannot be written", "--out " + filepath.Join(notADir, "r.csv"), "--out " + filepath.Join(notADir, "d", "r.ndjson")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := serpstattest.NewServer(serpstattest.Options{Rows: 2500})
			defer srv.Close()
			res := runCLITokenEnv(t, noAWS, exportArgs(srv, "example.com", tc.args...)...)
			assert.Equal(t, 2, res.code, res.stderr)
			for _, w := range tc.want {
				assert.Contains(t, res.stderr, w)
			}
			assert.NotContains(t, res.stderr, "IMDS")
			assert.NotContains(t, res.stderr, "EC2")
			assert.Zero(t, srv.Stats().Requests, "nothing was sent")
			assert.Zero(t, srv.Stats().CreditsBilled)
		})
	}
}

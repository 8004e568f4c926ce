package main_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/serpstat-export/serpstat-export/dest"
	"github.com/serpstat-export/serpstat-export/serpstat/serpstattest"
)

// s3Bucket is the real S3-compatible server's endpoint and a bucket in it
// (created if need be); the test is skipped without one.
func s3Bucket(t *testing.T) (endpoint, bucket string) {
	t.Helper()
	endpoint = os.Getenv("SERPSTAT_TEST_S3_ENDPOINT")
	bucket = os.Getenv("SERPSTAT_TEST_S3_BUCKET")
	if endpoint == "" || bucket == "" {
		t.Skip("set SERPSTAT_TEST_S3_ENDPOINT and SERPSTAT_TEST_S3_BUCKET (with AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION) to run against a real S3-compatible server; .ci/run starts versitygw")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cfg, err := config.LoadDefaultConfig(ctx)
	require.NoError(t, err)
	client := s3.NewFromConfig(cfg, func(o *s3.Options) {
		o.BaseEndpoint = aws.String(endpoint)
		o.UsePathStyle = true
	})
	_, err = client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)})
	var apiErr interface{ ErrorCode() string }
	if err != nil && !(errors.As(err, &apiErr) && strings.HasPrefix(apiErr.ErrorCode(), "BucketAlready")) {
		require.NoError(t, err, "create bucket %s", bucket)
	}
	return endpoint, bucket
}

func TestStateDirOnS3ResumesAfterKillNineFromAnotherDirectory(t *testing.T) {
	endpoint, bucket := s3Bucket(t)
	url := redisURL(t)
	token := uniqueToken(t)
	// 20 pages at 10 requests/s: two seconds to be killed in.
	srv := serpstattest.NewServer(serpstattest.Options{Token: token, Rows: 10000, Latency: 20 * time.Millisecond})
	defer srv.Close()
	state := fmt.Sprintf("s3://%s/spool-%d", bucket, time.Now().UnixNano())
	args := []string{"export", "--endpoint", srv.URL, "--query", "moves.example", "--rps", "10", "--workers", "2",
		"--size", "500", "--out", "m.csv", "--state-dir", state, "--s3-endpoint", endpoint, "--s3-path-style",
		"--coordinator", url, "--progress", "never"}

	p := startCLI(t, token, t.TempDir(), nil, args...)
	waitFor(t, "8 pages billed", func() bool { return len(srv.Stats().PagesBilled) >= 8 })
	require.NoError(t, p.cmd.Process.Kill()) // SIGKILL: no clean-up at all
	p.wait(t)
	atKill := srv.Stats()
	require.Less(t, len(atKill.PagesBilled), 20, "killed before the end")
	opts := dest.S3Options{Endpoint: endpoint, PathStyle: true}
	ctx := context.Background()
	names, err := dest.ListDir(ctx, state, opts)
	require.NoError(t, err)
	assert.Contains(t, names, "state.json")

	// The same command on "another host": another working directory, no
	// local checkpoint; the lock of the killed run is not in the way.
	other := t.TempDir()
	res := runCLIIn(t, token, other, args...)
	require.Equal(t, 0, res.code, res.stderr)
	requireRows(t, asCSV(apiRows(srv, "moves.example", 10000)), readCSV(t, other+"/m.csv"), "rows")
	assert.Contains(t, res.stderr, "resumed:")
	twice := 0
	for k, n := range srv.Stats().PagesBilled {
		require.LessOrEqual(t, n, 2, "page %+v", k)
		if n == 2 {
			twice++
		}
	}
	t.Logf("%d pages billed before the kill; %d bought again (in flight at the kill)", len(atKill.PagesBilled), twice)
	assert.LessOrEqual(t, twice, 2, "at most the requests in flight (--workers 2) are bought again")
	names, err = dest.ListDir(ctx, state, opts)
	require.NoError(t, err)
	assert.Empty(t, names, "a finished export removes its checkpoint")
}

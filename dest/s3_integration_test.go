package dest

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/stretchr/testify/require"
)

// TestS3Integration runs Open, Commit, Abort, WriteAll and ReadAll against
// a real S3-compatible server. .ci/run starts versitygw and sets:
//
//	SERPSTAT_TEST_S3_ENDPOINT  the server, e.g. http://127.0.0.1:7070
//	SERPSTAT_TEST_S3_BUCKET    a bucket to write in (created if missing)
//	AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION
//
// The endpoint is addressed path-style, as S3-compatible servers expect.
func TestS3Integration(t *testing.T) {
	endpoint := os.Getenv("SERPSTAT_TEST_S3_ENDPOINT")
	bucket := os.Getenv("SERPSTAT_TEST_S3_BUCKET")
	if endpoint == "" || bucket == "" {
		t.Skip("set SERPSTAT_TEST_S3_ENDPOINT and SERPSTAT_TEST_S3_BUCKET (with AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION) to run against a real S3-compatible server; .ci/run starts versitygw")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	opts := S3Options{Endpoint: endpoint, PathStyle: true}

	// A client of our own, to look behind Dest's back.
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
	// Each run writes under its own prefix.
	prefix := "s3://" + bucket + "/it-" + time.Now().UTC().Format("20060102T150405.000000000") + "/"
	exists := func(target string) bool {
		t.Helper()
		_, err := ReadAll(ctx, target, opts)
		if errors.Is(err, fs.ErrNotExist) {
			return false
		}
		require.NoError(t, err)
		return true
	}

	t.Run("commit multipart", func(t *testing.T) {
		// Past the SDK's 16 MiB threshold: a multipart upload of 5 parts.
		data := randomBytes(21 << 20)
		target := prefix + "data/part-1.parquet"
		d, err := Open(ctx, target, opts)
		require.NoError(t, err)
		defer d.Abort()
		writeChunks(t, d, data)
		require.False(t, exists(target), "nothing under the name before Commit")
		require.NoError(t, d.Commit())
		require.Equal(t, int64(len(data)), d.Size())
		require.Equal(t, sha256Hex(data), d.SHA256())

		got, err := ReadAll(ctx, target, opts)
		require.NoError(t, err)
		require.Equal(t, len(data), len(got))
		require.Equal(t, sha256Hex(data), sha256Hex(got))

		// The manifest and marker beside it.
		manifest := Join(target, "_manifest.json")
		require.Equal(t, prefix+"data/_manifest.json", manifest)
		require.NoError(t, WriteAll(ctx, manifest, []byte(`{"sha256":"`+d.SHA256()+`"}`), opts))
		require.NoError(t, WriteAll(ctx, Join(target, "_SUCCESS"), nil, opts))
		got, err = ReadAll(ctx, manifest, opts)
		require.NoError(t, err)
		require.Contains(t, string(got), d.SHA256())
		require.True(t, exists(Join(target, "_SUCCESS")))
	})

	t.Run("abort", func(t *testing.T) {
		for _, size := range []int{1000, 17 << 20} {
			target := prefix + "aborted/out.csv"
			d, err := Open(ctx, target, opts)
			require.NoError(t, err)
			writeChunks(t, d, randomBytes(size))
			require.NoError(t, d.Abort())
			require.False(t, exists(target), "no object after Abort of %d bytes", size)
		}
		out, err := client.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{
			Bucket: aws.String(bucket),
			Prefix: aws.String(strings.TrimPrefix(prefix, "s3://"+bucket+"/")),
		})
		require.NoError(t, err)
		require.Empty(t, out.Uploads, "the aborted multipart upload is not left behind")
	})

	t.Run("read missing", func(t *testing.T) {
		_, err := ReadAll(ctx, prefix+"missing.json", opts)
		require.ErrorIs(t, err, fs.ErrNotExist)
	})
}

package dest

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/johannesboyne/gofakes3"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestProbeWritesAndLeavesNothing(t *testing.T) {
	f := newFakeS3(t)
	ctx := context.Background()
	require.NoError(t, Probe(ctx, "s3://"+fakeBucket+"/lake/dt=1/part-00000.parquet", f.opts()))
	objs, err := f.backend.ListBucket(fakeBucket, nil, gofakes3.ListBucketPage{})
	require.NoError(t, err)
	assert.Empty(t, objs.Contents, "the probe object is deleted")
	assert.Equal(t, 1, f.puts, "one probe object was written")

	dir := t.TempDir()
	require.NoError(t, Probe(ctx, filepath.Join(dir, "new", "r.csv"), S3Options{}))
	entries, err := os.ReadDir(filepath.Join(dir, "new"))
	require.NoError(t, err)
	assert.Empty(t, entries)
}

func TestProbeNamesMissingCredentials(t *testing.T) {
	f := newFakeS3(t)
	t.Setenv("AWS_ACCESS_KEY_ID", "")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "")
	err := Probe(context.Background(), "s3://"+fakeBucket+"/x.parquet", f.opts())
	require.ErrorIs(t, err, ErrNoCredentials)
	assert.Contains(t, err.Error(), "AWS_ACCESS_KEY_ID")
	assert.NotContains(t, err.Error(), "IMDS")
	assert.Zero(t, f.puts, "nothing was sent")
}

func TestProbeRefusesAReadOnlyDirectory(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root writes anywhere")
	}
	dir := t.TempDir()
	require.NoError(t, os.Chmod(dir, 0o555))
	t.Cleanup(func() { _ = os.Chmod(dir, 0o755) })
	require.Error(t, Probe(context.Background(), filepath.Join(dir, "r.csv"), S3Options{}))
}

package dest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"io/fs"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	"github.com/stretchr/testify/require"
)

// fakeS3 is an in-process S3 (gofakes3) behind httptest, which records
// the requests it serves.
type fakeS3 struct {
	url     string
	backend *s3mem.Backend
	client  *s3.Client // a plain client, to look behind Dest's back

	mu       sync.Mutex
	parts    int      // UploadPart requests
	puts     int      // one-request PutObject uploads
	regions  []string // the region of each request's signature
	complete int      // CompleteMultipartUpload requests
}

const fakeBucket = "bucket"

// newFakeS3 starts a fake S3 with one bucket, fakeBucket, and points the
// AWS SDK's environment at it: static test credentials, no shared config
// files, no instance metadata.
func newFakeS3(t *testing.T) *fakeS3 {
	t.Helper()
	isolateAWS(t)
	f := &fakeS3{backend: s3mem.New()}
	require.NoError(t, f.backend.CreateBucket(fakeBucket))
	faker := gofakes3.New(f.backend, gofakes3.WithLogger(gofakes3.DiscardLog()))
	h := faker.Server()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		f.mu.Lock()
		switch {
		case r.Method == http.MethodPut && q.Has("partNumber"):
			f.parts++
		case r.Method == http.MethodPut:
			f.puts++
		case r.Method == http.MethodPost && q.Has("uploadId"):
			f.complete++
		}
		// Credential=AKID/20260101/us-west-2/s3/aws4_request
		if _, cred, ok := strings.Cut(r.Header.Get("Authorization"), "Credential="); ok {
			if parts := strings.Split(cred, "/"); len(parts) > 2 {
				f.regions = append(f.regions, parts[2])
			}
		}
		f.mu.Unlock()
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	f.url = srv.URL
	f.client = s3.New(s3.Options{
		BaseEndpoint: aws.String(srv.URL),
		Region:       "us-east-1",
		UsePathStyle: true,
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", ""),
	})
	return f
}

// opts are the S3Options that reach the fake.
func (f *fakeS3) opts() S3Options { return S3Options{Endpoint: f.url, PathStyle: true} }

// exists reports whether the fake holds key.
func (f *fakeS3) exists(t *testing.T, key string) bool {
	t.Helper()
	_, err := f.backend.HeadObject(fakeBucket, key)
	if gofakes3.HasErrorCode(err, gofakes3.ErrNoSuchKey) {
		return false
	}
	require.NoError(t, err)
	return true
}

// object returns the bytes the fake holds under key.
func (f *fakeS3) object(t *testing.T, key string) []byte {
	t.Helper()
	obj, err := f.backend.GetObject(fakeBucket, key, nil)
	require.NoError(t, err)
	defer obj.Contents.Close()
	data, err := io.ReadAll(obj.Contents)
	require.NoError(t, err)
	return data
}

// pendingUploads lists the multipart uploads begun and neither completed
// nor aborted.
func pendingUploads(t *testing.T, client *s3.Client, bucket string) []string {
	t.Helper()
	out, err := client.ListMultipartUploads(context.Background(), &s3.ListMultipartUploadsInput{Bucket: aws.String(bucket)})
	var apiErr interface{ ErrorCode() string }
	if errors.As(err, &apiErr) && apiErr.ErrorCode() == "NoSuchUpload" {
		return nil // gofakes3's answer for a bucket that never had one
	}
	require.NoError(t, err)
	var keys []string
	for _, u := range out.Uploads {
		keys = append(keys, aws.ToString(u.Key))
	}
	return keys
}

// isolateAWS keeps the developer's AWS settings out of a test.
func isolateAWS(t *testing.T) {
	t.Helper()
	none := filepath.Join(t.TempDir(), "none")
	for k, v := range map[string]string{
		"AWS_ACCESS_KEY_ID":           "AKIDTEST",
		"AWS_SECRET_ACCESS_KEY":       "secret",
		"AWS_SESSION_TOKEN":           "",
		"AWS_CONFIG_FILE":             none,
		"AWS_SHARED_CREDENTIALS_FILE": none,
		"AWS_PROFILE":                 "",
		"AWS_REGION":                  "",
		"AWS_DEFAULT_REGION":          "",
		"AWS_ENDPOINT_URL":            "",
		"AWS_ENDPOINT_URL_S3":         "",
		"AWS_EC2_METADATA_DISABLED":   "true",
	} {
		t.Setenv(k, v)
	}
}

// randomBytes returns n reproducible random bytes.
func randomBytes(n int) []byte {
	b := make([]byte, n)
	r := rand.NewChaCha8([32]byte{'s', 'e', 'r', 'p'})
	r.Read(b)
	return b
}

// writeChunks writes data to w in 64 KiB writes, as a format's buffer would.
func writeChunks(t *testing.T, w io.Writer, data []byte) {
	t.Helper()
	for len(data) > 0 {
		n := min(len(data), 64<<10)
		_, err := w.Write(data[:n])
		require.NoError(t, err)
		data = data[n:]
	}
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func TestOpenS3(t *testing.T) {
	for _, c := range []struct {
		name      string
		size      int
		multipart bool // the upload is big enough for S3's multipart upload
	}{
		{"empty", 0, false},
		{"small", 1000, false},
		// The SDK's upload manager sends one request below 16 MiB.
		{"multipart", 24 << 20, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := newFakeS3(t)
			ctx := context.Background()
			data := randomBytes(c.size)
			target := "s3://" + fakeBucket + "/exports/" + c.name + ".csv"
			key := "exports/" + c.name + ".csv"

			d, err := Open(ctx, target, f.opts())
			require.NoError(t, err)
			defer d.Abort()
			require.Equal(t, target, d.Name())
			writeChunks(t, d, data)
			require.False(t, f.exists(t, key), "nothing under the name before Commit")
			require.NoError(t, d.Commit())

			require.Equal(t, data, f.object(t, key))
			require.Equal(t, int64(c.size), d.Size())
			require.Equal(t, sha256Hex(data), d.SHA256())
			require.NoError(t, d.Abort(), "Abort after Commit is a no-op")
			require.True(t, f.exists(t, key))
			require.Error(t, d.Commit(), "a second Commit")

			head, err := f.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(fakeBucket), Key: aws.String(key)})
			require.NoError(t, err)
			require.Equal(t, "text/csv; charset=utf-8", aws.ToString(head.ContentType))

			require.Empty(t, pendingUploads(t, f.client, fakeBucket))
			f.mu.Lock()
			parts, puts, complete := f.parts, f.puts, f.complete
			f.mu.Unlock()
			if c.multipart {
				// Parts of PartSize: the upload streamed, it did not
				// hold the object whole.
				require.Equal(t, (c.size+PartSize-1)/PartSize, parts)
				require.Equal(t, 1, complete)
				require.Zero(t, puts)
			} else {
				require.Zero(t, parts)
				require.Equal(t, 1, puts)
			}
		})
	}
}

func TestAbortS3(t *testing.T) {
	for _, c := range []struct {
		name string
		size int
	}{
		{"nothing written", 0},
		{"one request", 1 << 20},
		{"multipart begun", 17 << 20},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := newFakeS3(t)
			ctx := context.Background()
			target := "s3://" + fakeBucket + "/x/out.parquet"

			d, err := Open(ctx, target, f.opts())
			require.NoError(t, err)
			writeChunks(t, d, randomBytes(c.size))
			require.NoError(t, d.Abort())
			require.NoError(t, d.Abort(), "a second Abort")

			require.False(t, f.exists(t, "x/out.parquet"))
			require.Empty(t, pendingUploads(t, f.client, fakeBucket), "the multipart upload is aborted too")
			require.Error(t, d.Commit(), "Commit after Abort")
			_, err = d.Write([]byte("x"))
			require.ErrorIs(t, err, os.ErrClosed)
		})
	}
}

func TestAbortS3KeepsOldObject(t *testing.T) {
	f := newFakeS3(t)
	ctx := context.Background()
	target := "s3://" + fakeBucket + "/state.json"
	require.NoError(t, WriteAll(ctx, target, []byte(`{"v":1}`), f.opts()))

	d, err := Open(ctx, target, f.opts())
	require.NoError(t, err)
	writeChunks(t, d, []byte(`{"v":2}`))
	require.NoError(t, d.Abort())

	got, err := ReadAll(ctx, target, f.opts())
	require.NoError(t, err)
	require.Equal(t, `{"v":1}`, string(got))
}

func TestOpenS3CancelledContext(t *testing.T) {
	f := newFakeS3(t)
	ctx, cancel := context.WithCancel(context.Background())
	d, err := Open(ctx, "s3://"+fakeBucket+"/cancelled.csv", f.opts())
	require.NoError(t, err)
	writeChunks(t, d, randomBytes(1000))
	cancel()
	require.ErrorIs(t, d.Commit(), context.Canceled)
	require.False(t, f.exists(t, "cancelled.csv"))
}

func TestWriteAllReadAll(t *testing.T) {
	f := newFakeS3(t)
	ctx := context.Background()
	dir := t.TempDir()
	for _, target := range []string{
		"s3://" + fakeBucket + "/run/_manifest.json",
		"s3://" + fakeBucket + "/run/_SUCCESS",
		filepath.Join(dir, "run", "_manifest.json"),
		"file://" + filepath.ToSlash(filepath.Join(dir, "file", "_SUCCESS")),
	} {
		t.Run(target, func(t *testing.T) {
			missing := Join(target, "missing.json")
			_, err := ReadAll(ctx, missing, f.opts())
			require.ErrorIs(t, err, fs.ErrNotExist)
			require.Contains(t, err.Error(), missing)

			data := []byte(`{"rows":25000}` + "\n")
			require.NoError(t, WriteAll(ctx, target, data, f.opts()))
			got, err := ReadAll(ctx, target, f.opts())
			require.NoError(t, err)
			require.Equal(t, data, got)

			require.NoError(t, WriteAll(ctx, target, nil, f.opts()), "an empty object")
			got, err = ReadAll(ctx, target, f.opts())
			require.NoError(t, err)
			require.Empty(t, got)
		})
	}
}

func TestOpenLocal(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		name   string
		target string
		path   string
	}{
		{"plain path", filepath.Join(dir, "a", "out.csv"), filepath.Join(dir, "a", "out.csv")},
		{"file URL", "file://" + filepath.ToSlash(filepath.Join(dir, "b", "out.csv")), filepath.Join(dir, "b", "out.csv")},
		{"file URL, escaped", "file://" + filepath.ToSlash(filepath.Join(dir, "c", "my%20out.csv")), filepath.Join(dir, "c", "my out.csv")},
	} {
		t.Run(c.name, func(t *testing.T) {
			data := randomBytes(300 << 10)
			d, err := Open(context.Background(), c.target, S3Options{})
			require.NoError(t, err)
			defer d.Abort()
			require.Equal(t, c.target, d.Name())
			writeChunks(t, d, data)

			// Before Commit only the temporary file is there.
			_, err = os.Stat(c.path)
			require.ErrorIs(t, err, fs.ErrNotExist)
			names := dirNames(t, filepath.Dir(c.path))
			require.Len(t, names, 1)
			require.True(t, strings.HasPrefix(names[0], "."+filepath.Base(c.path)+".tmp-"), names[0])

			require.NoError(t, d.Commit())
			got, err := os.ReadFile(c.path)
			require.NoError(t, err)
			require.Equal(t, data, got)
			require.Equal(t, int64(len(data)), d.Size())
			require.Equal(t, sha256Hex(data), d.SHA256())
			require.NoError(t, d.Abort(), "Abort after Commit is a no-op")
			require.Equal(t, []string{filepath.Base(c.path)}, dirNames(t, filepath.Dir(c.path)))
		})
	}

	t.Run("abort", func(t *testing.T) {
		sub := filepath.Join(dir, "abort")
		d, err := Open(context.Background(), filepath.Join(sub, "out.csv"), S3Options{})
		require.NoError(t, err)
		writeChunks(t, d, []byte("a,b\n"))
		require.NoError(t, d.Abort())
		require.Empty(t, dirNames(t, sub))
	})
}

func TestOpenS3Region(t *testing.T) {
	for _, c := range []struct {
		name   string
		query  string
		opts   S3Options
		env    string
		region string
	}{
		{"default", "", S3Options{}, "", DefaultS3Region},
		{"AWS_REGION", "", S3Options{}, "eu-west-1", "eu-west-1"},
		{"options over AWS_REGION", "", S3Options{Region: "eu-central-1"}, "eu-west-1", "eu-central-1"},
		{"URL over options", "?region=ap-south-1", S3Options{Region: "eu-central-1"}, "", "ap-south-1"},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := newFakeS3(t)
			t.Setenv("AWS_REGION", c.env)
			opts := c.opts
			opts.Endpoint, opts.PathStyle = f.url, true
			target := "s3://" + fakeBucket + "/r.json" + c.query
			require.NoError(t, WriteAll(context.Background(), target, []byte("{}"), opts))
			f.mu.Lock()
			defer f.mu.Unlock()
			require.Equal(t, []string{c.region}, f.regions)
		})
	}
}

func TestOpenS3EndpointFromURL(t *testing.T) {
	f := newFakeS3(t)
	// Endpoint and path style from the URL; AWS_ENDPOINT_URL is overridden.
	t.Setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:1")
	target := "s3://" + fakeBucket + "/e.json?endpoint=" + f.url + "&use_path_style=true"
	require.NoError(t, WriteAll(context.Background(), target, []byte("{}"), S3Options{}))
	require.Equal(t, "{}", string(f.object(t, "e.json")))

	// AWS_ENDPOINT_URL alone.
	t.Setenv("AWS_ENDPOINT_URL", f.url)
	target = "s3://" + fakeBucket + "/f.json"
	require.NoError(t, WriteAll(context.Background(), target, []byte("[]"), S3Options{PathStyle: true}))
	require.Equal(t, "[]", string(f.object(t, "f.json")))

	_, err := Open(context.Background(), "s3://"+fakeBucket+"/g.json?acl=public", f.opts())
	require.ErrorContains(t, err, `unknown query parameter "acl"`)
}

func TestOpenRefuses(t *testing.T) {
	isolateAWS(t)
	for _, c := range []struct {
		target string
		want   string
	}{
		{"", "empty"},
		{"-", "standard output"},
		{"../out.csv", `".."`},
		{"out/../../etc/out.csv", `".."`},
		{"s3://bucket/x/../../y.csv", `".."`},
		{"s3://bucket/x/%2E%2E/y.csv", `".."`},
		{"gs://bucket/../y.csv", `".."`},
		{"file:///tmp/../etc/passwd", `".."`},
		{"s3://bucket", "no object name"},
		{"s3://bucket/dir/", "no object name"},
		{"s3:///key.csv", "no bucket"},
		{"file://host/tmp/out.csv", "no host"},
		{"file:///tmp/out.csv?x=1", "no query"},
		{"http://example.com/out.csv", "unsupported scheme"},
	} {
		t.Run(c.target, func(t *testing.T) {
			_, err := Open(context.Background(), c.target, S3Options{})
			require.ErrorContains(t, err, c.want)
			if c.target != "" && c.target != "-" {
				require.ErrorContains(t, err, c.target, "the error names the target")
			}
			_, err = ReadAll(context.Background(), c.target, S3Options{})
			require.ErrorContains(t, err, c.want)
			require.False(t, errors.Is(err, fs.ErrNotExist))
		})
	}
}

func TestNameHasNoCredentials(t *testing.T) {
	f := newFakeS3(t)
	d, err := Open(context.Background(), "s3://user:hunter2@"+fakeBucket+"/k.csv", f.opts())
	require.NoError(t, err)
	defer d.Abort()
	require.Equal(t, "s3://"+fakeBucket+"/k.csv", d.Name())

	_, err = Open(context.Background(), "s3://user:hunter2@bucket/%zz", f.opts())
	require.Error(t, err)
	require.NotContains(t, err.Error(), "hunter2")
}

func TestJoin(t *testing.T) {
	for _, c := range []struct{ target, name, want string }{
		{"s3://b/x/part-1.parquet", "_manifest.json", "s3://b/x/_manifest.json"},
		{"s3://b/part-1.parquet", "_SUCCESS", "s3://b/_SUCCESS"},
		{"s3://b", "_SUCCESS", "s3://b/_SUCCESS"},
		{"s3://b/x/y/", "_SUCCESS", "s3://b/x/y/_SUCCESS"},
		{"s3://b/x/p.csv?region=eu-west-1&use_path_style=true", "_SUCCESS", "s3://b/x/_SUCCESS?region=eu-west-1&use_path_style=true"},
		{"s3://b/x/p.csv?endpoint=http://h:9000/a/b", "_SUCCESS", "s3://b/x/_SUCCESS?endpoint=http://h:9000/a/b"},
		{"gs://b/a/b/c.ndjson", "state/run.json", "gs://b/a/b/state/run.json"},
		{"azblob://c/a.csv?domain=x", "_SUCCESS", "azblob://c/_SUCCESS?domain=x"},
		{"file:///data/out/a.csv", "_SUCCESS", "file:///data/out/_SUCCESS"},
		{"/data/out/a.csv", "_manifest.json", "/data/out/_manifest.json"},
		{"out/a.csv", "_SUCCESS", "out/_SUCCESS"},
		{"a.csv", "_SUCCESS", "_SUCCESS"},
	} {
		require.Equal(t, c.want, Join(c.target, c.name), "Join(%q, %q)", c.target, c.name)
	}
}

func TestIsURL(t *testing.T) {
	for target, want := range map[string]bool{
		"s3://b/k":        true,
		"gs://b/k":        true,
		"azblob://c/k":    true,
		"file:///tmp/a":   true,
		"/tmp/a.csv":      false,
		"a.csv":           false,
		"-":               false,
		"dir/s3:/x":       false,
		"C:\\data\\a.csv": false,
	} {
		require.Equal(t, want, IsURL(target), target)
	}
}

// A failing upload shows in Write or Commit, and leaves no object.
func TestOpenS3NoSuchBucket(t *testing.T) {
	f := newFakeS3(t)
	d, err := Open(context.Background(), "s3://nobucket/k.csv", f.opts())
	require.NoError(t, err, "the bucket is not checked on Open")
	defer d.Abort()
	_, werr := d.Write(bytes.Repeat([]byte("x"), 1000))
	cerr := d.Commit()
	require.Error(t, errors.Join(werr, cerr))
	require.ErrorContains(t, errors.Join(werr, cerr), "s3://nobucket/k.csv")
}

// A run's buckets are a value it owns: with one, every call reuses the
// bucket it opened until the run closes it; without one, nothing stays open
// and nobody has a cache to clear.
func TestBucketsPerRun(t *testing.T) {
	f := newFakeS3(t)
	ctx := context.Background()
	target := "s3://" + fakeBucket + "/run/a.json"

	var run Buckets
	opts := f.opts()
	opts.Buckets = &run
	require.NoError(t, WriteAll(ctx, target, []byte("1"), opts))
	require.NoError(t, WriteAll(ctx, "s3://"+fakeBucket+"/run/b.json", []byte("2"), opts))
	got, err := ReadAll(ctx, target, opts)
	require.NoError(t, err)
	require.Equal(t, "1", string(got))
	require.Equal(t, 1, run.Len(), "one bucket, opened once for the run")
	require.NoError(t, run.Close())
	require.Equal(t, 0, run.Len())

	// Another run's value is its own.
	var other Buckets
	opts.Buckets = &other
	require.NoError(t, Probe(ctx, target, opts))
	require.Equal(t, 1, other.Len())
	require.Equal(t, 0, run.Len(), "a run's buckets are not another's")
	require.NoError(t, other.Close())

	// Without a Buckets, each call opens and closes its own.
	opts.Buckets = nil
	d, err := Open(ctx, "s3://"+fakeBucket+"/run/c.json", opts)
	require.NoError(t, err)
	_, err = d.Write([]byte("3"))
	require.NoError(t, err)
	require.NoError(t, d.Commit())
	require.Equal(t, []byte("3"), f.object(t, "run/c.json"))
	names, err := ListDir(ctx, "s3://"+fakeBucket+"/run", opts)
	require.NoError(t, err)
	require.ElementsMatch(t, []string{"a.json", "b.json", "c.json"}, names)
}

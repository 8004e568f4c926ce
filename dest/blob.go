package dest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io/fs"
	"os"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go/logging"
	"gocloud.dev/blob"
	_ "gocloud.dev/blob/azureblob" // azblob:// on blob.DefaultURLMux
	_ "gocloud.dev/blob/gcsblob"   // gs:// on blob.DefaultURLMux
	"gocloud.dev/blob/s3blob"
	"gocloud.dev/gcerrors"
)

// S3Options are the settings of s3:// targets that the URL does not give.
//
// Each setting is taken from, first to last: the target URL's query
// (?region=, ?endpoint=, ?use_path_style=, the names gocloud.dev uses),
// these fields, then the AWS SDK's usual sources (AWS_REGION,
// AWS_ENDPOINT_URL, AWS_PROFILE, ~/.aws/config). Credentials come from the
// SDK's usual chain only (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY,
// shared files, SSO, instance roles). The zero value leaves everything to
// the AWS SDK, with the region defaulting to DefaultS3Region.
type S3Options struct {
	// Endpoint is the S3 API's base URL, for S3-compatible stores such as
	// MinIO or versitygw: "http://127.0.0.1:7070". Without a scheme it is
	// https. Empty: AWS_ENDPOINT_URL, else AWS S3. With an endpoint set
	// (here or by AWS_ENDPOINT_URL), request checksums are sent only where
	// S3 requires them, as S3-compatible stores expect, unless
	// AWS_REQUEST_CHECKSUM_CALCULATION says otherwise.
	Endpoint string
	// Region is the bucket's region. Empty: AWS_REGION or the profile's,
	// else DefaultS3Region.
	Region string
	// PathStyle addresses buckets as endpoint/bucket/key rather than
	// bucket.endpoint/key; most S3-compatible stores need it.
	PathStyle bool
	// Buckets keeps the buckets opened for the run that owns it; nil opens
	// and closes a bucket per call (per Dest for Open).
	Buckets *Buckets
}

// Settings of object uploads.
const (
	// PartSize is the size of the parts of an upload, the smallest S3
	// takes. An S3 upload holds at most the first 16 MiB (the SDK reads
	// that much to choose between one request and a multipart upload),
	// then UploadConcurrency+1 parts, in memory at once.
	PartSize = 5 << 20
	// UploadConcurrency is the number of parts of one upload sent at once.
	UploadConcurrency = 2
	// DefaultS3Region is the region of s3:// targets when nothing sets one.
	DefaultS3Region = "us-east-1"
	// abortTimeout bounds the clean-up of a cancelled multipart upload.
	abortTimeout = 30 * time.Second
)

// bucket is an opened bucket, kept in a Buckets or for one call.
type bucket struct {
	b *blob.Bucket
	// For s3:// only: the client and bucket name, to abort a multipart
	// upload that a cancelled write left behind.
	s3   *s3.Client
	name string
	// creds are the S3 client's credentials, for Probe.
	creds aws.CredentialsProvider
}

// Buckets is a run's opened buckets, by scheme, bucket, query and
// options, so that the AWS configuration and credentials are loaded once
// per bucket rather than once per object, and connections are reused. The
// run that makes it owns it and closes it once its outputs are committed
// or aborted; there is no process-wide cache. The zero value is ready to
// use, and it is safe for concurrent use. With S3Options.Buckets nil,
// every call opens its bucket and closes it when done.
type Buckets struct {
	mu     sync.Mutex
	m      map[string]*bucket
	closed bool
}

// Close closes every bucket opened through b and returns the first error.
// A Dest still open when it is called fails; a later use of b opens its
// buckets again.
func (b *Buckets) Close() error {
	if b == nil {
		return nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	var first error
	for k, bk := range b.m {
		if err := bk.b.Close(); err != nil && first == nil {
			first = fmt.Errorf("close bucket %s: %w", k, err)
		}
	}
	b.m = nil
	return first
}

// Len is the number of buckets open in b.
func (b *Buckets) Len() int {
	if b == nil {
		return 0
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.m)
}

// openBucket returns the bucket of t: from opts.Buckets, opening it there
// on first use, or opened for this call only. release closes a bucket
// opened for the call; call it once done with the bucket.
func openBucket(ctx context.Context, t target, opts S3Options) (b *bucket, release func(), err error) {
	k := t.scheme + "://" + t.bucket + "?" + t.raw
	if t.scheme == SchemeS3 {
		k += fmt.Sprintf(" endpoint=%q region=%q pathstyle=%t", opts.Endpoint, opts.Region, opts.PathStyle)
	}
	cache := opts.Buckets
	if cache != nil {
		cache.mu.Lock()
		defer cache.mu.Unlock()
		if b, ok := cache.m[k]; ok {
			return b, func() {}, nil
		}
		// The bucket outlives this call: its clients must not keep (as
		// oauth2 token sources do) a context that the caller will cancel.
		ctx = context.WithoutCancel(ctx)
	}
	if t.scheme == SchemeS3 {
		b, err = openS3(ctx, t, opts)
	} else {
		u := t.scheme + "://" + t.bucket
		if t.raw != "" {
			u += "?" + t.raw
		}
		var bb *blob.Bucket
		bb, err = blob.OpenBucket(ctx, u)
		b = &bucket{b: bb}
	}
	if err != nil {
		return nil, nil, fmt.Errorf("output %q: open bucket: %w", t.name, err)
	}
	if cache == nil {
		return b, func() { _ = b.b.Close() }, nil
	}
	if cache.m == nil {
		cache.m = make(map[string]*bucket)
	}
	cache.m[k] = b
	return b, func() {}, nil
}

// openS3 opens an S3 bucket with an AWS SDK v2 client of our own, so that
// S3Options and the URL's query apply as S3Options says.
func openS3(ctx context.Context, t target, opts S3Options) (*bucket, error) {
	for k, v := range t.query {
		switch k {
		case "region":
			opts.Region = v[0]
		case "endpoint":
			opts.Endpoint = v[0]
		case "use_path_style", "s3ForcePathStyle":
			ps, err := strconv.ParseBool(v[0])
			if err != nil {
				return nil, fmt.Errorf("%s=%q: not a boolean", k, v[0])
			}
			opts.PathStyle = ps
		default:
			return nil, fmt.Errorf("unknown query parameter %q: s3:// takes region, endpoint and use_path_style", k)
		}
	}
	var load []func(*config.LoadOptions) error
	if opts.Region != "" {
		load = append(load, config.WithRegion(opts.Region))
	}
	cfg, err := config.LoadDefaultConfig(ctx, load...)
	if err != nil {
		return nil, fmt.Errorf("aws config: %w", err)
	}
	if cfg.Region == "" {
		cfg.Region = DefaultS3Region
	}
	// The SDK logs warnings to stderr on its own ("Skipped validation of
	// multipart checksum"); what matters comes back as errors, and only
	// cmd decides what reaches the log.
	cfg.Logger = logging.Nop{}
	if opts.Endpoint != "" && !strings.Contains(opts.Endpoint, "://") {
		opts.Endpoint = "https://" + opts.Endpoint
	}
	// S3-compatible stores often reject the checksum trailers (aws-chunked
	// bodies) the SDK sends to AWS by default; as gocloud.dev advises, ask
	// for checksums only where the API requires them, unless
	// AWS_REQUEST_CHECKSUM_CALCULATION or the profile says otherwise.
	if opts.Endpoint != "" || cfg.BaseEndpoint != nil {
		if cfg.RequestChecksumCalculation == aws.RequestChecksumCalculationUnset {
			cfg.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
		}
		if cfg.ResponseChecksumValidation == aws.ResponseChecksumValidationUnset {
			cfg.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
		}
	}
	client := s3.NewFromConfig(cfg, func(o *s3.Options) {
		if opts.Endpoint != "" {
			o.BaseEndpoint = aws.String(opts.Endpoint)
		}
		if opts.PathStyle {
			o.UsePathStyle = true
		}
	})
	b, err := s3blob.OpenBucket(ctx, client, t.bucket, &s3blob.Options{
		// The upload manager takes this from its own options, not the
		// client's (see s3blob's URLOpener).
		RequestChecksumCalculation: cfg.RequestChecksumCalculation,
	})
	if err != nil {
		return nil, err
	}
	return &bucket{b: b, s3: client, name: t.bucket, creds: credentialsOf(cfg)}, nil
}

// contentTypes are the Content-Type of objects by extension; others are
// application/octet-stream. Setting one spares gocloud.dev sniffing it.
var contentTypes = map[string]string{
	".csv":     "text/csv; charset=utf-8",
	".ndjson":  "application/x-ndjson",
	".jsonl":   "application/x-ndjson",
	".json":    "application/json",
	".parquet": "application/vnd.apache.parquet",
}

// openBlob starts the upload of an object.
func openBlob(ctx context.Context, t target, opts S3Options) (*blobDest, error) {
	b, release, err := openBucket(ctx, t, opts)
	if err != nil {
		return nil, err
	}
	ct, ok := contentTypes[strings.ToLower(path.Ext(t.key))]
	if !ok {
		ct = "application/octet-stream"
	}
	// Cancelling wctx before Close is how gocloud.dev aborts a write.
	wctx, cancel := context.WithCancel(ctx)
	w, err := b.b.NewWriter(wctx, t.key, &blob.WriterOptions{
		ContentType:    ct,
		BufferSize:     PartSize,
		MaxConcurrency: UploadConcurrency,
	})
	if err != nil {
		cancel()
		release()
		return nil, fmt.Errorf("create %q: %w", t.name, err)
	}
	return &blobDest{name: t.name, key: t.key, b: b, release: release, w: w, cancel: cancel, h: sha256.New()}, nil
}

// blobDest is a Dest on an object being uploaded.
type blobDest struct {
	name string
	key  string
	b    *bucket
	// release closes b when it was opened for this Dest only.
	release func()
	w       *blob.Writer
	cancel  context.CancelFunc // cancels w's context: aborts the upload
	n       int64
	h       hash.Hash
	done    bool // committed or aborted
}

var _ Dest = (*blobDest)(nil)

// Write writes p to the upload. An upload failure may show only in a later
// Write or in Commit.
func (d *blobDest) Write(p []byte) (int, error) {
	if d.done {
		return 0, fmt.Errorf("write %q: %w", d.name, os.ErrClosed)
	}
	n, err := d.w.Write(p)
	d.n += int64(n)
	d.h.Write(p[:n])
	if err != nil {
		return n, fmt.Errorf("write %q: %w", d.name, err)
	}
	return n, nil
}

// Commit closes the writer, which sends the last part and completes the
// upload; the object exists once it returns nil. After an error the object
// was not written (Abort has nothing left to do).
func (d *blobDest) Commit() error {
	if d.done {
		return fmt.Errorf("commit %q: %w", d.name, os.ErrClosed)
	}
	d.done = true
	defer d.release()
	err := d.w.Close()
	d.cancel()
	if err != nil {
		if cerr := d.abortMultipart(err); cerr != nil {
			err = errors.Join(err, cerr)
		}
		return fmt.Errorf("commit %q: %w", d.name, err)
	}
	return nil
}

// Abort cancels the upload and then closes the writer: with its context
// cancelled, Close neither completes a multipart upload nor sends a
// one-request upload, so no object appears (an older object under the
// name is left as it was). A multipart upload that S3 had begun is
// aborted too, so its parts are not kept (and billed) until a lifecycle
// rule removes them. It does nothing after Commit or Abort.
func (d *blobDest) Abort() error {
	if d.done {
		return nil
	}
	d.done = true
	defer d.release()
	d.cancel()
	err := d.w.Close()
	if err == nil {
		// Not expected of any driver: the upload ended before the
		// cancellation could stop it.
		return fmt.Errorf("abort %q: the upload completed before it could be cancelled", d.name)
	}
	if cerr := d.abortMultipart(err); cerr != nil {
		return fmt.Errorf("abort %q: %w", d.name, cerr)
	}
	return nil
}

// abortMultipart aborts the S3 multipart upload that a failed or cancelled
// write left behind, if any: the SDK's upload manager aborts it with the
// upload's context, which is useless once that context is cancelled. It
// finds the upload's ID in the upload manager's error.
func (d *blobDest) abortMultipart(werr error) error {
	var mp interface{ UploadID() string }
	if d.b.s3 == nil || !errors.As(werr, &mp) || mp.UploadID() == "" {
		return nil
	}
	// Commit and Abort take no context (Dest is used like File); the
	// upload's own is cancelled by now, so the clean-up gets a fresh one.
	ctx, cancel := context.WithTimeout(context.Background(), abortTimeout)
	defer cancel()
	_, err := d.b.s3.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{
		Bucket:   aws.String(d.b.name),
		Key:      aws.String(d.key),
		UploadId: aws.String(mp.UploadID()),
	})
	var nsu interface{ ErrorCode() string }
	if errors.As(err, &nsu) && nsu.ErrorCode() == "NoSuchUpload" {
		return nil // the upload manager's own abort got there first
	}
	if err != nil {
		return fmt.Errorf("abort multipart upload %s (its parts stay in the bucket until a lifecycle rule removes them): %w", mp.UploadID(), err)
	}
	return nil
}

func (d *blobDest) Name() string   { return d.name }
func (d *blobDest) Size() int64    { return d.n }
func (d *blobDest) SHA256() string { return hex.EncodeToString(d.h.Sum(nil)) }

// readBlob reads a whole object.
func readBlob(ctx context.Context, t target, opts S3Options) ([]byte, error) {
	b, release, err := openBucket(ctx, t, opts)
	if err != nil {
		return nil, err
	}
	defer release()
	data, err := b.b.ReadAll(ctx, t.key)
	if gcerrors.Code(err) == gcerrors.NotFound {
		return nil, fmt.Errorf("read %q: %w: %w", t.name, fs.ErrNotExist, err)
	}
	if err != nil {
		return nil, fmt.Errorf("read %q: %w", t.name, err)
	}
	return data, nil
}

// removeBlob deletes an object; one that does not exist is not an error.
func removeBlob(ctx context.Context, t target, opts S3Options) error {
	b, release, err := openBucket(ctx, t, opts)
	if err != nil {
		return err
	}
	defer release()
	err = b.b.Delete(ctx, t.key)
	if err != nil && gcerrors.Code(err) != gcerrors.NotFound {
		return fmt.Errorf("remove %q: %w", t.name, err)
	}
	return nil
}

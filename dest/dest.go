package dest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// Dest is an output being written: the bytes go to a temporary place and
// appear under Name only on Commit, complete, or never. It counts the bytes
// and computes their SHA-256 as they are written.
//
// Open returns one; a Dest is not safe for concurrent use. Use it as
//
//	d, err := dest.Open(ctx, target, opts)
//	if err != nil { ... }
//	defer d.Abort() // no-op after Commit
//	... write to d ...
//	return d.Commit()
type Dest interface {
	io.Writer
	// Commit makes the output appear under Name, complete. For a local
	// file it syncs and renames (File.Commit); for an object it closes the
	// upload, which completes the multipart upload.
	Commit() error
	// Abort throws the output away: nothing appears under Name. For a
	// local file it removes the temporary file; for an object it cancels
	// the upload. It does nothing after Commit or Abort, so it can be
	// deferred.
	Abort() error
	// Name returns the target as given to Open, without any credentials.
	Name() string
	// Size returns the number of bytes written so far.
	Size() int64
	// SHA256 returns the hex SHA-256 digest of the bytes written so far.
	SHA256() string
}

// The schemes Open takes besides plain paths.
const (
	SchemeFile  = "file"
	SchemeS3    = "s3"
	SchemeGCS   = "gs"
	SchemeAzure = "azblob"
)

// urlPrefix matches the "scheme://" that starts a URL target.
var urlPrefix = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9+.-]*://`)

// IsURL reports whether target is a URL ("scheme://...", file:// included)
// rather than a plain path.
func IsURL(target string) bool { return urlPrefix.MatchString(target) }

// Open opens a destination for writing:
//
//   - a plain path, or file:///abs/path: a local file written atomically
//     through Create (a temporary file beside it, renamed on Commit);
//   - s3://bucket/key, gs://bucket/key, azblob://container/key: an object,
//     uploaded as it is written (in parts of PartSize, so memory stays
//     bounded whatever the size) through gocloud.dev/blob; it exists only
//     once Commit returns nil.
//
// opts applies to s3:// targets only; see S3Options for the precedence of
// its settings. A target with a ".." path element is refused, as is "-"
// (standard output is the caller's business). ctx bounds the whole upload
// of an object, Commit included.
//
// Open is safe for concurrent use; the bucket it opens is kept in
// opts.Buckets, closed by the run that owns it, or, without one, closed
// on Commit or Abort.
func Open(ctx context.Context, target string, opts S3Options) (Dest, error) {
	t, err := parseTarget(target)
	if err != nil {
		return nil, err
	}
	if t.path != "" {
		f, err := Create(t.path)
		if err != nil {
			return nil, err
		}
		return &fileDest{f: f, name: t.name, h: sha256.New()}, nil
	}
	return openBlob(ctx, t, opts)
}

// WriteAll writes data to target with Open and commits it: for small
// objects written whole, such as a manifest, a _SUCCESS marker or a state
// file. Like Open, the target holds its old content or data, never a part.
func WriteAll(ctx context.Context, target string, data []byte, opts S3Options) error {
	d, err := Open(ctx, target, opts)
	if err != nil {
		return err
	}
	defer d.Abort()
	if _, err := d.Write(data); err != nil {
		return fmt.Errorf("write %q: %w", d.Name(), err)
	}
	return d.Commit()
}

// ReadAll reads the whole of target, a path or a URL as for Open. When
// the file or object does not exist, the error wraps fs.ErrNotExist.
func ReadAll(ctx context.Context, target string, opts S3Options) ([]byte, error) {
	t, err := parseTarget(target)
	if err != nil {
		return nil, err
	}
	if t.path != "" {
		data, err := os.ReadFile(t.path)
		if err != nil {
			// An *fs.PathError: errors.Is(err, fs.ErrNotExist) holds.
			return nil, fmt.Errorf("read %q: %w", t.name, err)
		}
		return data, nil
	}
	return readBlob(ctx, t, opts)
}

// Join returns the target named name in the same "directory" as target:
// Join("s3://b/x/part-1.parquet", "_manifest.json") is
// "s3://b/x/_manifest.json", the query string of a URL kept as it is; for
// a plain path it is filepath.Join(filepath.Dir(target), name). It is how
// a manifest or a _SUCCESS marker is put beside the data.
func Join(target, name string) string {
	if !IsURL(target) {
		return filepath.Join(filepath.Dir(target), name)
	}
	rest, query := target, ""
	if i := strings.IndexByte(target, '?'); i >= 0 {
		rest, query = target[:i], target[i:]
	}
	// The "directory" ends at the last slash after scheme://host.
	host := urlPrefix.FindStringIndex(rest)[1]
	dir := rest + "/"
	if i := strings.LastIndexByte(rest[host:], '/'); i >= 0 {
		dir = rest[:host+i+1]
	}
	return dir + strings.TrimPrefix(name, "/") + query
}

// target is a parsed Open target: either a local path or an object.
type target struct {
	name string // as given, credentials removed: for Name and errors

	path string // a local file: the path

	scheme string     // an object: "s3", "gs" or "azblob"
	bucket string     // the bucket or container
	key    string     // the object's key, without a leading slash
	query  url.Values // the URL's query
	raw    string     // the URL's raw query
}

// parseTarget splits a target into a local path or a bucket and key, and
// refuses a ".." path element.
func parseTarget(s string) (target, error) {
	if s == "" {
		return target{}, errors.New("empty output target")
	}
	if s == "-" {
		return target{}, errors.New(`"-" is standard output, not a file or an object`)
	}
	if !IsURL(s) {
		if hasDotDot(filepath.ToSlash(s)) {
			return target{}, fmt.Errorf("output %q: a \"..\" path element is not allowed", s)
		}
		return target{name: s, path: s}, nil
	}
	u, err := url.Parse(s)
	if err != nil {
		// url.Error quotes the URL; a password in it must not reach a log.
		return target{}, fmt.Errorf("output %q: not a valid URL", redact(s))
	}
	name := s
	if u.User != nil {
		u.User = nil
		name = u.String()
	}
	if hasDotDot(u.Path) || hasDotDot(u.EscapedPath()) {
		return target{}, fmt.Errorf("output %q: a \"..\" path element is not allowed", name)
	}
	scheme := strings.ToLower(u.Scheme)
	switch scheme {
	case SchemeFile:
		if u.Host != "" && u.Host != "localhost" {
			return target{}, fmt.Errorf("output %q: a file URL names no host: use file:///absolute/path", name)
		}
		if u.RawQuery != "" {
			return target{}, fmt.Errorf("output %q: a file URL takes no query", name)
		}
		if u.Path == "" || strings.HasSuffix(u.Path, "/") {
			return target{}, fmt.Errorf("output %q: not a file name", name)
		}
		return target{name: name, path: filepath.FromSlash(u.Path)}, nil
	case SchemeS3, SchemeGCS, SchemeAzure:
		key := strings.TrimPrefix(u.Path, "/")
		switch {
		case u.Host == "":
			return target{}, fmt.Errorf("output %q: no bucket: use %s://bucket/key", name, scheme)
		case key == "" || strings.HasSuffix(key, "/"):
			return target{}, fmt.Errorf("output %q: no object name after the bucket", name)
		}
		return target{name: name, scheme: scheme, bucket: u.Host, key: key, query: u.Query(), raw: u.RawQuery}, nil
	}
	return target{}, fmt.Errorf("output %q: unsupported scheme %q: use a path, file://, s3://, gs:// or azblob://", name, u.Scheme)
}

// hasDotDot reports whether a slash-separated path has a ".." element.
func hasDotDot(p string) bool {
	for _, e := range strings.Split(p, "/") {
		if e == ".." {
			return true
		}
	}
	return false
}

// redact removes a "user:password@" from a string that failed to parse as
// a URL.
func redact(s string) string {
	m := urlPrefix.FindString(s)
	rest := s[len(m):]
	end := strings.IndexAny(rest, "/?#")
	if end < 0 {
		end = len(rest)
	}
	if i := strings.LastIndexByte(rest[:end], '@'); i >= 0 {
		return m + "REDACTED@" + rest[i+1:]
	}
	return s
}

// fileDest is a Dest on a local File.
type fileDest struct {
	f    *File
	name string
	n    int64
	h    hash.Hash
}

var _ Dest = (*fileDest)(nil)

func (d *fileDest) Write(p []byte) (int, error) {
	n, err := d.f.Write(p)
	d.n += int64(n)
	d.h.Write(p[:n])
	return n, err
}

func (d *fileDest) Commit() error  { return d.f.Commit() }
func (d *fileDest) Abort() error   { return d.f.Abort() }
func (d *fileDest) Name() string   { return d.name }
func (d *fileDest) Size() int64    { return d.n }
func (d *fileDest) SHA256() string { return hex.EncodeToString(d.h.Sum(nil)) }

// LocalPath returns the local file path of target, a plain path or a
// file:// URL, and false for anything else (an object, "-", an invalid
// target).
func LocalPath(target string) (string, bool) {
	t, err := parseTarget(target)
	if err != nil || t.path == "" {
		return "", false
	}
	return t.path, true
}

// Remove deletes target, a path or a URL as for Open. A target that does
// not exist is not an error.
func Remove(ctx context.Context, target string, opts S3Options) error {
	t, err := parseTarget(target)
	if err != nil {
		return err
	}
	if t.path != "" {
		if err := os.Remove(t.path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		return nil
	}
	return removeBlob(ctx, t, opts)
}

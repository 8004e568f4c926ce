package dest

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/gofrs/flock"
)

// A Store keeps small files under one name each: a checkpoint's pages and
// records (exporter.Store). DirStore keeps them in a local directory,
// BlobStore under a prefix of object storage; both write a file whole or
// not at all, durably, before Write returns.

// ErrStoreBusy is returned by OpenDir when another process holds the
// directory.
var ErrStoreBusy = errors.New("another run is using it")

// DirStore is a Store in a local directory, which it holds locked
// (flock(2) on Unix, LockFileEx on Windows) from OpenDir to Close, so that
// two runs never share it; the lock goes with the process, so a killed
// run never leaves it held. Safe for concurrent use.
type DirStore struct {
	dir  string
	lock *flock.Flock
}

// OpenDir creates dir if need be, locks it and returns its Store; a dir
// another process holds is refused with ErrStoreBusy.
func OpenDir(dir string) (*DirStore, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	l := flock.New(filepath.Join(dir, "lock"))
	ok, err := l.TryLock()
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("%s: %w", dir, ErrStoreBusy)
	}
	return &DirStore{dir: dir, lock: l}, nil
}

// Dir is the store's directory.
func (s *DirStore) Dir() string { return s.dir }

// Read implements exporter.Store.
func (s *DirStore) Read(_ context.Context, name string) ([]byte, error) {
	return os.ReadFile(filepath.Join(s.dir, name))
}

// Write implements exporter.Store: a temporary file, fsync'd and renamed
// (Create).
func (s *DirStore) Write(_ context.Context, name string, data []byte) error {
	f, err := Create(filepath.Join(s.dir, name))
	if err != nil {
		return err
	}
	defer f.Abort()
	if _, err := f.Write(data); err != nil {
		return err
	}
	return f.Commit()
}

// List implements exporter.Store: the directory's files, but the lock and
// the temporary files of writes a killed run left.
func (s *DirStore) List(context.Context) ([]string, error) {
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range entries {
		if n := e.Name(); !e.IsDir() && n != "lock" && !strings.HasPrefix(n, ".") {
			names = append(names, n)
		}
	}
	return names, nil
}

// Remove implements exporter.Store.
func (s *DirStore) Remove(_ context.Context, name string) error {
	if err := os.Remove(filepath.Join(s.dir, name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// Close releases the lock; the files stay.
func (s *DirStore) Close() error {
	if s.lock == nil {
		return nil
	}
	err := s.lock.Unlock()
	s.lock = nil
	return err
}

// RemoveAll releases the lock and deletes the directory and every file
// in it (the lock first: Windows cannot remove an open file).
func (s *DirStore) RemoveAll() error {
	if err := s.Close(); err != nil {
		return err
	}
	return os.RemoveAll(s.dir)
}

// BlobStore is a Store under the "directory" URL of object storage
// (s3://bucket/prefix, gs://, azblob://): each file an object. It takes
// no lock: whoever opens it holds one all hosts share. Safe for
// concurrent use.
type BlobStore struct {
	dir  string
	opts S3Options
}

// NewBlobStore returns the Store under the directory URL dir.
func NewBlobStore(dir string, opts S3Options) *BlobStore {
	return &BlobStore{dir: dir, opts: opts}
}

// Dir is the store's directory URL.
func (s *BlobStore) Dir() string { return s.dir }

// Read implements exporter.Store.
func (s *BlobStore) Read(ctx context.Context, name string) ([]byte, error) {
	return ReadAll(ctx, JoinDir(s.dir, name), s.opts)
}

// Write implements exporter.Store.
func (s *BlobStore) Write(ctx context.Context, name string, data []byte) error {
	return WriteAll(ctx, JoinDir(s.dir, name), data, s.opts)
}

// List implements exporter.Store: the objects directly under the
// directory.
func (s *BlobStore) List(ctx context.Context) ([]string, error) {
	names, err := ListDir(ctx, s.dir, s.opts)
	if err != nil {
		return nil, err
	}
	out := names[:0]
	for _, n := range names {
		if n != "lock" && !strings.Contains(n, "/") && !strings.HasPrefix(n, ".") {
			out = append(out, n)
		}
	}
	return out, nil
}

// Remove implements exporter.Store.
func (s *BlobStore) Remove(ctx context.Context, name string) error {
	return Remove(ctx, JoinDir(s.dir, name), s.opts)
}

// RemoveAll deletes every object under the directory.
func (s *BlobStore) RemoveAll(ctx context.Context) error {
	return RemoveDir(ctx, s.dir, s.opts)
}

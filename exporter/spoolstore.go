package exporter

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/serpstat-export/serpstat-export/dest"
)

// remoteTimeout bounds one upload, download or listing of a remote spool
// (Checkpoint.Save has no context).
const remoteTimeout = 2 * time.Minute

// remoteSpool is where a Spool opened with OpenRemoteSpool keeps its
// files: object storage under a directory URL. The Spool works in a local
// cache directory as usual; every file it writes is uploaded before the
// write returns, so a page counts as done only once it is in the bucket,
// and the same export on another host resumes from it.
type remoteSpool struct {
	url  string
	opts dest.S3Options

	mu      sync.Mutex
	removed bool
}

// OpenRemoteSpool opens the spool at the directory URL dir (s3://bucket/
// prefix, gs://, azblob://) for the export key describes, as OpenSpool
// does for a local directory: its objects are copied to a local cache
// first, and every page saved later is uploaded before Save returns. It
// takes no lock: the caller must hold one that all hosts share (see
// package coord).
func OpenRemoteSpool(ctx context.Context, dir string, key any, opts dest.S3Options) (*Spool, error) {
	r := &remoteSpool{url: strings.TrimRight(dir, "/"), opts: opts}
	if i := strings.IndexByte(dir, '?'); i >= 0 {
		r.url = strings.TrimRight(dir[:i], "/") + dir[i:]
	}
	cache, err := os.MkdirTemp("", "serpstat-export-spool-")
	if err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	ok := false
	defer func() {
		if !ok {
			_ = os.RemoveAll(cache)
		}
	}()
	ctx, cancel := context.WithTimeout(ctx, remoteTimeout)
	defer cancel()
	names, err := dest.ListDir(ctx, r.url, opts)
	if err != nil {
		return nil, fmt.Errorf("spool %s: %w", r.url, err)
	}
	for _, n := range names {
		if n == "lock" || strings.Contains(n, "/") || strings.HasPrefix(n, ".") {
			continue
		}
		data, err := dest.ReadAll(ctx, dest.JoinDir(r.url, n), opts)
		if err != nil {
			return nil, fmt.Errorf("spool %s: %w", r.url, err)
		}
		if err := os.WriteFile(filepath.Join(cache, n), data, 0o644); err != nil {
			return nil, fmt.Errorf("spool: %w", err)
		}
	}
	s, err := OpenSpool(cache, key)
	if err != nil {
		return nil, err
	}
	s.remote = r
	if !slices.Contains(names, "state.json") {
		if err := s.push(filepath.Join(cache, "state.json")); err != nil {
			s.Close()
			return nil, err
		}
	}
	ok = true
	return s, nil
}

// RemoveRemoteSpool deletes the spool at the directory URL dir, if there
// is one. It refuses a directory that holds objects but no spool state,
// so a mistyped URL is never wiped.
func RemoveRemoteSpool(ctx context.Context, dir string, opts dest.S3Options) error {
	ctx, cancel := context.WithTimeout(ctx, remoteTimeout)
	defer cancel()
	names, err := dest.ListDir(ctx, dir, opts)
	if err != nil {
		return err
	}
	if len(names) == 0 {
		return nil
	}
	if !slices.Contains(names, "state.json") {
		return fmt.Errorf("%s is not a spool (no state.json): not removing it", dir)
	}
	return dest.RemoveDir(ctx, dir, opts)
}

// push uploads the file at path, which the spool has just written, when
// the spool is remote.
func (s *Spool) push(path string) error {
	root := s
	if s.root != nil {
		root = s.root
	}
	r := root.remote
	if r == nil {
		return nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), remoteTimeout)
	defer cancel()
	name := filepath.Base(path)
	if err := dest.WriteAll(ctx, dest.JoinDir(r.url, name), data, r.opts); err != nil {
		return fmt.Errorf("spool %s: %w", name, err)
	}
	return nil
}

// removeRemote deletes a remote spool's objects and its local cache.
func (s *Spool) removeRemote() error {
	r := s.remote
	r.mu.Lock()
	defer r.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), remoteTimeout)
	defer cancel()
	if err := dest.RemoveDir(ctx, r.url, r.opts); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	r.removed = true
	return os.RemoveAll(s.dir)
}

// remoteExists tells whether a remote spool was not removed.
func (r *remoteSpool) exists() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return !r.removed
}

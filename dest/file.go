package dest

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// File is a destination file committed atomically: bytes go to a temporary
// file beside the destination, named "."+base+".tmp-<random>", which Commit
// syncs and renames into place. Until then the destination is untouched; a
// reader sees the old file or the whole new one, never a part.
//
// Every format writes through a File; it is the one place where temporary
// names and renames are made. Use it as
//
//	f, err := dest.Create(path)
//	if err != nil { ... }
//	defer f.Abort() // removes the temporary file unless committed
//	... write to f ...
//	return f.Commit()
//
// Make one with Create; the zero value is not usable. A File is not safe
// for concurrent use.
type File struct {
	f    *os.File
	tmp  string // the temporary file's path
	path string // the destination
	done bool   // closed: committed or aborted
}

// Create creates the temporary file of a destination path, with mode 0644.
// If the destination's directory does not exist it is created, with its
// missing parents, with mode 0755.
func Create(path string) (*File, error) {
	dir, base := filepath.Split(path)
	if base == "" {
		return nil, fmt.Errorf("create %q: not a file name", path)
	}
	if dir == "" {
		dir = "."
	}
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("create %q: %w", path, err)
		}
	}
	f, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return nil, fmt.Errorf("create %q: %w", path, err)
	}
	// CreateTemp makes the file 0600; an export is as readable as a file
	// made by os.Create under the usual umask.
	if err := f.Chmod(0o644); err != nil {
		f.Close()
		os.Remove(f.Name())
		return nil, fmt.Errorf("create %q: %w", path, err)
	}
	return &File{f: f, tmp: f.Name(), path: path}, nil
}

// Write writes p to the temporary file, unbuffered.
func (f *File) Write(p []byte) (int, error) {
	if f.done {
		return 0, fmt.Errorf("write %q: %w", f.path, os.ErrClosed)
	}
	return f.f.Write(p)
}

// Name returns the destination path: the path given to Create, or the one
// given to CommitAs once it was called.
func (f *File) Name() string { return f.path }

// Commit syncs and closes the temporary file, renames it to the destination
// (replacing any file there) and syncs the directory so that the rename
// survives a crash. After an error the temporary file is still there for
// Abort to remove, unless the rename was done.
func (f *File) Commit() error { return f.CommitAs(f.path) }

// CommitAs is Commit to another path, which must be in the same file
// system; it is how a partial export is kept as <path>.partial. Name
// returns path from then on.
func (f *File) CommitAs(path string) error {
	if f.done {
		return fmt.Errorf("commit %q: %w", path, os.ErrClosed)
	}
	if err := f.f.Sync(); err != nil {
		return fmt.Errorf("commit %q: %w", path, err)
	}
	if err := f.f.Close(); err != nil && !errors.Is(err, os.ErrClosed) {
		return fmt.Errorf("commit %q: %w", path, err)
	}
	// os.Rename replaces path atomically on every system we build for:
	// rename(2) on Linux and macOS; on Windows, MoveFileEx with
	// MOVEFILE_REPLACE_EXISTING (Go's os.Rename since Go 1.5), a
	// metadata update on one NTFS volume, so a reader sees the old file or
	// the new one. Windows refuses it (an *os.LinkError, access denied)
	// while another program holds path open without FILE_SHARE_DELETE,
	// such as a spreadsheet showing the CSV: the temporary file is then
	// kept for Abort and the commit fails, the old file untouched.
	if err := os.Rename(f.tmp, path); err != nil {
		return fmt.Errorf("commit %q: %w", path, err)
	}
	f.done = true
	f.path = path
	if err := syncDir(filepath.Dir(path)); err != nil {
		return fmt.Errorf("commit %q: %w", path, err)
	}
	return nil
}

// Abort closes and removes the temporary file. It does nothing after a
// Commit or an Abort, so it can be deferred.
func (f *File) Abort() error {
	if f.done {
		return nil
	}
	f.done = true
	f.f.Close() // the file is thrown away: a close error tells nothing
	if err := os.Remove(f.tmp); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("abort %q: %w", f.path, err)
	}
	return nil
}

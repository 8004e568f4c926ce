package dest

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/gofrs/flock"
)

// ErrLocked is returned by LockPath when another process holds the lock.
var ErrLocked = errors.New("another run is writing it")

// PathLock is an exclusive, advisory lock on a local output path, held by
// one process at a time: a lock file "."+base+".lock" beside the path,
// locked with github.com/gofrs/flock (flock(2) on Unix, LockFileEx on
// Windows). The operating system drops the lock when the process dies, so
// a killed run never leaves it held; Unlock removes the lock file.
//
// While a run holds the lock of a path, no other run writes that path or
// its temporary files, so the temporary files of the path (see
// RemoveTemps) belong to no live run.
//
// Make one with LockPath. A PathLock is not safe for concurrent use.
type PathLock struct {
	fl   *flock.Flock
	path string // the lock file
	// made are the directories LockPath created, deepest first: Unlock
	// removes those still empty, so a run that wrote nothing there (an
	// incremental load with no new rows) leaves no empty directory.
	made []string
}

// LockFile is the lock file LockPath uses for path.
func LockFile(path string) string {
	dir, base := filepath.Split(path)
	return filepath.Join(dir, "."+base+".lock")
}

// LockPath takes the lock of a local output path without waiting: it
// fails with an error wrapping ErrLocked when another process holds it.
// The directory of path is created (with mode 0755) if it is missing, and
// removed again by Unlock if it is still empty then.
func LockPath(path string) (*PathLock, error) {
	lf := LockFile(path)
	var made []string
	for d := filepath.Dir(lf); ; d = filepath.Dir(d) {
		if _, err := os.Stat(d); !errors.Is(err, os.ErrNotExist) || filepath.Dir(d) == d {
			break
		}
		made = append(made, d)
	}
	if err := os.MkdirAll(filepath.Dir(lf), 0o755); err != nil {
		return nil, fmt.Errorf("lock %q: %w", path, err)
	}
	// Unlock removes the lock file before it releases the lock: a process
	// that opened the file just before the removal would lock a file that
	// is no longer under the name. After locking, check that the name
	// still refers to the locked file, else try again with the new one.
	for range 10 {
		fl := flock.New(lf)
		ok, err := fl.TryLock()
		if err != nil {
			return nil, fmt.Errorf("lock %q: %w", path, err)
		}
		if !ok {
			return nil, fmt.Errorf("%s: %w (its lock %s is held)", path, ErrLocked, lf)
		}
		held, herr := fl.Stat()
		named, nerr := os.Stat(lf)
		if herr == nil && nerr == nil && os.SameFile(held, named) {
			return &PathLock{fl: fl, path: lf, made: made}, nil
		}
		_ = fl.Close()
	}
	return nil, fmt.Errorf("%s: %w (its lock %s keeps changing)", path, ErrLocked, lf)
}

// Unlock removes the lock file and releases the lock. It does nothing on a
// nil PathLock or after the first call.
func (l *PathLock) Unlock() error {
	if l == nil || l.fl == nil {
		return nil
	}
	// Remove, then release (see LockPath). Windows refuses to remove a
	// file that is open; there it is removed after the release, when no
	// other run has opened it meanwhile, else left for a later run.
	rerr := os.Remove(l.path)
	err := l.fl.Close()
	if rerr != nil && !errors.Is(rerr, os.ErrNotExist) {
		_ = os.Remove(l.path)
	}
	for _, d := range l.made {
		if os.Remove(d) != nil {
			break // not empty: it holds what the run wrote
		}
	}
	l.fl = nil
	return err
}

// RemoveTemps removes the temporary files that Create made for path and
// that were never committed nor aborted: those of a killed run. Call it
// only while holding the path's lock (LockPath), so that no live run is
// writing them. When wild is not empty, each occurrence of it in path's
// base name matches any text: RemoveTemps("d/part-P.csv", "P") removes
// the temporary files of every part. It returns how many it removed.
func RemoveTemps(path, wild string) int {
	dir, base := filepath.Split(path)
	pattern := escapeGlob(base)
	if wild != "" {
		pattern = strings.ReplaceAll(pattern, escapeGlob(wild), "*")
	}
	stale, _ := filepath.Glob(filepath.Join(dir, "."+pattern+".tmp-*"))
	n := 0
	for _, f := range stale {
		if os.Remove(f) == nil {
			n++
		}
	}
	return n
}

// escapeGlob quotes the characters filepath.Match treats as special, as
// a class of one ("[*]"), which Match takes on every system (Windows has
// no backslash escape).
func escapeGlob(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch r {
		case '*', '?', '[', '\\':
			b.WriteByte('[')
			if r == '\\' && filepath.Separator != '\\' {
				b.WriteByte('\\')
			}
			b.WriteRune(r)
			b.WriteByte(']')
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

package lake

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/serpstat-export/serpstat-export/coord"
	"github.com/serpstat-export/serpstat-export/dest"
	"github.com/serpstat-export/serpstat-export/exporter"
	"github.com/serpstat-export/serpstat-export/pager"
	"github.com/serpstat-export/serpstat-export/serpstat"
)

// A query's checkpoint (its spool) lives in one place, decided here
// only: under --state-dir (a directory, or object storage), else next to
// the output file of a one-file export (.FILE.spool, or for several
// queries into that file .FILE.spools/QUERY.spool), else in
// .serpstat-export-state/ in the working directory. A local one is locked
// by the process that uses it; one on object storage by the coordinator's
// lock on the whole state dir (sharedLocks), which every host shares,
// taken before the run's first query.

// SpoolKey names an export for its spool: what decides which rows it
// holds. Budget, rate and workers may change between a run and its resume.
type SpoolKey struct {
	Method  string          `json:"method"`
	Params  serpstat.Params `json:"params"`
	MaxRows int             `json:"max_rows,omitempty"`
}

// spoolsSuffix ends the directory that holds the spools of several
// queries exported into one plain file (.FILE.spools/QUERY.spool).
const spoolsSuffix = ".spools"

// spool is a query's open checkpoint and where it is.
type spool struct {
	*exporter.Spool
	place   string // the directory or URL, for messages
	dir     *dest.DirStore
	blob    *dest.BlobStore
	removed bool
}

// close releases a local spool's lock; the pages stay.
func (s *spool) close() {
	if s != nil && s.dir != nil {
		_ = s.dir.Close()
	}
}

// remove deletes the spool: a finished export's, or one that holds
// nothing paid for.
func (s *spool) remove(ctx context.Context) error {
	s.removed = true
	if s.dir != nil {
		err := s.dir.RemoveAll()
		if parent := filepath.Dir(s.place); err == nil && strings.HasSuffix(parent, spoolsSuffix) {
			_ = os.Remove(parent) // the queries' spools of one file, once the last is gone
		}
		return err
	}
	return s.blob.RemoveAll(ctx)
}

func (s *spool) removeIfEmpty(ctx context.Context) {
	if s.Empty(ctx) {
		_ = s.remove(ctx)
	}
}

// RemoteState tells whether --state-dir is on object storage, where the
// coordinator's lock keeps two hosts out of one spool.
func (s *Settings) RemoteState() bool {
	return dest.IsURL(s.StateDir) && !strings.HasPrefix(strings.ToLower(s.StateDir), "file:")
}

// spoolPlace is where query q's spool lives, for the export key names.
func (s *Settings) spoolPlace(q string, key SpoolKey) string {
	single := !s.ManyQueries && len(s.Queries) <= 1
	switch {
	case s.StateDir != "" && single:
		return s.StateDir
	case s.RemoteState():
		return dest.JoinDir(s.StateDir, SafeValue(q)+".spool")
	case s.StateDir != "":
		return filepath.Join(s.StateDir, SafeValue(q)+".spool")
	}
	for _, o := range s.Out {
		if sp := (&outSpec{tmpl: o, stdout: o == "-"}); sp.plainFile() {
			d, base := filepath.Split(sp.tmpl)
			if len(s.Queries) > 1 {
				// Several queries into one file: a spool each, side by
				// side, kept until the file is committed.
				return filepath.Join(d, "."+base+spoolsSuffix, SafeValue(q)+".spool")
			}
			return filepath.Join(d, "."+base+".spool")
		}
	}
	if s.stdoutOnly() {
		// Nothing on disk names an export to stdout: its spool is named
		// by the export's key, so an export with other settings never
		// meets it (stdoutSpool).
		return filepath.Join(".serpstat-export-state", SafeValue(q)+"-"+key.hash()+".spool")
	}
	return filepath.Join(".serpstat-export-state", SafeValue(q)+".spool")
}

// stdoutOnly tells whether every output is stdout (--out -) and the spool
// has no --state-dir: its spool is named by the export's key.
func (s *Settings) stdoutOnly() bool {
	if s.StateDir != "" || len(s.Out) == 0 {
		return false
	}
	for _, o := range s.Out {
		if o != "-" {
			return false
		}
	}
	return true
}

// hash is a short name of the export k describes.
func (k SpoolKey) hash() string {
	data, _ := json.Marshal(k)
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:8])
}

// setAside renames the local spool at place out of the way
// (place.set-aside-UNIXNANO), for an export to stdout that found a spool
// of another export (or of another version) under its name: it is kept,
// not an error, and not in the way.
func setAside(place string) (string, error) {
	to := fmt.Sprintf("%s.set-aside-%d", place, time.Now().UnixNano())
	return to, os.Rename(place, to)
}

// openSpool opens query q's checkpoint for pager p: it takes the
// coordinator's lock on what is exported where first, when there is one
// (the run's own queries share it: the lock is the process's), and
// refuses a spool of another export, or one another run holds.
func (r *Run) openSpool(ctx context.Context, q string, p *pager.Pager) (*spool, error) {
	s := r.Settings
	key := SpoolKey{Method: p.Method().API, Params: p.Params(), MaxRows: s.MaxRows}
	if r.Lock != nil {
		if err := r.Lock(ctx, lockName(s, key)); err != nil {
			if le := (*coord.LockedError)(nil); errors.As(err, &le) {
				return nil, usagef("another run (%s) is exporting query %s to the same destination: wait for that run to end", le.Run(), q)
			}
			if errors.Is(err, coord.ErrLocked) {
				return nil, usagef("%v: another run is exporting query %s to the same destination; wait for it to end", err, q)
			}
			return nil, err
		}
	}
	place := s.spoolPlace(q, key)
	sp := &spool{place: place}
	var store exporter.Store
	if s.RemoteState() {
		sp.blob = dest.NewBlobStore(place, s.S3)
		if s.Restart {
			if err := removeRemote(ctx, sp.blob); err != nil {
				return nil, usagef("--restart: %v", err)
			}
		}
		store = sp.blob
	} else {
		if s.Restart {
			if err := removeLocal(place); err != nil {
				return nil, usagef("--restart: %v", err)
			}
		}
		d, err := dest.OpenDir(place)
		if errors.Is(err, dest.ErrStoreBusy) {
			return nil, usagef("another run is using the spool %v: wait for that run to end", err)
		}
		if err != nil {
			return nil, fmt.Errorf("spool: %w", err)
		}
		sp.dir, store = d, d
	}
	if s.RepairSpool {
		if err := r.repairSpool(ctx, q, sp, store, key); err != nil {
			sp.close()
			return nil, err
		}
	}
	x, err := exporter.OpenSpool(ctx, store, key)
	if errors.Is(err, exporter.ErrSpoolMismatch) && sp.dir != nil && s.stdoutOnly() {
		sp.close()
		to, rerr := setAside(place)
		if rerr != nil {
			return nil, fmt.Errorf("spool %s: %w; and it could not be set aside: %w", place, err, rerr)
		}
		r.logger().Info("a spool of another export to stdout was under this one's name: set aside", "query", q, "spool", to, "why", err)
		if sp.dir, err = dest.OpenDir(place); err != nil {
			return nil, fmt.Errorf("spool: %w", err)
		}
		store = sp.dir
		x, err = exporter.OpenSpool(ctx, store, key)
	}
	if err == nil {
		if err = x.CheckSpent(ctx); err != nil {
			x = nil
		}
	}
	if err != nil {
		sp.close()
		var dj *exporter.DamagedJournalError
		if errors.As(err, &dj) {
			return nil, damagedJournal(sp.file(dj.File), dj)
		}
		if errors.Is(err, exporter.ErrSpoolMismatch) {
			return nil, usagef("spool %s: %v; run with the same query flags to resume it, or add --restart to discard it", RedactURL(place), err)
		}
		return nil, fmt.Errorf("spool %s: %w", RedactURL(place), err)
	}
	sp.Spool = x
	return sp, nil
}

// removeLocal deletes the local spool in dir, if there is one. It refuses
// a directory that holds files but no spool state, so a mistyped path is
// never wiped, and one another run holds.
func removeLocal(dir string) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if len(entries) > 0 {
		if _, err := os.Stat(filepath.Join(dir, "state.json")); err != nil {
			return fmt.Errorf("%s is not a spool (no state.json): not removing it", dir)
		}
	}
	d, err := dest.OpenDir(dir)
	if err != nil {
		return err
	}
	return d.RemoveAll()
}

// removeRemote deletes the spool under a directory URL, if there is one;
// it refuses one that holds objects but no spool state.
func removeRemote(ctx context.Context, b *dest.BlobStore) error {
	names, err := b.List(ctx)
	if err != nil {
		return err
	}
	if len(names) == 0 {
		return nil
	}
	if !slices.Contains(names, "state.json") {
		return fmt.Errorf("%s is not a spool (no state.json): not removing it", RedactURL(b.Dir()))
	}
	return b.RemoveAll(ctx)
}

func removeSpool(ctx context.Context, log *slog.Logger, sp *spool) {
	if err := sp.remove(ctx); err != nil {
		log.Warn("could not remove the spool", "dir", RedactURL(sp.place), "error", err)
	}
}

// lockName names "this export to this destination" the same on every
// host: the query's spool key, and where its rows and checkpoint go. A
// URL is the same everywhere; a local path is qualified by the host.
func lockName(s Settings, key SpoolKey) string {
	host, _ := os.Hostname()
	local := func(p string) string {
		if abs, err := filepath.Abs(p); err == nil {
			p = abs
		}
		return "file://" + host + p
	}
	var dests []string
	for _, out := range s.Out {
		switch {
		case out == "-":
			wd, _ := os.Getwd()
			dests = append(dests, "stdout:"+local(wd))
		case dest.IsURL(out):
			dests = append(dests, RedactURL(out))
		default:
			dests = append(dests, local(out))
		}
	}
	switch {
	case s.StateDir == "":
	case s.RemoteState():
		dests = append(dests, "state:"+RedactURL(s.StateDir))
	default:
		dests = append(dests, "state:"+local(s.StateDir))
	}
	sort.Strings(dests)
	k, _ := json.Marshal(key)
	sum := sha256.Sum256(append(k, []byte(strings.Join(dests, "\n"))...))
	return "export:" + hex.EncodeToString(sum[:])
}

// RedactURL removes a password from a URL, for messages.
func RedactURL(s string) string {
	if !dest.IsURL(s) {
		return s
	}
	if u, err := url.Parse(s); err == nil {
		return u.Redacted()
	}
	return coord.Redact(s)
}

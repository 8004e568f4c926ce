package exporter

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/gofrs/flock"
	"github.com/serpstat-export/serpstat-export/dest"
	"github.com/serpstat-export/serpstat-export/pager"
	"github.com/serpstat-export/serpstat-export/serpstat"
)

// Checkpoint stores each page's answer durably as it arrives, so that a
// page paid for is never paid for again: a later run of the same export
// loads it instead of asking the API.
type Checkpoint interface {
	// Load returns page n, or nil when it is not stored.
	Load(n int) (*pager.Page, error)
	// Save stores a page durably; it counts as done only after Save.
	Save(p *pager.Page) error
	// Stored lists the pages stored before this run began.
	Stored() []int
}

// SliceCheckpoint is a Checkpoint that also keeps a sliced export: a
// checkpoint of its own for each slice, the probes' totals and the slice
// plan.
type SliceCheckpoint interface {
	Checkpoint
	pager.ProbeCache
	// Sub is the checkpoint of the slice with this key.
	Sub(key string) Checkpoint
	// SaveMeta stores v as JSON under name; LoadMeta reads it back and
	// tells whether it was there.
	SaveMeta(name string, v any) error
	LoadMeta(name string, v any) (bool, error)
}

// Ledger is a Checkpoint that also keeps what the export has spent in all
// its attempts, so a resume counts it against the budget.
type Ledger interface {
	// LoadSpent returns the credits earlier attempts committed (spent, or
	// reserved for a request that may have been billed) and how many
	// attempts there were.
	LoadSpent() (spent int64, attempts int, err error)
	// SaveSpent records the credits the export has committed in all,
	// durably, and that this attempt counts.
	SaveSpent(spent int64, attempts int) error
}

var _ Ledger = (*Spool)(nil)

// ErrSpoolMismatch is returned when a spool belongs to another export.
var ErrSpoolMismatch = errors.New("the spool belongs to a different export")

// ErrSpoolBusy is returned when another process holds the spool.
var ErrSpoolBusy = errors.New("another run is using the spool")

// ErrPageDamaged is returned by Load for a stored page that is not the
// page asked for: cut short, edited, or another page's (or another
// export's) content. The page is not trusted: the caller buys it again.
var ErrPageDamaged = errors.New("stored page is damaged")

var _ SliceCheckpoint = (*Spool)(nil)

// spoolVersion 3: rows are stored generically, a self-describing JSON
// array each (spoolrow.go); the pages of version 2 held getNewBacklinks
// objects and are refused.
const spoolVersion = 3

// spoolState is the spool's state.json: what export the pages belong to.
type spoolState struct {
	Version int             `json:"version"`
	Key     json.RawMessage `json:"key"`
}

// spoolPage is the first line of a page file; the rows follow, one NDJSON
// line each (the sink's encoder: much cheaper than encoding/json, on the
// hot path of every page).
type spoolPage struct {
	N       int                  `json:"n"`
	Page    int                  `json:"page"`
	Size    int                  `json:"size"`
	Billed  int64                `json:"billed"`
	Summary serpstat.SummaryInfo `json:"summary_info"`
	Rows    int                  `json:"rows"`
	// Repaired is the answer's invalid UTF-8 count.
	Repaired int `json:"repaired,omitempty"`
	// Intersect is the page's pager.Page.Intersect.
	Intersect map[string]string `json:"intersect,omitempty"`
	// Key names the export and the slice the page belongs to (a hash of
	// the spool's key and the slice), and Sum is the SHA-256 of the rows
	// that follow the header, so a page file that was cut short, edited
	// or copied from another page or export is never trusted.
	Key string `json:"key,omitempty"`
	Sum string `json:"sum,omitempty"`
}

// Spool is a Checkpoint in a directory: state.json names the export (its
// query params), and each page is a file written to a temporary name,
// fsync'd and renamed, so a page file is either whole or absent whatever
// moment the process dies at. Safe for concurrent use.
type Spool struct {
	dir    string
	prefix string       // "" for the query, "s-KEY-" for a slice
	pages  map[int]bool // pages stored when the spool was opened
	lock   *flock.Flock // held while the spool is open
	root   *Spool       // the spool a Sub belongs to; nil for the root
	remote *remoteSpool // object storage it is kept in (spoolstore.go); nil: local
	key    string       // what every page's header must name (spoolPage.Key)
}

// OpenSpool opens the spool in dir for the export key describes (any JSON
// value; its canonical form is compared). A new spool is created when dir
// does not exist; an existing one of another export is refused with
// ErrSpoolMismatch.
func OpenSpool(dir string, key any) (*Spool, error) {
	k, err := json.Marshal(key)
	if err != nil {
		return nil, fmt.Errorf("spool %s: %w", dir, err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	lock, err := lockDir(dir)
	if err != nil {
		return nil, err
	}
	s := &Spool{dir: dir, pages: map[int]bool{}, lock: lock, key: pageKey(k, "")}
	if err := s.open(k); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

func (s *Spool) open(k []byte) error {
	dir := s.dir
	statePath := filepath.Join(dir, "state.json")
	data, err := os.ReadFile(statePath)
	switch {
	case errors.Is(err, os.ErrNotExist):
		st, _ := json.Marshal(spoolState{Version: spoolVersion, Key: k})
		if err := writeFileSync(statePath, st); err != nil {
			return fmt.Errorf("spool: %w", err)
		}
		return nil
	case err != nil:
		return fmt.Errorf("spool: %w", err)
	}
	var st spoolState
	if err := json.Unmarshal(data, &st); err != nil || st.Version != spoolVersion {
		return fmt.Errorf("%w: %s/state.json is not a spool state of this version", ErrSpoolMismatch, dir)
	}
	if !jsonEqual(st.Key, k) {
		return fmt.Errorf("%w: %s was made for %s, this run is %s", ErrSpoolMismatch, dir, st.Key, k)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	s.scan(entries)
	return nil
}

func (s *Spool) scan(entries []os.DirEntry) {
	for _, e := range entries {
		name := e.Name()
		if n, ok := strings.CutPrefix(name, s.prefix+"page-"); ok {
			if n, ok := strings.CutSuffix(n, ".json"); ok {
				if v, err := strconv.Atoi(n); err == nil {
					s.pages[v] = true
				}
			}
		}
	}
}

// Sub returns the checkpoint of the slice with this key, in the same
// directory. Its lock is the spool's.
func (s *Spool) Sub(key string) Checkpoint {
	sub := &Spool{dir: s.dir, prefix: "s-" + key + "-", pages: map[int]bool{}, root: s, key: pageKey([]byte(s.key), key)}
	if entries, err := os.ReadDir(s.dir); err == nil {
		sub.scan(entries)
	}
	return sub
}

// SaveMeta implements SliceCheckpoint.
func (s *Spool) SaveMeta(name string, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("spool %s: %w", name, err)
	}
	path := filepath.Join(s.dir, "meta-"+name+".json")
	if err := writeFileSync(path, data); err != nil {
		return err
	}
	return s.push(path)
}

// LoadMeta implements SliceCheckpoint.
func (s *Spool) LoadMeta(name string, v any) (bool, error) {
	data, err := os.ReadFile(filepath.Join(s.dir, "meta-"+name+".json"))
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if err := json.Unmarshal(data, v); err != nil {
		return false, fmt.Errorf("spool %s: %w", name, err)
	}
	return true, nil
}

// spoolCredits is the spool's credits.json.
type spoolCredits struct {
	Spent    int64 `json:"spent"`
	Attempts int   `json:"attempts"`
}

// LoadSpent implements Ledger.
func (s *Spool) LoadSpent() (int64, int, error) {
	var c spoolCredits
	data, err := os.ReadFile(filepath.Join(s.dir, "credits.json"))
	if errors.Is(err, os.ErrNotExist) {
		return 0, 0, nil
	}
	if err != nil {
		return 0, 0, fmt.Errorf("spool credits: %w", err)
	}
	if err := json.Unmarshal(data, &c); err != nil {
		return 0, 0, fmt.Errorf("spool %s/credits.json: %w: delete it, or pass --restart", s.dir, err)
	}
	return c.Spent, c.Attempts, nil
}

// SaveSpent implements Ledger: credits.json, written to a temporary name,
// fsync'd and renamed.
func (s *Spool) SaveSpent(spent int64, attempts int) error {
	data, _ := json.Marshal(spoolCredits{Spent: spent, Attempts: attempts})
	path := filepath.Join(s.dir, "credits.json")
	if err := writeFileSync(path, data); err != nil {
		return fmt.Errorf("spool credits: %w", err)
	}
	return s.push(path)
}

// Total implements pager.ProbeCache.
func (s *Spool) Total(key string) (int, bool) {
	var t int
	ok, err := s.LoadMeta("probe-"+key, &t)
	return t, ok && err == nil
}

// SetTotal implements pager.ProbeCache: the total, and the probe's page as
// the slice's page 1 when it was fetched at full size.
func (s *Spool) SetTotal(key string, total int, first *pager.Page) error {
	if first != nil {
		if err := s.Sub(key).Save(first); err != nil {
			return err
		}
	}
	return s.SaveMeta("probe-"+key, total)
}

func jsonEqual(a, b []byte) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return bytes.Equal(a, b)
	}
	ja, _ := json.Marshal(x)
	jb, _ := json.Marshal(y)
	return bytes.Equal(ja, jb)
}

// Dir is the spool's directory, or its URL when it is remote.
func (s *Spool) Dir() string {
	if s.remote != nil {
		return s.remote.url
	}
	return s.dir
}

// Stored lists the pages that were stored when the spool was opened.
func (s *Spool) Stored() []int {
	out := make([]int, 0, len(s.pages))
	for n := range s.pages {
		out = append(out, n)
	}
	sort.Ints(out)
	return out
}

func (s *Spool) path(n int) string {
	return filepath.Join(s.dir, fmt.Sprintf("%spage-%06d.json", s.prefix, n))
}

// Load implements Checkpoint. A stored page that fails its checks (its
// number, the export's key, the rows' checksum and count) is returned as
// an error wrapping ErrPageDamaged, never as a page.
func (s *Spool) Load(n int) (*pager.Page, error) {
	if !s.pages[n] {
		return nil, nil
	}
	data, err := os.ReadFile(s.path(n))
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("spool page %d: %w: the file is gone", n, ErrPageDamaged)
	}
	if err != nil {
		return nil, fmt.Errorf("spool page %d: %w", n, err)
	}
	damaged := func(why string, args ...any) error {
		return fmt.Errorf("spool page %d: %w: %s", n, ErrPageDamaged, fmt.Sprintf(why, args...))
	}
	head, body, _ := bytes.Cut(data, []byte("\n"))
	var sp spoolPage
	if err := json.Unmarshal(head, &sp); err != nil {
		return nil, damaged("its header does not decode (%v)", err)
	}
	switch {
	case sp.N != n:
		return nil, damaged("it holds page %d", sp.N)
	case sp.Key != s.key:
		return nil, damaged("it belongs to another export or slice")
	case sp.Sum != checksum(body):
		return nil, damaged("its rows do not match their checksum (cut short or edited)")
	}
	rows := make([]serpstat.Row, 0, sp.Rows)
	for len(body) > 0 {
		var line []byte
		line, body, _ = bytes.Cut(body, []byte("\n"))
		r, err := parseSpoolRow(line)
		if err != nil {
			return nil, damaged("row %d does not decode (%v)", len(rows)+1, err)
		}
		rows = append(rows, r)
	}
	if len(rows) != sp.Rows {
		return nil, damaged("%d rows, the header says %d", len(rows), sp.Rows)
	}
	return &pager.Page{N: sp.N, Page: sp.Page, Size: sp.Size, Rows: rows, Summary: sp.Summary, Billed: sp.Billed, Repaired: sp.Repaired, Intersect: sp.Intersect, Spooled: true}, nil
}

// pageKey is what a page header names: a short hash of the spool's key and
// the slice's.
func pageKey(spoolKey []byte, slice string) string {
	h := sha256.New()
	h.Write(spoolKey)
	h.Write([]byte{0})
	h.Write([]byte(slice))
	return hex.EncodeToString(h.Sum(nil)[:12])
}

func checksum(body []byte) string {
	sum := sha256.Sum256(body)
	return hex.EncodeToString(sum[:])
}

// Save implements Checkpoint.
func (s *Spool) Save(p *pager.Page) error {
	body := make([]byte, 0, len(p.Rows)*400)
	for i := range p.Rows {
		body = append(appendSpoolRow(body, &p.Rows[i]), '\n')
	}
	head, err := json.Marshal(spoolPage{N: p.N, Page: p.Page, Size: p.Size, Billed: p.Billed, Summary: p.Summary, Rows: len(p.Rows), Repaired: p.Repaired, Intersect: p.Intersect, Key: s.key, Sum: checksum(body)})
	if err != nil {
		return fmt.Errorf("spool page %d: %w", p.N, err)
	}
	data := make([]byte, 0, len(head)+1+len(body))
	data = append(append(append(data, head...), '\n'), body...)
	if err := writeFileSync(s.path(p.N), data); err != nil {
		return fmt.Errorf("spool page %d: %w", p.N, err)
	}
	return s.push(s.path(p.N))
}

// Remove deletes the spool; a finished export calls it. It releases the
// lock first (Windows cannot remove an open file).
func (s *Spool) Remove() error {
	if s.root == nil && s.lock != nil {
		_ = s.lock.Unlock()
		s.lock = nil
	}
	if s.remote != nil {
		return s.removeRemote()
	}
	return os.RemoveAll(s.dir)
}

// RemoveIfEmpty deletes the spool when it holds no page and records no
// credit spent: a run that failed before paying for anything leaves
// nothing behind.
func (s *Spool) RemoveIfEmpty() {
	matches, _ := filepath.Glob(filepath.Join(s.dir, "*page-*.json"))
	if spent, _, err := s.LoadSpent(); len(matches) == 0 && err == nil && spent == 0 {
		_ = s.Remove()
	}
}

// Exists reports whether the spool's directory is still there.
func (s *Spool) Exists() bool {
	if s.remote != nil {
		return s.remote.exists()
	}
	_, err := os.Stat(filepath.Join(s.dir, "state.json"))
	return err == nil
}

// Close releases the spool's lock; the pages stay.
func (s *Spool) Close() error {
	if s == nil || s.lock == nil || s.root != nil {
		return nil
	}
	err := s.lock.Unlock()
	s.lock = nil
	if s.remote != nil {
		// The local copy of a remote spool is only a cache.
		_ = os.RemoveAll(s.dir)
	}
	return err
}

// RemoveSpool deletes the spool in dir, if there is one. It refuses a
// directory that holds files but no spool state, so a mistyped path is
// never wiped.
func RemoveSpool(dir string) error {
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
	lock, err := lockDir(dir)
	if err != nil {
		return err
	}
	// Windows cannot remove an open file: release the lock first. Another
	// run taking the spool in between finds it gone or half gone, and its
	// own state check refuses what is left.
	if err := lock.Unlock(); err != nil {
		return err
	}
	return os.RemoveAll(dir)
}

// lockDir takes an exclusive, non-blocking lock on dir/lock: flock(2) on
// Unix, LockFileEx on Windows (github.com/gofrs/flock, so every platform
// builds); the lock goes with the process, so a killed run never leaves
// it held.
func lockDir(dir string) (*flock.Flock, error) {
	l := flock.New(filepath.Join(dir, "lock"))
	ok, err := l.TryLock()
	if err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	if !ok {
		return nil, fmt.Errorf("%w %s", ErrSpoolBusy, dir)
	}
	return l, nil
}

// writeFileSync writes data to path atomically and durably, through the
// one place that makes temporary names and renames (dest.File).
func writeFileSync(path string, data []byte) error {
	f, err := dest.Create(path)
	if err != nil {
		return err
	}
	defer f.Abort()
	if _, err := f.Write(data); err != nil {
		return err
	}
	return f.Commit()
}

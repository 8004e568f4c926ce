package exporter

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/serpstat-export/serpstat-export/pager"
	"github.com/serpstat-export/serpstat-export/serpstat"
)

// spoolVersion 3: rows are stored generically, a self-describing JSON
// array each (spoolrow.go); the pages of version 2 held getNewBacklinks
// objects and are refused. Pages were named by their number in the plan
// (page-000002.json) before they were named by their step
// (page-000001000-1000.json); both are read.
const spoolVersion = 3

// spoolState is the spool's state.json: what export the pages belong to.
type spoolState struct {
	Version int             `json:"version"`
	Key     json.RawMessage `json:"key"`
}

// spoolPage is the first line of a page file; the rows follow, one JSON
// array a line (spoolrow.go).
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
	// Key names the export and the part the page belongs to (a hash of
	// the spool's key and the part), and Sum is the SHA-256 of the rows
	// that follow the header, so a page file that was cut short, edited
	// or copied from another page or export is never trusted.
	Key string `json:"key,omitempty"`
	Sum string `json:"sum,omitempty"`
}

// rawHead is the first line of a raw answer's file; the answer follows.
type rawHead struct {
	N      int   `json:"n"`
	Page   int   `json:"page"`
	Size   int   `json:"size"`
	Billed int64 `json:"billed"`
}

// spoolCredits is the spool's credits.json.
type spoolCredits struct {
	Spent    int64 `json:"spent"`
	Attempts int   `json:"attempts"`
}

type pageRef struct {
	part string
	st   pager.Step
}

// Spool is a Checkpoint kept in a Store: state.json names the export (its
// key), credits.json what it spent, and each page is a file the Store
// writes whole or not at all, so a page file is either whole or absent
// whatever moment the process dies at. Where the Store is, and the lock
// that keeps two runs out of it, are its owner's. Safe for concurrent
// use.
type Spool struct {
	st  Store
	key []byte // the export's key, canonical JSON

	mu    sync.Mutex
	pages map[pageRef]string // stored pages: their file names
	raws  map[pageRef]string // stored raw answers
	names []string           // every file, when opened
}

var _ Checkpoint = (*Spool)(nil)

// OpenSpool opens the spool kept in st for the export key describes (any
// JSON value; its canonical form is compared). An empty store becomes a
// new spool; one of another export is refused with ErrSpoolMismatch.
func OpenSpool(ctx context.Context, st Store, key any) (*Spool, error) {
	k, err := json.Marshal(key)
	if err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	s := &Spool{st: st, key: k, pages: map[pageRef]string{}, raws: map[pageRef]string{}}
	data, err := st.Read(ctx, "state.json")
	switch {
	case errors.Is(err, fs.ErrNotExist):
		state, _ := json.Marshal(spoolState{Version: spoolVersion, Key: k})
		if err := st.Write(ctx, "state.json", state); err != nil {
			return nil, fmt.Errorf("spool: %w", err)
		}
		return s, nil
	case err != nil:
		return nil, fmt.Errorf("spool: %w", err)
	}
	var state spoolState
	if err := json.Unmarshal(data, &state); err != nil {
		return nil, &DamagedJournalError{File: stateFile, Err: err}
	}
	if state.Version != spoolVersion {
		return nil, fmt.Errorf("%w: its state.json is not a spool state of this version", ErrSpoolMismatch)
	}
	if !jsonEqual(state.Key, k) {
		return nil, fmt.Errorf("%w: it was made for %s, this run is %s", ErrSpoolMismatch, state.Key, k)
	}
	names, err := st.List(ctx)
	if err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	s.names = names
	for _, name := range names {
		if err := s.scan(ctx, name); err != nil {
			return nil, err
		}
	}
	if err := s.checkJournal(ctx, false); err != nil {
		return nil, err
	}
	return s, nil
}

// partPrefix is what the files of a part's pages start with.
func partPrefix(part string) string {
	if part == "" {
		return ""
	}
	return "s-" + part + "-"
}

func pageName(part string, st pager.Step) string {
	return fmt.Sprintf("%spage-%09d-%d.json", partPrefix(part), st.Offset(), st.Size)
}

func rawName(part string, st pager.Step) string {
	return fmt.Sprintf("%srawpage-%09d-%d.json", partPrefix(part), st.Offset(), st.Size)
}

// scan records a stored page or raw answer named name. Pages named by
// their number (older versions) are read to learn their step.
func (s *Spool) scan(ctx context.Context, name string) error {
	base, ok := strings.CutSuffix(name, ".json")
	if !ok || strings.HasPrefix(name, ".") {
		return nil
	}
	part := ""
	if rest, ok := strings.CutPrefix(base, "s-"); ok {
		i := strings.LastIndex(rest, "-page-")
		j := strings.LastIndex(rest, "-rawpage-")
		switch {
		case i >= 0:
			part, base = rest[:i], rest[i+1:]
		case j >= 0:
			part, base = rest[:j], rest[j+1:]
		default:
			return nil
		}
	}
	raw := false
	if b, ok := strings.CutPrefix(base, "rawpage-"); ok {
		raw, base = true, b
	} else if b, ok := strings.CutPrefix(base, "page-"); ok {
		base = b
	} else {
		return nil
	}
	var st pager.Step
	if off, size, ok := strings.Cut(base, "-"); ok {
		o, err1 := strconv.Atoi(off)
		sz, err2 := strconv.Atoi(size)
		if err1 != nil || err2 != nil || sz < 1 || o%sz != 0 {
			return nil
		}
		st = pager.StepAt(o, sz)
	} else {
		if _, err := strconv.Atoi(base); err != nil {
			return nil
		}
		data, err := s.st.Read(ctx, name)
		if err != nil {
			return fmt.Errorf("spool %s: %w", name, err)
		}
		head, _, _ := bytes.Cut(data, []byte("\n"))
		var h rawHead
		if json.Unmarshal(head, &h) != nil || h.Page < 1 || h.Size < 1 {
			return nil // damaged: as good as absent, bought again
		}
		st = pager.Step{Page: h.Page, Size: h.Size}
	}
	if raw {
		s.raws[pageRef{part, st}] = name
	} else {
		s.pages[pageRef{part, st}] = name
	}
	return nil
}

// Stored implements Checkpoint: every stored page of part, those saved
// since the spool was opened included.
func (s *Spool) Stored(part string) []pager.Step {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []pager.Step
	for r := range s.pages {
		if r.part == part {
			out = append(out, r.st)
		}
	}
	slices.SortFunc(out, func(a, b pager.Step) int {
		if a.Offset() != b.Offset() {
			return a.Offset() - b.Offset()
		}
		return a.Size - b.Size
	})
	return out
}

// Load implements Checkpoint. A stored page that fails its checks (its
// step, the export's and part's key, the rows' checksum and count) is
// returned as an error wrapping ErrPageDamaged, never as a page.
func (s *Spool) Load(ctx context.Context, part string, st pager.Step) (*pager.Page, error) {
	s.mu.Lock()
	name, ok := s.pages[pageRef{part, st}]
	s.mu.Unlock()
	if !ok {
		return nil, nil
	}
	data, err := s.st.Read(ctx, name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("spool page %s: %w: the file is gone", name, ErrPageDamaged)
	}
	if err != nil {
		return nil, fmt.Errorf("spool page %s: %w", name, err)
	}
	damaged := func(why string, args ...any) error {
		return fmt.Errorf("spool page %s: %w: %s", name, ErrPageDamaged, fmt.Sprintf(why, args...))
	}
	head, body, _ := bytes.Cut(data, []byte("\n"))
	var sp spoolPage
	if err := json.Unmarshal(head, &sp); err != nil {
		return nil, damaged("its header does not decode (%v)", err)
	}
	switch {
	case sp.Page != st.Page || sp.Size != st.Size:
		return nil, damaged("it holds page %d of size %d", sp.Page, sp.Size)
	case sp.Key != s.pageKey(part):
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
	return &pager.Page{N: sp.N, Step: st, Rows: rows, Summary: sp.Summary, Billed: sp.Billed, Repaired: sp.Repaired, Intersect: sp.Intersect, Spooled: true}, nil
}

// pageKey is what a page header names: a short hash of the spool's key and
// the part's (the slice's key; "" for the query).
func (s *Spool) pageKey(part string) string {
	if part == "" {
		return pageKeyBase(s.key)
	}
	h := sha256.New()
	h.Write([]byte(pageKeyBase(s.key)))
	h.Write([]byte{0})
	h.Write([]byte(part))
	return hex.EncodeToString(h.Sum(nil)[:12])
}

// pageKeyBase is the hash of the spool's key a part's key is hashed with.
func pageKeyBase(k []byte) string {
	h := sha256.New()
	h.Write(k)
	h.Write([]byte{0})
	return hex.EncodeToString(h.Sum(nil)[:12])
}

func checksum(body []byte) string {
	sum := sha256.Sum256(body)
	return hex.EncodeToString(sum[:])
}

// Save implements Checkpoint.
func (s *Spool) Save(ctx context.Context, part string, p *pager.Page) error {
	body := make([]byte, 0, len(p.Rows)*400)
	for i := range p.Rows {
		body = append(appendSpoolRow(body, &p.Rows[i]), '\n')
	}
	head, err := json.Marshal(spoolPage{N: p.N, Page: p.Page, Size: p.Size, Billed: p.Billed, Summary: p.Summary, Rows: len(p.Rows), Repaired: p.Repaired, Intersect: p.Intersect, Key: s.pageKey(part), Sum: checksum(body)})
	if err != nil {
		return fmt.Errorf("spool page %d: %w", p.N, err)
	}
	data := make([]byte, 0, len(head)+1+len(body))
	data = append(append(append(data, head...), '\n'), body...)
	name := pageName(part, p.Step)
	if err := s.st.Write(ctx, name, data); err != nil {
		return fmt.Errorf("spool page %d: %w", p.N, err)
	}
	s.mu.Lock()
	s.pages[pageRef{part, p.Step}] = name
	s.mu.Unlock()
	s.removeRaw(ctx, part, p.Step)
	return nil
}

// SaveRaw implements Checkpoint.
func (s *Spool) SaveRaw(ctx context.Context, part string, st pager.Step, billed int64, raw []byte) error {
	head, err := json.Marshal(rawHead{Page: st.Page, Size: st.Size, Billed: billed})
	if err != nil {
		return err
	}
	name := rawName(part, st)
	if err := s.st.Write(ctx, name, append(append(head, '\n'), raw...)); err != nil {
		return fmt.Errorf("spool raw answer of page %d: %w", st.Page, err)
	}
	s.mu.Lock()
	s.raws[pageRef{part, st}] = name
	s.mu.Unlock()
	return nil
}

// LoadRaw implements Checkpoint.
func (s *Spool) LoadRaw(ctx context.Context, part string, st pager.Step) ([]byte, int64, bool, error) {
	s.mu.Lock()
	name, ok := s.raws[pageRef{part, st}]
	s.mu.Unlock()
	if !ok {
		return nil, 0, false, nil
	}
	data, err := s.st.Read(ctx, name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, 0, false, nil
	}
	if err != nil {
		return nil, 0, false, err
	}
	line, body, _ := bytes.Cut(data, []byte("\n"))
	var h rawHead
	if err := json.Unmarshal(line, &h); err != nil {
		return nil, 0, false, fmt.Errorf("spool raw answer %s: %w", name, err)
	}
	return body, h.Billed, true, nil
}

// removeRaw deletes a raw answer once its page is saved.
func (s *Spool) removeRaw(ctx context.Context, part string, st pager.Step) {
	s.mu.Lock()
	name, ok := s.raws[pageRef{part, st}]
	delete(s.raws, pageRef{part, st})
	s.mu.Unlock()
	if ok {
		_ = s.st.Remove(ctx, name)
	}
}

// SaveMeta implements Checkpoint.
func (s *Spool) SaveMeta(ctx context.Context, name string, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("spool %s: %w", name, err)
	}
	return s.st.Write(ctx, "meta-"+name+".json", data)
}

// LoadMeta implements Checkpoint.
func (s *Spool) LoadMeta(ctx context.Context, name string, v any) (bool, error) {
	data, err := s.st.Read(ctx, "meta-"+name+".json")
	if errors.Is(err, fs.ErrNotExist) {
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

// Total implements pager.ProbeCache.
func (s *Spool) Total(ctx context.Context, key string) (int, bool) {
	var t int
	ok, err := s.LoadMeta(ctx, "probe-"+key, &t)
	return t, ok && err == nil
}

// SetTotal implements pager.ProbeCache.
func (s *Spool) SetTotal(ctx context.Context, key string, total int) error {
	return s.SaveMeta(ctx, "probe-"+key, total)
}

// ErrSpentUnreadable is returned when the record of what an export spent
// is damaged: trusting it less than it says could spend past --budget, so
// the run stops until it is dealt with.
var ErrSpentUnreadable = errors.New("the spool's record of the credits spent is damaged")

// LoadSpent implements Checkpoint.
func (s *Spool) LoadSpent(ctx context.Context) (int64, int, error) {
	var c spoolCredits
	data, err := s.st.Read(ctx, "credits.json")
	if errors.Is(err, fs.ErrNotExist) {
		return 0, 0, nil
	}
	if err != nil {
		return 0, 0, fmt.Errorf("spool credits: %w", err)
	}
	if err := json.Unmarshal(data, &c); err != nil {
		return 0, 0, &DamagedJournalError{File: creditsFile, Err: err}
	}
	return c.Spent, c.Attempts, nil
}

// SaveSpent implements Checkpoint: credits.json, written whole.
func (s *Spool) SaveSpent(ctx context.Context, spent int64, attempts int) error {
	data, _ := json.Marshal(spoolCredits{Spent: spent, Attempts: attempts})
	if err := s.st.Write(ctx, "credits.json", data); err != nil {
		return fmt.Errorf("spool credits: %w", err)
	}
	return nil
}

// Empty tells whether the spool holds no page and records no credit
// spent: a run that failed before paying for anything can remove it.
func (s *Spool) Empty(ctx context.Context) bool {
	s.mu.Lock()
	n := len(s.pages) + len(s.raws)
	s.mu.Unlock()
	spent, _, err := s.LoadSpent(ctx)
	return n == 0 && err == nil && spent == 0
}

// Remove deletes every file of the spool; the Store's owner removes the
// place itself.
func (s *Spool) Remove(ctx context.Context) error {
	names, err := s.st.List(ctx)
	if err != nil {
		return err
	}
	// state.json last: a spool interrupted while removed is still a spool.
	slices.SortStableFunc(names, func(a, b string) int {
		switch {
		case a == "state.json":
			return 1
		case b == "state.json":
			return -1
		}
		return 0
	})
	for _, n := range names {
		if err := s.st.Remove(ctx, n); err != nil {
			return err
		}
	}
	return nil
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

package exporter

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"regexp"
	"strconv"
	"strings"
)

// A spool's journal is its state.json (what export its pages belong to)
// and its credits.json (what the export spent, over every attempt: the
// record --budget counts from). When one cannot be read, the spool is not
// trusted and not ignored either: ignoring or deleting credits.json would
// forget what was spent, and a resume could spend past --budget.
// RepairSpool rebuilds them from what can be read.

// DamagedJournalError is a spool's journal file that cannot be read:
// state.json, or credits.json (also when it is missing while pages are
// kept: the spend they prove is not recorded). It matches
// ErrSpentUnreadable for credits.json.
type DamagedJournalError struct {
	File string // "state.json" or "credits.json"
	Err  error
}

func (e *DamagedJournalError) Error() string {
	return fmt.Sprintf("the spool's %s is damaged (%v)", e.File, e.Err)
}

func (e *DamagedJournalError) Unwrap() error { return e.Err }

// Is makes a damaged credits.json match ErrSpentUnreadable.
func (e *DamagedJournalError) Is(target error) bool {
	return target == ErrSpentUnreadable && e.File == creditsFile
}

const (
	stateFile   = "state.json"
	creditsFile = "credits.json"
	// DamagedSuffix ends the name a damaged journal file is kept under
	// by RepairSpool: credits.json.damaged.
	DamagedSuffix = ".damaged"
)

// CheckSpent tells whether the spool's record of the credits spent is
// whole: an error *DamagedJournalError when credits.json does not decode
// (OpenSpool checks that much), or is missing while the spool holds
// pages, which an Exporter's spool never is (it records the credits
// before it sends the request whose page it keeps): the file was deleted.
func (s *Spool) CheckSpent(ctx context.Context) error { return s.checkJournal(ctx, true) }

// checkJournal reads the credits record of an opened spool: an error
// *DamagedJournalError when it does not decode, or (strict) is missing
// while the spool holds pages.
func (s *Spool) checkJournal(ctx context.Context, strict bool) error {
	data, err := s.st.Read(ctx, creditsFile)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		s.mu.Lock()
		n := len(s.pages) + len(s.raws)
		s.mu.Unlock()
		if strict && n > 0 {
			return &DamagedJournalError{File: creditsFile, Err: errors.New("it is missing while the spool holds pages paid for")}
		}
		return nil
	case err != nil:
		return fmt.Errorf("spool credits: %w", err)
	}
	var c spoolCredits
	if err := json.Unmarshal(data, &c); err != nil {
		return &DamagedJournalError{File: creditsFile, Err: err}
	}
	return nil
}

// Repair is what RepairSpool did.
type Repair struct {
	// Files are the journal files rebuilt; each damaged one is kept
	// beside it as NAME.damaged.
	Files []string
	// Spent is the credits the rebuilt credits.json records: the larger
	// of what the damaged file still says and what the spool proves.
	Spent int64
	// Proven is the credits the pages, raw answers and probes kept in
	// the spool were billed (a probe counts 1).
	Proven int64
	// Readable is what the damaged credits.json still said, -1 when
	// nothing could be read of it.
	Readable int64
}

var (
	reSpent    = regexp.MustCompile(`"spent"\s*:\s*(\d+)`)
	reAttempts = regexp.MustCompile(`"attempts"\s*:\s*(\d+)`)
)

// RepairSpool rebuilds the journal of the spool kept in st for the export
// key describes, when it is damaged: a state.json that does not decode is
// written again for key (pages of another export then fail their checks
// and are bought again, never trusted); a credits.json that does not
// decode, or is missing while pages are kept, is written again with the
// credits spent counted no lower than is provable: the larger of what
// the damaged file still says and what the pages, raw answers and probes
// kept were billed. Each damaged file is kept as NAME.damaged. It returns
// nil when the journal was whole.
func RepairSpool(ctx context.Context, st Store, key any) (*Repair, error) {
	k, err := json.Marshal(key)
	if err != nil {
		return nil, err
	}
	rep := &Repair{Readable: -1}
	data, err := st.Read(ctx, stateFile)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return nil, err
	default:
		var state spoolState
		if json.Unmarshal(data, &state) != nil {
			if err := keepDamaged(ctx, st, stateFile, data); err != nil {
				return nil, err
			}
			state, _ := json.Marshal(spoolState{Version: spoolVersion, Key: k})
			if err := st.Write(ctx, stateFile, state); err != nil {
				return nil, err
			}
			rep.Files = append(rep.Files, stateFile)
		}
	}
	data, err = st.Read(ctx, creditsFile)
	missing := errors.Is(err, fs.ErrNotExist)
	if err != nil && !missing {
		return nil, err
	}
	var c spoolCredits
	if !missing && json.Unmarshal(data, &c) == nil {
		return done(rep), nil
	}
	names, err := st.List(ctx)
	if err != nil {
		return nil, err
	}
	proven, pages := int64(0), 0
	for _, name := range names {
		switch {
		case strings.HasPrefix(name, "meta-probe-"):
			proven++
		case strings.Contains(name, "page-") && strings.HasSuffix(name, ".json"):
			b, err := st.Read(ctx, name)
			if err != nil {
				continue
			}
			head, _, _ := bytes.Cut(b, []byte("\n"))
			var h rawHead // a page's header and a raw answer's both start so
			if json.Unmarshal(head, &h) == nil && h.Billed > 0 {
				proven += h.Billed
				pages++
			}
		}
	}
	if missing && pages == 0 {
		return done(rep), nil // nothing spent, nothing to record
	}
	c = spoolCredits{Spent: proven, Attempts: 1}
	if !missing {
		if m := reSpent.FindSubmatch(data); m != nil {
			if n, err := strconv.ParseInt(string(m[1]), 10, 64); err == nil {
				rep.Readable = n
				c.Spent = max(c.Spent, n)
			}
		}
		if m := reAttempts.FindSubmatch(data); m != nil {
			if n, err := strconv.Atoi(string(m[1])); err == nil {
				c.Attempts = max(c.Attempts, n)
			}
		}
		if err := keepDamaged(ctx, st, creditsFile, data); err != nil {
			return nil, err
		}
	}
	out, _ := json.Marshal(c)
	if err := st.Write(ctx, creditsFile, out); err != nil {
		return nil, err
	}
	rep.Files = append(rep.Files, creditsFile)
	rep.Spent, rep.Proven = c.Spent, proven
	return rep, nil
}

func done(rep *Repair) *Repair {
	if len(rep.Files) == 0 {
		return nil
	}
	return rep
}

// keepDamaged keeps a damaged journal file's bytes as NAME.damaged.
func keepDamaged(ctx context.Context, st Store, name string, data []byte) error {
	if err := st.Write(ctx, name+DamagedSuffix, data); err != nil {
		return fmt.Errorf("keep the damaged %s: %w", name, err)
	}
	return nil
}

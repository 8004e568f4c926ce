package exporter

import (
	"context"
	"errors"

	"github.com/serpstat-export/serpstat-export/pager"
)

// Checkpoint keeps what an export bought, durably, as it arrives, so that
// nothing paid for is paid for again: a later run of the same export
// loads it instead of asking the API. *Spool is the one implementation.
//
// A page is kept under its part (the query "", a slice's key, or a
// part's re-reads: its key and "~r") and its step (page and size, so its
// offset): a run plans the same steps again from the same answers, and
// finds them.
type Checkpoint interface {
	// Stored lists the steps of part that were stored when the
	// checkpoint was opened, in offset order.
	Stored(part string) []pager.Step
	// Load returns the page of part at st, or nil when it is not stored.
	// A stored page that is not what it should be (cut short, edited,
	// another page's) is an error wrapping ErrPageDamaged.
	Load(ctx context.Context, part string, st pager.Step) (*pager.Page, error)
	// Save stores a page of part durably; it counts as bought only after
	// Save. A raw answer kept for the same step (SaveRaw) goes.
	Save(ctx context.Context, part string, pg *pager.Page) error
	// SaveRaw keeps the raw answer of a page of a shape this version
	// could not read, billed credits; LoadRaw returns it.
	SaveRaw(ctx context.Context, part string, st pager.Step, billed int64, raw []byte) error
	LoadRaw(ctx context.Context, part string, st pager.Step) (raw []byte, billed int64, ok bool, err error)
	// The probes' totals (pager.ProbeCache).
	pager.ProbeCache
	// SaveMeta stores v as JSON under name; LoadMeta reads it back and
	// tells whether it was there.
	SaveMeta(ctx context.Context, name string, v any) error
	LoadMeta(ctx context.Context, name string, v any) (bool, error)
	// LoadSpent returns the credits earlier attempts committed (spent, or
	// reserved for a request that may have been billed) and how many
	// attempts there were; SaveSpent records the credits the export has
	// committed in all, durably, and that this attempt counts.
	LoadSpent(ctx context.Context) (spent int64, attempts int, err error)
	SaveSpent(ctx context.Context, spent int64, attempts int) error
}

// Store is where a Spool keeps its files: a local directory, or a prefix
// of object storage (package dest has both). Names are plain file names.
type Store interface {
	// Read returns the file's bytes; an error wrapping fs.ErrNotExist
	// when there is none.
	Read(ctx context.Context, name string) ([]byte, error)
	// Write stores the file whole or not at all, durably, before it
	// returns.
	Write(ctx context.Context, name string, data []byte) error
	// List names every file.
	List(ctx context.Context) ([]string, error)
	// Remove deletes a file; a missing one is no error.
	Remove(ctx context.Context, name string) error
}

// ErrSpoolMismatch is returned when a spool belongs to another export.
var ErrSpoolMismatch = errors.New("the spool belongs to a different export")

// ErrPageDamaged is returned by Load for a stored page that is not the
// page asked for: cut short, edited, or another page's (or another
// export's) content. The page is not trusted: the caller buys it again.
var ErrPageDamaged = errors.New("stored page is damaged")

// rereads names the part that keeps a part's re-reads.
func rereads(part string) string { return part + "~r" }

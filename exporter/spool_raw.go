package exporter

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/serpstat-export/serpstat-export/pager"
	"github.com/serpstat-export/serpstat-export/serpstat"
)

// An answer that is well-formed JSON of a shape this version cannot read
// (pager.UnexpectedPage) was billed. It is kept in the checkpoint as it
// came, and a later run reads it again from there before asking the API:
// a version that reads it turns it into a page without paying for it
// again; one that does not stops with the same error, still without
// paying.

// RawCheckpoint is a Checkpoint that also keeps raw answers. *Spool is one.
type RawCheckpoint interface {
	// SaveRaw stores the raw answer of page n (asked as page, size).
	SaveRaw(n, page, size int, billed int64, raw []byte) error
	// LoadRaw returns the raw answer stored for page n, if any.
	LoadRaw(n int) (raw []byte, page, size int, billed int64, ok bool, err error)
}

var _ RawCheckpoint = (*Spool)(nil)

// rawHead is the first line of a raw answer's file; the answer follows.
type rawHead struct {
	N      int   `json:"n"`
	Page   int   `json:"page"`
	Size   int   `json:"size"`
	Billed int64 `json:"billed"`
}

// rawPath names page n's raw answer: "rawpage-", so that it is neither
// read as a page nor ignored by RemoveIfEmpty (whose glob is *page-*).
func (s *Spool) rawPath(n int) string {
	return filepath.Join(s.dir, fmt.Sprintf("%srawpage-%06d.json", s.prefix, n))
}

// SaveRaw implements RawCheckpoint.
func (s *Spool) SaveRaw(n, page, size int, billed int64, raw []byte) error {
	head, err := json.Marshal(rawHead{N: n, Page: page, Size: size, Billed: billed})
	if err != nil {
		return err
	}
	data := append(append(head, '\n'), raw...)
	if err := writeFileSync(s.rawPath(n), data); err != nil {
		return fmt.Errorf("spool raw answer of page %d: %w", n, err)
	}
	return s.push(s.rawPath(n))
}

// LoadRaw implements RawCheckpoint.
func (s *Spool) LoadRaw(n int) (raw []byte, page, size int, billed int64, ok bool, err error) {
	data, err := os.ReadFile(s.rawPath(n))
	if errors.Is(err, os.ErrNotExist) {
		return nil, 0, 0, 0, false, nil
	}
	if err != nil {
		return nil, 0, 0, 0, false, err
	}
	line, body, _ := bytes.Cut(data, []byte("\n"))
	var h rawHead
	if err := json.Unmarshal(line, &h); err != nil {
		return nil, 0, 0, 0, false, fmt.Errorf("spool raw answer of page %d: %w", n, err)
	}
	return body, h.Page, h.Size, h.Billed, true, nil
}

// removeRaw deletes page n's raw answer once it is read as a page.
func (s *Spool) removeRaw(n int) { _ = os.Remove(s.rawPath(n)) }

// keepUnexpected stores the raw answer of an unexpected page in cp, when
// err is one and cp can, and says so in the error.
func keepUnexpected(cp Checkpoint, err error) error {
	var up *pager.UnexpectedPage
	rc, ok := cp.(RawCheckpoint)
	if !ok || !errors.As(err, &up) {
		return err
	}
	if serr := rc.SaveRaw(up.N, up.Page, up.Size, up.Billed, up.Err.Raw); serr != nil {
		return errors.Join(err, serr)
	}
	return fmt.Errorf("%w; the answer is kept in the spool and is read again, without paying, by the next run", err)
}

// rereadRaw returns page n of plan read again from the raw answer cp keeps
// for it: nil when there is none (or it was asked otherwise). A raw answer
// that still does not decode is its error again, and nothing is paid.
func rereadRaw(m *serpstat.Method, cp Checkpoint, n int, plan *pager.Plan) (*pager.Page, error) {
	rc, ok := cp.(RawCheckpoint)
	if !ok {
		return nil, nil
	}
	raw, page, size, billed, ok, err := rc.LoadRaw(n)
	if err != nil || !ok {
		return nil, err
	}
	if plan != nil {
		if p, sz, _ := plan.Request(n); p != page || sz != size {
			return nil, nil
		}
	}
	ans, err := m.DecodeAnswer(raw)
	if err != nil {
		return nil, fmt.Errorf("page %d, read again from the spool: %w", n, err)
	}
	pg := &pager.Page{N: n, Page: page, Size: size, Rows: ans.Data, Summary: ans.Summary, Billed: billed, Repaired: ans.Repaired, Intersect: ans.Intersect, Spooled: true}
	if ans.NoData {
		pg.Summary.Page = serpstat.Int(page)
	}
	if err := cp.Save(pg); err != nil {
		return nil, err
	}
	if s, ok := cp.(*Spool); ok {
		s.removeRaw(n)
	}
	return pg, nil
}

package exporter

import (
	"context"
	"errors"
	"fmt"

	"github.com/serpstat-export/serpstat-export/pager"
	"github.com/serpstat-export/serpstat-export/serpstat"
)

// An answer that is well-formed JSON of a shape this version cannot read
// (pager.UnexpectedPage) was billed. It is kept in the checkpoint as it
// came, and a later run reads it again from there before asking the API:
// a version that reads it turns it into a page without paying for it
// again; one that does not stops with the same error, still without
// paying.

// keepUnexpected stores the raw answer of an unexpected page of part in
// the checkpoint, when err is one, and says so in the error.
func (r *run) keepUnexpected(ctx context.Context, part string, err error) error {
	var up *pager.UnexpectedPage
	if r.cp == nil || !errors.As(err, &up) {
		return err
	}
	if serr := r.cp.SaveRaw(ctx, part, up.Step, up.Billed, up.Err.Raw); serr != nil {
		return errors.Join(err, serr)
	}
	return fmt.Errorf("%w; the answer is kept in the spool and is read again, without paying, by the next run", err)
}

// rereadRaw returns a part's step read again from the raw answer the
// checkpoint keeps for it: nil when there is none. A raw answer that
// still does not decode is its error again, and nothing is paid.
func (r *run) rereadRaw(ctx context.Context, part string, st pager.Step) (*pager.Page, error) {
	if r.cp == nil {
		return nil, nil
	}
	raw, billed, ok, err := r.cp.LoadRaw(ctx, part, st)
	if err != nil || !ok {
		return nil, err
	}
	ans, err := r.m.DecodeAnswer(raw)
	if err != nil {
		return nil, fmt.Errorf("page %d, read again from the spool: %w", st.Page, err)
	}
	pg := &pager.Page{N: st.Page, Step: st, Rows: ans.Data, Summary: ans.Summary, Billed: billed, Repaired: ans.Repaired, Intersect: ans.Intersect, Spooled: true}
	if ans.NoData {
		pg.Summary.Page = serpstat.Int(st.Page)
	}
	// Saved as a page, the raw answer goes (Checkpoint.Save).
	if err := r.cp.Save(ctx, part, pg); err != nil {
		return nil, err
	}
	return pg, nil
}

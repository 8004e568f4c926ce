package exporter

import (
	"context"
	"errors"
	"fmt"

	"github.com/serpstat-export/serpstat-export/pager"
)

// runUnknown exports a query whose total the API did not tell (a missing
// or null total, as sibling methods answer): pages are asked one after
// another, each reserving a full page, until a short or empty page, or
// the wall. Page 1 is first, not yet written. The plan is the wall's
// pages, an upper bound.
func (r *run) runUnknown(ctx context.Context, first *pager.Page) error {
	rep, p := r.rep, r.p
	rep.TotalUnknown = true
	r.log.Warn("the API did not tell the query's total: asking pages one after another until a short one", "query", rep.Query, "size", p.Size())
	pt := pager.FirstPart(p.Wall(), p.Size(), p.Wall(), len(first.Rows), p.MaxRows())
	pt.TotalUnknown = true
	pr := newPartRun(pt, p.Params())
	r.plan = &pager.Plan{Params: p.Params(), Total: p.Wall(), Size: p.Size(), Wall: p.Wall(), MaxRows: p.MaxRows(),
		First: first.Step, FirstCost: first.Billed, Held: len(first.Rows), Parts: []pager.Part{pt}, TotalUnknown: true}
	if first.Spooled {
		r.plan.FirstCost = 0
	}
	defer func() {
		// What was found is the total, as far as anyone knows.
		rep.Plan.Total = int(pr.rows)
		rep.Plan.Reachable = int(pr.rows)
		rep.Plan.Pages = rep.Pages
		rep.CreditsEstimated = rep.Credits
	}()
	if err := r.write(ctx, pr, first); err != nil {
		return err
	}
	if err := r.setPlan(ctx); err != nil && !errors.Is(err, pager.ErrBudgetExhausted) {
		return err
	}
	r.e.live.planned.Store(0)
	if first.Size < min(p.Size(), pt.Reach) {
		return fmt.Errorf("page 2: %w: page 1 could only be asked for %d rows", r.budget.Exhausted(), len(first.Rows))
	}
	last := first
	for i, st := range pt.Steps {
		if len(last.Rows) < last.Size {
			break
		}
		n := i + 2
		pg, err := r.load(ctx, "", st)
		if err == nil && pg == nil {
			pg, err = r.rereadRaw(ctx, "", st)
		}
		if err != nil {
			return err
		}
		if pg == nil {
			select {
			case <-r.e.Stop:
				return pager.ErrInterrupted
			default:
			}
			pg, err = r.get(ctx, pager.Request{N: n, Params: p.Params(), Step: st, Cost: int64(st.Size)})
			if errors.Is(err, pager.ErrWall) {
				return nil // the API's wall: what it served is what there is to get
			}
			if err != nil {
				return r.keepUnexpected(ctx, "", err)
			}
			r.save(ctx, "", pg)
		}
		if err := r.write(ctx, pr, pg); err != nil {
			return err
		}
		last = pg
	}
	if len(last.Rows) >= last.Size && int(pr.rows) >= p.Wall() {
		r.log.Warn("the total is unknown and the export reached the API's wall: rows past it, if any, are out of reach", "query", rep.Query, "wall", p.Wall())
	}
	return nil
}

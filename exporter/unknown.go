package exporter

import (
	"context"
	"errors"
	"fmt"

	"github.com/serpstat-export/serpstat-export/pager"
)

// runUnknown exports a query whose total the API did not tell (a missing
// or null total, as sibling methods answer): pages are asked one after
// another, each reserving a full page against the budget, until a short
// or empty page, or the wall. Page 1 is first, not yet written.
func (e *Exporter) runUnknown(ctx context.Context, rep *Report, first *pager.Page, plan pager.Plan) error {
	rep.TotalUnknown = true
	rep.CreditsEstimated = 0 // unknown
	e.live.planned.Store(0)
	e.Logger.Warn("the API did not tell the query's total: asking pages one after another until a short one", "query", rep.Query, "size", plan.Size)
	e.cur = part{plan: plan}
	defer func() {
		// What was found is the total, as far as anyone knows.
		rep.Plan.Total = int(e.cur.rows)
		rep.Plan.Reachable = int(e.cur.rows)
		rep.Plan.Pages = rep.Pages
		rep.CreditsEstimated = rep.Credits
	}()
	if err := e.write(ctx, rep, first); err != nil {
		return err
	}
	if first.Size < min(plan.Size, plan.Reachable) {
		return fmt.Errorf("page 2: %w: page 1 could only be asked for %d rows", e.Pager.Budget.Exhausted(), len(first.Rows))
	}
	cp := e.Checkpoint
	last := first
	for n := 2; n <= plan.Pages && len(last.Rows) >= last.Size; n++ {
		var pg *pager.Page
		if cp != nil {
			stored, err := cp.Load(n)
			if err != nil {
				return err
			}
			if stored != nil && usable(plan, stored) {
				pg = stored
			}
			if stored == nil {
				if pg, err = rereadRaw(e.Pager.Method, cp, n, &plan); err != nil {
					return err
				}
			}
		}
		if pg == nil {
			if e.Stop != nil {
				select {
				case <-e.Stop:
					return pager.ErrInterrupted
				default:
				}
			}
			req, err := e.Pager.Reserve(plan, n)
			if err != nil {
				return err
			}
			pg, err = e.Pager.Fetch(ctx, req)
			if cp != nil {
				err = keepUnexpected(cp, err)
			}
			if errors.Is(err, pager.ErrWall) {
				return nil // the API's wall: what it served is what there is to get
			}
			if err != nil {
				return err
			}
			if cp != nil {
				if err := cp.Save(pg); err != nil {
					return err
				}
			}
		}
		if err := e.write(ctx, rep, pg); err != nil {
			return err
		}
		last = pg
	}
	if len(last.Rows) >= last.Size && int(e.cur.rows) >= plan.Wall {
		e.Logger.Warn("the total is unknown and the export reached the API's wall: rows past it, if any, are out of reach", "query", rep.Query, "wall", plan.Wall)
	}
	return nil
}

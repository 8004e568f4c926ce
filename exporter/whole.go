package exporter

import (
	"context"
	"fmt"

	"github.com/serpstat-export/serpstat-export/pager"
)

// whole exports a query of a method that is not paged: its one answer,
// from the checkpoint when an earlier run bought it, else bought at the
// method's price, reserved first (a budget that cannot pay for it stops
// the export before anything is sent), and kept in the checkpoint before
// its rows are written. Its rows are written as answered: there are no
// pages to shift between, so nothing is deduplicated or cut, and the
// answer's summary_info (a total of 0 or null beside its rows, extra
// counts) plans nothing.
func (r *run) whole(ctx context.Context) error {
	rep, p := r.rep, r.p
	rep.NotPaged = true
	r.plan = pager.PlanWhole(r.m, p.Params())
	rep.CreditsEstimated = r.plan.Cost()
	rep.Guard = r.guard.Spent() + r.plan.Guard()
	rep.Plan = PlanReport{Total: r.plan.Total, Reachable: r.plan.Reachable(), Pages: 1}
	r.e.live.planned.Store(int64(r.plan.Total))
	r.e.live.planSet.Store(true)

	pg, err := r.load(ctx, "", pager.WholeStep)
	if err == nil && pg == nil {
		pg, err = r.rereadRaw(ctx, "", pager.WholeStep)
	}
	if err != nil {
		return err
	}
	if pg == nil {
		r.guard.SetLimit(r.committed() + r.plan.FirstCost)
		release, err := r.slot(ctx, nil)
		if err != nil {
			return fmt.Errorf("the answer: %w", err)
		}
		pg, err = p.Whole(ctx, r.sess)
		release()
		if err != nil {
			return r.keepUnexpected(ctx, "", err)
		}
		r.save(ctx, "", pg)
		if rep.StartBalance < 0 && pg.Summary.LeftLines > 0 {
			rep.StartBalance = int64(pg.Summary.LeftLines) + pg.Billed
		}
	} else {
		rep.Resumed++
	}
	pr := newPartRun(pager.Part{Slice: pager.Slice{Total: len(pg.Rows)}, Reach: len(pg.Rows)}, p.Params())
	if err := r.sink(pr, pg.Rows); err != nil {
		return fmt.Errorf("write the answer: %w", err)
	}
	rep.Pages++
	rep.Repaired += pg.Repaired
	rep.Plan.Total, rep.Plan.Reachable = len(pg.Rows), len(pg.Rows)
	r.e.live.pages.Store(int64(rep.Pages))
	r.e.live.planned.Store(int64(len(pg.Rows)))
	return nil
}

package exporter

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/serpstat-export/serpstat-export/pager"
)

// A query past the wall is cut into slices (pager.PlanSlices) and each
// is exported as a part of its own. The rows of the query written before
// (page 1, or the pages before the API's own wall) are reused: the rows
// of a slice among them are its first rows, whatever the order (they are
// the first rows of the query that the slice holds), so the slice starts
// buying after them. Which slice holds a row is told from its values when
// every bound of the slice can be tested on them (Slice.Checkable); the
// rows no slice provably holds are bought again with their slice, and
// dropped there as written.
//
// The plan proves itself as the slices are bought:
//   - every row a slice answers must satisfy the slice's own filter: one
//     that does not proves the API ignored the filter, and the export
//     stops with the rest in doubt;
//   - a held row found among a slice's bought pages shows that the
//     slice's first rows were not the held ones (the API orders a slice
//     otherwise than the query): the slice's first rows are read again.

// sliced cuts the query into slices under pw's wall and exports each.
// whole is the query's part, its rows written so far held.
func (r *run) sliced(ctx context.Context, whole *partRun, pw *pager.Pager) error {
	rep, p, plan := r.rep, r.p, r.plan
	rep.Sliced = true
	dims := r.dims
	held := whole.points
	count := func(s pager.Slice) int {
		if !s.Checkable(r.m) {
			return 0
		}
		n := 0
		for i := 0; i+len(dims) <= len(held); i += len(dims) {
			if s.Contains(dims, held[i:i+len(dims)]) {
				n++
			}
		}
		return n
	}
	today, err := r.planDay(ctx)
	if err != nil {
		return err
	}
	total := whole.pt.Total()
	want := 0
	if mr := pw.MaxRows(); mr > 0 {
		if want = mr - int(rep.Rows); want <= 0 {
			return nil
		}
	}
	allowWant := want
	if allowWant == 0 {
		allowWant = total
	}
	// While slicing is planned, the guard is the probes' allowance.
	r.guard.SetLimit(r.committed() + pager.ProbeAllowance(allowWant, pw.Size(), len(dims)))
	var cache pager.ProbeCache
	if r.cp != nil {
		cache = r.cp
	}
	sp, err := pw.PlanSlices(ctx, r.sess, total, pager.SliceOptions{Today: today, Cache: cache, Want: want, Held: count})
	if sp != nil {
		rep.Probes, rep.ProbeCredits = sp.Probes, sp.ProbeCredits
	}
	if err != nil {
		return err
	}
	plan.Sliced, plan.Wall, plan.Held = true, pw.Wall(), int(rep.Rows)
	plan.Probes, plan.ProbeCredits = sp.Probes, sp.ProbeCredits
	plan.Unreachable, plan.InDoubt, plan.NoEffect, plan.Refused = sp.Unreachable, sp.InDoubt, sp.NoEffect, sp.Refused
	plan.Parts = plan.Parts[:0]
	for _, s := range sp.Slices {
		pt := pager.NewPart(s.Total, pw.Size(), pw.Wall(), count(s), 0)
		pt.Slice, pt.Key, pt.Params = s, s.Key(r.m), s.Params(r.m, p.Params())
		plan.Parts = append(plan.Parts, pt)
	}
	if want > 0 {
		pager.CapParts(plan.Parts, want)
	}
	if err := r.setPlan(ctx); err != nil {
		return err
	}
	r.log.Info("sliced the query to get past the wall", "query", rep.Query, "total", total, "wall", pw.Wall(), "slices", len(sp.Slices), "probes", sp.Probes, "probe_credits", sp.ProbeCredits, "reachable", plan.Reachable(), "held", plan.Held, "credits", plan.Cost())
	for i := range plan.Parts {
		pt := plan.Parts[i]
		if err := r.exportSlice(ctx, whole, pt); err != nil {
			if errors.Is(err, errFilterIgnored) {
				left := 0
				for _, q := range plan.Parts[i:] {
					left += q.Reach
				}
				left -= int(rep.Slices[len(rep.Slices)-1].Rows)
				rep.SliceInDoubt += left
				rep.Unreachable += left
				return fmt.Errorf("%w: %d rows: the API ignored the slicing filter %s", ErrRowsInDoubt, left, rep.NoEffect[len(rep.NoEffect)-1])
			}
			return err
		}
		if mr := pw.MaxRows(); mr > 0 && rep.Rows >= int64(mr) {
			break
		}
	}
	return nil
}

// exportSlice exports one slice of the query, whose held rows (those of
// the query written before that the slice holds) are its first pt.Held.
func (r *run) exportSlice(ctx context.Context, whole *partRun, pt pager.Part) error {
	rep := r.rep
	pr := newPartRun(pt, pt.Params)
	pr.rows, pr.before, pr.check = int64(pt.Held), whole.seen, true
	sr := SliceReport{Label: pt.Slice.Label(), Planned: pt.Total(), Total: pt.Total(), Reused: pt.Held}
	if pt.Slice.Unsplittable {
		sr.Unreachable, sr.InDoubt = pt.Unreachable(), pt.Slice.InDoubt
	}
	before := rep.Rows
	defer func() {
		sr.Rows = int64(pt.Held) + rep.Rows - before
		if pr.lastTotal > 0 {
			sr.Total = pr.lastTotal
		}
		rep.Slices = append(rep.Slices, sr)
	}()
	r.log.Debug("slice", "slice", sr.Label, "total", pt.Total(), "held", pt.Held, "requests", len(pt.Steps))
	err := r.exportPart(ctx, pr)
	if errors.Is(err, errFilterIgnored) {
		rep.NoEffect = append(rep.NoEffect, *pr.failed)
		r.log.Error("A SLICE'S ANSWER HOLDS A ROW ITS FILTER EXCLUDES: the API ignored the slicing filter; stopping, the rest is in doubt", "slice", sr.Label, "filter", pr.failed.Field, "value", pr.failed.Row)
		return err
	}
	if err != nil {
		return err
	}
	if pr.wallAt >= 0 {
		missing := pt.Reach - int(pr.rows)
		rep.SliceInDoubt += missing
		rep.Unreachable += missing
		rep.APIWall = pr.wallAt
		r.log.Error("the API stopped serving a slice's rows before the planned wall: they are in doubt", "slice", sr.Label, "at", pr.wallAt, "rows", missing)
		return nil
	}
	if pt.Held == 0 {
		return nil
	}
	// Held rows among the bought pages: the slice's first rows were not
	// the held ones (but for rows new data pushed down).
	grown := max(0, pr.maxTotal-pt.Total())
	if skipped := pr.heldDups - grown; skipped > 0 {
		r.log.Warn("a slice's first rows were not the query's rows it holds: reading them again", "slice", sr.Label, "rows", skipped)
		for _, st := range pager.PlanSteps(0, pt.Held, pt.Size, true) {
			got, err := r.reread(ctx, pr, st, st.Page)
			if err != nil {
				r.log.Warn("could not read a slice's first rows again", "slice", sr.Label, "error", err)
				rep.SliceInDoubt += skipped
				rep.Unreachable += skipped
				return nil
			}
			if err := r.emit(pr, got.Rows); err != nil {
				return err
			}
		}
	}
	return nil
}

// planDay is the last day the date ranges of slicing reach: the day the
// export first planned its slices, kept in the checkpoint, so that a
// resume on a later day asks the same probes and finds them there.
func (r *run) planDay(ctx context.Context) (time.Time, error) {
	now := r.e.Now().UTC()
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	if r.cp == nil {
		return today, nil
	}
	var day string
	if ok, err := r.cp.LoadMeta(ctx, "slice-day", &day); err != nil {
		return today, err
	} else if ok {
		if t, err := time.Parse(time.DateOnly, day); err == nil {
			return t, nil
		}
	}
	return today, r.cp.SaveMeta(ctx, "slice-day", today.Format(time.DateOnly))
}

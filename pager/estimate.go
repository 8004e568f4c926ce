package pager

import "context"

// Estimate plans an export of the Pager's query as the export will plan
// it, from the query's total (learned by a probe of size 1): page 1 at
// the size the export asks it, then the rest; past the wall the slices,
// planned with probes sent through s exactly as the export sends them
// (a credit each), page 1's rows taken to be the first rows of the slices
// in export order (as they are when the API sorts by the first slicing
// field). Its Cost is what the export will bill when nothing changes
// meanwhile; FirstCost is what the export's page 1 will cost.
func (p *Pager) Estimate(ctx context.Context, s Session, total int, totalUnknown, noSlice bool, o SliceOptions) (*Plan, error) {
	size, wall, maxRows := p.Size(), p.Wall(), p.MaxRows()
	first := FirstSize(size, maxRows, wall)
	if totalUnknown {
		total = wall
	}
	held := min(first, total)
	plan := &Plan{Params: p.Params(), Total: total, Size: size, Wall: wall, MaxRows: maxRows, First: Step{Page: 1, Size: first},
		FirstCost: int64(max(1, held)), Held: held, TotalUnknown: totalUnknown}
	want := 0
	if maxRows > 0 {
		want = max(0, maxRows-held)
	}
	if totalUnknown || !p.ShouldSlice(total, noSlice) {
		pt := FirstPart(total, size, wall, held, maxRows)
		pt.TotalUnknown = totalUnknown
		pt.Params = p.Params()
		plan.Parts = []Part{pt}
		if !totalUnknown && (maxRows == 0 || maxRows > wall) {
			plan.Unreachable = pt.Unreachable()
		}
		return plan, nil
	}
	pool := held
	o.Want = want
	o.Held = func(sl Slice) int {
		k := min(pool, sl.Total, wall)
		pool -= k
		return k
	}
	sp, err := p.PlanSlices(ctx, s, total, o)
	if err != nil {
		return nil, err
	}
	plan.Sliced = true
	plan.Probes, plan.ProbeCredits = sp.Probes, sp.ProbeCredits
	plan.Unreachable, plan.InDoubt, plan.NoEffect, plan.Refused = sp.Unreachable, sp.InDoubt, sp.NoEffect, sp.Refused
	for _, sl := range sp.Slices {
		pt := NewPart(sl.Total, size, wall, 0, 0)
		pt.Slice, pt.Key, pt.Params = sl, sl.Key(p.c.Method), sl.Params(p.c.Method, p.c.Params)
		plan.Parts = append(plan.Parts, pt)
	}
	AssignHeld(plan.Parts, held, want)
	return plan, nil
}

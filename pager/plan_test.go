package pager_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/serpstat-export/serpstat-export/pager"
)

// requireCovers checks that steps read rows from..to-1, each at an
// offset its size divides, and not a row past to when exact.
func requireCovers(t *testing.T, steps []pager.Step, from, to, size int, exact bool) {
	t.Helper()
	off := from
	for _, st := range steps {
		require.Equal(t, off, st.Offset(), "%v: each step starts where the one before ended", steps)
		require.True(t, st.Size >= 1 && st.Size <= size, "%v", steps)
		off += st.Size
	}
	if to <= from {
		require.Empty(t, steps)
		return
	}
	require.GreaterOrEqual(t, off, to, "%v", steps)
	if exact {
		require.Equal(t, to, off, "%v: not a row past %d", steps, to)
	} else {
		require.Less(t, off-steps[len(steps)-1].Size, to, "%v: no step wholly past %d", steps, to)
	}
}

func TestNewPart(t *testing.T) {
	tests := []struct {
		name                          string
		total, size, wall, held, want int
		reach, steps                  int
		cost                          int64
	}{
		{"empty", 0, 1000, 60000, 0, 0, 0, 0, 0},
		{"page 1 is all", 700, 1000, 60000, 700, 0, 700, 0, 0},
		{"2500", 2500, 1000, 60000, 1000, 0, 2500, 2, 1500},
		{"59500", 59500, 1000, 60000, 1000, 0, 59500, 59, 58500},
		{"at the wall", 60000, 1000, 60000, 1000, 0, 60000, 59, 59000},
		{"past the wall", 250000, 1000, 60000, 1000, 0, 60000, 59, 59000},
		{"size 700 past the wall: nothing read past it", 70000, 700, 60000, 700, 0, 60000, 85, 59300},
		{"page 1 cut by a budget", 5000, 1000, 60000, 800, 0, 5000, 5, 4200},
		{"max rows 2344: 879, 879, 586", 25000, 1000, 60000, 879, 2344 - 879, 2344, 2, 2344 - 879},
		{"max rows 3001: 3 of 1000, 1 of 1", 25000, 1000, 60000, 1000, 2001, 3001, 3, 2001},
		{"fewer rows than wanted", 1500, 1000, 60000, 1000, 1500, 1500, 1, 500},
		{"a slice holding rows of page 1", 3000, 1000, 60000, 123, 0, 3000, 0, 2877},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := pager.NewPart(tt.total, tt.size, tt.wall, tt.held, tt.want)
			assert.Equal(t, tt.reach, p.Reach)
			if tt.steps > 0 {
				assert.Len(t, p.Steps, tt.steps, "%v", p.Steps)
			}
			assert.Equal(t, tt.cost, p.Cost(), "%v", p.Steps)
			requireCovers(t, p.Steps, tt.held, p.Reach, tt.size, p.Reach < tt.total)
			assert.Equal(t, max(0, tt.total-tt.wall), p.Unreachable())
		})
	}
}

func TestPlanStepsNeverReachPastTheWall(t *testing.T) {
	for _, size := range []int{1, 7, 100, 333, 700, 999, 1000} {
		for _, from := range []int{0, size, 1, 586, 800} {
			steps := pager.PlanSteps(from, 60000, size, true)
			requireCovers(t, steps, from, 60000, size, true)
			steps = pager.PlanSteps(from, 5000, size, false)
			requireCovers(t, steps, from, 5000, size, false)
		}
	}
	// After a whole page, full pages.
	assert.Equal(t, []pager.Step{{2, 1000}, {3, 1000}, {4, 1000}}, pager.PlanSteps(1000, 3500, 1000, false))
	// After 800 rows (a page 1 cut by the budget), one page of 200 first.
	assert.Equal(t, []pager.Step{{5, 200}, {2, 1000}, {3, 1000}}, pager.PlanSteps(800, 2500, 1000, false))
}

func TestFirstSize(t *testing.T) {
	assert.Equal(t, 1000, pager.FirstSize(1000, 0, 60000))
	assert.Equal(t, 879, pager.FirstSize(1000, 2344, 60000))
	assert.Equal(t, 10, pager.FirstSize(1000, 10, 60000))
	assert.Equal(t, 1000, pager.FirstSize(1000, 70000, 60000), "past the wall: slicing decides")
}

func TestPlanCostGuardAllowed(t *testing.T) {
	whole := pager.NewPart(25000, 1000, 60000, 1000, 0)
	plan := pager.Plan{Total: 25000, Size: 1000, Wall: 60000, First: pager.Step{Page: 1, Size: 1000}, FirstCost: 1000, Held: 1000, Parts: []pager.Part{whole}}
	assert.EqualValues(t, 25000, plan.Cost())
	assert.Equal(t, 25000, plan.Reachable())
	assert.Equal(t, 24, plan.Pages())
	// The slack: 5% of the reachable rows and a page.
	assert.EqualValues(t, 25000+1250+1000, plan.Guard())
	assert.EqualValues(t, 24000+1250+1000, plan.Allowed(1000, 24000))
	// Never past twice the total in all, never below what is left.
	small := pager.Plan{Total: 100, Size: 1000, FirstCost: 100, Parts: []pager.Part{pager.NewPart(100, 1000, 60000, 100, 0)}}
	assert.EqualValues(t, 200, small.Guard())
	assert.EqualValues(t, 5000, plan.Allowed(49000, 5000), "what the plan has left is always allowed")
	// What a resume still pays: the steps not stored.
	stored := func(part string, st pager.Step) bool { return part == "" && st.Page <= 10 }
	assert.EqualValues(t, 15000, plan.CostLeft(stored))
	assert.EqualValues(t, 24000, plan.CostLeft(nil))
	assert.Equal(t, "25 pages of 1000 rows", plan.Describe())
	capped := pager.Plan{First: pager.Step{Page: 1, Size: 1000}, Size: 1000, Parts: []pager.Part{pager.NewPart(5000, 1000, 60000, 1000, 2001)}}
	assert.Equal(t, "3 pages of 1000 rows, then 1 of 1", capped.Describe())
}

func TestProbeAllowance(t *testing.T) {
	assert.EqualValues(t, 5000+2000, pager.ProbeAllowance(250000, 1000, 2))
	assert.EqualValues(t, 47, pager.ProbeAllowance(2345, 1, 0))
}

// TestAssignHeldAndCapParts: an estimate takes page 1's rows to be the
// first rows of the slices in order; --max-rows cuts the slices in order.
func TestAssignHeldAndCapParts(t *testing.T) {
	parts := func() []pager.Part {
		return []pager.Part{pager.NewPart(700, 500, 2000, 0, 0), pager.NewPart(1800, 500, 2000, 0, 0), pager.NewPart(2500, 500, 2000, 0, 0)}
	}
	ps := parts()
	pager.AssignHeld(ps, 1000, 0)
	assert.Equal(t, []int{700, 300, 0}, []int{ps[0].Held, ps[1].Held, ps[2].Held})
	assert.Equal(t, []int{700, 1800, 2000}, []int{ps[0].Reach, ps[1].Reach, ps[2].Reach})
	var cost int64
	for i := range ps {
		cost += ps[i].Cost()
	}
	assert.EqualValues(t, 700+1800+2000-1000, cost, "the held rows are not bought again")
	ps = parts()
	pager.AssignHeld(ps, 500, 2600)
	assert.Equal(t, []int{500, 0, 0}, []int{ps[0].Held, ps[1].Held, ps[2].Held})
	assert.Equal(t, []int{700, 1800, 600}, []int{ps[0].Reach, ps[1].Reach, ps[2].Reach}, "200 + 1800 + 600 more rows")
	assert.Len(t, ps[2].Steps, 2, "%v", ps[2].Steps)
	requireCovers(t, ps[2].Steps, 0, 600, 500, true)
}

func TestExactStepsAreShortestAndExact(t *testing.T) {
	const limit = 5000
	for _, size := range []int{1000, 100, 7} {
		// Breadth first over every offset: the fewest requests that
		// read rows 0..o-1 exactly.
		fewest := make([]int, limit+1)
		for i := range fewest {
			fewest[i] = -1
		}
		fewest[0] = 0
		queue := []int{0}
		for len(queue) > 0 {
			o := queue[0]
			queue = queue[1:]
			for s := 1; s <= size && o+s <= limit; s++ {
				if (o == 0 || o%s == 0) && fewest[o+s] < 0 {
					fewest[o+s] = fewest[o] + 1
					queue = append(queue, o+s)
				}
			}
		}
		for to := 1; to <= limit; to += 37 {
			steps := pager.ExactSteps(0, to, size)
			off := 0
			for _, s := range steps {
				require.Equal(t, off, s.Offset(), "to %d size %d: %v", to, size, steps)
				require.True(t, s.Size >= 1 && s.Size <= size)
				off += s.Size
			}
			require.Equal(t, to, off)
			require.Len(t, steps, fewest[to], "to %d size %d: %v is not the shortest", to, size, steps)
		}
	}
	assert.Equal(t, []pager.Step{{1, 879}, {2, 879}, {4, 586}}, pager.ExactSteps(0, 2344, 1000))
	assert.Equal(t, []pager.Step{{1, 1000}, {2, 1000}, {3, 1000}, {3001, 1}}, pager.ExactSteps(0, 3001, 1000))
}

func TestBalanceFloor(t *testing.T) {
	ctx := context.Background()
	b := pager.NewBudget(0)
	b.KeepBalance(10000, 7000)
	assert.EqualValues(t, 3000, b.Available())
	r, err := b.Reserve(ctx, 1000)
	require.NoError(t, err)
	r.Settle(ctx, 1000)
	// Someone else spent 500 meanwhile: the answer shows 8500, not 9000.
	b.ObserveBalance(8500)
	assert.EqualValues(t, 1500, b.Available())
	_, err = b.Reserve(ctx, 1600)
	require.ErrorIs(t, err, pager.ErrBalanceFloor)
	require.ErrorIs(t, err, pager.ErrBudgetExhausted)
	r, err = b.Reserve(ctx, 1500)
	require.NoError(t, err)
	r.Settle(ctx, 1500)
	assert.EqualValues(t, 0, b.Available())

	// With a budget too, the lower of the two holds.
	b = pager.NewBudget(500)
	b.KeepBalance(10000, 7000)
	assert.EqualValues(t, 500, b.Spendable())
}

func TestBudget(t *testing.T) {
	ctx := context.Background()
	b := pager.NewBudget(2500)
	r1, err := b.Reserve(ctx, 1000)
	require.NoError(t, err)
	r2, err := b.Reserve(ctx, 1000)
	require.NoError(t, err)
	_, err = b.Reserve(ctx, 1000)
	require.ErrorIs(t, err, pager.ErrBudgetExhausted)
	assert.EqualValues(t, 500, b.Available())
	r1.Settle(ctx, 1000)
	r2.Settle(ctx, 0) // failed, not billed
	r2.Settle(ctx, 1000)
	assert.EqualValues(t, 1000, b.Spent())
	r3, err := b.Reserve(ctx, 1500)
	require.NoError(t, err)
	r3.Settle(ctx, 1500)
	_, err = b.Reserve(ctx, 1)
	require.ErrorIs(t, err, pager.ErrBudgetExhausted)
	assert.EqualValues(t, 2500, b.Spent())
}

func TestBudgetUnlimitedCounts(t *testing.T) {
	ctx := context.Background()
	b := pager.NewBudget(0)
	assert.EqualValues(t, -1, b.Available())
	r, err := b.Reserve(ctx, 1<<40)
	require.NoError(t, err)
	r.Settle(ctx, 7)
	assert.EqualValues(t, 7, b.Spent())
}

func TestBudgetConcurrentReservationsNeverExceed(t *testing.T) {
	ctx := context.Background()
	b := pager.NewBudget(10000)
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			for {
				r, err := b.Reserve(ctx, 700)
				if err != nil {
					return
				}
				r.Settle(ctx, 700)
			}
		})
	}
	wg.Wait()
	assert.LessOrEqual(t, b.Spent(), int64(10000))
	assert.Greater(t, b.Spent(), int64(10000-700))
}

// TestGuardCapsTheExportInsideTheRun: an export's guard reserves from the
// run's budget too; its own cap is ErrOverPlan (not a budget stop), the
// run's is ErrBudgetExhausted; earlier attempts' credits count in both;
// the journal records the credits committed before each request.
func TestGuardCapsTheExportInsideTheRun(t *testing.T) {
	ctx := context.Background()
	run := pager.NewBudget(5000)
	var journal []int64
	g := run.Guard(0, func(_ context.Context, c int64) error { journal = append(journal, c); return nil })
	g.Carry(300)
	assert.EqualValues(t, 300, run.Spent(), "an earlier attempt's credits count against the run's budget")
	assert.EqualValues(t, 4700, g.Available(), "no cap of its own yet: the run's")
	g.SetLimit(1300)
	assert.EqualValues(t, 1000, g.Available())
	r, err := g.Reserve(ctx, 800)
	require.NoError(t, err)
	assert.Equal(t, []int64{1100}, journal, "recorded before the request is sent")
	assert.EqualValues(t, 800, run.Reserved())
	_, err = g.Reserve(ctx, 300)
	require.ErrorIs(t, err, pager.ErrOverPlan)
	require.NotErrorIs(t, err, pager.ErrBudgetExhausted)
	assert.EqualValues(t, 800, run.Reserved(), "the refused reservation is not held above")
	r.Settle(ctx, 600)
	assert.EqualValues(t, 900, g.Spent())
	assert.EqualValues(t, 900, run.Spent())
	require.ErrorIs(t, g.Exhausted(), pager.ErrOverPlan)

	// The run's budget binds first: a budget stop.
	g.SetLimit(100000)
	_, err = g.Reserve(ctx, 4200)
	require.ErrorIs(t, err, pager.ErrBudgetExhausted)
	require.NotErrorIs(t, err, pager.ErrOverPlan)
	require.ErrorIs(t, g.Exhausted(), pager.ErrBudgetExhausted)

	// A journal that cannot record refuses the request.
	bad := errors.New("disk full")
	g2 := run.Guard(0, func(context.Context, int64) error { return bad })
	_, err = g2.Reserve(ctx, 1)
	require.ErrorIs(t, err, bad)
	assert.EqualValues(t, 0, run.Reserved())
}

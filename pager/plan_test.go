package pager_test

import (
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/serpstat-export/serpstat-export/pager"
)

func TestPlan(t *testing.T) {
	tests := []struct {
		name                  string
		total, size, wall     int
		pages, reach, unreach int
		cost                  int64
	}{
		{"empty", 0, 1000, 60000, 1, 0, 0, 1},
		{"one row", 1, 1000, 60000, 1, 1, 0, 1},
		{"exact page", 1000, 1000, 60000, 1, 1000, 0, 1000},
		{"2500", 2500, 1000, 60000, 3, 2500, 0, 2500},
		{"59500", 59500, 1000, 60000, 60, 59500, 0, 59500},
		{"at the wall", 60000, 1000, 60000, 60, 60000, 0, 60000},
		{"past the wall", 250000, 1000, 60000, 60, 60000, 190000, 60000},
		{"size 700 past the wall", 70000, 700, 60000, 86, 60000, 10000, 60000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := pager.NewPlan(tt.total, tt.size, tt.wall, 0)
			assert.Equal(t, tt.pages, p.Pages)
			assert.Equal(t, tt.reach, p.Reachable)
			assert.Equal(t, tt.unreach, p.Unreachable)
			assert.Equal(t, tt.cost, p.Cost())
			// The pages' maximum costs add up to the plan's cost.
			var sum int64
			for n := 1; n <= p.Pages; n++ {
				_, _, c := p.Request(n)
				sum += c
			}
			assert.Equal(t, tt.cost, sum)
		})
	}
}

func TestPlanRequestNeverReachesPastTheWall(t *testing.T) {
	for _, size := range []int{1, 7, 100, 333, 700, 999, 1000} {
		p := pager.NewPlan(100000, size, 60000, 0)
		covered := 0
		for n := 1; n <= p.Pages; n++ {
			page, sz, cost := p.Request(n)
			offset := (page - 1) * sz
			require.Equal(t, covered, offset, "size %d page %d starts where the last ended", size, n)
			require.LessOrEqual(t, offset+sz, 60000, "size %d page %d", size, n)
			require.EqualValues(t, sz, cost)
			covered += sz
		}
		require.Equal(t, 60000, covered, "size %d", size)
	}
}

func TestPlanLastPageBelowTotalKeepsPageNumbers(t *testing.T) {
	p := pager.NewPlan(2500, 1000, 60000, 0)
	page, size, cost := p.Request(3)
	assert.Equal(t, 3, page)
	assert.Equal(t, 1000, size)
	assert.EqualValues(t, 500, cost)
}

func TestPlanMaxRows(t *testing.T) {
	tests := []struct {
		name                 string
		total, size, maxRows int
		pages                int
		lastPage, lastSize   int
		cost                 int64
	}{
		{"2500: 3 pages", 25000, 1000, 2500, 3, 5, 500, 2500},
		{"2300: 920, 920, 460", 25000, 1000, 2300, 3, 5, 460, 2300},
		{"2344: 879, 879, 586", 25000, 1000, 2344, 3, 4, 586, 2344},
		{"3001: 3 of 1000 and 1 of 1", 25000, 1000, 3001, 4, 3001, 1, 3001},
		{"999: one page", 25000, 1000, 999, 1, 1, 999, 999},
		{"fewer rows than max", 1500, 1000, 2500, 2, 2, 1000, 1500},
		{"one small page", 25000, 1000, 10, 1, 1, 10, 10},
		{"exact pages", 25000, 1000, 3000, 3, 3, 1000, 3000},
		{"prime offset", 25000, 7, 10, 2, 2, 5, 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := pager.NewPlan(tt.total, tt.size, 60000, tt.maxRows)
			assert.Equal(t, tt.pages, p.Pages, p.Describe())
			page, size, _ := p.Request(p.Pages)
			assert.Equal(t, tt.lastPage, page, p.Describe())
			assert.Equal(t, tt.lastSize, size, p.Describe())
			assert.Equal(t, tt.cost, p.Cost())
			requireContiguous(t, p, min(tt.total, tt.maxRows))
		})
	}
}

// requireContiguous checks that the plan's requests read rows 0..rows-1
// (the last one may reach past the total), each at an offset that is a
// multiple of its size.
func requireContiguous(t *testing.T, p pager.Plan, rows int) {
	t.Helper()
	covered := 0
	for n := 1; n <= p.Pages; n++ {
		page, size, _ := p.Request(n)
		require.Equal(t, covered, (page-1)*size, "page %d starts where the one before ended", n)
		require.LessOrEqual(t, size, p.Size)
		covered += size
	}
	require.GreaterOrEqual(t, covered, rows)
	if p.MaxRows > 0 && p.MaxRows < p.Total {
		require.Equal(t, rows, covered, "not a row more than wanted")
	}
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
	assert.Equal(t, "3 pages of 1000 rows, then 1 of 1", pager.NewPlan(5000, 1000, 60000, 3001).Describe())
}

func TestBalanceFloor(t *testing.T) {
	b := pager.NewBudget(0)
	b.KeepBalance(10000, 7000)
	assert.EqualValues(t, 3000, b.Available())
	r, err := b.Reserve(1000)
	require.NoError(t, err)
	r.Settle(1000)
	// Someone else spent 500 meanwhile: the answer shows 8500, not 9000.
	b.ObserveBalance(8500)
	assert.EqualValues(t, 1500, b.Available())
	_, err = b.Reserve(1600)
	require.ErrorIs(t, err, pager.ErrBalanceFloor)
	require.ErrorIs(t, err, pager.ErrBudgetExhausted)
	r, err = b.Reserve(1500)
	require.NoError(t, err)
	r.Settle(1500)
	assert.EqualValues(t, 0, b.Available())

	// With a budget too, the lower of the two holds.
	b = pager.NewBudget(500)
	b.KeepBalance(10000, 7000)
	assert.EqualValues(t, 500, b.Spendable())
}

func TestBudget(t *testing.T) {
	b := pager.NewBudget(2500)
	r1, err := b.Reserve(1000)
	require.NoError(t, err)
	r2, err := b.Reserve(1000)
	require.NoError(t, err)
	_, err = b.Reserve(1000)
	require.ErrorIs(t, err, pager.ErrBudgetExhausted)
	assert.EqualValues(t, 500, b.Available())
	r1.Settle(1000)
	r2.Settle(0) // failed, not billed
	r2.Settle(1000)
	assert.EqualValues(t, 1000, b.Spent())
	r3, err := b.Reserve(1500)
	require.NoError(t, err)
	r3.Settle(1500)
	_, err = b.Reserve(1)
	require.ErrorIs(t, err, pager.ErrBudgetExhausted)
	assert.EqualValues(t, 2500, b.Spent())
}

func TestBudgetUnlimitedCounts(t *testing.T) {
	b := pager.NewBudget(0)
	assert.EqualValues(t, -1, b.Available())
	r, err := b.Reserve(1 << 40)
	require.NoError(t, err)
	r.Settle(7)
	assert.EqualValues(t, 7, b.Spent())
}

func TestBudgetConcurrentReservationsNeverExceed(t *testing.T) {
	b := pager.NewBudget(10000)
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			for {
				r, err := b.Reserve(700)
				if err != nil {
					return
				}
				r.Settle(700)
			}
		})
	}
	wg.Wait()
	assert.LessOrEqual(t, b.Spent(), int64(10000))
	assert.Greater(t, b.Spent(), int64(10000-700))
}

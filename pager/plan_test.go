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
		{"2000 done, 500 wanted", 25000, 1000, 2500, 3, 5, 500, 2500},
		{"2000 done, 300 wanted: size 400, surplus cut", 25000, 1000, 2300, 3, 6, 400, 2400},
		{"fewer rows than max", 1500, 1000, 2500, 2, 2, 1000, 1500},
		{"one small page", 25000, 1000, 10, 1, 1, 10, 10},
		{"exact pages", 25000, 1000, 3000, 3, 3, 1000, 3000},
		{"prime offset", 25000, 7, 10, 2, 2, 7, 14},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := pager.NewPlan(tt.total, tt.size, 60000, tt.maxRows)
			assert.Equal(t, tt.pages, p.Pages)
			page, size, _ := p.Request(p.Pages)
			assert.Equal(t, tt.lastPage, page)
			assert.Equal(t, tt.lastSize, size)
			assert.Equal(t, tt.cost, p.Cost())
		})
	}
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

package pager_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/serpstat-export/serpstat-export/pager"
	"github.com/serpstat-export/serpstat-export/serpstat"
	"github.com/serpstat-export/serpstat-export/serpstat/backlinks"
	"github.com/serpstat-export/serpstat-export/serpstat/serpstattest"
)

// TestPlanWhole: the plan of a method that is not paged is its one
// request, priced without asking; its guard is that price, and what is
// left is nothing once the answer is stored.
func TestPlanWhole(t *testing.T) {
	tests := []struct {
		m            *serpstat.Method
		intersect    []string
		cost         int64
		total        int
		totalUnknown bool
	}{
		{backlinks.SummaryV2, nil, 5, 1, false},
		{backlinks.Summary, nil, 5, 1, false},
		{backlinks.DistributionTLD, nil, 1, 0, true},
		{backlinks.ChangesHistory, nil, 1, 0, true},
		{backlinks.IntersectSummary, []string{"b.com"}, 3, 3, false},
		{backlinks.IntersectSummary, []string{"b.com", "c.com"}, 7, 7, false},
	}
	for _, tt := range tests {
		t.Run(tt.m.Name, func(t *testing.T) {
			plan := pager.PlanWhole(tt.m, serpstat.Params{Query: "a.com", Intersect: tt.intersect})
			assert.True(t, plan.NotPaged)
			assert.Equal(t, tt.cost, plan.Cost())
			assert.Equal(t, tt.cost, plan.Guard(), "the guard is the price")
			assert.Equal(t, tt.total, plan.Total)
			assert.Equal(t, tt.total, plan.Reachable())
			assert.Equal(t, tt.totalUnknown, plan.TotalUnknown)
			assert.Zero(t, plan.Pages(), "no request after the one")
			assert.Equal(t, "1 request (not paged)", plan.Describe())
			assert.Equal(t, tt.cost, plan.CostLeft(func(string, pager.Step) bool { return false }))
			assert.Zero(t, plan.CostLeft(func(part string, st pager.Step) bool { return part == "" && st == pager.WholeStep }))
		})
	}
}

// TestWholeReservesThePrice: the one request of a method that is not
// paged reserves its price: a budget below it sends nothing; one that
// fits sends the query alone (no page or size) and counts what the
// answer was billed.
func TestWholeReservesThePrice(t *testing.T) {
	srv := serpstattest.NewServer(serpstattest.Options{})
	defer srv.Close()
	c := &serpstat.Client{Endpoint: srv.URL, Token: serpstattest.DefaultToken}
	params := serpstat.Params{Query: "a.example", SearchType: serpstat.SearchDomain}
	p := pager.New(pager.Config{Fetcher: c, Method: backlinks.SummaryV2, Params: params})
	assert.Zero(t, p.Size(), "no page size")

	b := pager.NewBudget(4)
	_, err := p.Whole(context.Background(), pager.Session{Budget: b})
	require.ErrorIs(t, err, pager.ErrBudgetExhausted)
	assert.Zero(t, srv.Stats().Requests, "nothing sent")

	b = pager.NewBudget(5)
	pg, err := p.Whole(context.Background(), pager.Session{Budget: b})
	require.NoError(t, err)
	assert.EqualValues(t, 5, pg.Billed)
	assert.EqualValues(t, 5, b.Spent())
	assert.EqualValues(t, 5, srv.Stats().CreditsBilled)
	assert.Equal(t, pager.WholeStep, pg.Step)
	require.Len(t, pg.Rows, 1)
	assert.Equal(t, srv.Expected(backlinks.SummaryV2, "a.example", params), pg.Rows)
	log := srv.Log()
	assert.Equal(t, params, log[len(log)-1].Params, "the query and its search type, nothing else")

	// A row each, reserved at the most rows the answer may hold.
	p = pager.New(pager.Config{Fetcher: c, Method: backlinks.IntersectSummary, Params: serpstat.Params{Query: "a.example", Intersect: []string{"b.example"}}})
	_, err = p.Whole(context.Background(), pager.Session{Budget: pager.NewBudget(2)})
	require.ErrorIs(t, err, pager.ErrBudgetExhausted)
	b = pager.NewBudget(3)
	pg, err = p.Whole(context.Background(), pager.Session{Budget: b})
	require.NoError(t, err)
	assert.Len(t, pg.Rows, 3)
	assert.EqualValues(t, 3, b.Spent())
}

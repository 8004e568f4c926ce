package exporter_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/serpstat-export/serpstat-export/exporter"
	"github.com/serpstat-export/serpstat-export/pager"
	"github.com/serpstat-export/serpstat-export/serpstat"
	"github.com/serpstat-export/serpstat-export/serpstat/serpstattest"
)

// collect is a Sink that keeps every row.
type collect struct {
	rows   []serpstat.Row
	writes int
}

func (c *collect) Write(rows []serpstat.Row) error {
	c.rows = append(c.rows, rows...)
	c.writes++
	return nil
}

var _ exporter.Sink = (*collect)(nil)

// failAfter fails its nth write.
type failAfter struct{ n int }

func (f *failAfter) Write([]serpstat.Row) error {
	f.n--
	if f.n < 0 {
		return errors.New("disk full")
	}
	return nil
}

// noSleep makes retries wait for nothing.
func noSleep(context.Context, time.Duration) error { return nil }

// config is the pager's config of query against srv, size rows a page;
// tests change it before pager.New.
func config(srv *serpstattest.Server, query string, size int) pager.Config {
	return pager.Config{
		Fetcher: &serpstat.Client{Endpoint: srv.URL, Token: serpstattest.DefaultToken},
		Params:  serpstat.Params{Query: query, SearchType: serpstat.SearchDomain, Size: size},
		Sleep:   noSleep,
	}
}

func newPager(srv *serpstattest.Server, query string, size int) *pager.Pager {
	return pager.New(config(srv, query, size))
}

// budget is a run's budget of limit credits; nil (none) for 0.
func budget(limit int64) *pager.Budget {
	if limit == 0 {
		return nil
	}
	return pager.NewBudget(limit)
}

func TestRowsArriveInOrderWhateverTheConcurrency(t *testing.T) {
	// Answers come back out of order: early pages are the slowest.
	srv := serpstattest.NewServer(serpstattest.Options{Rows: 1990, Fault: func(fi serpstattest.FaultInfo) serpstattest.Fault {
		return serpstattest.Fault{Kind: serpstattest.FaultDelay, Delay: time.Duration(20-fi.Params.Page) * time.Millisecond}
	}})
	defer srv.Close()
	for _, workers := range []int{1, 3, 8} {
		c := &collect{}
		e := &exporter.Exporter{Pager: newPager(srv, "order.example", 100), Sinks: []exporter.Sink{c}, Workers: workers}
		rep, err := e.Run(context.Background())
		require.NoError(t, err)
		require.Equal(t, fakeRows("order.example", 1990), c.rows, "workers %d", workers)
		assert.True(t, rep.Complete)
		assert.Equal(t, exporter.StopDone, rep.StopReason)
		assert.Equal(t, 20, rep.Pages)
		assert.EqualValues(t, 1990, rep.Rows)
		assert.EqualValues(t, 1990, rep.Credits)
		assert.Equal(t, 20, c.writes)
	}
}

func TestWindowBoundsPagesInFlight(t *testing.T) {
	// Page 2 is very slow; with a window of 4 pages no more than 4 pages
	// past the last written one may be requested meanwhile.
	var maxPage atomic.Int64
	release := make(chan struct{})
	srv := serpstattest.NewServer(serpstattest.Options{Rows: 2000, Fault: func(fi serpstattest.FaultInfo) serpstattest.Fault {
		if p := int64(fi.Params.Page); p > maxPage.Load() {
			maxPage.Store(p)
		}
		if fi.Params.Page == 2 {
			<-release
		}
		return serpstattest.Fault{}
	}})
	defer srv.Close()
	go func() {
		time.Sleep(300 * time.Millisecond)
		close(release)
	}()
	c := &collect{}
	e := &exporter.Exporter{Pager: newPager(srv, "window.example", 100), Sinks: []exporter.Sink{c}, Workers: 4, Window: 4}
	_, err := e.Run(context.Background())
	require.NoError(t, err)
	require.Len(t, c.rows, 2000)
	assert.Equal(t, int64(20), maxPage.Load())
	assert.LessOrEqual(t, srv.Stats().MaxInFlight, 4)
}

func TestEmptyQueryCostsOneCredit(t *testing.T) {
	for _, noDataErr := range []bool{false, true} {
		srv := serpstattest.NewServer(serpstattest.Options{RowsFor: func(string) int { return 0 }, NoDataAsError: noDataErr})
		c := &collect{}
		e := &exporter.Exporter{Pager: newPager(srv, "empty.example", 1000), Sinks: []exporter.Sink{c}}
		rep, err := e.Run(context.Background())
		require.NoError(t, err)
		assert.Empty(t, c.rows)
		assert.True(t, rep.Complete)
		assert.EqualValues(t, 1, rep.Credits)
		assert.EqualValues(t, 1, srv.Stats().CreditsBilled)
		srv.Close()
	}
}

func TestSinkFailureStopsTheRun(t *testing.T) {
	srv := serpstattest.NewServer(serpstattest.Options{Rows: 10000})
	defer srv.Close()
	e := &exporter.Exporter{Pager: newPager(srv, "fail.example", 1000), Sinks: []exporter.Sink{&failAfter{n: 3}}, Workers: 2}
	rep, err := e.Run(context.Background())
	require.ErrorContains(t, err, "disk full")
	assert.Equal(t, exporter.StopError, rep.StopReason)
	assert.False(t, rep.Complete)
	assert.Equal(t, 3, rep.Pages)
}

func TestBudgetPreflightStopsAfterPageOne(t *testing.T) {
	srv := serpstattest.NewServer(serpstattest.Options{Rows: 10000})
	defer srv.Close()
	c := &collect{}
	e := &exporter.Exporter{Pager: newPager(srv, "budget.example", 1000), Budget: budget(3500), Sinks: []exporter.Sink{c}, Workers: 8}
	rep, err := e.Run(context.Background())
	require.ErrorIs(t, err, pager.ErrBudgetExhausted)
	assert.ErrorContains(t, err, "the full export needs 10000 credits (9000 more), more than the 3500 allowed")
	assert.Equal(t, exporter.StopBudget, rep.StopReason)
	assert.Len(t, c.rows, 1000, "page 1's rows are kept")
	assert.EqualValues(t, 1000, rep.Credits)
	assert.EqualValues(t, 10000, rep.CreditsEstimated)
	assert.EqualValues(t, 9000, rep.CreditsLeft)
	assert.EqualValues(t, 1000, srv.Stats().CreditsBilled)
	assert.False(t, rep.Partial)
}

func TestPartialExportsTheWholePagesThatFit(t *testing.T) {
	srv := serpstattest.NewServer(serpstattest.Options{Rows: 10000})
	defer srv.Close()
	c := &collect{}
	e := &exporter.Exporter{Pager: newPager(srv, "budget.example", 1000), Budget: budget(3500), Sinks: []exporter.Sink{c}, Workers: 8, Partial: true}
	rep, err := e.Run(context.Background())
	require.NoError(t, err)
	assert.True(t, rep.Partial)
	assert.False(t, rep.Complete)
	assert.Equal(t, exporter.StopBudget, rep.StopReason)
	require.Equal(t, fakeRows("budget.example", 3000), c.rows, "three whole pages fit in 3,500 credits")
	assert.EqualValues(t, 3000, rep.Credits)
	assert.EqualValues(t, 7000, rep.CreditsLeft)
	assert.EqualValues(t, 3000, srv.Stats().CreditsBilled)
}

func TestMaxRowsPaysForNoMore(t *testing.T) {
	tests := []struct {
		maxRows, size int
		billed        int64
	}{{2500, 1000, 2500}, {2300, 1000, 2300}, {2344, 1000, 2344}, {3001, 1000, 3001}, {999, 1000, 999}, {10, 1000, 10}, {1000, 1000, 1000}, {20000, 1000, 4000}, {2344, 100, 2344}}
	for _, tt := range tests {
		srv := serpstattest.NewServer(serpstattest.Options{Rows: 4000})
		c := &collect{}
		cfg := config(srv, "max.example", tt.size)
		cfg.MaxRows = tt.maxRows
		e := &exporter.Exporter{Pager: pager.New(cfg), Sinks: []exporter.Sink{c}, Workers: 4}
		rep, err := e.Run(context.Background())
		require.NoError(t, err)
		want := min(tt.maxRows, 4000)
		require.Equal(t, fakeRows("max.example", want), c.rows, "max %d", tt.maxRows)
		assert.Equal(t, tt.billed, srv.Stats().CreditsBilled, "max %d", tt.maxRows)
		assert.Equal(t, tt.billed, rep.Credits)
		assert.Equal(t, tt.billed-int64(want), rep.Cut)
		assert.True(t, rep.Complete)
		srv.Close()
	}
}

func TestKeepBalanceStopsAboveTheFloor(t *testing.T) {
	srv := serpstattest.NewServer(serpstattest.Options{Rows: 10000, Balance: 12500})
	defer srv.Close()
	c := &collect{}
	b := pager.NewBudget(0)
	b.KeepBalance(12500, 10000)
	e := &exporter.Exporter{Pager: newPager(srv, "floor.example", 1000), Budget: b, Sinks: []exporter.Sink{c}, Workers: 4, Partial: true, StartBalance: 12500}
	rep, err := e.Run(context.Background())
	require.NoError(t, err)
	assert.Equal(t, exporter.StopBalance, rep.StopReason)
	assert.GreaterOrEqual(t, srv.Balance(), int64(10000))
	assert.Len(t, c.rows, 2000)
	assert.EqualValues(t, 2000, rep.CreditsByBalance)
	assert.EqualValues(t, 10500, rep.LeftLines)
}

func TestAuthErrorIsNotRetried(t *testing.T) {
	srv := serpstattest.NewServer(serpstattest.Options{Rows: 10, Token: "other"})
	defer srv.Close()
	e := &exporter.Exporter{Pager: newPager(srv, "auth.example", 1000)}
	_, err := e.Run(context.Background())
	require.Error(t, err)
	assert.Equal(t, serpstat.ClassAuth, serpstat.Classify(err))
	assert.Equal(t, 1, srv.Stats().Requests)
}

func TestTruncatedAnswerIsPaidAndRetried(t *testing.T) {
	srv := serpstattest.NewServer(serpstattest.Options{Rows: 3000, Fault: func(fi serpstattest.FaultInfo) serpstattest.Fault {
		if fi.Seq == 2 {
			return serpstattest.Fault{Kind: serpstattest.FaultTruncate}
		}
		return serpstattest.Fault{}
	}})
	defer srv.Close()
	c := &collect{}
	e := &exporter.Exporter{Pager: newPager(srv, "trunc.example", 1000), Sinks: []exporter.Sink{c}, Workers: 1}
	rep, err := e.Run(context.Background())
	require.NoError(t, err)
	require.Equal(t, fakeRows("trunc.example", 3000), c.rows)
	assert.EqualValues(t, 4000, srv.Stats().CreditsBilled, "the truncated answer was billed")
	assert.EqualValues(t, 4000, rep.Credits, "and counted")
	assert.EqualValues(t, 1, rep.Retries)
}

func TestAutomaticWorkersFollowLatency(t *testing.T) {
	// 10 requests/s against answers of 300 ms: Little's law wants 3 in
	// flight; automatic workers use ceil(10 × 0.3 × 1.25) + 1 = 5.
	srv := serpstattest.NewServer(serpstattest.Options{Rows: 15000, Latency: 300 * time.Millisecond})
	defer srv.Close()
	cfg := config(srv, "auto.example", 1000)
	cfg.Limiter = pager.NewThrottle(10)
	c := &collect{}
	e := &exporter.Exporter{Pager: pager.New(cfg), Sinks: []exporter.Sink{c}}
	rep, err := e.Run(context.Background())
	require.NoError(t, err)
	require.Equal(t, fakeRows("auto.example", 15000), c.rows)
	assert.GreaterOrEqual(t, srv.Stats().MaxInFlight, 3, "enough in flight to keep 10/s busy")
	assert.LessOrEqual(t, rep.Workers, 12, "Little's law, not the cap")
	assert.Zero(t, srv.Stats().RateLimited)
}

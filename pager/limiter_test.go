package pager_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/serpstat-export/serpstat-export/pager"
	"github.com/serpstat-export/serpstat-export/serpstat"
	"github.com/serpstat-export/serpstat-export/serpstat/serpstattest"
)

// countingLimiter is a Limiter that counts and can fail its Waits.
type countingLimiter struct {
	mu                sync.Mutex
	waits, slow, good int
	failAfter         int // Waits that succeed before the rest fail; -1 never
	err               error
}

func (l *countingLimiter) Wait(context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.waits++
	if l.failAfter >= 0 && l.waits > l.failAfter {
		return l.err
	}
	return nil
}
func (l *countingLimiter) RateLimited() time.Duration { l.mu.Lock(); l.slow++; l.mu.Unlock(); return 0 }
func (l *countingLimiter) Succeeded()                 { l.mu.Lock(); l.good++; l.mu.Unlock() }
func (l *countingLimiter) Limit() float64             { return 1 }

// account is a shared pool of credits in memory.
type account struct {
	mu           sync.Mutex
	limit, spent int64
	reserved     int64
	err          error
}

type hold struct {
	a *account
	n int64
}

func (a *account) Reserve(_ context.Context, n int64) (pager.AccountReservation, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.err != nil {
		return nil, a.err
	}
	if a.spent+a.reserved+n > a.limit {
		return nil, pager.ErrAccountBudget
	}
	a.reserved += n
	return &hold{a: a, n: n}, nil
}

func (h *hold) Settle(_ context.Context, billed int64) {
	h.a.mu.Lock()
	defer h.a.mu.Unlock()
	h.a.reserved -= h.n
	h.a.spent += billed
}

func newTestPager(srv *serpstattest.Server, lim pager.Limiter) *pager.Pager {
	return pager.New(pager.Config{
		Fetcher: &serpstat.Client{Endpoint: srv.URL, Token: serpstattest.DefaultToken},
		Params:  serpstat.Params{Query: "example.com", SearchType: serpstat.SearchDomain, Size: 100},
		Limiter: lim,
		Sleep:   func(context.Context, time.Duration) error { return nil },
	})
}

// page is a Request for page n of 100 rows of p's query, of a total of
// total rows.
func page(p *pager.Pager, n, total int) pager.Request {
	st := pager.Step{Page: n, Size: 100}
	return pager.Request{N: n, Params: p.Params(), Step: st, Cost: st.Cost(total)}
}

func TestLimiterPacesEveryAttempt(t *testing.T) {
	srv := serpstattest.NewServer(serpstattest.Options{Rows: 1000, Fault: func(fi serpstattest.FaultInfo) serpstattest.Fault {
		if fi.Seq == 2 {
			return serpstattest.Fault{Kind: serpstattest.FaultAPIError, Code: serpstattest.CodeRateLimited, Message: serpstattest.MsgRateLimited}
		}
		return serpstattest.Fault{}
	}})
	defer srv.Close()
	lim := &countingLimiter{failAfter: -1}
	p := newTestPager(srv, lim)
	ctx := context.Background()
	s := pager.Session{Budget: pager.NewBudget(0)}
	for n := 1; n <= 2; n++ {
		_, err := p.Get(ctx, s, page(p, n, 1000))
		require.NoError(t, err)
	}
	require.Equal(t, 3, lim.waits, "page 1, page 2 and its retry")
	require.Equal(t, 1, lim.slow)
	require.Equal(t, 2, lim.good)
	require.EqualValues(t, 1, p.Stats().RateLimited)
}

func TestLimiterFailureStopsThePageUnsent(t *testing.T) {
	srv := serpstattest.NewServer(serpstattest.Options{Rows: 1000})
	defer srv.Close()
	gone := errors.New("coordinator gone")
	p := newTestPager(srv, &countingLimiter{failAfter: 1, err: gone})
	ctx := context.Background()
	b := pager.NewBudget(0)
	s := pager.Session{Budget: b}
	_, err := p.Get(ctx, s, page(p, 1, 1000))
	require.NoError(t, err)
	_, err = p.Get(ctx, s, page(p, 2, 1000))
	require.ErrorIs(t, err, gone)
	require.Equal(t, 1, srv.Stats().Requests)
	require.Equal(t, int64(100), b.Spent())
	require.Equal(t, int64(-1), b.Available(), "no local limit")
}

func TestSharedAccountReservesBeforeSendingAndSettlesWhatWasBilled(t *testing.T) {
	srv := serpstattest.NewServer(serpstattest.Options{Rows: 250})
	defer srv.Close()
	p := newTestPager(srv, nil)
	acct := &account{limit: 260}
	b := pager.NewBudget(0)
	b.ShareAccount(acct)
	s := pager.Session{Budget: b.Guard(0, nil)}
	ctx := context.Background()
	_, err := p.Get(ctx, s, page(p, 1, 250))
	require.NoError(t, err)
	require.Equal(t, int64(100), acct.spent)
	t2, err := p.Reserve(ctx, s, page(p, 2, 250))
	require.NoError(t, err)
	require.Equal(t, int64(100), acct.reserved)
	// Page 3 may cost 50: 100 + 100 + 50 fit in 260; another 50 would not.
	t3, err := p.Reserve(ctx, s, page(p, 3, 250))
	require.NoError(t, err)
	_, err = s.Budget.Reserve(ctx, 50)
	require.ErrorIs(t, err, pager.ErrAccountBudget)
	require.ErrorIs(t, err, pager.ErrBudgetExhausted)
	require.Equal(t, int64(150), acct.reserved, "the refused reservation is not held")
	require.Equal(t, int64(-1), b.Available(), "no local limit")
	for _, tk := range []*pager.Ticket{t2, t3} {
		_, err := p.Fetch(ctx, s, tk)
		require.NoError(t, err)
	}
	require.Equal(t, int64(250), acct.spent)
	require.Zero(t, acct.reserved)
	require.Equal(t, int64(250), srv.Stats().CreditsBilled)

	// An account out of reach: nothing is sent, and it is not a budget stop.
	acct.err = errors.New("coordinator gone")
	_, err = b.Reserve(ctx, 1)
	require.ErrorIs(t, err, acct.err)
	require.NotErrorIs(t, err, pager.ErrBudgetExhausted)
}

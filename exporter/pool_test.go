package exporter

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/serpstat-export/serpstat-export/pager"
)

func fixedPool(n int) *Pool {
	return NewPool(n, pager.New(pager.Config{}))
}

// granted tells whether the wait on ch returned (the slot was granted)
// without blocking.
func granted(ch <-chan error) bool {
	select {
	case err := <-ch:
		return err == nil
	default:
		return false
	}
}

func acquireAsync(p *Pool, order int, stop <-chan struct{}) <-chan error {
	ch := make(chan error, 1)
	go func() { ch <- p.Acquire(context.Background(), order, stop, nil) }()
	return ch
}

// waitWaiters waits (on the pool's state, not on time) until n wait.
func waitWaiters(t *testing.T, p *Pool, n int) {
	t.Helper()
	require.Eventually(t, func() bool {
		p.mu.Lock()
		defer p.mu.Unlock()
		return len(p.waiters) == n
	}, 10*time.Second, time.Millisecond)
}

// A full pool hands a freed slot to the lowest order waiting, whatever
// the order they came in.
func TestPoolLowestOrderFirst(t *testing.T) {
	p := fixedPool(2)
	ctx := context.Background()
	require.NoError(t, p.Acquire(ctx, 0, nil, nil))
	require.NoError(t, p.Acquire(ctx, 1, nil, nil))
	late := acquireAsync(p, 5, nil)
	waitWaiters(t, p, 1)
	early := acquireAsync(p, 3, nil)
	waitWaiters(t, p, 2)

	p.Release(0)
	require.NoError(t, <-early, "order 3 before order 5")
	require.False(t, granted(late))
	p.Release(0)
	require.NoError(t, <-late)
	require.Equal(t, 2, p.Peak())
}

// Start keeps a slot for an exporter's first request; Forgo gives it
// back when none was sent. A waiter that gives up leaves its place.
func TestPoolStartForgoAndGiveUp(t *testing.T) {
	p := fixedPool(1)
	ctx := context.Background()
	require.NoError(t, p.Start(ctx, 4, nil))
	require.NoError(t, p.Acquire(ctx, 4, nil, nil), "the kept slot, at once")
	p.Release(0)

	require.NoError(t, p.Start(ctx, 5, nil))
	stop := make(chan struct{})
	other := acquireAsync(p, 6, stop)
	waitWaiters(t, p, 1)
	close(stop)
	require.True(t, errors.Is(<-other, errSlotCancelled))
	waitWaiters(t, p, 0)
	p.Forgo(5)
	require.NoError(t, p.Acquire(ctx, 7, nil, nil), "the slot Start kept is free again")

	cctx, cancel := context.WithCancel(ctx)
	cancel()
	require.ErrorIs(t, p.Acquire(cctx, 8, nil, nil), context.Canceled)
}

// An automatic pool is sized by Little's law on the rate and the latency
// its exporters measured.
func TestPoolSize(t *testing.T) {
	for _, tc := range []struct {
		workers int
		rate    float64
		latency time.Duration
		want    int
	}{
		{0, 10, 0, 2},
		{0, 10, 300 * time.Millisecond, 5},
		{0, 10, 1500 * time.Millisecond, 20},
		{0, 10, 10 * time.Second, maxAutoWorkers},
		{7, 10, 10 * time.Second, 7},
		{100, 10, 0, MaxWorkers},
	} {
		require.Equal(t, tc.want, poolSize(tc.workers, tc.rate, tc.latency), "%+v", tc)
	}
}

// An automatic pool grows with the age of the requests in flight, before
// any answer measured a latency: at 1.5 s, a run of one-page queries would
// otherwise wait at 2 slots until the first answers came back.
func TestPoolGrowsWithTheAgeOfRequestsInFlight(t *testing.T) {
	p := NewPool(0, pager.New(pager.Config{Limiter: pager.NewThrottle(10)}))
	var mu sync.Mutex
	now := time.Now()
	p.now = func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	ctx := context.Background()
	require.Equal(t, 2, p.Size(), "no latency known, nothing in flight")
	require.NoError(t, p.Acquire(ctx, 0, nil, nil))
	require.NoError(t, p.Acquire(ctx, 1, nil, nil))
	third := acquireAsync(p, 2, nil)
	waitWaiters(t, p, 1)
	require.False(t, granted(third))

	mu.Lock()
	now = now.Add(time.Second) // the two requests have been in flight a second
	mu.Unlock()
	require.Eventually(t, func() bool { return granted(third) }, 10*time.Second, time.Millisecond,
		"a second in flight at ~10/s: the pool is ~14 slots")
	require.Equal(t, 14, p.Size(), "Little's law on 9.7 req/s and 1 s, ×1.25, +1")

	// Released in order, the oldest age goes with them.
	p.Release(0)
	p.Release(0)
	p.Release(0)
	require.Equal(t, 2, p.Size())
}

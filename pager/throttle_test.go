package pager

import (
	"context"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// fakeClock is a Throttle's clock: it moves only when slept on or told.
type fakeClock struct{ now time.Time }

func (c *fakeClock) Now() time.Time { return c.now }

func (c *fakeClock) Sleep(_ context.Context, d time.Duration) error {
	c.now = c.now.Add(d)
	return nil
}

func fakeThrottle(rps float64) (*Throttle, *fakeClock) {
	c := &fakeClock{now: time.Unix(1000, 0)}
	th := NewThrottle(rps)
	th.now, th.sleep = c.Now, c.Sleep
	th.p = newPace(rps, c.now)
	return th, c
}

// bucket is an API's limiter: a token bucket of burst tokens refilled at
// rate a second (burst 1: no two arrivals closer than 1/rate).
type bucket struct {
	rate, burst, tokens float64
	last                time.Time
}

func (b *bucket) allow(at time.Time) bool {
	if b.last.IsZero() {
		b.tokens = b.burst
	} else if el := at.Sub(b.last).Seconds(); el > 0 {
		b.tokens = min(b.burst, b.tokens+el*b.rate)
	}
	if at.After(b.last) {
		b.last = at
	}
	if b.tokens >= 1 {
		b.tokens--
		return true
	}
	return false
}

// simResult is what a simulated export saw.
type simResult struct {
	sent, refused int
	ok            []time.Time // arrivals of the accepted requests
}

// rate is the accepted requests a second between from and to (or the
// last one).
func (r simResult) rate(from time.Time) float64 {
	var in []time.Time
	for _, t := range r.ok {
		if !t.Before(from) {
			in = append(in, t)
		}
	}
	if len(in) < 2 {
		return 0
	}
	return float64(len(in)-1) / in[len(in)-1].Sub(in[0]).Seconds()
}

// simulate sends through th until pages requests were accepted by api or
// until is reached: each send wakes up to late after its slot and
// arrives up to jitter after it; a refusal is heard a millisecond after
// it arrives and its page is sent again.
func simulate(t *testing.T, th *Throttle, c *fakeClock, api *bucket, pages int, until time.Time, late, jitter time.Duration, seed uint64) simResult {
	t.Helper()
	rnd := rand.New(rand.NewPCG(seed, seed))
	var res simResult
	for len(res.ok) < pages && c.now.Before(until) {
		for {
			d := th.take()
			if d <= 0 {
				break
			}
			c.now = c.now.Add(d + time.Duration(rnd.Int64N(int64(late)+1)))
		}
		res.sent++
		at := c.now.Add(time.Duration(rnd.Int64N(int64(jitter) + 1)))
		if api.allow(at) {
			res.ok = append(res.ok, at)
			th.Succeeded()
			continue
		}
		res.refused++
		if at.Add(time.Millisecond).After(c.now) {
			c.now = at.Add(time.Millisecond)
		}
		th.RateLimited()
	}
	return res
}

func TestThrottleKeepsTheRateOfANoBurstLimiter(t *testing.T) {
	for _, c := range []struct {
		name         string
		rps          float64
		late, jitter time.Duration
	}{
		{"10/s, jitter 2ms", 10, 500 * time.Microsecond, 2 * time.Millisecond},
		{"10/s, jitter 4ms", 10, time.Millisecond, 4 * time.Millisecond},
		{"1/s, jitter 20ms", 1, time.Millisecond, 20 * time.Millisecond},
	} {
		t.Run(c.name, func(t *testing.T) {
			th, clk := fakeThrottle(c.rps)
			api := &bucket{rate: c.rps, burst: 1}
			start := clk.now
			res := simulate(t, th, clk, api, 2000, start.Add(time.Hour), c.late, c.jitter, 1)
			require.Len(t, res.ok, 2000)
			require.LessOrEqual(t, float64(res.refused)/float64(res.sent), 0.02, "refused %d of %d", res.refused, res.sent)
			t.Logf("refused %d of %d, ratio %.3f, ceiling %.3f", res.refused, res.sent, res.rate(start)/c.rps, th.p.ceiling)
			require.GreaterOrEqual(t, res.rate(start)/c.rps, 0.95)
			// What it learned is kept: the ceiling is within MaxHeadroom.
			require.GreaterOrEqual(t, th.p.ceiling, c.rps*(1-MaxHeadroom))
		})
	}
}

func TestThrottleFindsAPlanTenTimesSlowerInAFewRefusals(t *testing.T) {
	th, clk := fakeThrottle(10)
	api := &bucket{rate: 1, burst: 1}
	start := clk.now
	first := simulate(t, th, clk, api, 1<<30, start.Add(30*time.Second), time.Millisecond, 5*time.Millisecond, 2)
	t.Logf("first 30s: %d refused of %d, %d slow-downs", first.refused, first.sent, th.SlowDowns())
	require.LessOrEqual(t, first.refused, 40, "refusals before the plan's rate was found")
	require.LessOrEqual(t, th.SlowDowns(), 20)
	// Found: the next two minutes are at the plan's rate, almost without
	// a refusal.
	later := simulate(t, th, clk, api, 1<<30, clk.now.Add(2*time.Minute), time.Millisecond, 5*time.Millisecond, 3)
	require.LessOrEqual(t, float64(later.refused)/float64(later.sent), 0.05, "refused %d of %d", later.refused, later.sent)
	require.GreaterOrEqual(t, later.rate(time.Time{}), 0.8)
	t.Logf("later: %d refused of %d, rate %.3f, limit %.3f", later.refused, later.sent, later.rate(time.Time{}), th.Limit())
	require.Less(t, th.Limit(), 1.0)
}

func TestThrottleRecoversWithinSecondsAndKeepsItsHeadroom(t *testing.T) {
	th, clk := fakeThrottle(10)
	require.InDelta(t, 9.7, th.Limit(), 1e-9)

	th.RateLimited()
	// Other requests in flight hear the same refusal: counted once.
	th.RateLimited()
	th.RateLimited()
	require.Equal(t, 1, th.SlowDowns())
	require.InDelta(t, 9.7*0.98, th.Limit(), 1e-9)

	// Another refusal within the second: the step doubles.
	clk.now = clk.now.Add(500 * time.Millisecond)
	th.RateLimited()
	require.Equal(t, 2, th.SlowDowns())
	require.InDelta(t, 9.7*0.98*0.96, th.Limit(), 1e-9)
	// The ceiling follows down: a step under where it was, not above
	// the rate refused.
	ceiling := th.p.ceiling
	require.InDelta(t, 9.7-0.1-0.1, ceiling, 1e-9)

	// A second later the rate climbs back, a tenth of the target a
	// second, up to the learned ceiling and no further.
	clk.now = clk.now.Add(time.Second)
	require.InDelta(t, 9.7*0.98*0.96, th.Limit(), 1e-9)
	clk.now = clk.now.Add(200 * time.Millisecond)
	require.InDelta(t, 9.7*0.98*0.96+0.2, th.Limit(), 1e-9)
	clk.now = clk.now.Add(3 * time.Second)
	require.InDelta(t, ceiling, th.Limit(), 1e-9)
	clk.now = clk.now.Add(50 * time.Second)
	require.InDelta(t, ceiling, th.Limit(), 1e-9)

	// After a quiet minute the ceiling rises by a step, back to the
	// initial headroom at most.
	clk.now = clk.now.Add(10 * time.Second)
	require.InDelta(t, ceiling+0.1, th.Limit(), 1e-9)
	for range 10 {
		clk.now = clk.now.Add(time.Minute)
		th.Succeeded()
	}
	require.InDelta(t, 9.7, th.Limit(), 1e-9)
}

func TestThrottleSpacesActualSends(t *testing.T) {
	th, clk := fakeThrottle(10)
	interval := th.p.interval()
	require.Zero(t, th.take())
	require.Equal(t, interval, th.take())
	// This send happens 30ms late: the next is an interval after it,
	// not after its slot.
	clk.now = clk.now.Add(interval + 30*time.Millisecond)
	require.Zero(t, th.take())
	sent := clk.now
	clk.now = clk.now.Add(interval - 10*time.Millisecond)
	require.Equal(t, 10*time.Millisecond, th.take())
	require.NoError(t, th.Wait(context.Background()))
	require.Equal(t, sent.Add(interval), clk.now)
}

func TestThrottleIsolatedRefusalsStopAtMaxHeadroom(t *testing.T) {
	th, clk := fakeThrottle(10)
	for range 50 {
		clk.now = clk.now.Add(10 * time.Second)
		th.RateLimited()
	}
	require.Equal(t, 50, th.SlowDowns())
	require.InDelta(t, 10*(1-MaxHeadroom), th.p.ceiling, 1e-9)
}

func TestThrottleNeverBelowMinRate(t *testing.T) {
	th, clk := fakeThrottle(1)
	for range 50 {
		clk.now = clk.now.Add(th.p.interval())
		th.RateLimited()
	}
	require.InDelta(t, MinRate, th.Limit(), 1e-9)
}

func TestUnlimitedThrottle(t *testing.T) {
	th := NewThrottle(0)
	require.Equal(t, time.Second, th.RateLimited())
	th.Succeeded()
	require.NoError(t, th.Wait(context.Background()))
	require.True(t, th.Limit() > 1e300)
}

func TestThrottleWaitStopsWithItsContext(t *testing.T) {
	th := NewThrottle(0.01)
	require.NoError(t, th.Wait(context.Background()))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	require.ErrorIs(t, th.Wait(ctx), context.Canceled)
}

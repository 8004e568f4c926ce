package coord

import (
	"context"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// clockSleeps records what Limiters sleep, and moves the fake Redis's
// clock by it (plus late, a waiter waking late).
type clockSleeps struct {
	m    *fakeRedis
	got  []time.Duration
	late func() time.Duration
}

func (s *clockSleeps) sleep(_ context.Context, d time.Duration) error {
	s.got = append(s.got, d)
	if s.late != nil {
		d += s.late()
	}
	s.m.SetTime(s.m.Now().Add(d))
	return nil
}

// interval is the pacing interval of rate r, as the scripts compute it.
func interval(r float64) time.Duration { return time.Duration(int64(1e6/r)) * time.Microsecond }

func TestLimiterOneScheduleForEveryProcess(t *testing.T) {
	m := newRedis(t)
	a, b := open(t, m, "tok"), open(t, m, "tok")
	s := &clockSleeps{m: m}
	la, lb := a.Limiter(10), b.Limiter(10)
	la.Sleep, lb.Sleep = s.sleep, s.sleep
	for _, l := range []*Limiter{la, lb, la, lb, la} {
		require.NoError(t, l.Wait(ctx))
	}
	// The first goes now, each other one a slot later, whichever process
	// asks: the rate is 10 less the initial headroom (9.7 a second).
	i := interval(9.7)
	require.Equal(t, []time.Duration{i, i, i, i}, s.got)
	require.Equal(t, 9.7, lb.Limit())

	// Another token is another account: its own schedule.
	other := open(t, m, "another-token").Limiter(10)
	other.Sleep = s.sleep
	require.NoError(t, other.Wait(ctx))
	require.Len(t, s.got, 4)
	require.NotContains(t, a.Namespace(), "tok")
}

func TestLimiterLowestTargetPacesItsOwnRequests(t *testing.T) {
	m := newRedis(t)
	s := &clockSleeps{m: m}
	l := open(t, m, "tok").Limiter(2)
	l.Sleep = s.sleep
	require.NoError(t, l.Wait(ctx))
	require.NoError(t, l.Wait(ctx))
	require.Equal(t, []time.Duration{interval(1.94)}, s.got)
}

func TestLimiterLateSendKeepsTheGapAcrossProcesses(t *testing.T) {
	m := newRedis(t)
	la, lb := open(t, m, "tok").Limiter(10), open(t, m, "tok").Limiter(10)
	i := interval(9.7)
	book := func(l *Limiter) time.Duration { d, err := l.run(ctx, paceBook); require.NoError(t, err); return d }
	send := func(l *Limiter) time.Duration { d, err := l.run(ctx, paceSend); require.NoError(t, err); return d }
	t0 := m.Now()
	require.Zero(t, book(la))
	require.Zero(t, send(la))
	// a books the next slot, b the one after.
	require.Equal(t, i, book(la))
	require.Equal(t, 2*i, book(lb))
	// a wakes 30ms late and sends.
	m.SetTime(t0.Add(i + 30*time.Millisecond))
	require.Zero(t, send(la))
	// b, on time for its slot, must wait until an interval after a's
	// actual send.
	m.SetTime(t0.Add(2 * i))
	require.Equal(t, 30*time.Millisecond, send(lb))
	m.SetTime(t0.Add(2*i + 30*time.Millisecond))
	require.Zero(t, send(lb))
	// The next booking follows the actual sends.
	require.Equal(t, i, book(la))
}

func TestLimiterOverRateStepsEveryProcessDown(t *testing.T) {
	m := newRedis(t)
	a, b := open(t, m, "tok"), open(t, m, "tok")
	la, lb := a.Limiter(10), b.Limiter(10)
	s := &clockSleeps{m: m}
	la.Sleep, lb.Sleep = s.sleep, s.sleep
	require.NoError(t, la.Wait(ctx))
	la.RateLimited()
	la.RateLimited() // the same refusal heard by every request in flight: once only
	require.InDelta(t, 9.7*0.98, la.Limit(), 1e-3)
	n, err := lb.SlowDowns(ctx)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	// b's next request is paced at the lower rate.
	require.NoError(t, lb.Wait(ctx))
	require.InDelta(t, 9.7*0.98, lb.Limit(), 1e-3)
	require.Equal(t, []time.Duration{interval(9.7 * 0.98)}, s.got)

	// Another refusal within the second: the step doubles, and the
	// ceiling follows down.
	lb.RateLimited()
	require.InDelta(t, 9.7*0.98*0.96, lb.Limit(), 1e-3)
	n, err = la.SlowDowns(ctx)
	require.NoError(t, err)
	require.Equal(t, 2, n)

	// A second later the rate climbs back, a tenth of the target a
	// second, up to the learned ceiling (two steps under the start).
	m.SetTime(m.Now().Add(time.Second + 200*time.Millisecond))
	require.NoError(t, la.Wait(ctx))
	require.InDelta(t, 9.7*0.98*0.96+0.2, la.Limit(), 1e-3)
	m.SetTime(m.Now().Add(5 * time.Second))
	require.NoError(t, lb.Wait(ctx))
	require.InDelta(t, 9.5, lb.Limit(), 1e-3)
	// After a quiet minute the ceiling rises a step.
	m.SetTime(m.Now().Add(time.Minute))
	require.NoError(t, la.Wait(ctx))
	require.InDelta(t, 9.6, la.Limit(), 1e-3)
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

// simulateShared sends through the limiters in turn (each a process)
// until until: each send wakes up to late after its slot and arrives up
// to jitter after it; a refusal is heard at once and its page sent again.
// It returns the requests sent, refused, and the accepted ones' rate.
func simulateShared(t *testing.T, m *fakeRedis, ls []*Limiter, api *bucket, until time.Time, late, jitter time.Duration, seed uint64) (sent, refused int, rps float64) {
	t.Helper()
	rnd := rand.New(rand.NewPCG(seed, seed))
	s := &clockSleeps{m: m, late: func() time.Duration { return time.Duration(rnd.Int64N(int64(late) + 1)) }}
	var ok []time.Time
	for i := 0; m.Now().Before(until); i++ {
		l := ls[i%len(ls)]
		l.Sleep = s.sleep
		require.NoError(t, l.Wait(ctx))
		sent++
		at := m.Now().Add(time.Duration(rnd.Int64N(int64(jitter) + 1)))
		if api.allow(at) {
			ok = append(ok, at)
			l.Succeeded()
			continue
		}
		refused++
		l.RateLimited()
	}
	if len(ok) > 1 {
		rps = float64(len(ok)-1) / ok[len(ok)-1].Sub(ok[0]).Seconds()
	}
	return sent, refused, rps
}

func TestLimiterKeepsTheRateOfANoBurstLimiterForThreeProcesses(t *testing.T) {
	m := newRedis(t)
	var ls []*Limiter
	for range 3 {
		ls = append(ls, open(t, m, "tok").Limiter(10))
	}
	api := &bucket{rate: 10, burst: 1}
	sent, refused, rps := simulateShared(t, m, ls, api, m.Now().Add(time.Minute), time.Millisecond, 3*time.Millisecond, 1)
	t.Logf("%d sent, %d refused, %.3f a second", sent, refused, rps)
	require.LessOrEqual(t, float64(refused)/float64(sent), 0.02)
	require.GreaterOrEqual(t, rps, 9.5)
}

func TestLimiterFindsAPlanTenTimesSlower(t *testing.T) {
	m := newRedis(t)
	ls := []*Limiter{open(t, m, "tok").Limiter(10), open(t, m, "tok").Limiter(10)}
	api := &bucket{rate: 1, burst: 1}
	sent, refused, _ := simulateShared(t, m, ls, api, m.Now().Add(30*time.Second), time.Millisecond, 5*time.Millisecond, 2)
	t.Logf("first 30s: %d sent, %d refused", sent, refused)
	require.LessOrEqual(t, refused, 40)
	sent, refused, rps := simulateShared(t, m, ls, api, m.Now().Add(2*time.Minute), time.Millisecond, 5*time.Millisecond, 3)
	t.Logf("then: %d sent, %d refused, %.3f a second", sent, refused, rps)
	require.LessOrEqual(t, float64(refused)/float64(sent), 0.05)
	require.GreaterOrEqual(t, rps, 0.8)
	require.Less(t, ls[0].Limit(), 1.5)
}

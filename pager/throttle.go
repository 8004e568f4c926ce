package pager

import (
	"context"
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Throttle paces every request, retries included, through one shared
// *rate.Limiter with burst 1. An over-rate answer halves its rate (at most
// once per interval, however many requests in flight hear it) and caps
// later increases just under the rate that was refused; each success then
// raises the rate by a twentieth of the target until the cap (additive
// increase, multiplicative decrease). Safe for concurrent use.
type Throttle struct {
	limiter *rate.Limiter
	target  rate.Limit

	mu        sync.Mutex
	ceiling   rate.Limit // highest rate to climb back to
	lastSlow  time.Time
	lastRaise time.Time
	slowed    int
	now       func() time.Time
}

// Throttle settings.
const (
	// MinRate is the lowest rate a Throttle slows to.
	MinRate = 0.1
	// ceilingRecovery is how long the rate must go without an over-rate
	// answer before the cap is raised again.
	ceilingRecovery = time.Minute
)

// NewThrottle returns a Throttle at rps requests per second; rps <= 0 means
// no limit (and over-rate answers then only delay the retry).
func NewThrottle(rps float64) *Throttle {
	lim := rate.Limit(rps)
	if rps <= 0 {
		lim = rate.Inf
	}
	return &Throttle{limiter: rate.NewLimiter(lim, 1), target: lim, ceiling: lim, now: time.Now}
}

// Wait blocks until the next request may be sent.
func (t *Throttle) Wait(ctx context.Context) error { return t.limiter.Wait(ctx) }

// Limit is the current rate in requests per second (+Inf when unlimited).
func (t *Throttle) Limit() float64 { return float64(t.limiter.Limit()) }

// SlowDowns counts how often the rate was lowered.
func (t *Throttle) SlowDowns() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.slowed
}

// RateLimited records an over-rate answer: it lowers the rate and takes the
// next token, so that every worker pauses. It returns how long the caller
// should wait before its retry when the limiter cannot pace it (no limit).
func (t *Throttle) RateLimited() time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	cur := t.limiter.Limit()
	if cur == rate.Inf {
		return time.Second
	}
	interval := time.Duration(float64(time.Second) / float64(cur))
	if now.Sub(t.lastSlow) < max(interval, time.Second) {
		// Already slowed for this burst of refusals.
		return 0
	}
	t.lastSlow = now
	t.slowed++
	t.ceiling = max(rate.Limit(MinRate), cur*0.6)
	next := max(rate.Limit(MinRate), cur/2)
	t.limiter.SetLimitAt(now, next)
	t.limiter.ReserveN(now, 1)
	return 0
}

// Succeeded records a good answer: at most once a second it raises the
// rate towards the cap, and the cap towards the target after a quiet
// minute.
func (t *Throttle) Succeeded() {
	t.mu.Lock()
	defer t.mu.Unlock()
	cur := t.limiter.Limit()
	if cur == rate.Inf || cur >= t.target {
		return
	}
	now := t.now()
	if now.Sub(t.lastRaise) < time.Second || now.Sub(t.lastSlow) < time.Second {
		return
	}
	t.lastRaise = now
	if t.ceiling < t.target && now.Sub(t.lastSlow) > ceilingRecovery {
		t.ceiling = min(t.target, t.ceiling*1.1)
		t.lastSlow = now.Add(-ceilingRecovery / 2)
	}
	next := min(t.ceiling, cur+t.target/20)
	if next > cur && !math.IsInf(float64(next), 0) {
		t.limiter.SetLimitAt(now, next)
	}
}

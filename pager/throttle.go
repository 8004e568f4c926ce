package pager

import (
	"context"
	"math"
	"sync"
	"time"
)

// Throttle paces every request, retries included, so that it finds and
// keeps the plan's rate against a strict limiter (a token bucket with no
// burst refuses a request that arrives a millisecond less than its period
// after the last one). Safe for concurrent use.
//
// The algorithm:
//
//   - Spacing by actual sends. Waiters queue in order; the head sends no
//     earlier than the previous actual send (the moment the previous Wait
//     returned) plus the interval of the current rate, so a waiter that
//     woke late makes the next gap no shorter.
//   - Headroom. The rate starts at target × (1 − InitialHeadroom) (3%
//     under --rps), so that the few milliseconds by which sends arrive
//     unevenly fit between them. This ceiling is learned: every refusal
//     lowers it by HeadroomStep (1% of the target), down to at most
//     MaxHeadroom under the target by isolated refusals, and it rises by
//     HeadroomStep only after a quiet minute, so the rate does not probe
//     into refusals again and again.
//   - Over-rate answers do not halve. One refusal (once per interval,
//     however many requests in flight hear it) lowers the current rate by
//     a step of 2%; a refusal within a second (or four intervals) of the
//     previous one doubles the step (4%, 8%, ... at most a halving), so a
//     plan far slower than --rps (10 against 1 a second) is found within
//     about twenty refused requests, the ceiling following the refused
//     rate down. The refused page is retried through the normal Wait,
//     after the period of the new rate. The rate never goes under
//     MinRate.
//   - Recovery. A second after the last refusal the rate climbs back by a
//     tenth of the target a second, up to the learned ceiling: a
//     transient slow-down is gone within seconds, the headroom stays.
//
// It is not a golang.org/x/time/rate.Limiter: that one schedules each
// token from the previous slot, not from the previous actual send, so a
// waiter that wakes late leaves the next one a shorter gap, which a
// limiter with no burst refuses.
type Throttle struct {
	target float64 // +Inf: no limit
	turn   chan struct{}
	now    func() time.Time
	sleep  func(ctx context.Context, d time.Duration) error

	mu      sync.Mutex
	last    time.Time // the previous actual send
	p       pace
	slowed  int
	limited bool // target finite
}

// Throttle settings.
const (
	// MinRate is the lowest rate a Throttle slows to.
	MinRate = 0.1
	// InitialHeadroom is how far under the target the rate starts.
	InitialHeadroom = 0.03
	// HeadroomStep is how much of the target one refusal takes off the
	// learned ceiling (and a quiet minute gives back).
	HeadroomStep = 0.01
	// MaxHeadroom bounds what isolated refusals take off the ceiling;
	// refusals in a row (a plan slower than the target) go further.
	MaxHeadroom = 0.10
	// SlowStep is the first step an over-rate answer takes off the
	// current rate; refusals in a row double it up to MaxSlowStep.
	SlowStep    = 0.02
	MaxSlowStep = 0.5
	// RecoverHold is how long after a refusal the rate stays down.
	RecoverHold = time.Second
	// RecoverRate is the climb back, in targets per second.
	RecoverRate = 0.1
	// CeilingRecovery is how long the ceiling must go without a refusal
	// before it rises by HeadroomStep.
	CeilingRecovery = time.Minute
)

// pace is the rate arithmetic of a Throttle (coord's Lua does the same).
type pace struct {
	target    float64
	rate      float64   // current requests per second
	ceiling   float64   // learned highest rate
	lastEvent time.Time // the last refusal that counted
	lastClimb time.Time // rate last brought up to date
	lastRaise time.Time // ceiling last raised
	streak    int       // refusals in a row before lastEvent
}

func newPace(target float64, now time.Time) pace {
	r := max(MinRate, target*(1-InitialHeadroom))
	return pace{target: target, rate: r, ceiling: r, lastClimb: now, lastRaise: now}
}

// update brings the rate and the ceiling up to now: the climb after a
// refusal and the ceiling's rise after a quiet minute.
func (p *pace) update(now time.Time) {
	top := max(MinRate, p.target*(1-InitialHeadroom))
	if p.ceiling < top && now.Sub(p.lastEvent) >= CeilingRecovery && now.Sub(p.lastRaise) >= CeilingRecovery {
		p.ceiling = min(top, p.ceiling+p.target*HeadroomStep)
		p.lastRaise = now
	}
	from := p.lastEvent.Add(RecoverHold)
	if p.lastClimb.After(from) {
		from = p.lastClimb
	}
	if p.rate < p.ceiling && now.After(from) {
		p.rate = min(p.ceiling, p.rate+p.target*RecoverRate*now.Sub(from).Seconds())
	}
	if now.After(p.lastClimb) {
		p.lastClimb = now
	}
	p.rate = min(p.rate, p.ceiling)
}

func (p *pace) interval() time.Duration { return time.Duration(float64(time.Second) / p.rate) }

// refused records an over-rate answer heard at now; false when it is part
// of a refusal already counted (within one interval of it).
func (p *pace) refused(now time.Time) bool {
	p.update(now)
	since := now.Sub(p.lastEvent)
	if since < p.interval() {
		return false
	}
	if since < max(time.Second, 4*p.interval()) {
		p.streak++
	} else {
		p.streak = 0
	}
	step := min(MaxSlowStep, SlowStep*math.Pow(2, float64(p.streak)))
	before := p.rate
	p.rate = max(MinRate, before*(1-step))
	floor := max(MinRate, p.target*(1-MaxHeadroom))
	c := p.ceiling - p.target*HeadroomStep
	if p.streak == 0 {
		c = max(c, min(p.ceiling, floor))
	} else {
		// In a row: the plan is slower; follow the refused rate down.
		c = min(c, before)
	}
	p.ceiling = max(MinRate, min(p.ceiling, c))
	p.lastEvent, p.lastClimb = now, now
	return true
}

// NewThrottle returns a Throttle at rps requests per second (less its
// headroom); rps <= 0 means no limit (and over-rate answers then only
// delay the retry).
func NewThrottle(rps float64) *Throttle {
	t := &Throttle{target: math.Inf(1), turn: make(chan struct{}, 1), now: time.Now, sleep: Sleep}
	if rps > 0 {
		t.target, t.limited = rps, true
		t.p = newPace(rps, t.now())
	}
	return t
}

// Wait blocks until the next request may be sent: its turn among the
// waiters, then one interval after the previous send.
func (t *Throttle) Wait(ctx context.Context) error {
	if !t.limited {
		return ctx.Err()
	}
	select {
	case t.turn <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-t.turn }()
	for {
		d := t.take()
		if d <= 0 {
			return nil
		}
		if err := t.sleep(ctx, d); err != nil {
			return err
		}
	}
}

// take records a send now and returns 0, or returns how long to wait
// before one may be sent.
func (t *Throttle) take() time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	t.p.update(now)
	if !t.last.IsZero() {
		if d := t.last.Add(t.p.interval()).Sub(now); d > 0 {
			return d
		}
	}
	t.last = now
	return 0
}

// Limit is the current rate in requests per second (+Inf when unlimited).
func (t *Throttle) Limit() float64 {
	if !t.limited {
		return math.Inf(1)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.p.update(t.now())
	return t.p.rate
}

// SlowDowns counts how often the rate was lowered.
func (t *Throttle) SlowDowns() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.slowed
}

// RateLimited records an over-rate answer: it lowers the rate (see
// Throttle) once for the requests in flight that hear it. The retry is
// paced by Wait; without a limit it returns the second to wait instead.
func (t *Throttle) RateLimited() time.Duration {
	if !t.limited {
		return time.Second
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.p.refused(t.now()) {
		t.slowed++
	}
	return 0
}

// Succeeded records a good answer; the climb back after a refusal is by
// time (see Throttle), so it only brings the rate up to date.
func (t *Throttle) Succeeded() {
	if !t.limited {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.p.update(t.now())
}

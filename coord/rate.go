package coord

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/serpstat-export/serpstat-export/pager"
)

var _ pager.Limiter = (*Limiter)(nil)

// MinRate is the lowest rate a Limiter slows to.
const MinRate = pager.MinRate

// The shared rate is pager.Throttle's pacing, kept in Redis for every
// process of the account (see Limiter). KEYS[1] holds the booking
// schedule: the time (microseconds on the server's clock) of the next
// free slot. KEYS[2] is a hash of the pacing state: rate (the current
// requests per second), ceiling (the learned highest rate), last_slow
// (the last refusal that counted), last_climb, last_raise (the
// ceiling's last rise), streak (refusals in a row), slowed (a count) and
// sent (the last actual send). Times come from the server's TIME, so
// hosts' clocks need not agree. Every script takes ARGV[1] the caller's
// target rate and ARGV[2] MinRate, and brings the state up to date first
// (the climb back after a refusal, the ceiling's rise after a quiet
// minute), as pager.Throttle does.
var (
	// paceLoad reads the state and brings it up to now; eff is the rate
	// this caller paces at (the lowest target wins for its own requests).
	paceLoad = fmt.Sprintf(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local target = tonumber(ARGV[1])
local minr = tonumber(ARGV[2])
local h = KEYS[2]
local top = math.max(minr, target * (1 - %[1]g))
local st = redis.call('HMGET', h, 'rate', 'ceiling', 'last_slow', 'last_climb', 'last_raise', 'streak', 'sent')
local rate = tonumber(st[1]) or top
local ceiling = tonumber(st[2]) or top
local lastSlow = tonumber(st[3]) or 0
local lastClimb = tonumber(st[4]) or now
local lastRaise = tonumber(st[5]) or now
local streak = tonumber(st[6]) or 0
local sent = tonumber(st[7]) or 0
if ceiling < top and now - lastSlow >= %[3]d and now - lastRaise >= %[3]d then
  ceiling = math.min(top, ceiling + target * %[2]g)
  lastRaise = now
end
local from = math.max(lastClimb, lastSlow + %[4]d)
if rate < ceiling and now > from then
  rate = math.min(ceiling, rate + target * %[5]g * (now - from) / 1000000)
end
if now > lastClimb then lastClimb = now end
if rate > ceiling then rate = ceiling end
local eff = math.min(rate, top)
local interval = math.floor(1000000 / eff)
local function save()
  redis.call('HSET', h, 'rate', tostring(rate), 'ceiling', tostring(ceiling), 'last_slow', string.format('%%d', lastSlow),
    'last_climb', string.format('%%d', lastClimb), 'last_raise', string.format('%%d', lastRaise), 'streak', tostring(streak), 'sent', string.format('%%d', sent))
  redis.call('EXPIRE', h, 3600)
end
`, pager.InitialHeadroom, pager.HeadroomStep, pager.CeilingRecovery.Microseconds(), pager.RecoverHold.Microseconds(), pager.RecoverRate)

	// paceBook books the caller's slot: the next free one, and no
	// earlier than an interval after the last actual send. Returns
	// {microseconds to wait, eff × 1000}.
	paceBook = redis.NewScript(paceLoad + `
local tat = tonumber(redis.call('GET', KEYS[1]) or 0)
if tat < now then tat = now end
if sent > 0 and tat < sent + interval then tat = sent + interval end
redis.call('SET', KEYS[1], string.format('%d', tat + interval), 'PX', math.floor((tat + interval - now) / 1000) + 60000)
save()
return {tat - now, math.floor(eff * 1000)}`)

	// paceSend records a send now, at the caller's slot, unless the last
	// actual send (another process's, late) is less than an interval ago.
	// Returns {microseconds still to wait (0: sent), eff × 1000}.
	paceSend = redis.NewScript(paceLoad + `
if sent > 0 and now < sent + interval then
  save()
  return {sent + interval - now, math.floor(eff * 1000)}
end
sent = now
save()
return {0, math.floor(eff * 1000)}`)

	// paceRefused records an over-rate answer, as pager.Throttle does:
	// once per interval however many hear it, a step off the rate that
	// doubles for refusals in a row, and the ceiling a step lower (at
	// most MaxHeadroom under the target for isolated ones, following the
	// refused rate down for refusals in a row). Returns eff × 1000.
	paceRefused = redis.NewScript(paceLoad + fmt.Sprintf(`
local since = now - lastSlow
if since < interval then
  return math.floor(eff * 1000)
end
if since < math.max(1000000, 4 * interval) then streak = streak + 1 else streak = 0 end
local step = math.min(%[2]g, %[1]g * 2 ^ streak)
local before = eff
rate = math.max(minr, before * (1 - step))
local c = ceiling - target * %[3]g
if streak == 0 then
  c = math.max(c, math.min(ceiling, math.max(minr, target * (1 - %[4]g))))
else
  c = math.min(c, before)
end
ceiling = math.max(minr, math.min(ceiling, c))
lastSlow, lastClimb = now, now
save()
redis.call('HINCRBY', h, 'slowed', 1)
return math.floor(math.min(rate, top) * 1000)`, pager.SlowStep, pager.MaxSlowStep, pager.HeadroomStep, pager.MaxHeadroom))
)

// Limiter is one request rate for every process of the account, paced as
// pager.Throttle paces one process (see its doc for the algorithm): the
// pacing state, its learned headroom and the schedule live in Redis.
// Each Wait takes its process's turn (one waiter of a process at a time),
// books the next slot of the shared schedule, sleeps until it, then
// records its send on the server's clock, unless another process's send,
// late, was less than an interval ago: then it waits the rest and asks
// again. So a process that woke late makes the next gap no shorter, on
// whichever host; the send follows the record by half a round trip to
// Redis. Over-rate answers step the shared rate down for all. It
// implements pager.Limiter; safe for concurrent use.
type Limiter struct {
	c      *Coordinator
	target float64
	tat    string
	state  string
	turn   chan struct{}
	rate   atomic.Uint64 // the last rate seen, as math.Float64bits
	// Sleep waits d; nil means a timer. Tests replace it.
	Sleep func(ctx context.Context, d time.Duration) error
}

// Limiter returns the account's shared limiter, paced at rps requests per
// second at most, less the headroom (each process may ask for less; the
// lowest wins for its own requests).
func (c *Coordinator) Limiter(rps float64) *Limiter {
	l := &Limiter{c: c, target: rps, tat: c.ns + "rate:tat", state: c.ns + "rate:aimd", turn: make(chan struct{}, 1)}
	l.rate.Store(math.Float64bits(max(MinRate, rps*(1-pager.InitialHeadroom))))
	return l
}

// Wait books the next slot, blocks until it and records the send. An
// error that is not the context's wraps ErrUnavailable.
func (l *Limiter) Wait(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if l.target <= 0 {
		return nil
	}
	select {
	case l.turn <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-l.turn }()
	script := paceBook
	for {
		d, err := l.run(ctx, script)
		if err != nil {
			return err
		}
		if d <= 0 && script == paceSend {
			return nil
		}
		if d > 0 {
			if err := l.sleep(ctx, d); err != nil {
				return err
			}
		}
		script = paceSend
	}
}

// run runs a booking script and returns how long to wait.
func (l *Limiter) run(ctx context.Context, s *redis.Script) (time.Duration, error) {
	res, err := s.Run(ctx, l.c.rdb, []string{l.tat, l.state}, ftoa(l.target), ftoa(MinRate)).Int64Slice()
	if err != nil {
		if ctx.Err() != nil {
			return 0, ctx.Err()
		}
		return 0, l.c.fail(err)
	}
	l.rate.Store(math.Float64bits(float64(res[1]) / 1000))
	return time.Duration(res[0]) * time.Microsecond, nil
}

func (l *Limiter) sleep(ctx context.Context, d time.Duration) error {
	if l.Sleep != nil {
		return l.Sleep(ctx, d)
	}
	return pager.Sleep(ctx, d)
}

// Limit is the shared rate as last seen, in requests per second.
func (l *Limiter) Limit() float64 { return math.Float64frombits(l.rate.Load()) }

// RateLimited steps the shared rate down after an over-rate answer; the
// next Wait of every process paces the retry. A Redis failure is left for
// the next Wait to report.
func (l *Limiter) RateLimited() time.Duration {
	if l.target <= 0 {
		return time.Second
	}
	ctx, cancel := context.WithTimeout(context.Background(), DefaultTimeout)
	defer cancel()
	r, err := paceRefused.Run(ctx, l.c.rdb, []string{l.tat, l.state}, ftoa(l.target), ftoa(MinRate)).Int64()
	if err != nil {
		l.c.log.Debug("could not update the shared rate", "error", l.c.fail(err))
		return 0
	}
	l.rate.Store(math.Float64bits(float64(r) / 1000))
	return 0
}

// Succeeded does nothing: the climb back after a refusal is by time,
// brought up to date by every Wait.
func (l *Limiter) Succeeded() {}

// SlowDowns counts how often the shared rate was lowered, by any process.
func (l *Limiter) SlowDowns(ctx context.Context) (int, error) {
	n, err := l.c.rdb.HGet(ctx, l.state, "slowed").Int()
	if err == redis.Nil {
		return 0, nil
	}
	if err != nil {
		return 0, l.c.fail(err)
	}
	return n, nil
}

func ftoa(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

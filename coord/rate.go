package coord

import (
	"context"
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

// The shared rate is GCRA: KEYS[1] holds the theoretical arrival time
// (TAT, microseconds on the server's clock) of the next request, and
// KEYS[2] the AIMD state: rate (the current requests per second), ceiling,
// last_slow, last_raise (microseconds) and slowed (a count). Times come
// from the server's TIME, so hosts' clocks need not agree.
var (
	// ARGV[1] the caller's target rate. Books the next slot and returns
	// {microseconds to wait before sending, current rate × 1000}.
	gcraTake = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local target = tonumber(ARGV[1])
local cur = tonumber(redis.call('HGET', KEYS[2], 'rate') or target)
if cur > target then cur = target end
local interval = math.floor(1000000 / cur)
local tat = tonumber(redis.call('GET', KEYS[1]) or 0)
if tat < now then tat = now end
redis.call('SET', KEYS[1], string.format('%d', tat + interval), 'PX', math.floor((tat + interval - now) / 1000) + 60000)
return {tat - now, math.floor(cur * 1000)}`)

	// ARGV[1] "slow" or "ok", ARGV[2] the target rate, ARGV[3] MinRate.
	// The same AIMD as pager.Throttle, once for every process: an
	// over-rate answer halves the rate (once per interval however many
	// hear it), caps the climb back just under it, and takes the next
	// slot; a good answer raises the rate by a twentieth of the target
	// at most once a second, and the cap after a quiet minute. Returns
	// the rate × 1000.
	aimd = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local target = tonumber(ARGV[2])
local minr = tonumber(ARGV[3])
local h = KEYS[2]
local cur = tonumber(redis.call('HGET', h, 'rate') or target)
if cur > target then cur = target end
local ceiling = tonumber(redis.call('HGET', h, 'ceiling') or target)
local lastSlow = tonumber(redis.call('HGET', h, 'last_slow') or 0)
local lastRaise = tonumber(redis.call('HGET', h, 'last_raise') or 0)
if ARGV[1] == 'slow' then
  local gap = math.max(1000000 / cur, 1000000)
  if now - lastSlow < gap then return math.floor(cur * 1000) end
  ceiling = math.max(minr, cur * 0.6)
  local nxt = math.max(minr, cur / 2)
  redis.call('HSET', h, 'rate', tostring(nxt), 'ceiling', tostring(ceiling), 'last_slow', string.format('%d', now))
  redis.call('HINCRBY', h, 'slowed', 1)
  redis.call('EXPIRE', h, 3600)
  local tat = tonumber(redis.call('GET', KEYS[1]) or 0)
  if tat < now then tat = now end
  local interval = math.floor(1000000 / nxt)
  redis.call('SET', KEYS[1], string.format('%d', tat + interval), 'PX', math.floor((tat + interval - now) / 1000) + 60000)
  return math.floor(nxt * 1000)
end
if cur >= target then return math.floor(cur * 1000) end
if now - lastRaise < 1000000 or now - lastSlow < 1000000 then return math.floor(cur * 1000) end
redis.call('HSET', h, 'last_raise', string.format('%d', now))
if ceiling < target and now - lastSlow > 60000000 then
  ceiling = math.min(target, ceiling * 1.1)
  redis.call('HSET', h, 'ceiling', tostring(ceiling), 'last_slow', string.format('%d', now - 30000000))
end
local nxt = math.min(ceiling, cur + target / 20)
if nxt > cur then
  redis.call('HSET', h, 'rate', tostring(nxt))
  cur = nxt
end
redis.call('EXPIRE', h, 3600)
return math.floor(cur * 1000)`)
)

// Limiter is one request rate for every process of the account: each
// Wait books the next slot of a GCRA schedule kept in Redis and sleeps
// until it, and over-rate answers lower the rate for all (AIMD kept in
// Redis). It implements pager.Limiter; safe for concurrent use.
type Limiter struct {
	c      *Coordinator
	target float64
	tat    string
	state  string
	rate   atomic.Uint64 // the last rate seen, as math.Float64bits
	// Sleep waits d; nil means a timer. Tests replace it.
	Sleep func(ctx context.Context, d time.Duration) error
}

// Limiter returns the account's shared limiter, paced at rps requests per
// second at most (each process may ask for less; the lowest wins for its
// own requests).
func (c *Coordinator) Limiter(rps float64) *Limiter {
	l := &Limiter{c: c, target: rps, tat: c.ns + "rate:tat", state: c.ns + "rate:aimd"}
	l.rate.Store(math.Float64bits(rps))
	return l
}

// Wait books the next slot and blocks until it. An error that is not the
// context's wraps ErrUnavailable.
func (l *Limiter) Wait(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	res, err := gcraTake.Run(ctx, l.c.rdb, []string{l.tat, l.state}, ftoa(l.target)).Int64Slice()
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return l.c.fail(err)
	}
	l.rate.Store(math.Float64bits(float64(res[1]) / 1000))
	d := time.Duration(res[0]) * time.Microsecond
	if d <= 0 {
		return nil
	}
	if l.Sleep != nil {
		return l.Sleep(ctx, d)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Limit is the shared rate as last seen, in requests per second.
func (l *Limiter) Limit() float64 { return math.Float64frombits(l.rate.Load()) }

// RateLimited lowers the shared rate after an over-rate answer; the next
// Wait of every process paces the retry. A Redis failure is left for the
// next Wait to report.
func (l *Limiter) RateLimited() time.Duration {
	l.aimd("slow")
	return 0
}

// Succeeded may raise the shared rate after a good answer; it asks Redis
// only while the rate last seen is below the target.
func (l *Limiter) Succeeded() {
	if l.Limit() >= l.target {
		return
	}
	l.aimd("ok")
}

func (l *Limiter) aimd(mode string) {
	ctx, cancel := context.WithTimeout(context.Background(), DefaultTimeout)
	defer cancel()
	r, err := aimd.Run(ctx, l.c.rdb, []string{l.tat, l.state}, mode, ftoa(l.target), ftoa(MinRate)).Int64()
	if err != nil {
		l.c.log.Debug("could not update the shared rate", "error", l.c.fail(err))
		return
	}
	l.rate.Store(math.Float64bits(float64(r) / 1000))
}

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

package coord

import (
	"context"
	"fmt"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/serpstat-export/serpstat-export/pager"
)

var _ pager.Account = (*Account)(nil)

// The account budget of a window: KEYS[1] the credits billed (a counter),
// KEYS[2] the reservations' expiry times (a sorted set, milliseconds on
// the server's clock), KEYS[3] their amounts (a hash). A reservation of a
// dead process is not refreshed and is dropped once expired.
var (
	// ARGV[1] n, ARGV[2] limit, ARGV[3] member, ARGV[4] ttl ms, ARGV[5]
	// the keys' life in seconds. Returns {1 if reserved, spent, reserved
	// by others}.
	reserveScript = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local expired = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now)
for _, m in ipairs(expired) do
  redis.call('ZREM', KEYS[2], m)
  redis.call('HDEL', KEYS[3], m)
end
local spent = tonumber(redis.call('GET', KEYS[1]) or 0)
local reserved = 0
for _, v in ipairs(redis.call('HVALS', KEYS[3])) do reserved = reserved + tonumber(v) end
local n = tonumber(ARGV[1])
if spent + reserved + n > tonumber(ARGV[2]) then return {0, spent, reserved} end
redis.call('ZADD', KEYS[2], now + tonumber(ARGV[4]), ARGV[3])
redis.call('HSET', KEYS[3], ARGV[3], ARGV[1])
for i = 1, 3 do redis.call('EXPIRE', KEYS[i], ARGV[5]) end
return {1, spent, reserved}`)

	// ARGV[1] member, ARGV[2] billed, ARGV[3] the keys' life in seconds.
	settleScript = redis.NewScript(`
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('HDEL', KEYS[3], ARGV[1])
local s = redis.call('INCRBY', KEYS[1], ARGV[2])
redis.call('EXPIRE', KEYS[1], ARGV[3])
return s`)

	// KEYS[1] a reservations zset; ARGV[1] ttl ms, ARGV[2..] members.
	refreshHolds = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
for i = 2, #ARGV do redis.call('ZADD', KEYS[1], 'XX', now + tonumber(ARGV[1]), ARGV[i]) end
return 0`)
)

// Account is a credit budget of Limit credits per Window for every process
// of the account. Windows are fixed: they start at multiples of Window
// since the Unix epoch (UTC midnight for 24h), on this host's clock. It
// implements pager.Account; safe for concurrent use.
type Account struct {
	c      *Coordinator
	limit  int64
	window time.Duration
	seq    atomic.Int64
	// Now is the clock that picks the window; nil means time.Now.
	Now func() time.Time
}

// Account returns the shared budget of limit credits per window.
func (c *Coordinator) Account(limit int64, window time.Duration) *Account {
	return &Account{c: c, limit: limit, window: window}
}

// Limit is the budget of a window.
func (a *Account) Limit() int64 { return a.limit }

func (a *Account) keys() (spent, zset, amounts string, life int64) {
	now := time.Now
	if a.Now != nil {
		now = a.Now
	}
	idx := now().UnixNano() / int64(a.window)
	base := fmt.Sprintf("%sbudget:%d:%d:", a.c.ns, int64(a.window/time.Second), idx)
	// Kept one window past its end, so a late settle still lands.
	return base + "spent", base + "holds", base + "amounts", int64(2*a.window/time.Second) + 60
}

// Reservation is credits an Account set aside for one request.
type Reservation struct {
	a                    *Account
	spent, zset, amounts string
	member               string
	life                 int64
	n                    int64
	done                 atomic.Bool
}

// Reserve sets aside n credits of the window's budget: a
// *Reservation. The error is an *ExhaustedError (wrapping
// pager.ErrAccountBudget) when they do not fit, and wraps ErrUnavailable
// when Redis cannot be reached. Redis has at most twice the Coordinator's
// timeout to answer, within ctx.
func (a *Account) Reserve(ctx context.Context, n int64) (pager.AccountReservation, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*a.c.timeout())
	defer cancel()
	spent, zset, amounts, life := a.keys()
	member := a.c.id + ":" + strconv.FormatInt(a.seq.Add(1), 10)
	res, err := reserveScript.Run(ctx, a.c.rdb, []string{spent, zset, amounts}, n, a.limit, member, a.c.ttl.Milliseconds(), life).Int64Slice()
	if err != nil {
		return nil, a.c.fail(err)
	}
	if res[0] != 1 {
		return nil, &ExhaustedError{Limit: a.limit, Window: a.window, Spent: res[1], Reserved: res[2], Need: n}
	}
	a.c.mu.Lock()
	if a.c.held[zset] == nil {
		a.c.held[zset] = map[string]bool{}
	}
	a.c.held[zset][member] = true
	a.c.mu.Unlock()
	return &Reservation{a: a, spent: spent, zset: zset, amounts: amounts, member: member, life: life, n: n}, nil
}

// Settle records what the request was billed and frees the rest. Only the
// first call counts. When Redis is out of reach the reservation is left to
// expire and the failure is logged (the next request's Wait or Reserve
// stops the run). The record is made even when ctx is canceled (the
// credits were billed), within twice the Coordinator's timeout.
func (r *Reservation) Settle(ctx context.Context, billed int64) {
	if r == nil || r.done.Swap(true) {
		return
	}
	c := r.a.c
	c.mu.Lock()
	delete(c.held[r.zset], r.member)
	c.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*c.timeout())
	defer cancel()
	if err := settleScript.Run(ctx, c.rdb, []string{r.spent, r.zset, r.amounts}, r.member, billed, r.life).Err(); err != nil {
		c.log.Warn("could not record the credits billed in the account budget", "credits", billed, "error", c.fail(err))
	}
}

// Spent is the credits billed in the current window by every process.
func (a *Account) Spent(ctx context.Context) (int64, error) {
	spent, _, _, _ := a.keys()
	n, err := a.c.rdb.Get(ctx, spent).Int64()
	if err == redis.Nil {
		return 0, nil
	}
	if err != nil {
		return 0, a.c.fail(err)
	}
	return n, nil
}

// ExhaustedError says that a request's maximum cost does not fit in the
// window's account budget; it wraps pager.ErrAccountBudget.
type ExhaustedError struct {
	Limit    int64
	Window   time.Duration
	Spent    int64 // billed in the window by every process
	Reserved int64 // held by requests in flight elsewhere
	Need     int64 // this request's maximum cost
}

func (e *ExhaustedError) Error() string {
	return fmt.Sprintf("the next request may cost %d credits; the account budget of %d per %v has %d spent and %d reserved by requests in flight", e.Need, e.Limit, e.Window, e.Spent, e.Reserved)
}

// Unwrap is pager.ErrAccountBudget.
func (e *ExhaustedError) Unwrap() error { return pager.ErrAccountBudget }

func (c *Coordinator) timeout() time.Duration {
	return max(c.rdb.Options().ReadTimeout, time.Second)
}

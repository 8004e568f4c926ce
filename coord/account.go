package coord

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/serpstat-export/serpstat-export/pager"
)

var (
	_ pager.Account        = (*Account)(nil)
	_ pager.AccountCarrier = (*Account)(nil)
)

// How the account budget counts every credit.
//
// The budget of a window is three keys: the credits billed (a counter),
// the reservations' expiry times (a sorted set, milliseconds on the
// server's clock) and their amounts (a hash). A request reserves its
// maximum cost before it is sent and settles at what it was billed.
//
// A reservation nobody settles (its process was killed, or its settle
// could not reach Redis) is not refreshed any more, and when it expires
// it is CHARGED IN FULL: its amount is added to the counter, and recorded
// in a fourth key, the charges (a hash: member -> amount, kept as long as
// the window's keys). A settle that arrives after its reservation was
// charged corrects the charge (adds billed - amount) instead of adding
// again. So the counter never counts less than was billed, and counts
// more by at most the requests a dead process had in flight.
//
// A run (Start) names its reservations by a stable key of what it
// exports (the cmd's queries, outputs and state dir), so that:
//   - a resume finds the holds an earlier, killed attempt of the same run
//     left (in this window and the previous one) and charges them at once,
//     rather than after they expire. Were that attempt alive after all,
//     its settles correct the charges as above: nothing is lost or doubled;
//   - a per-run counter (not windowed, kept RunLife or 8 windows) adds up
//     everything the account charged for the run's reservations, over
//     every attempt. The credits the earlier attempts' journals say were
//     spent (Carry, from pager.Budget.Carry) are compared with what it
//     said when the run started: only what they say beyond it is charged,
//     with the run's next reservation, into the current window (earlier
//     attempts without --coordinator, or a Redis that lost its data). In
//     the normal case the account counted it all already, and nothing is
//     counted twice. It is a lower bound: the counter also holds what
//     queries the earlier attempts finished spent, which their journals
//     (removed once committed) no longer say.
//
// An epoch key (no expiry) is written once with a random value, the first
// time an account budget is used, and read by every process when it
// starts. The reserve and settle scripts check it: when it is gone or
// different, Redis lost the budget's keys (a restart without
// persistence, a FLUSHALL), and the process stops with a *BudgetLostError
// before it sends another request: counting afresh from 0 could spend
// the cap again.

// Lua shared by the scripts. KEYS[1] the window's credits billed, KEYS[2]
// the holds' expiry times, KEYS[3] their amounts, KEYS[4] the charges of
// expired holds, KEYS[5] the epoch. ARGV[1] the prefix of the per-run
// counters, ARGV[2] their life in seconds, ARGV[3] the epoch this process
// read, ARGV[4] the window keys' life in seconds; the script's own from
// ARGV[5].
const luaCommon = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local function runAdd(m, v)
  local rk = string.match(m, '^r(%x+)/')
  if rk then
    local k = ARGV[1] .. rk
    redis.call('INCRBY', k, v)
    redis.call('EXPIRE', k, ARGV[2])
  end
end
-- a hold nobody settled is billed in full, and the charge remembered
local function charge(m)
  local v = redis.call('HGET', KEYS[3], m)
  redis.call('ZREM', KEYS[2], m)
  redis.call('HDEL', KEYS[3], m)
  if not v then return 0 end
  redis.call('INCRBY', KEYS[1], v)
  redis.call('HSET', KEYS[4], m, v)
  runAdd(m, v)
  return tonumber(v)
end
local function sweep()
  local n = 0
  for _, m in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now)) do n = n + charge(m) end
  return n
end
local function keep()
  for i = 1, 4 do redis.call('EXPIRE', KEYS[i], ARGV[4]) end
end
`

var (
	// ARGV[5] a candidate epoch, ARGV[6] the run's hash ('' for none).
	// Sets the epoch if there is none, charges every hold of the run (an
	// earlier attempt's: this process has none yet) and the expired ones.
	// Returns {epoch, charged now, the run's counter}.
	startScript = redis.NewScript(luaCommon + `
local e = redis.call('GET', KEYS[5])
if not e then
  redis.call('SET', KEYS[5], ARGV[5])
  e = ARGV[5]
end
local n = sweep()
local run = 0
if ARGV[6] ~= '' then
  local p = 'r' .. ARGV[6] .. '/'
  for _, m in ipairs(redis.call('HKEYS', KEYS[3])) do
    if string.sub(m, 1, #p) == p then n = n + charge(m) end
  end
  run = tonumber(redis.call('GET', ARGV[1] .. ARGV[6]) or 0)
end
keep()
return {e, n, run}`)

	// ARGV[5] n, ARGV[6] limit, ARGV[7] member, ARGV[8] ttl ms, ARGV[9]
	// credits to charge first (what the run's journals say beyond what
	// the account counted), ARGV[10] the run's hash. Returns {1 if
	// reserved (-1: the epoch is not ours), spent, reserved by others}.
	reserveScript = redis.NewScript(luaCommon + `
if redis.call('GET', KEYS[5]) ~= ARGV[3] then return {-1, 0, 0} end
sweep()
local carry = tonumber(ARGV[9])
if carry > 0 then
  redis.call('INCRBY', KEYS[1], carry)
  if ARGV[10] ~= '' then runAdd('r' .. ARGV[10] .. '/', carry) end
end
local spent = tonumber(redis.call('GET', KEYS[1]) or 0)
local reserved = 0
for _, v in ipairs(redis.call('HVALS', KEYS[3])) do reserved = reserved + tonumber(v) end
local n = tonumber(ARGV[5])
if spent + reserved + n > tonumber(ARGV[6]) then
  keep()
  return {0, spent, reserved}
end
redis.call('ZADD', KEYS[2], now + tonumber(ARGV[8]), ARGV[7])
redis.call('HSET', KEYS[3], ARGV[7], ARGV[5])
keep()
return {1, spent, reserved}`)

	// ARGV[5] member, ARGV[6] billed. Returns {1 (-1: the epoch is not
	// ours), spent}.
	settleScript = redis.NewScript(luaCommon + `
if redis.call('GET', KEYS[5]) ~= ARGV[3] then return {-1, 0} end
local m = ARGV[5]
local add = tonumber(ARGV[6])
if redis.call('HEXISTS', KEYS[3], m) == 1 then
  redis.call('ZREM', KEYS[2], m)
  redis.call('HDEL', KEYS[3], m)
else
  local c = redis.call('HGET', KEYS[4], m)
  if c then
    add = add - tonumber(c)
    redis.call('HDEL', KEYS[4], m)
  end
end
local s = redis.call('INCRBY', KEYS[1], add)
runAdd(m, add)
keep()
return {1, s}`)

	// KEYS[1] a reservations zset; ARGV[1] ttl ms, ARGV[2..] members.
	refreshHolds = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
for i = 2, #ARGV do redis.call('ZADD', KEYS[1], 'XX', now + tonumber(ARGV[1]), ARGV[i]) end
return 0`)
)

// RunLife is how long the account remembers what it charged for a run
// (Start) after its last request: a resume later than that counts what
// its journals say was spent again, in the window it resumes in.
const RunLife = 8 * 24 * time.Hour

// Account is a credit budget of Limit credits per Window for every process
// of the account. Windows are fixed: they start at multiples of Window
// since the Unix epoch (UTC midnight for 24h), on this host's clock. It
// implements pager.Account; safe for concurrent use. Its accounting is
// described at the top of account.go.
type Account struct {
	c      *Coordinator
	limit  int64
	window time.Duration
	seq    atomic.Int64
	// Now is the clock that picks the window; nil means time.Now. Set it
	// before the first call.
	Now func() time.Time

	mu      sync.Mutex
	epoch   string // the epoch read when started; "" until then
	run     string // hash of the run's key; "" for none
	earlier int64  // the run's counter when it started
	carried int64  // credits the run's journals say earlier attempts spent
	paid    int64  // of carried, charged to the account (or taken to be)
}

// Account returns the shared budget of limit credits per window.
func (c *Coordinator) Account(limit int64, window time.Duration) *Account {
	return &Account{c: c, limit: limit, window: window}
}

// Limit is the budget of a window.
func (a *Account) Limit() int64 { return a.limit }

type windowKeys struct {
	spent, zset, amounts, charged, epoch string
	life                                 int64
}

func (a *Account) keys() windowKeys { return a.keysAt(0) }

// keysAt is the keys of the window back windows before the current one.
func (a *Account) keysAt(back int64) windowKeys {
	now := time.Now
	if a.Now != nil {
		now = a.Now
	}
	idx := now().UnixNano()/int64(a.window) - back
	base := fmt.Sprintf("%sbudget:%d:%d:", a.c.ns, int64(a.window/time.Second), idx)
	// Kept one window past its end, so a late settle still lands.
	return windowKeys{base + "spent", base + "holds", base + "amounts", base + "charged", a.c.ns + "budget:epoch", int64(2*a.window/time.Second) + 60}
}

func (k windowKeys) list() []string { return []string{k.spent, k.zset, k.amounts, k.charged, k.epoch} }

// common is ARGV[1..4] of the scripts.
func (a *Account) common(k windowKeys, epoch string) []any {
	return []any{a.c.ns + "budget:run:", int64(max(RunLife, 8*a.window) / time.Second), epoch, k.life}
}

// Start reads the account's epoch (writing it when there is none: the
// first use of the budget, or Redis lost it and this run starts a new
// count) and, when run is not empty, charges at once the reservations an
// earlier attempt of the same run left unsettled, in this window and the
// previous one (each charged in its own window). run names what the run
// exports, the same for every attempt (the cmd: its queries, outputs and
// state dir). It returns the credits charged. Call it before the first
// Reserve; without it Reserve reads the epoch itself and names no run.
func (a *Account) Start(ctx context.Context, run string) (charged int64, err error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.start(ctx, run)
}

// start is Start with a.mu held.
func (a *Account) start(ctx context.Context, run string) (int64, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*a.c.timeout())
	defer cancel()
	var rnd [8]byte
	_, _ = rand.Read(rnd[:])
	h := ""
	if run != "" {
		h = hashName(run)
	}
	// The previous window first: an attempt killed just before the
	// window changed left its holds there, and they are charged there.
	var epoch string
	var charged, earlier int64
	for back := int64(1); back >= 0; back-- {
		if back == 1 && h == "" {
			continue
		}
		k := a.keysAt(back)
		args := append(a.common(k, ""), hex.EncodeToString(rnd[:]), h)
		res, err := startScript.Run(ctx, a.c.rdb, k.list(), args...).Slice()
		if err != nil {
			return 0, a.c.fail(err)
		}
		if len(res) != 3 {
			return 0, a.c.fail(fmt.Errorf("unexpected answer %v", res))
		}
		epoch, _ = res[0].(string)
		n, _ := res[1].(int64)
		charged += n
		earlier, _ = res[2].(int64)
	}
	a.epoch, a.run, a.earlier = epoch, h, earlier
	a.paid = min(a.carried, a.earlier)
	return charged, nil
}

// Carry records that an earlier attempt of the run spent n credits (its
// journal's record; pager.Budget.Carry calls it): what the account has
// not charged for the run yet is charged with the next reservation.
func (a *Account) Carry(n int64) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.carried += n
	if a.epoch != "" {
		a.paid = max(a.paid, min(a.carried, a.earlier))
	}
}

// Reservation is credits an Account set aside for one request.
type Reservation struct {
	a      *Account
	k      windowKeys
	epoch  string
	member string
	n      int64
	done   atomic.Bool
}

// Reserve sets aside n credits of the window's budget: a
// *Reservation. The error is an *ExhaustedError (wrapping
// pager.ErrAccountBudget) when they do not fit, a *BudgetLostError when
// Redis lost the budget's keys, and wraps ErrUnavailable when Redis
// cannot be reached. Redis has at most twice the Coordinator's timeout to
// answer, within ctx.
func (a *Account) Reserve(ctx context.Context, n int64) (pager.AccountReservation, error) {
	a.mu.Lock()
	if a.epoch == "" {
		if _, err := a.start(ctx, ""); err != nil {
			a.mu.Unlock()
			return nil, err
		}
	}
	epoch, run := a.epoch, a.run
	carry := int64(0)
	if run != "" {
		carry = max(0, a.carried-a.paid)
		a.paid += carry
	}
	a.mu.Unlock()

	ctx, cancel := context.WithTimeout(ctx, 2*a.c.timeout())
	defer cancel()
	k := a.keys()
	member := a.c.id + ":" + strconv.FormatInt(a.seq.Add(1), 10)
	if run != "" {
		member = "r" + run + "/" + member
	}
	args := append(a.common(k, epoch), n, a.limit, member, a.c.ttl.Milliseconds(), carry, run)
	res, err := reserveScript.Run(ctx, a.c.rdb, k.list(), args...).Int64Slice()
	if err != nil {
		// Charged or not: charge it again with the next one rather than
		// never.
		a.mu.Lock()
		a.paid -= carry
		a.mu.Unlock()
		return nil, a.c.fail(err)
	}
	switch res[0] {
	case -1:
		return nil, &BudgetLostError{Addr: a.c.addr, Limit: a.limit, Window: a.window}
	case 0:
		return nil, &ExhaustedError{Limit: a.limit, Window: a.window, Spent: res[1], Reserved: res[2], Need: n}
	}
	a.c.mu.Lock()
	if a.c.held[k.zset] == nil {
		a.c.held[k.zset] = map[string]bool{}
	}
	a.c.held[k.zset][member] = true
	a.c.mu.Unlock()
	return &Reservation{a: a, k: k, epoch: epoch, member: member, n: n}, nil
}

// Settle records what the request was billed and frees the rest. Only the
// first call counts. When Redis is out of reach the reservation is left to
// expire, when it is charged in full, and the failure is logged (the next
// request's Wait or Reserve stops the run). The record is made even when
// ctx is canceled (the credits were billed), within twice the
// Coordinator's timeout.
func (r *Reservation) Settle(ctx context.Context, billed int64) {
	if r == nil || r.done.Swap(true) {
		return
	}
	a, c := r.a, r.a.c
	c.mu.Lock()
	delete(c.held[r.k.zset], r.member)
	c.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*c.timeout())
	defer cancel()
	args := append(a.common(r.k, r.epoch), r.member, billed)
	res, err := settleScript.Run(ctx, c.rdb, r.k.list(), args...).Int64Slice()
	switch {
	case err != nil:
		c.log.Warn("could not record the credits billed in the account budget: the reservation is charged in full when it expires", "credits", billed, "reserved", r.n, "error", c.fail(err))
	case res[0] == -1:
		c.log.Warn("could not record the credits billed in the account budget", "credits", billed, "error", &BudgetLostError{Addr: c.addr, Limit: a.limit, Window: a.window})
	}
}

// Spent is the credits billed in the current window by every process.
func (a *Account) Spent(ctx context.Context) (int64, error) {
	n, err := a.c.rdb.Get(ctx, a.keys().spent).Int64()
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

// BudgetLostError says that Redis lost the account budget's keys since
// this process started (its epoch is gone or another: a restart without
// persistence, a flush): the credits the account spent in the window are
// no longer counted, so no request is sent against the empty count. It
// matches ErrUnavailable (the cmd exits 75).
type BudgetLostError struct {
	Addr   string // the coordinator, without its password
	Limit  int64
	Window time.Duration
}

func (e *BudgetLostError) Error() string {
	return fmt.Sprintf("the coordinator (Redis) at %s lost the account budget (--account-budget %d per %v): it was restarted without persistence, or its keys were deleted, so the credits the account's jobs spent in this window are no longer counted", e.Addr, e.Limit, e.Window)
}

// Is makes it match ErrUnavailable.
func (e *BudgetLostError) Is(target error) bool { return target == ErrUnavailable }

func (c *Coordinator) timeout() time.Duration {
	return max(c.rdb.Options().ReadTimeout, time.Second)
}

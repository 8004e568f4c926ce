package pager

import (
	"context"
	"errors"
	"fmt"
	"sync"
)

// ErrBudgetExhausted is returned when the next request's maximum cost does
// not fit in what is left of the credit budget.
var ErrBudgetExhausted = errors.New("credit budget exhausted")

// ErrBalanceFloor is returned when the next request could take the
// account's balance below the floor; it wraps ErrBudgetExhausted.
var ErrBalanceFloor = fmt.Errorf("%w: the account's balance would fall below the floor", ErrBudgetExhausted)

// ErrOverPlan is returned when the next request does not fit in what an
// export's plan allows (a Guard): the API answered otherwise than planned
// (a filter with no effect, parts that do not add up, a wall, data growing
// faster than the allowance), and the export stops with rows in doubt
// rather than spend more. It does not wrap ErrBudgetExhausted: no budget
// the user set was reached.
var ErrOverPlan = errors.New("the export's plan allows no more credits")

// Budget is a credit budget guard. Before a request is sent its maximum
// cost is reserved; when the answer comes the reservation is settled at
// what was actually billed. A request whose maximum cost does not fit is
// never sent, so with any number of requests in flight the credits billed
// never exceed the limit. It also counts what was spent when there is no
// limit.
//
// A Budget made by NewBudget is a run's (--budget, --keep-balance, and an
// Account shared with other processes); one made by Guard is one
// export's, inside its run's: a reservation from it reserves from its run
// too. Safe for concurrent use.
type Budget struct {
	parent *Budget // the run's budget of a Guard; nil for a run's
	over   error   // what a reservation over the limit wraps

	mu       sync.Mutex
	limit    int64 // 0: no limit
	ceiling  int64 // the most Raise takes limit to; 0: no bound
	spent    int64
	reserved int64

	// The balance floor (a run's budget only): spending may not take the
	// account below floor. floorCap is how much this run may spend in all
	// before it would, lowered whenever an answer shows the balance lower
	// than expected (other users of the account spend too). -1: no floor.
	floor    int64
	floorCap int64
	balance  int64 // last balance seen; -1 unknown

	account Account // shared with other processes; nil: none

	journaled int64                                            // the most committed credits recorded
	journal   func(ctx context.Context, committed int64) error // see Guard
}

// NewBudget returns a run's Budget of limit credits; 0 means no limit.
func NewBudget(limit int64) *Budget {
	return &Budget{limit: limit, over: ErrBudgetExhausted, floorCap: -1, balance: -1}
}

// Guard returns an export's budget inside b, capped at limit credits (0:
// no cap yet; see SetLimit): every reservation from it reserves from b
// too, and one over its own cap is refused with ErrOverPlan. When journal
// is not nil, Reserve records with it the credits the export has
// committed (spent and reserved) whenever they pass the most recorded,
// before it returns, so a record survives kill -9 with every request that
// may have been billed counted; a Reserve whose record fails is refused
// with journal's error, and nothing is sent. journal is called with the
// guard locked.
func (b *Budget) Guard(limit int64, journal func(ctx context.Context, committed int64) error) *Budget {
	return &Budget{parent: b, over: ErrOverPlan, limit: limit, floorCap: -1, balance: -1, journal: journal}
}

// SetLimit changes the cap; an export's guard is raised to its plan once
// page 1 and the probes have told it. 0 means no cap.
func (b *Budget) SetLimit(limit int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.limit = limit
}

// SetCeiling sets how high Raise may take the cap; 0 means no bound.
func (b *Budget) SetCeiling(ceiling int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.ceiling = ceiling
}

// Raise raises the cap by n credits, never past the ceiling (SetCeiling):
// an export's guard, by what answers showed is needed beyond the plan (a
// page paid for and lost in its checkpoint, a billed answer that arrived
// broken, re-reads of rows new data shifted). Only a guard is raised: a
// run's budget is the user's, and a guard without a cap keeps none.
func (b *Budget) Raise(n int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.parent == nil || b.limit <= 0 || n <= 0 {
		return
	}
	b.limit += n
	if b.ceiling > 0 {
		b.limit = max(min(b.limit, b.ceiling), b.limit-n)
	}
}

// root is the run's budget.
func (b *Budget) root() *Budget {
	for b.parent != nil {
		b = b.parent
	}
	return b
}

// ShareAccount makes every later reservation also reserve from a, a pool
// of credits shared with other processes. Call it on a run's budget
// before the first Reserve.
func (b *Budget) ShareAccount(a Account) {
	r := b.root()
	r.mu.Lock()
	defer r.mu.Unlock()
	r.account = a
}

// KeepBalance sets a floor under the account's balance, which is balance
// now: the run may spend at most balance-floor credits, less whatever
// later answers show others spent.
func (b *Budget) KeepBalance(balance, floor int64) {
	r := b.root()
	r.mu.Lock()
	defer r.mu.Unlock()
	r.floor = floor
	r.balance = balance
	r.floorCap = max(0, r.spent+balance-floor)
}

// ObserveBalance records the balance an answer reported (its left_lines).
// An answer's balance may already count other requests of this run still
// in flight; counting them twice only makes the floor safer.
func (b *Budget) ObserveBalance(balance int64) {
	r := b.root()
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.balance < 0 || balance < r.balance {
		r.balance = balance
	}
	if r.floorCap >= 0 {
		r.floorCap = min(r.floorCap, max(0, r.spent+balance-r.floor))
	}
}

// Carry counts n credits an earlier attempt of the same export spent (a
// checkpoint's record) as spent, here and in the run's budget, so that
// the limits cap the export in all, not one attempt. The balance floor is
// not lowered by them: the balance read now already lacks them.
//
// A shared Account that is an AccountCarrier is told too: it charges what
// the account did not count of them yet.
func (b *Budget) Carry(n int64) {
	var acct Account
	for x := b; x != nil; x = x.parent {
		x.mu.Lock()
		x.spent += n
		if x.floorCap >= 0 {
			x.floorCap += n
		}
		if x.journal != nil {
			x.journaled = max(x.journaled, x.spent+x.reserved)
		}
		if x.parent == nil {
			acct = x.account
		}
		x.mu.Unlock()
	}
	if c, ok := acct.(AccountCarrier); ok && n > 0 {
		c.Carry(n)
	}
}

// AccountCarrier is an Account told what earlier attempts of an export
// spent (its checkpoint's record), so that a resume leaves the shared
// account counting them (coord.Account).
type AccountCarrier interface {
	Carry(n int64)
}

// Reserved is the credits reserved and not yet settled.
func (b *Budget) Reserved() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.reserved
}

// Exhausted returns the error that says which limit binds first: the
// guard's plan (ErrOverPlan), the floor under the balance
// (ErrBalanceFloor) or the budget (ErrBudgetExhausted).
func (b *Budget) Exhausted() error {
	if b.parent != nil {
		b.mu.Lock()
		spent, limit := b.spent+b.reserved, b.limit
		b.mu.Unlock()
		if up := b.parent.Available(); limit > 0 && (up < 0 || limit-spent <= up) {
			return fmt.Errorf("%w: %d of %d credits spent", ErrOverPlan, spent, limit)
		}
		return b.parent.Exhausted()
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.floorCap >= 0 && (b.limit == 0 || b.floorCap < b.limit) {
		return fmt.Errorf("%w: the balance is %d with a floor of %d", ErrBalanceFloor, b.balance, b.floor)
	}
	return fmt.Errorf("%w: %d of %d credits spent", ErrBudgetExhausted, b.spent, b.limit)
}

// Balance is the lowest account balance seen; -1 when none was.
func (b *Budget) Balance() int64 {
	r := b.root()
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.balance
}

// Spendable is how many credits the run may spend in all, spent ones
// included: the budget or the floor, whichever is lower; -1 for no limit.
// Of a guard: its run's.
func (b *Budget) Spendable() int64 {
	r := b.root()
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.spendable()
}

func (b *Budget) spendable() int64 {
	switch {
	case b.limit == 0:
		return b.floorCap
	case b.floorCap < 0:
		return b.limit
	}
	return min(b.limit, b.floorCap)
}

// Limit is the budget's cap; 0 means none.
func (b *Budget) Limit() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.limit
}

// Reservation is credits set aside for one request.
type Reservation struct {
	b    *Budget
	n    int64
	mu   sync.Mutex
	done bool
	acct AccountReservation // the shared account's, if any
}

// Reserve sets aside n credits here and in every budget above, or returns
// an error wrapping ErrBudgetExhausted (ErrOverPlan for a guard's own cap)
// when they do not fit. ctx bounds the shared account's reservation and
// the journal's record.
func (b *Budget) Reserve(ctx context.Context, n int64) (*Reservation, error) {
	var done []*Budget
	undo := func() {
		for _, x := range done {
			x.mu.Lock()
			x.reserved -= n
			x.mu.Unlock()
		}
	}
	for x := b; x != nil; x = x.parent {
		if err := x.reserve(ctx, n); err != nil {
			undo()
			return nil, err
		}
		done = append(done, x)
	}
	r := &Reservation{b: b, n: n}
	root := done[len(done)-1]
	root.mu.Lock()
	acct := root.account
	root.mu.Unlock()
	if acct == nil {
		return r, nil
	}
	// The shared account is asked outside the locks (it is a network
	// call); the local reservations are freed when it says no.
	var err error
	if r.acct, err = acct.Reserve(ctx, n); err != nil {
		undo()
		return nil, err
	}
	return r, nil
}

func (b *Budget) reserve(ctx context.Context, n int64) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.limit > 0 && b.spent+b.reserved+n > b.limit {
		what := "credits are left"
		if b.parent != nil {
			what = "credits are left of what the export's plan allows"
		}
		return fmt.Errorf("%w: the next request may cost %d credits, %d of %d %s", b.over, n, max(0, b.limit-b.spent-b.reserved), b.limit, what)
	}
	if b.floorCap >= 0 && b.spent+b.reserved+n > b.floorCap {
		return fmt.Errorf("%w: the next request may cost %d credits and the balance is %d with a floor of %d", ErrBalanceFloor, n, b.balance, b.floor)
	}
	if c := b.spent + b.reserved + n; b.journal != nil && c > b.journaled {
		// A high-water mark: one durable write per request, never fewer
		// credits than may have been billed.
		if err := b.journal(ctx, c); err != nil {
			return fmt.Errorf("recording the credits committed: %w", err)
		}
		b.journaled = c
	}
	b.reserved += n
	return nil
}

// Available is what can still be reserved here and above; -1 when nothing
// limits it.
func (b *Budget) Available() int64 {
	avail := int64(-1)
	for x := b; x != nil; x = x.parent {
		x.mu.Lock()
		lim := x.limit
		if x.parent == nil {
			lim = x.spendable()
		} else if lim == 0 {
			lim = -1
		}
		if lim >= 0 {
			if a := max(0, lim-x.spent-x.reserved); avail < 0 || a < avail {
				avail = a
			}
		}
		x.mu.Unlock()
	}
	return avail
}

// Spent is the credits billed so far, as settled.
func (b *Budget) Spent() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.spent
}

// Cost is what the reservation set aside.
func (r *Reservation) Cost() int64 {
	if r == nil {
		return 0
	}
	return r.n
}

// Settle records that billed credits were spent, here and in every budget
// above, and frees the rest of the reservation. Only the first call
// counts. ctx bounds the shared account's record and the journal's.
func (r *Reservation) Settle(ctx context.Context, billed int64) {
	if r == nil {
		return
	}
	r.mu.Lock()
	if r.done {
		r.mu.Unlock()
		return
	}
	r.done = true
	r.mu.Unlock()
	for x := r.b; x != nil; x = x.parent {
		x.mu.Lock()
		x.reserved -= r.n
		x.spent += billed
		if c := x.spent + x.reserved; x.journal != nil && c > x.journaled {
			// Billed more than reserved (the data grew): record it, best
			// effort.
			if x.journal(ctx, c) == nil {
				x.journaled = c
			}
		}
		x.mu.Unlock()
	}
	if r.acct != nil {
		r.acct.Settle(ctx, billed)
	}
}

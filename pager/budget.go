package pager

import (
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

// Budget is the credit budget guard. Before a request is sent its maximum
// cost is reserved; when the answer comes the reservation is settled at what
// was actually billed. A request whose maximum cost does not fit is never
// sent, so with any number of requests in flight the credits billed never
// exceed Limit. It also counts what was spent when there is no limit.
// Safe for concurrent use.
type Budget struct {
	limit int64 // 0: no limit

	mu       sync.Mutex
	spent    int64
	reserved int64

	// The balance floor: spending may not take the account below floor.
	// floorCap is how much this run may spend in all before it would,
	// lowered whenever an answer shows the balance lower than expected
	// (other users of the account spend too). -1: no floor.
	floor    int64
	floorCap int64
	balance  int64 // last balance seen; -1 unknown

	account Account // shared with other processes; nil: none

	journaled int64                       // the most committed credits recorded
	journal   func(committed int64) error // SetJournal
}

// ShareAccount makes every later reservation also reserve from a, a pool
// of credits shared with other processes. Call it before the first
// Reserve.
func (b *Budget) ShareAccount(a Account) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.account = a
}

// NewBudget returns a Budget of limit credits; 0 means no limit.
func NewBudget(limit int64) *Budget {
	return &Budget{limit: limit, floorCap: -1, balance: -1}
}

// KeepBalance sets a floor under the account's balance, which is balance
// now: the run may spend at most balance-floor credits, less whatever
// later answers show others spent.
func (b *Budget) KeepBalance(balance, floor int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.floor = floor
	b.balance = balance
	b.floorCap = max(0, b.spent+balance-floor)
}

// ObserveBalance records the balance an answer reported (its left_lines).
// An answer's balance may already count other requests of this run still
// in flight; counting them twice only makes the floor safer.
func (b *Budget) ObserveBalance(balance int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.balance < 0 || balance < b.balance {
		b.balance = balance
	}
	if b.floorCap >= 0 {
		b.floorCap = min(b.floorCap, max(0, b.spent+balance-b.floor))
	}
}

// Carry counts n credits an earlier attempt of the same export spent (a
// checkpoint's record) as spent, so that Limit caps the export in all,
// not one attempt. The balance floor is not lowered by them: the balance
// read now already lacks them.
func (b *Budget) Carry(n int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.spent += n
	if b.floorCap >= 0 {
		b.floorCap += n
	}
}

// SetJournal makes Reserve record the credits committed (spent and
// reserved) with fn before it returns, whenever they pass the most
// recorded, so a record survives kill -9 with every request that may have
// been billed counted (a reservation settled for less stays counted until
// the caller records the exact spend); a Reserve whose record fails is
// refused with fn's error, and nothing is sent. fn is called with the
// Budget locked; nil turns the journal off.
func (b *Budget) SetJournal(fn func(committed int64) error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.journal = fn
	b.journaled = b.spent + b.reserved
}

// Reserved is the credits reserved and not yet settled.
func (b *Budget) Reserved() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.reserved
}

// Exhausted returns the error that says which limit binds: the floor
// under the balance (ErrBalanceFloor) or the budget (ErrBudgetExhausted).
func (b *Budget) Exhausted() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.floorCap >= 0 && (b.limit == 0 || b.floorCap < b.limit) {
		return fmt.Errorf("%w: the balance is %d with a floor of %d", ErrBalanceFloor, b.balance, b.floor)
	}
	return fmt.Errorf("%w: %d of %d credits spent", ErrBudgetExhausted, b.spent, b.limit)
}

// Balance is the lowest account balance seen; -1 when none was.
func (b *Budget) Balance() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.balance
}

// Spendable is how many credits the run may spend in all, spent ones
// included: the budget or the floor, whichever is lower; -1 for no limit.
func (b *Budget) Spendable() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.spendable()
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
func (b *Budget) Limit() int64 { return b.limit }

// Reservation is credits set aside for one request.
type Reservation struct {
	b    *Budget
	n    int64
	done bool
	acct AccountReservation // the shared account's, if any
}

// Reserve sets aside n credits, or returns an error wrapping
// ErrBudgetExhausted when they do not fit.
func (b *Budget) Reserve(n int64) (*Reservation, error) {
	r, err := b.reserve(n)
	if err != nil || b.account == nil {
		return r, err
	}
	// The shared account is asked outside the lock (it is a network
	// call); the local reservation is freed when it says no.
	if r.acct, err = b.account.Reserve(n); err != nil {
		r.Settle(0)
		return nil, err
	}
	return r, nil
}

func (b *Budget) reserve(n int64) (*Reservation, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.limit > 0 && b.spent+b.reserved+n > b.limit {
		return nil, fmt.Errorf("%w: the next request may cost %d credits, %d of %d are left", ErrBudgetExhausted, n, b.limit-b.spent-b.reserved, b.limit)
	}
	if b.floorCap >= 0 && b.spent+b.reserved+n > b.floorCap {
		return nil, fmt.Errorf("%w: the next request may cost %d credits and the balance is %d with a floor of %d", ErrBalanceFloor, n, b.balance, b.floor)
	}
	if c := b.spent + b.reserved + n; b.journal != nil && c > b.journaled {
		// A high-water mark: one durable write per request, never fewer
		// credits than may have been billed.
		if err := b.journal(c); err != nil {
			return nil, fmt.Errorf("recording the credits committed: %w", err)
		}
		b.journaled = c
	}
	b.reserved += n
	return &Reservation{b: b, n: n}, nil
}

// Available is what can still be reserved; -1 when there is no limit.
func (b *Budget) Available() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.spendable()
	if s < 0 {
		return -1
	}
	return max(0, s-b.spent-b.reserved)
}

// Spent is the credits billed so far, as settled.
func (b *Budget) Spent() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.spent
}

// Cost is what the reservation set aside.
func (r *Reservation) Cost() int64 { return r.n }

// Settle records that billed credits were spent and frees the rest of the
// reservation. Only the first call counts.
func (r *Reservation) Settle(billed int64) {
	if r == nil {
		return
	}
	r.b.mu.Lock()
	if r.done {
		r.b.mu.Unlock()
		return
	}
	r.done = true
	r.b.reserved -= r.n
	r.b.spent += billed
	if c := r.b.spent + r.b.reserved; r.b.journal != nil && c > r.b.journaled {
		// Billed more than reserved (the data grew): record it, best
		// effort.
		if r.b.journal(c) == nil {
			r.b.journaled = c
		}
	}
	r.b.mu.Unlock()
	if r.acct != nil {
		r.acct.Settle(billed)
	}
}

package pager

import (
	"errors"
	"fmt"
	"sync"
)

// ErrBudgetExhausted is returned when the next request's maximum cost does
// not fit in what is left of the credit budget.
var ErrBudgetExhausted = errors.New("credit budget exhausted")

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
}

// NewBudget returns a Budget of limit credits; 0 means no limit.
func NewBudget(limit int64) *Budget {
	return &Budget{limit: limit}
}

// Limit is the budget's cap; 0 means none.
func (b *Budget) Limit() int64 { return b.limit }

// Reservation is credits set aside for one request.
type Reservation struct {
	b    *Budget
	n    int64
	done bool
}

// Reserve sets aside n credits, or returns an error wrapping
// ErrBudgetExhausted when they do not fit.
func (b *Budget) Reserve(n int64) (*Reservation, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.limit > 0 && b.spent+b.reserved+n > b.limit {
		return nil, fmt.Errorf("%w: the next request may cost %d credits, %d of %d are left", ErrBudgetExhausted, n, b.limit-b.spent-b.reserved, b.limit)
	}
	b.reserved += n
	return &Reservation{b: b, n: n}, nil
}

// Available is what can still be reserved; -1 when there is no limit.
func (b *Budget) Available() int64 {
	if b.limit == 0 {
		return -1
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.limit - b.spent - b.reserved
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
	defer r.b.mu.Unlock()
	if r.done {
		return
	}
	r.done = true
	r.b.reserved -= r.n
	r.b.spent += billed
}

package pager

import (
	"context"
	"fmt"
	"time"
)

// Limiter paces requests and hears how the API answered them. *Throttle
// is the local one, for a process alone on its account; coord.Limiter
// shares one rate, and its slow-downs, among every process of an account.
type Limiter interface {
	// Wait blocks until the next request may be sent. An error other
	// than the context's means the pacing itself failed (the shared rate
	// is out of reach): the request must not be sent.
	Wait(ctx context.Context) error
	// RateLimited records an over-rate answer and returns how long the
	// caller should wait before its retry when Wait cannot pace it.
	RateLimited() time.Duration
	// Succeeded records a good answer.
	Succeeded()
	// Limit is the rate now, in requests per second (+Inf: none); the
	// exporter sizes its workers by it.
	Limit() float64
}

var _ Limiter = (*Throttle)(nil)

// Account is a credit pool shared with other processes (coord.Account):
// a Budget that shares one reserves every request's maximum cost from it
// too, before the request is sent, and settles it at what was billed.
type Account interface {
	// Reserve sets aside n credits of the pool. The error wraps
	// ErrAccountBudget when they do not fit; any other error means the
	// pool is out of reach, and the request must not be sent either.
	Reserve(ctx context.Context, n int64) (AccountReservation, error)
}

// AccountReservation is credits an Account set aside for one request.
type AccountReservation interface {
	// Settle records what the request was billed and frees the rest.
	Settle(ctx context.Context, billed int64)
}

// ErrAccountBudget is returned when the next request's maximum cost does
// not fit in what is left of an Account shared with other processes; it
// wraps ErrBudgetExhausted.
var ErrAccountBudget = fmt.Errorf("%w: the account budget shared by every job is spent", ErrBudgetExhausted)

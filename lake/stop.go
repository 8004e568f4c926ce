package lake

import (
	"context"
	"errors"
	"syscall"

	"github.com/serpstat-export/serpstat-export/pager"
)

// interrupted tells whether err ended a query because the run was stopped
// (a signal: pager.ErrInterrupted, or its context cancelled) or stdout's
// reader went away (EPIPE): an operator's or a reader's act, logged as a
// warning, not a failure.
func interrupted(ctx context.Context, err error) bool {
	return errors.Is(err, pager.ErrInterrupted) || ctx.Err() != nil || errors.Is(err, syscall.EPIPE)
}

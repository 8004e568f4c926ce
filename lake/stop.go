package lake

import "context"

// interrupted tells whether err ended a query because the run was stopped
// (a signal: pager.ErrInterrupted, or its context cancelled) or stdout's
// reader went away (EPIPE): an operator's or a reader's act, logged as a
// warning, not a failure.
func interrupted(ctx context.Context, err error) bool {
	return StatusOf(ctx, err) == StatusInterrupted
}

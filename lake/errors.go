package lake

import "fmt"

// UsageError is bad input found by the lake (an --out, a lock, a
// destination, an earlier run's manifest or state): the command exits 2,
// nothing was sent.
type UsageError struct{ Msg string }

func (e *UsageError) Error() string { return e.Msg }

func usagef(format string, args ...any) error {
	return &UsageError{Msg: fmt.Sprintf(format, args...)}
}

package serpstattest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestWindowCountsAfreshEachSecond(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 900_000_000, time.UTC)
	w := newRateGate(3, 0, ShapeWindow).(*window)
	w.now = func() time.Time { return now }
	for _, tt := range []struct {
		after time.Duration
		want  bool
	}{
		{0, true}, {10 * time.Millisecond, true}, {10 * time.Millisecond, true},
		{10 * time.Millisecond, false}, // a fourth in the same second
		// The next second starts: three more, 100ms after the first three.
		{70 * time.Millisecond, true}, {time.Millisecond, true}, {time.Millisecond, true},
		{time.Millisecond, false},
		{time.Second, true},
	} {
		now = now.Add(tt.after)
		require.Equal(t, tt.want, w.Allow(), "at %s", now.Format("15:04:05.000"))
	}
}

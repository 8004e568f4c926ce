package serpstattest

import (
	"fmt"
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// The shapes of the fake's rate limiter (Options.RateShape).
const (
	// ShapeBucket is a token bucket of RPS a second and Options.Burst.
	ShapeBucket = "bucket"
	// ShapeWindow is a fixed window: at most max(1, floor(RPS)) requests
	// in each second of the clock (each 1/RPS seconds when RPS < 1),
	// counted afresh when the next one starts: two windows' worth may
	// arrive within a few milliseconds around the turn of a second.
	ShapeWindow = "window"
)

// RateShapes are the shapes Options.RateShape takes ("" is ShapeBucket).
var RateShapes = []string{ShapeBucket, ShapeWindow}

// CheckRateShape returns an error unless shape is one of RateShapes or "".
func CheckRateShape(shape string) error {
	if shape == "" || shape == ShapeBucket || shape == ShapeWindow {
		return nil
	}
	return fmt.Errorf("unknown rate shape %q: want %s or %s", shape, ShapeBucket, ShapeWindow)
}

// rateGate decides whether a request arriving now is within the plan.
type rateGate interface{ Allow() bool }

func newRateGate(rps float64, burst int, shape string) rateGate {
	if shape == ShapeWindow {
		w := &window{n: max(1, int(math.Floor(rps))), span: time.Second}
		if rps < 1 {
			w.span = time.Duration(float64(time.Second) / rps)
		}
		return w
	}
	if burst <= 0 {
		burst = max(1, int(math.Ceil(rps)))
	}
	return rate.NewLimiter(rate.Limit(rps), burst)
}

// window is ShapeWindow.
type window struct {
	n    int
	span time.Duration
	now  func() time.Time // nil: time.Now

	mu    sync.Mutex
	start time.Time
	used  int
}

func (w *window) Allow() bool {
	now := time.Now()
	if w.now != nil {
		now = w.now()
	}
	start := now.Truncate(w.span)
	w.mu.Lock()
	defer w.mu.Unlock()
	if !start.Equal(w.start) {
		w.start, w.used = start, 0
	}
	if w.used >= w.n {
		return false
	}
	w.used++
	return true
}

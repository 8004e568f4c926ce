package pager

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestThrottleHalvesOncePerBurstAndClimbsBackUnderTheRefusedRate(t *testing.T) {
	now := time.Unix(1000, 0)
	th := NewThrottle(10)
	th.now = func() time.Time { return now }

	th.RateLimited()
	assert.InDelta(t, 5, th.Limit(), 1e-9)
	// Other requests in flight hear the same refusal: no second halving.
	th.RateLimited()
	th.RateLimited()
	assert.InDelta(t, 5, th.Limit(), 1e-9)
	assert.Equal(t, 1, th.SlowDowns())

	now = now.Add(2 * time.Second)
	th.RateLimited()
	assert.InDelta(t, 2.5, th.Limit(), 1e-9)

	// Successes climb back by target/20 a step, capped at three fifths of
	// the rate that was refused (5 × 0.6).
	th.Succeeded() // within the second of the slow-down: no change
	assert.InDelta(t, 2.5, th.Limit(), 1e-9)
	now = now.Add(time.Second)
	th.Succeeded()
	th.Succeeded() // at most one step a second
	assert.InDelta(t, 3, th.Limit(), 1e-9)
	for range 50 { // less than the quiet minute
		now = now.Add(time.Second)
		th.Succeeded()
	}
	assert.InDelta(t, 3, th.Limit(), 1e-9)

	// After a quiet minute the cap rises again towards the target.
	for range 60 {
		now = now.Add(2 * time.Minute)
		th.Succeeded()
	}
	assert.InDelta(t, 10, th.Limit(), 1e-9)
}

func TestThrottleNeverBelowMinRate(t *testing.T) {
	now := time.Unix(1000, 0)
	th := NewThrottle(1)
	th.now = func() time.Time { return now }
	for range 50 {
		now = now.Add(time.Hour)
		th.RateLimited()
	}
	assert.InDelta(t, MinRate, th.Limit(), 1e-9)
}

func TestUnlimitedThrottle(t *testing.T) {
	th := NewThrottle(0)
	assert.Equal(t, time.Second, th.RateLimited())
	th.Succeeded()
	assert.True(t, th.Limit() > 1e300)
}

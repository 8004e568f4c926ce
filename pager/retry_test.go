package pager

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/serpstat-export/serpstat-export/serpstat"
)

// TestDecide is the retry decision as a table: by class, attempts, waits
// and the server's word.
func TestDecide(t *testing.T) {
	pol := RetryPolicy{MaxAttempts: 4, BaseDelay: 100 * time.Millisecond, MaxDelay: time.Second, MaxWait: 3 * time.Second}
	top := func(n int64) int64 { return n } // the jitter's largest draw
	tests := []struct {
		name  string
		f     Failure
		delay time.Duration
		retry bool
	}{
		{"transient, first", Failure{Class: serpstat.ClassTransient, Attempt: 1}, 100 * time.Millisecond, true},
		{"transient, doubled", Failure{Class: serpstat.ClassTransient, Attempt: 3}, 400 * time.Millisecond, true},
		{"transient, out of attempts", Failure{Class: serpstat.ClassTransient, Attempt: 4}, 0, false},
		{"transient, out of waiting", Failure{Class: serpstat.ClassTransient, Attempt: 2, Waited: 2900 * time.Millisecond}, 0, false},
		{"over-rate, paced by the limiter", Failure{Class: serpstat.ClassRateLimited, Attempt: 50}, 0, true},
		{"over-rate, no limiter", Failure{Class: serpstat.ClassRateLimited, Attempt: 1, Paced: time.Second}, time.Second, true},
		{"over-rate, Retry-After wins", Failure{Class: serpstat.ClassRateLimited, Attempt: 1, Paced: time.Second, RetryAfter: 7 * time.Second}, 7 * time.Second, true},
		{"over-rate, Retry-After capped", Failure{Class: serpstat.ClassRateLimited, Attempt: 1, RetryAfter: time.Hour}, 5 * time.Minute, true},
		{"over-rate, given up", Failure{Class: serpstat.ClassRateLimited, Attempt: MaxRateLimitedAttempts}, 0, false},
		{"auth", Failure{Class: serpstat.ClassAuth, Attempt: 1}, 0, false},
		{"credits", Failure{Class: serpstat.ClassCredits, Attempt: 1}, 0, false},
		{"invalid", Failure{Class: serpstat.ClassInvalid, Attempt: 1}, 0, false},
		{"wall", Failure{Class: serpstat.ClassWall, Attempt: 1}, 0, false},
		{"unknown", Failure{Class: serpstat.ClassUnknown, Attempt: 1}, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, retry := Decide(pol, tt.f, top)
			assert.Equal(t, tt.retry, retry)
			assert.Equal(t, tt.delay, d)
		})
	}
	// Full jitter: anywhere from 0 to the ceiling.
	d, ok := Decide(pol, Failure{Class: serpstat.ClassTransient, Attempt: 2}, func(int64) int64 { return 0 })
	assert.True(t, ok)
	assert.Zero(t, d)
	// The zero policy takes the defaults.
	_, ok = Decide(RetryPolicy{}, Failure{Class: serpstat.ClassTransient, Attempt: DefaultMaxAttempts - 1}, top)
	assert.True(t, ok)
	_, ok = Decide(RetryPolicy{}, Failure{Class: serpstat.ClassTransient, Attempt: DefaultMaxAttempts}, top)
	assert.False(t, ok)
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		in   string
		want time.Duration
	}{
		{"", 0}, {"5", 5 * time.Second}, {" 12 ", 12 * time.Second}, {"-3", 0}, {"soon", 0},
		{"86400", 5 * time.Minute},
		{now.Add(30 * time.Second).Format(time.RFC1123), 30 * time.Second},
		{now.Add(-time.Minute).Format(time.RFC1123), 0},
	} {
		assert.Equal(t, tt.want, parseRetryAfter(tt.in, now), "%q", tt.in)
	}
}

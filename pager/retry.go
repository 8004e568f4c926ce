package pager

import (
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/serpstat-export/serpstat-export/serpstat"
)

// Retry defaults.
const (
	DefaultMaxAttempts = 8
	DefaultBaseDelay   = 500 * time.Millisecond
	DefaultMaxDelay    = 30 * time.Second
	DefaultMaxWait     = 5 * time.Minute
	// MaxRateLimitedAttempts bounds retries of over-rate answers, which
	// cost nothing and are paced by the Limiter.
	MaxRateLimitedAttempts = 100
	// maxRetryAfter caps a server's Retry-After.
	maxRetryAfter = 5 * time.Minute
)

// RetryPolicy bounds retries of transient failures: exponential backoff
// with full jitter, capped at MaxDelay, at most MaxAttempts attempts and
// MaxWait of waiting per page. Zero fields take the defaults.
type RetryPolicy struct {
	MaxAttempts int
	BaseDelay   time.Duration
	MaxDelay    time.Duration
	MaxWait     time.Duration
}

func (r RetryPolicy) withDefaults() RetryPolicy {
	if r.MaxAttempts <= 0 {
		r.MaxAttempts = DefaultMaxAttempts
	}
	if r.BaseDelay <= 0 {
		r.BaseDelay = DefaultBaseDelay
	}
	if r.MaxDelay <= 0 {
		r.MaxDelay = DefaultMaxDelay
	}
	if r.MaxWait <= 0 {
		r.MaxWait = DefaultMaxWait
	}
	return r
}

// Failure is what the retry decision reads of a failed attempt.
type Failure struct {
	Class   serpstat.Class
	Attempt int           // attempts made for the page, this one included
	Waited  time.Duration // waited between its attempts so far
	// Paced is, for an over-rate answer, how long to wait before the
	// retry beyond what the Limiter's own Wait will (what
	// Limiter.RateLimited returned; a second without a Limiter);
	// RetryAfter is the server's Retry-After, 0 when none.
	Paced      time.Duration
	RetryAfter time.Duration
}

// Decide is the one retry decision: by the class of the failure, then
// the backoff. An over-rate answer is retried up to
// MaxRateLimitedAttempts times after max(Paced, RetryAfter); a transient
// failure up to the policy's attempts, after a delay drawn by jitter
// (uniform in [0, n]; nil: math/rand) under the exponential ceiling,
// while the waiting stays within MaxWait; nothing else is retried. The
// policy's zero fields take the defaults. (The context is the caller's:
// a canceled one never reaches here as a failure to retry.)
func Decide(pol RetryPolicy, f Failure, jitter func(n int64) int64) (time.Duration, bool) {
	pol = pol.withDefaults()
	switch f.Class {
	case serpstat.ClassRateLimited:
		if f.Attempt >= MaxRateLimitedAttempts {
			return 0, false
		}
		return max(f.Paced, min(f.RetryAfter, maxRetryAfter)), true
	case serpstat.ClassTransient:
		if f.Attempt >= pol.MaxAttempts {
			return 0, false
		}
		if jitter == nil {
			jitter = randJitter
		}
		ceiling := min(pol.MaxDelay, pol.BaseDelay<<min(f.Attempt-1, 20))
		d := time.Duration(jitter(int64(ceiling)))
		if f.Waited+d > pol.MaxWait {
			return 0, false
		}
		return d, true
	}
	return 0, false
}

func randJitter(n int64) int64 { return rand.Int64N(n + 1) }

var jitter = randJitter

// parseRetryAfter reads a Retry-After header: seconds, or an HTTP date
// (relative to now); 0 when absent or unreadable.
func parseRetryAfter(s string, now time.Time) time.Duration {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0
	}
	if secs, err := strconv.Atoi(s); err == nil {
		if secs < 0 {
			return 0
		}
		return min(time.Duration(secs)*time.Second, maxRetryAfter)
	}
	if t, err := time.Parse(time.RFC1123, s); err == nil {
		return min(max(0, t.Sub(now)), maxRetryAfter)
	}
	return 0
}

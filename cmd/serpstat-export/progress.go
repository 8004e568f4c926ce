package main

import (
	"math"
	"strconv"
	"time"
)

// rateMeter smooths a rate (requests or rows per second) with an
// exponentially weighted moving average, so that what a person reads does
// not jump in the first seconds: at --rps 1 a window that happens to hold
// two requests would read 1.9 req/s. Each estimate is taken between two
// observed changes of the count, never from the start of a window, and
// weighs in by the time it covers (time constant tau). Not safe for
// concurrent use.
type rateMeter struct {
	tau   time.Duration
	prior float64 // the rate expected before any is measured (--rps); 0 for none

	anchored bool
	n        int64 // the count at the last change
	at       time.Time
	rate     float64
	has      bool
}

// observe records that the count is n at now.
func (m *rateMeter) observe(now time.Time, n int64) {
	if !m.anchored {
		if n > 0 {
			m.anchored, m.n, m.at = true, n, now
		}
		return
	}
	if n <= m.n {
		return
	}
	dt := now.Sub(m.at).Seconds()
	if dt <= 0 {
		return
	}
	inst := float64(n-m.n) / dt
	switch {
	case m.has:
		m.rate += (1 - math.Exp(-dt/m.tau.Seconds())) * (inst - m.rate)
	case m.prior > 0:
		// One interval, measured to a sample's accuracy, moves the
		// expected rate by its weight only.
		m.rate, m.has = m.prior+(1-math.Exp(-dt/m.tau.Seconds()))*(inst-m.prior), true
	default:
		m.rate, m.has = inst, true
	}
	m.n, m.at = n, now
}

// value is the smoothed rate at now, and whether it is known yet. When
// nothing changed for more than twice the time the rate explains, the
// rate is at most one event over that idle time.
func (m *rateMeter) value(now time.Time) (float64, bool) {
	if !m.has {
		return 0, false
	}
	r := m.rate
	if idle := now.Sub(m.at).Seconds(); r > 0 && idle > 2/r {
		r = min(r, 1/idle)
	}
	return r, true
}

// fmtRate writes a rate as a person reads it: one decimal under 10 (a
// trailing .0 dropped: 1, 1.5, 9.8), whole numbers above.
func fmtRate(r float64) string {
	if r >= 9.95 {
		return strconv.FormatFloat(math.Round(r), 'f', -1, 64)
	}
	return strconv.FormatFloat(math.Round(r*10)/10, 'f', -1, 64)
}

// progressMeter follows an export's requests and rows for the progress
// display: the smoothed req/s and an ETA from the smoothed rows/s.
type progressMeter struct {
	req, rows rateMeter
}

// newProgressMeter expects requests at rps until it measures them.
func newProgressMeter(rps float64) *progressMeter {
	const tau = 5 * time.Second
	return &progressMeter{req: rateMeter{tau: tau, prior: rps}, rows: rateMeter{tau: tau}}
}

func (p *progressMeter) observe(now time.Time, requests, rows int64) {
	p.req.observe(now, requests)
	p.rows.observe(now, rows)
}

// eta is the time left for the rows still to come, when known.
func (p *progressMeter) eta(now time.Time, rows, planned int64) (time.Duration, bool) {
	r, ok := p.rows.value(now)
	if !ok || r <= 0 || planned <= rows {
		return 0, false
	}
	return time.Duration(float64(planned-rows) / r * float64(time.Second)), true
}

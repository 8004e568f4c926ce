// Package meter measures how fast an export goes, for what a person
// reads: Rate for events that come one at a time (requests), Flow for
// amounts that come in lumps (rows, a page of them at a time), and
// Progress, which follows both and tells the time left.
//
// Every method takes the time it is called at, so tests drive them with a
// fake clock; none of them sleeps. None is safe for concurrent use: its
// owner serialises the calls.
package meter

import (
	"math"
	"time"
)

// Rate is the rate of events counted one at a time (requests), smoothed
// with an exponentially weighted moving average of the rates measured
// between two observed changes of the count, each weighed by the time it
// covers, so a window that happens to hold two requests at 1 req/s does
// not read 1.9. The zero value has no time constant: set Tau.
type Rate struct {
	// Tau is the time constant of the average.
	Tau time.Duration
	// Prior is the rate expected before any is measured (--rps); 0: none.
	Prior float64

	anchored bool
	n        int64 // the count at the last change
	at       time.Time
	rate     float64
	has      bool
}

// Observe records that the count is n at now.
func (m *Rate) Observe(now time.Time, n int64) {
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
	w := 1 - math.Exp(-dt/m.Tau.Seconds())
	switch {
	case m.has:
		m.rate += w * (inst - m.rate)
	case m.Prior > 0:
		// One interval, measured to a sample's accuracy, moves the
		// expected rate by its weight only.
		m.rate, m.has = m.Prior+w*(inst-m.Prior), true
	default:
		m.rate, m.has = inst, true
	}
	m.n, m.at = n, now
}

// Value is the smoothed rate at now, and whether it is known yet. When
// nothing changed for more than twice the time the rate explains, the
// rate is at most one event over that idle time.
func (m *Rate) Value(now time.Time) (float64, bool) {
	if !m.has {
		return 0, false
	}
	r := m.rate
	if idle := now.Sub(m.at).Seconds(); r > 0 && idle > 2/r {
		r = min(r, 1/idle)
	}
	return r, true
}

// Flow is the rate of an amount that arrives in lumps (rows, a page of a
// thousand at a time): an exponentially weighted moving sum of the
// arrivals by their time, over its time constant. Between two pages it
// decays by the time passed, not to one row a second, and a page moves it
// by its size over Tau only, so on a steady run it wavers by about the
// time between pages over Tau. The arrivals before the first one measured
// (a resume's rows read from its checkpoint, page 1) anchor it and are not
// counted. Until Tau has passed it is the plain average since the anchor.
// The zero value has no time constant: set Tau.
type Flow struct {
	// Tau is the time constant of the sum.
	Tau time.Duration

	anchored bool
	start    time.Time // the anchor
	n        int64     // the count at the last arrival
	at       time.Time // the last arrival
	sum      float64   // the decayed sum of the arrivals, at at
	arrivals int
}

// Observe records that the count is n at now (a running total: rows
// written so far).
func (f *Flow) Observe(now time.Time, n int64) {
	if !f.anchored {
		if n > 0 {
			f.anchored, f.start, f.at, f.n = true, now, now, n
		}
		return
	}
	if n <= f.n || now.Before(f.at) {
		return
	}
	f.sum = f.sum*f.decay(now.Sub(f.at)) + float64(n-f.n)
	f.n, f.at = n, now
	f.arrivals++
}

func (f *Flow) decay(d time.Duration) float64 {
	return math.Exp(-d.Seconds() / f.Tau.Seconds())
}

// Value is the rate at now, and whether it is known yet: after one
// arrival past the anchor.
func (f *Flow) Value(now time.Time) (float64, bool) {
	if f.arrivals == 0 || now.Before(f.at) {
		return 0, false
	}
	elapsed := now.Sub(f.start)
	// The weight the sum's window has had time to gather: elapsed for a
	// short run, Tau for a long one (the average is not biased low at
	// the start).
	window := f.Tau.Seconds() * (1 - f.decay(elapsed))
	if window <= 0 {
		return 0, false
	}
	return f.sum * f.decay(now.Sub(f.at)) / window, true
}

// Time constants of Progress.
const (
	// RequestTau smooths the requests per second shown.
	RequestTau = 5 * time.Second
	// RowTau smooths the rows per second the time left is computed from:
	// long enough that a page at a time (or a few at once from the
	// workers) moves it by a few percent.
	RowTau = 30 * time.Second
)

// Progress follows an export's requests and rows: the smoothed requests
// per second, and the time left from the smoothed rows per second.
type Progress struct {
	Requests Rate
	Rows     Flow
}

// NewProgress expects requests at rps until it measures them.
func NewProgress(rps float64) *Progress {
	return &Progress{Requests: Rate{Tau: RequestTau, Prior: rps}, Rows: Flow{Tau: RowTau}}
}

// Observe records the requests sent and rows written so far at now.
func (p *Progress) Observe(now time.Time, requests, rows int64) {
	p.Requests.Observe(now, requests)
	p.Rows.Observe(now, rows)
}

// ETA is the time left for the rows still to come (planned - rows), when
// known.
func (p *Progress) ETA(now time.Time, rows, planned int64) (time.Duration, bool) {
	r, ok := p.Rows.Value(now)
	if !ok || r <= 0 || planned <= rows {
		return 0, false
	}
	return time.Duration(float64(planned-rows) / r * float64(time.Second)), true
}

package meter_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/serpstat-export/serpstat-export/meter"
)

var t0 = time.Unix(0, 0)

func TestRateReadsOneAtOneRequestASecond(t *testing.T) {
	// Requests at --rps 1 (the first at once), sampled every 100ms as
	// the bar does, with jitter: a one-second window would read 1.9.
	m := meter.NewProgress(1).Requests
	landed := func(k int) time.Duration { // request k, every third a sample late
		d := time.Duration(k) * time.Second
		if k%3 == 1 {
			d += 100 * time.Millisecond
		}
		return d
	}
	for tick := 0; tick <= 150; tick++ {
		at := time.Duration(tick) * 100 * time.Millisecond
		var n int64
		for k := 0; landed(k) <= at; k++ {
			n++
		}
		now := t0.Add(at)
		m.Observe(now, n)
		if r, ok := m.Value(now); ok {
			assert.InDelta(t, 1, r, 0.12, "at %v", at)
		}
	}
	r, ok := m.Value(t0.Add(15 * time.Second))
	assert.True(t, ok)
	assert.InDelta(t, 1, r, 0.05)
}

func TestRateSmoothsAndFollows(t *testing.T) {
	m := meter.Rate{Tau: 5 * time.Second}
	_, ok := m.Value(t0)
	assert.False(t, ok, "unknown before two changes")
	m.Observe(t0, 0)
	m.Observe(t0.Add(time.Second), 10) // the first change anchors
	_, ok = m.Value(t0.Add(time.Second))
	assert.False(t, ok)
	m.Observe(t0.Add(2*time.Second), 20)
	r, ok := m.Value(t0.Add(2 * time.Second))
	assert.True(t, ok)
	assert.InDelta(t, 10, r, 1e-9)
	// A burst moves it part of the way only.
	m.Observe(t0.Add(2500*time.Millisecond), 40)
	r, _ = m.Value(t0.Add(2500 * time.Millisecond))
	assert.Greater(t, r, 10.0)
	assert.Less(t, r, 20.0)
	// A stall lowers it.
	r, _ = m.Value(t0.Add(60 * time.Second))
	assert.Less(t, r, 0.1)
}

func TestFlowBetweenPagesIsNotOneRowASecond(t *testing.T) {
	// A page of 1,000 rows a second, sampled every 100ms: between two
	// pages the rows meter used to read about one row a second.
	f := meter.Flow{Tau: meter.RowTau}
	_, ok := f.Value(t0)
	assert.False(t, ok)
	for tick := 0; tick <= 1200; tick++ {
		at := time.Duration(tick) * 100 * time.Millisecond
		now := t0.Add(at)
		f.Observe(now, int64(at/time.Second+1)*1000)
		r, ok := f.Value(now)
		if at < time.Second {
			assert.False(t, ok, "unknown before a page past the first, at %v", at)
			continue
		}
		require.True(t, ok, "at %v", at)
		if at >= 10*time.Second {
			assert.InDelta(t, 1000, r, 120, "at %v", at)
		}
	}
	// A stall lowers it, by the time passed.
	r, _ := f.Value(t0.Add(150 * time.Second))
	assert.Less(t, r, 500.0)
	assert.Greater(t, r, 100.0)
}

func TestFlowFollowsAChangeOfPace(t *testing.T) {
	f := meter.Flow{Tau: meter.RowTau}
	n := int64(0)
	for s := 0; s <= 300; s++ {
		if s >= 150 {
			n += 500 // half the pace from here
		} else {
			n += 1000
		}
		f.Observe(t0.Add(time.Duration(s)*time.Second), n)
	}
	r, ok := f.Value(t0.Add(300 * time.Second))
	require.True(t, ok)
	assert.InDelta(t, 500, r, 50)
}

// TestETAIsSteadyAfterTheFirstMinute drives a steady export of 600 pages
// at about a page a second, as --rps 1 with a few workers delivers them
// (late ones, and two at once when an earlier page held the next back),
// and reads the ETA as the progress line (every 10s) and the bar (every
// second) do: after the first minute, from one update to the next, it
// moves by less than 20% of itself beyond the time that passed.
func TestETAIsSteadyAfterTheFirstMinute(t *testing.T) {
	for _, every := range []time.Duration{time.Second, 10 * time.Second} {
		t.Run(every.String(), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(1, 2))
			const pages, size = 600, 1000
			arrive := make([]time.Duration, pages)
			for k := range arrive {
				d := time.Duration(k)*time.Second + time.Duration(rng.IntN(800))*time.Millisecond
				if k%7 == 3 { // held back, then delivered with the next
					d = time.Duration(k+1) * time.Second
				}
				arrive[k] = max(d, arrive[max(k-1, 0)])
			}
			p := meter.NewProgress(1)
			planned := int64(pages * size)
			var prev time.Duration
			var prevAt time.Duration
			worst := 0.0
			for at := time.Duration(0); at < arrive[pages-1]; at += 100 * time.Millisecond {
				rows := int64(0)
				for _, a := range arrive {
					if a <= at {
						rows += size
					}
				}
				now := t0.Add(at)
				p.Observe(now, rows/size, rows)
				if at%every != 0 {
					continue
				}
				eta, ok := p.ETA(now, rows, planned)
				if !ok {
					continue
				}
				if at > time.Minute && prev > 0 && prev > every {
					want := prev - (at - prevAt)
					move := math.Abs(float64(eta-want)) / float64(prev)
					worst = max(worst, move)
					assert.Less(t, move, 0.2, "at %v: ETA %v after %v", at, eta, prev)
				}
				prev, prevAt = eta, at
			}
			t.Logf("the ETA moved at most %.1f%% between updates", worst*100)
		})
	}
}

func TestETA(t *testing.T) {
	p := meter.NewProgress(0)
	for i := int64(0); i <= 10; i++ {
		p.Observe(t0.Add(time.Duration(i)*time.Second), i, i*1000)
	}
	eta, ok := p.ETA(t0.Add(10*time.Second), 10000, 20000)
	assert.True(t, ok)
	assert.InDelta(t, 10, eta.Seconds(), 0.5)
	_, ok = p.ETA(t0.Add(10*time.Second), 20000, 20000)
	assert.False(t, ok, "nothing left")
}

func ExampleProgress() {
	p := meter.NewProgress(1)
	start := time.Date(2026, 12, 5, 0, 0, 0, 0, time.UTC)
	// A page of 1,000 rows a second for two minutes.
	for s := 0; s <= 120; s++ {
		p.Observe(start.Add(time.Duration(s)*time.Second), int64(s+1), int64(s+1)*1000)
	}
	now := start.Add(120 * time.Second)
	eta, _ := p.ETA(now, 121000, 181000)
	fmt.Println("time left:", eta.Round(time.Second))
	// Half a second later, between two pages, it has hardly moved.
	eta, _ = p.ETA(now.Add(500*time.Millisecond), 121000, 181000)
	fmt.Println("time left:", eta.Round(time.Second))
	// Output:
	// time left: 59s
	// time left: 1m0s
}

package main

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestRateMeterReadsOneAtOneRequestASecond(t *testing.T) {
	// Requests at --rps 1 (the first at once), sampled every 100ms as
	// the bar does, with jitter: the old one-second window read 1.9.
	m := newProgressMeter(1).req
	t0 := time.Unix(0, 0)
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
		m.observe(now, n)
		if r, ok := m.value(now); ok {
			assert.InDelta(t, 1, r, 0.12, "at %v", at)
			assert.Equal(t, "1", fmtRate(r), "at %v", at)
		}
	}
	r, ok := m.value(t0.Add(15 * time.Second))
	assert.True(t, ok)
	assert.InDelta(t, 1, r, 0.05)
}

func TestRateMeterSmoothsAndFollows(t *testing.T) {
	m := rateMeter{tau: 5 * time.Second}
	t0 := time.Unix(0, 0)
	_, ok := m.value(t0)
	assert.False(t, ok, "unknown before two changes")
	m.observe(t0, 0)
	m.observe(t0.Add(time.Second), 10) // the first change anchors
	_, ok = m.value(t0.Add(time.Second))
	assert.False(t, ok)
	m.observe(t0.Add(2*time.Second), 20)
	r, ok := m.value(t0.Add(2 * time.Second))
	assert.True(t, ok)
	assert.InDelta(t, 10, r, 1e-9)
	// A burst moves it part of the way only.
	m.observe(t0.Add(2500*time.Millisecond), 40)
	r, _ = m.value(t0.Add(2500 * time.Millisecond))
	assert.Greater(t, r, 10.0)
	assert.Less(t, r, 20.0)
	// A stall lowers it.
	r, _ = m.value(t0.Add(60 * time.Second))
	assert.Less(t, r, 0.1)

	p := newProgressMeter(0)
	for i := int64(0); i <= 10; i++ {
		p.observe(t0.Add(time.Duration(i)*time.Second), i, i*1000)
	}
	eta, ok := p.eta(t0.Add(10*time.Second), 10000, 20000)
	assert.True(t, ok)
	assert.InDelta(t, 10, eta.Seconds(), 0.5)
	assert.Equal(t, "250", fmtRate(249.7))
	assert.Equal(t, "9.8", fmtRate(9.81))
	assert.Equal(t, "1.9", fmtRate(1.9))
	assert.Equal(t, "1", fmtRate(0.97))
}

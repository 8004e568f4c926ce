package main

import (
	"fmt"
	"math"
	"strconv"
	"sync"
	"time"

	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"

	"github.com/serpstat-export/serpstat-export/lake"
	"github.com/serpstat-export/serpstat-export/meter"
)

// The progress display's rates and time left are measured by package
// meter (meter.Progress): requests per second smoothed over requests, rows
// per second over pages, so the ETA does not swing between two pages.

// fmtRate writes a rate as a person reads it: one decimal under 10 (a
// trailing .0 dropped: 1, 1.5, 9.8), whole numbers above.
func fmtRate(r float64) string {
	if r >= 9.95 {
		return strconv.FormatFloat(math.Round(r), 'f', -1, 64)
	}
	return strconv.FormatFloat(math.Round(r*10)/10, 'f', -1, 64)
}

// runProgress shows how far a run of several queries is, exported at
// once, until the returned func is called: one line for the whole run
// (queries done of all, rows, credits, the rate), not one query's. A bar
// counts the queries when stderr is a terminal, else a log line every
// --progress-interval.
func (u *ui) runProgress(sn func() lake.Snapshot, s settings) (stop func()) {
	if s.Progress == "never" || u.quiet {
		return func() {}
	}
	if cols := u.columns(); cols > 0 && !u.json {
		return u.runBar(sn, s.RPS, cols)
	}
	return u.runTicker(sn, s.ProgressEvery, s.RPS)
}

func (u *ui) runTicker(snap func() lake.Snapshot, every time.Duration, rps float64) func() {
	m := meter.NewProgress(rps)
	return repeat(every, false, func(now time.Time) {
		sn := snap()
		m.Observe(now, sn.Requests, sn.Rows)
		attrs := []any{"queries_done", sn.Done, "of", sn.Queries, "running", sn.Running, "rows", sn.Rows, "credits", sn.Credits}
		if r, ok := m.Requests.Value(now); ok {
			attrs = append(attrs, "req_per_s", fmtRate(r))
		}
		attrs = append(attrs, "retries", sn.Retries)
		if sn.Failed > 0 {
			attrs = append(attrs, "failed", sn.Failed)
		}
		if sn.Budget > 0 {
			attrs = append(attrs, "budget", sn.Budget)
		}
		u.log.Info("progress", attrs...)
	})
}

func (u *ui) runBar(snap func() lake.Snapshot, rps float64, cols int) func() {
	p := u.bars(cols)
	var mu sync.Mutex // the meter is fed by the loop below and read by the decorator
	m := meter.NewProgress(rps)
	sn0 := snap()
	b := p.AddBar(int64(sn0.Queries),
		mpb.PrependDecorators(
			decor.Name("queries ", decor.WC{}),
			decor.CountersNoUnit("%d / %d", decor.WCSyncWidth),
		),
		mpb.AppendDecorators(
			decor.Any(func(decor.Statistics) string {
				sn := snap()
				now := time.Now()
				mu.Lock()
				defer mu.Unlock()
				rate := "-"
				if r, ok := m.Requests.Value(now); ok {
					rate = fmtRate(r)
				}
				if cols < 110 {
					return fmt.Sprintf(" rows %d | %s req/s", sn.Rows, rate)
				}
				budget := "no cap"
				if sn.Budget > 0 {
					budget = fmt.Sprint(sn.Budget)
				}
				return fmt.Sprintf(" running %d | rows %d | credits %d / %s | %s req/s | retries %d", sn.Running, sn.Rows, sn.Credits, budget, rate, sn.Retries)
			}),
		),
	)
	u.logs.set(p) // log lines print above the bar
	stop := repeat(barEvery, true, func(now time.Time) {
		sn := snap()
		mu.Lock()
		m.Observe(now, sn.Requests, sn.Rows)
		mu.Unlock()
		b.SetCurrent(int64(sn.Done))
	})
	return func() {
		stop()
		sn := snap()
		if sn.Done >= sn.Queries {
			b.SetCurrent(int64(sn.Done))
			b.SetTotal(int64(sn.Queries), true)
		} else {
			b.Abort(false)
		}
		p.Wait()
		u.logs.set(u.stderr)
	}
}

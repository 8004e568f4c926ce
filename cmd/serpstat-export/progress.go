package main

import (
	"math"
	"strconv"
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

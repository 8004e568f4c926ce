//go:build race

package main_test

// raceEnabled: the race detector makes the in-process fake ten times
// slower; the biggest end-to-end tests run without it (make test).
const raceEnabled = true

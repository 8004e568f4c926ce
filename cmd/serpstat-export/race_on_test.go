//go:build race

package main_test

// raceEnabled: the race detector makes the in-process fake about ten times
// slower. A test too slow with it may gate its size on it; better, it uses
// a small --wall (the fake's Options.Wall) and stays small for both.
const raceEnabled = true

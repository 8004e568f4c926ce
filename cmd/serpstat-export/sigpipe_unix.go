//go:build unix

package main

import (
	"os/signal"
	"syscall"
)

// ignoreSIGPIPE makes a write to a closed pipe fail with EPIPE instead of
// killing the process, so an export to stdout whose reader went away
// (| head) stops cleanly: what it paid for is kept, and it says so.
func ignoreSIGPIPE() { signal.Ignore(syscall.SIGPIPE) }

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync/atomic"
	"syscall"
	"time"
)

// Stops. The first Ctrl-C (SIGINT) or SIGTERM closes the run's stop
// channel: no new page is requested, requests in flight finish (they are
// paid for) and are kept in the spool. Uploads and commits get
// --stop-grace to end; then the run's context is cancelled, which aborts
// them, and the run ends with exit 130 ("interrupted"). Should it still
// not have ended quitAfterGrace later (a store that does not answer even
// a cancelled request), the process quits at once, as on a second Ctrl-C:
// the spool is consistent at every moment.
//
// A reader that closes stdout (export --out - | head) is a stop too:
// SIGPIPE is ignored (sigpipe_unix.go), so the write fails with EPIPE, no
// page is bought after it, and the run exits 141 (exitBrokenPipe), as
// other Unix tools do when they are killed by SIGPIPE.

const (
	// exitBrokenPipe: stdout's reader went away; 128 + SIGPIPE, as a shell
	// reports a tool killed by SIGPIPE.
	exitBrokenPipe = 141
	// defaultStopGrace is --stop-grace's default.
	defaultStopGrace = 10 * time.Second
	// quitAfterGrace bounds how long a stopped run may take once its
	// context is cancelled.
	quitAfterGrace = 5 * time.Second
)

// stopSignal is the signal that closed the stop channel; stored before
// the channel is closed, read after.
var stopSignal atomic.Value

// errStopGrace is the cause of a run's context cancelled after --stop-grace.
var errStopGrace = errors.New("interrupted: --stop-grace passed")

// signalName names the signal that stopped the run, for messages.
func signalName() string {
	switch sig, _ := stopSignal.Load().(os.Signal); sig {
	case nil:
		return "a signal"
	case os.Interrupt:
		return "Ctrl-C (SIGINT)"
	case syscall.SIGTERM:
		return "SIGTERM"
	default:
		return sig.String()
	}
}

// watchStop returns ctx cancelled grace after stop is closed, and logs the
// stop at level WARN (an operator's act, not a failure). If the run has
// not ended quitAfterGrace after that, the process exits 130 at once. The
// returned func ends the watch; call it when the run has ended.
func watchStop(ctx context.Context, stop <-chan struct{}, grace time.Duration, log *slog.Logger, stderr io.Writer) (context.Context, func()) {
	ctx, cancel := context.WithCancelCause(ctx)
	done := make(chan struct{})
	wait := func(d time.Duration) bool {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
			return true
		case <-done:
			return false
		}
	}
	go func() {
		select {
		case <-stop:
		case <-done:
			return
		}
		log.Warn("interrupted by "+signalName()+": no new page is requested; the requests in flight finish and are kept in the spool; press Ctrl-C again to quit at once",
			"stop_grace", grace.String())
		if !wait(grace) {
			return
		}
		log.Warn("--stop-grace passed: cancelling the uploads and commits still running", "stop_grace", grace.String())
		cancel(errStopGrace)
		if !wait(quitAfterGrace) {
			return
		}
		fmt.Fprintf(stderr, "serpstat-export: interrupted: the run had not ended %v after --stop-grace %v; quit at once: every page paid for is kept in the spool, run the same command again to resume\n", quitAfterGrace, grace)
		os.Exit(exitCanceled)
	}()
	return ctx, func() {
		close(done)
		cancel(nil)
	}
}

// stopped tells whether stop is closed.
func stopped(stop <-chan struct{}) bool {
	select {
	case <-stop:
		return true
	default:
		return false
	}
}

// brokenPipe tells whether err is a write to a pipe whose reader is gone.
func brokenPipe(err error) bool { return errors.Is(err, syscall.EPIPE) }

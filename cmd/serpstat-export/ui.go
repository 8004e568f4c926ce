package main

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/vbauerster/cupwriter"
	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"
	"golang.org/x/term"

	"github.com/serpstat-export/serpstat-export/exporter"
	"github.com/serpstat-export/serpstat-export/meter"
	"github.com/serpstat-export/serpstat-export/serpstat"
)

// ui is what a run shows a person or a scheduler: logs, progress and the
// summary, all on stderr, each line carrying the run's id, and none ever
// holding the token.
type ui struct {
	runID  string
	json   bool
	quiet  bool
	stderr *redactWriter // every byte to stderr goes through it
	logs   *switchWriter // where log lines go: stderr, or above the bar
	log    *slog.Logger
	tty    bool // stderr is a terminal
	ttyFd  int  // its descriptor, when tty
	start  time.Time
}

func newRunID() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// newUI checks the log and progress settings and builds the loggers.
func newUI(stderr io.Writer, s settings) (*ui, error) {
	u := &ui{runID: newRunID(), stderr: &redactWriter{w: stderr}, start: time.Now()}
	u.logs = &switchWriter{w: u.stderr}
	if f, ok := stderr.(*os.File); ok {
		u.ttyFd = int(f.Fd())
		u.tty = term.IsTerminal(u.ttyFd)
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(s.LogLevel)); err != nil {
		return u, usagef("--log-level must be debug, info, warn or error; got %q", s.LogLevel)
	}
	if s.Quiet {
		level = slog.LevelError
		u.quiet = true
	}
	opts := &slog.HandlerOptions{Level: level}
	switch s.LogFormat {
	case "text", "":
		u.log = slog.New(slog.NewTextHandler(u.logs, opts))
	case "json":
		u.json = true
		u.log = slog.New(slog.NewJSONHandler(u.logs, opts))
	default:
		return u, usagef("--log-format must be text or json; got %q", s.LogFormat)
	}
	u.log = u.log.With("run", u.runID)
	switch s.Progress {
	case "auto", "always", "never":
	default:
		return u, usagef("--progress must be auto, always or never; got %q", s.Progress)
	}
	if s.ProgressEvery <= 0 {
		return u, usagef("--progress-interval must be more than 0; got %v", s.ProgressEvery)
	}
	return u, nil
}

// secret makes every later line on stderr hide token.
func (u *ui) secret(token string) { u.stderr.setSecret(token) }

// progress shows how far e is until the returned func is called: a live
// bar when stderr is a terminal that reports its width, otherwise (piped,
// a CI runner's or script's terminal of 0 columns, JSON logs) a log line
// every --progress-interval. --progress always shows one or the other
// even where auto would not; a bar is never drawn where it would be cut.
func (u *ui) progress(e *exporter.Exporter, s settings) (stop func()) {
	if s.Progress == "never" || u.quiet {
		return func() {}
	}
	if cols := u.columns(); cols > 0 && !u.json {
		return u.bar(e, s.RPS, cols)
	}
	return u.ticker(e, s.ProgressEvery, s.RPS)
}

// columns is the width of the terminal on stderr; 0 when it is not a
// terminal or does not say.
func (u *ui) columns() int {
	if !u.tty {
		return 0
	}
	cols, _, err := term.GetSize(u.ttyFd)
	if err != nil || cols <= 0 {
		return 0
	}
	return cols
}

func (u *ui) ticker(e *exporter.Exporter, every time.Duration, rps float64) func() {
	m := meter.NewProgress(rps)
	return repeat(every, false, func(now time.Time) {
		sn := e.Snapshot()
		m.Observe(now, sn.Requests, sn.Rows)
		attrs := []any{"pages", sn.Pages, "rows", sn.Rows, "of", sn.Planned, "credits", sn.Credits}
		if r, ok := m.Requests.Value(now); ok {
			attrs = append(attrs, "req_per_s", fmtRate(r))
		}
		attrs = append(attrs, "retries", sn.Retries)
		if sn.Budget > 0 {
			attrs = append(attrs, "budget", sn.Budget)
		}
		if eta, ok := m.ETA(now, sn.Rows, sn.Planned); ok {
			attrs = append(attrs, "eta", eta.Round(time.Second).String())
		}
		u.log.Info("progress", attrs...)
	})
}

func (u *ui) bar(e *exporter.Exporter, rps float64, cols int) func() {
	p := u.bars(cols)
	var mu sync.Mutex // the meter is fed by the loop below and read by the decorator
	m := meter.NewProgress(rps)
	b := p.AddBar(0,
		mpb.PrependDecorators(
			decor.Name("rows ", decor.WC{}),
			decor.CountersNoUnit("%d / %d", decor.WCSyncWidth),
		),
		mpb.AppendDecorators(
			decor.Any(func(decor.Statistics) string {
				sn := e.Snapshot()
				now := time.Now()
				mu.Lock()
				defer mu.Unlock()
				rate, eta := "-", "-"
				if r, ok := m.Requests.Value(now); ok {
					rate = fmtRate(r)
				}
				if d, ok := m.ETA(now, sn.Rows, sn.Planned); ok {
					eta = d.Round(time.Second).String()
				}
				if cols < 110 {
					return fmt.Sprintf(" %s req/s | ETA %s", rate, eta)
				}
				budget := "no cap"
				if sn.Budget > 0 {
					budget = fmt.Sprint(sn.Budget)
				}
				return fmt.Sprintf(" pages %d | credits %d / %s | %s req/s | retries %d | ETA %s", sn.Pages, sn.Credits, budget, rate, sn.Retries, eta)
			}),
		),
	)
	u.logs.set(p) // log lines print above the bar
	stop := repeat(barEvery, true, func(now time.Time) {
		sn := e.Snapshot()
		mu.Lock()
		m.Observe(now, sn.Requests, sn.Rows)
		mu.Unlock()
		if sn.Planned > 0 {
			b.SetTotal(sn.Planned, false)
		}
		b.SetCurrent(sn.Rows)
	})
	return func() {
		stop()
		sn := e.Snapshot()
		if sn.Planned > 0 && sn.Rows >= sn.Planned {
			b.SetTotal(sn.Planned, true)
		} else {
			b.Abort(false)
		}
		p.Wait()
		u.logs.set(u.stderr)
	}
}

// barEvery is how often a bar samples the export.
const barEvery = 100 * time.Millisecond

// bars is the container of a progress bar on the terminal. The bar writes
// through the redacting writer, so mpb is told where the terminal is (for
// its width) and to draw even though the writer is not an *os.File.
func (u *ui) bars(cols int) *mpb.Progress {
	cw := cupwriter.New(u.stderr, true)
	cw.SetTermFd(u.ttyFd)
	return mpb.New(mpb.WithConsoleWriter(cw), mpb.WithAutoRefresh(), mpb.WithWidth(min(32, max(10, cols/5))), mpb.WithRefreshRate(150*time.Millisecond))
}

// repeat calls f every d, and once at once when first, in a goroutine,
// until the returned stop is called; stop returns once f has.
func repeat(d time.Duration, first bool, f func(now time.Time)) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(d)
		defer t.Stop()
		if first {
			f(time.Now())
		}
		for {
			select {
			case <-done:
				return
			case now := <-t.C:
				f(now)
			}
		}
	})
	return func() { close(done); wg.Wait() }
}

// redactWriter replaces the secret in everything written through it.
// Safe for concurrent use.
type redactWriter struct {
	mu     sync.Mutex
	w      io.Writer
	secret string
}

func (r *redactWriter) setSecret(s string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.secret = s
}

func (r *redactWriter) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.secret == "" || !bytes.Contains(p, []byte(r.secret)) && !strings.Contains(string(p), url.QueryEscape(r.secret)) {
		return r.w.Write(p)
	}
	if _, err := io.WriteString(r.w, serpstat.Redact(string(p), r.secret)); err != nil {
		return 0, err
	}
	return len(p), nil
}

// switchWriter writes to a writer that can be swapped while in use.
type switchWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *switchWriter) set(w io.Writer) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.w = w
}

func (s *switchWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	w := s.w
	s.mu.Unlock()
	return w.Write(p)
}

// checkEndpoint refuses an http:// endpoint that is not loopback unless
// insecure: the token would cross the network in clear text.
func checkEndpoint(endpoint string, insecure bool) error {
	u, err := url.Parse(endpoint)
	if err != nil || u.Host == "" {
		return usagef("--endpoint must be an http:// or https:// URL; got %q", endpoint)
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
	default:
		return usagef("--endpoint must be an http:// or https:// URL; got %q", endpoint)
	}
	host := u.Hostname()
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	if insecure {
		return nil
	}
	return usagef("--endpoint %s is plain http to another host: the token would travel in clear text; use https://, or pass --insecure if you must", endpoint)
}

// tokenFileWarning says when a token file can be read by other users.
func tokenFileWarning(path string) string {
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm()&0o077 == 0 {
		return ""
	}
	return fmt.Sprintf("the token file %s can be read by other users (mode %v): chmod 600 %s", path, fi.Mode().Perm(), path)
}

package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/serpstat-export/serpstat-export/coord"
	"github.com/serpstat-export/serpstat-export/dest"
	"github.com/serpstat-export/serpstat-export/exporter"
	"github.com/serpstat-export/serpstat-export/lake"
	"github.com/serpstat-export/serpstat-export/pager"
)

// Many jobs, one account: --coordinator shares the rate, an account
// budget and the locks through Redis (package coord).

// exitTempFail (EX_TEMPFAIL) is the exit code of a run stopped because the
// coordinator went away mid-run: every page paid for is kept, and the same
// command resumes once Redis is back.
const exitTempFail = 75

const (
	defaultAccountBudgetWindow = 24 * time.Hour
	// envCoordinator and envCoordinatorPassword set --coordinator and its
	// password; the flag wins over the first, the URL's password over the
	// second.
	envCoordinator         = "SERPSTAT_COORDINATOR"
	envCoordinatorPassword = "SERPSTAT_COORDINATOR_PASSWORD"
	// connectTimeout bounds the first contact with the coordinator.
	connectTimeout = 5 * time.Second
)

// remoteState tells whether --state-dir is on object storage.
func (s *settings) remoteState() bool {
	return dest.IsURL(s.StateDir) && !strings.HasPrefix(strings.ToLower(s.StateDir), "file:")
}

// checkCoordinator validates the settings of many jobs on one account.
func (s *settings) checkCoordinator() error {
	switch {
	case s.AccountBudget < 0:
		return usagef("--account-budget must be 0 (no cap) or more; got %d", s.AccountBudget)
	case s.AccountBudgetWindow <= 0:
		return usagef("--account-budget-window must be more than 0, such as 24h; got %v", s.AccountBudgetWindow)
	case s.Coordinator == "" && s.AccountBudget > 0:
		return usagef("--account-budget is shared by every job through Redis: it needs --coordinator redis://HOST:PORT/DB (or %s)", envCoordinator)
	case s.Coordinator == "" && s.remoteState():
		return usagef("--state-dir %s is on object storage: the lock that keeps two hosts from exporting into it at once lives in Redis, so it needs --coordinator redis://HOST:PORT/DB (or %s)", redactURL(s.StateDir), envCoordinator)
	case s.Coordinator != "":
		if err := coord.Check(s.Coordinator); err != nil {
			return usagef("--coordinator: %v", err)
		}
	}
	return nil
}

// redactURL removes a password from a URL for messages.
func redactURL(s string) string {
	if u, err := url.Parse(s); err == nil {
		return u.Redacted()
	}
	return coord.Redact(s)
}

// connect opens the coordinator, if one is set: the pager then waits on
// the shared rate and reserves from the account budget. Redis out of
// reach is bad input (exit 2): nothing was sent.
func (j *job) connect(ctx context.Context) error {
	s := j.s
	if s.Coordinator == "" {
		return nil
	}
	password := os.Getenv(envCoordinatorPassword)
	if u, err := url.Parse(s.Coordinator); err == nil && u.User != nil {
		if pw, ok := u.User.Password(); ok && pw != "" {
			password = pw
			if !strings.Contains(os.Getenv(envCoordinator), pw) {
				j.u.log.Warn("the --coordinator URL holds a password, visible to other users of this machine in the process list; prefer " + envCoordinatorPassword)
			}
		}
	}
	j.u.hide(password)
	token := j.client.Token
	cctx, cancel := context.WithTimeout(ctx, connectTimeout)
	defer cancel()
	c, err := coord.Open(cctx, s.Coordinator, token, coord.Options{Password: password, Logger: j.u.log})
	if err != nil {
		return usagef("--coordinator: %v: start Redis there or fix the URL (and %s); nothing was sent, no credit spent", err, envCoordinatorPassword)
	}
	j.coord = c
	j.pager.Limiter = c.Limiter(s.RPS)
	if s.AccountBudget > 0 {
		j.pager.Budget.ShareAccount(c.Account(s.AccountBudget, s.AccountBudgetWindow))
	}
	j.u.log.Info("sharing the rate, budget and locks of the account through the coordinator", "coordinator", c.Addr(), "account_budget", s.AccountBudget, "window", s.AccountBudgetWindow)
	return nil
}

// disconnect releases the locks and closes the coordinator.
func (j *job) disconnect() {
	if j.coord != nil {
		_ = j.coord.Close()
	}
}

// wait waits for the next request's turn: on the shared rate with a
// coordinator, else on the local one.
func (j *job) wait(ctx context.Context) error {
	if j.pager.Limiter != nil {
		return j.pager.Limiter.Wait(ctx)
	}
	return j.pager.Throttle.Wait(ctx)
}

// openSpool opens a query's checkpoint. With a coordinator it first takes
// the lock on what is exported where, for every host; with --state-dir on
// object storage the spool lives there.
func (j *job) openSpool(ctx context.Context, q string, p *pager.Pager) (*exporter.Spool, error) {
	s := j.s
	key := lake.SpoolKey{Method: p.Method.API, Params: p.Params, MaxRows: s.MaxRows}
	if j.coord != nil {
		if err := j.coord.Lock(ctx, lockName(s, key)); err != nil {
			if errors.Is(err, coord.ErrLocked) {
				return nil, usagef("%v: another run is exporting query %s to the same destination; wait for it to end", err, q)
			}
			return nil, err
		}
	}
	if !s.remoteState() {
		return lake.OpenSpool(s.lake(j.u.runID, nil), q, p)
	}
	dir := s.StateDir
	if len(s.Queries) > 1 || s.QueriesFile != "" {
		dir = dest.JoinDir(s.StateDir, lake.SafeValue(q)+".spool")
	}
	if s.Restart {
		if err := exporter.RemoveRemoteSpool(ctx, dir, s.s3()); err != nil {
			return nil, usagef("--restart: %v", err)
		}
	}
	sp, err := exporter.OpenRemoteSpool(ctx, dir, key, s.s3())
	if errors.Is(err, exporter.ErrSpoolMismatch) {
		return nil, usagef("%v; run with the same query flags to resume it, or add --restart to discard it", err)
	}
	return sp, err
}

// lockName names "this export to this destination" the same on every
// host: the query's spool key, and where its rows and checkpoint go. A
// URL is the same everywhere; a local path is qualified by the host.
func lockName(s settings, key lake.SpoolKey) string {
	host, _ := os.Hostname()
	local := func(p string) string {
		if abs, err := filepath.Abs(p); err == nil {
			p = abs
		}
		return "file://" + host + p
	}
	var dests []string
	for _, out := range s.Out {
		switch {
		case out == "-":
			wd, _ := os.Getwd()
			dests = append(dests, "stdout:"+local(wd))
		case dest.IsURL(out):
			dests = append(dests, redactURL(out))
		default:
			dests = append(dests, local(out))
		}
	}
	switch {
	case s.StateDir == "":
	case s.remoteState():
		dests = append(dests, "state:"+redactURL(s.StateDir))
	default:
		dests = append(dests, "state:"+local(s.StateDir))
	}
	sort.Strings(dests)
	k, _ := json.Marshal(key)
	sum := sha256.Sum256(append(k, []byte(strings.Join(dests, "\n"))...))
	return "export:" + hex.EncodeToString(sum[:])
}

// printCoordinatorLost says that the run stopped because Redis went away
// (exit 75).
func printCoordinatorLost(w io.Writer, err error) {
	fmt.Fprintf(w, "serpstat-export: stopped: %v\n", err)
	fmt.Fprintln(w, "  the shared rate and budget are out of reach, so no more requests were sent; the requests in flight were finished and kept")
	fmt.Fprintln(w, "  exit 75 (temporary failure): run the same command again once Redis is back; it resumes without paying for those pages again")
}

// printAccountBudgetStop says that the account budget shared by every job
// stopped this one (exit 3).
func printAccountBudgetStop(w io.Writer, s settings, rep *exporter.Report, err error) {
	spent := int64(0)
	if rep != nil {
		spent = rep.Credits
	}
	fmt.Fprintf(w, "serpstat-export: stopped by the account budget (--account-budget %d per %v, shared by every job of the token): this run spent %d credits: %v\n",
		s.AccountBudget, s.AccountBudgetWindow, spent, err)
	fmt.Fprintln(w, "  every page paid for is kept; run the same command again in the next window, or raise --account-budget")
}

// hide makes every later line on stderr hide secret too (the token is
// hidden already).
func (u *ui) hide(secret string) {
	if secret == "" {
		return
	}
	r := u.stderr
	r.mu.Lock()
	defer r.mu.Unlock()
	r.w = &redactWriter{w: r.w, secret: secret}
}

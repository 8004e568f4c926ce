package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/serpstat-export/serpstat-export/coord"
	"github.com/serpstat-export/serpstat-export/exporter"
	"github.com/serpstat-export/serpstat-export/lake"
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

// checkCoordinator validates the settings of many jobs on one account.
func (s *settings) checkCoordinator() error {
	switch {
	case s.AccountBudget < 0:
		return usagef("--account-budget must be 0 (no cap) or more; got %d", s.AccountBudget)
	case s.AccountBudgetWindow <= 0:
		return usagef("--account-budget-window must be more than 0, such as 24h; got %v", s.AccountBudgetWindow)
	case s.Coordinator == "" && s.AccountBudget > 0:
		return usagef("--account-budget is shared by every job through Redis: it needs --coordinator redis://HOST:PORT/DB (or %s)", envCoordinator)
	case s.Coordinator == "" && (&lake.Settings{StateDir: s.StateDir}).RemoteState():
		return usagef("--state-dir %s is on object storage: the lock that keeps two hosts from exporting into it at once lives in Redis, so it needs --coordinator redis://HOST:PORT/DB (or %s)", lake.RedactURL(s.StateDir), envCoordinator)
	case s.Coordinator != "":
		if err := coord.Check(s.Coordinator); err != nil {
			return usagef("--coordinator: %v", err)
		}
	}
	return nil
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
	j.cfg.Limiter = c.Limiter(s.RPS)
	if s.AccountBudget > 0 {
		acct := c.Account(s.AccountBudget, s.AccountBudgetWindow)
		run := s.accountRun()
		if j.estimating {
			run = ""
		}
		charged, err := acct.Start(ctx, run)
		if err != nil {
			return fmt.Errorf("--coordinator: reading the account budget: %w; nothing was sent, no credit spent", err)
		}
		if charged > 0 {
			j.u.log.Info("charged the account budget for the requests an earlier attempt of this run had in flight when it stopped", "credits", charged)
		}
		j.budget.ShareAccount(acct)
	}
	j.u.log.Info("sharing the rate, budget and locks of the account through the coordinator", "coordinator", c.Addr(), "account_budget", s.AccountBudget, "window", s.AccountBudgetWindow)
	return nil
}

// accountRun names the run in the account budget, the same for every
// attempt of the same command: what it exports and where. A resume finds
// with it the reservations its earlier attempt left in flight, and what
// the account charged for the run (see coord.Account.Start).
func (s *settings) accountRun() string {
	abs := func(p string) string {
		if p == "" || p == "-" || strings.Contains(p, "://") {
			return p
		}
		if a, err := filepath.Abs(p); err == nil {
			return a
		}
		return p
	}
	parts := []string{"export", s.Method, s.Query, strings.Join(s.Queries, ","), abs(s.QueriesFile), strings.Join(s.Intersect, ","), abs(s.StateDir)}
	for _, o := range s.Out {
		parts = append(parts, abs(o))
	}
	return strings.Join(parts, "\x00")
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
	if j.cfg.Limiter == nil {
		return nil
	}
	return j.cfg.Limiter.Wait(ctx)
}

// printCoordinatorLost says that the run stopped because Redis went away
// or lost the account budget (exit 75).
func printCoordinatorLost(w io.Writer, s settings, rep *exporter.Report, err error) {
	fmt.Fprintf(w, "serpstat-export: stopped: %v\n", err)
	var lost *coord.BudgetLostError
	if errors.As(err, &lost) {
		spent := "the summary above says what this run spent"
		if rep != nil {
			spent = fmt.Sprintf("this run spent %d credits", rep.Credits)
		}
		fmt.Fprintf(w, "  no more requests were sent against the empty count; %s, every page paid for is kept\n", spent)
		fmt.Fprintln(w, "  exit 75 (temporary failure): a job started now counts the window from 0 (plus what its own checkpoint says it spent): to keep the cap, run again with --account-budget lowered by what the jobs already spent in this window, or in the next window; give Redis persistence (appendonly yes, or RDB snapshots) so that a restart keeps the count")
		return
	}
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

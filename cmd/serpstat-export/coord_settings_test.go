package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/serpstat-export/serpstat-export/coord"
	"github.com/serpstat-export/serpstat-export/exporter"
	"github.com/serpstat-export/serpstat-export/pager"
)

func TestCoordinatorPrecedenceFlagOverEnvOverConfig(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "c.yaml")
	require.NoError(t, os.WriteFile(cfg, []byte("coordinator: redis://from-config:6379/0\naccount_budget: 5000\naccount_budget_window: 1h\n"), 0o600))
	parse := func(args ...string) settings {
		fs := flag.NewFlagSet("export", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		s, _, err, _, done := parseSettings(fs, append([]string{"--config", cfg}, args...), "", io.Discard, io.Discard)
		require.False(t, done)
		require.NoError(t, err)
		return s
	}
	s := parse()
	assert.Equal(t, "redis://from-config:6379/0", s.Coordinator)
	assert.Equal(t, int64(5000), s.AccountBudget)
	assert.Equal(t, time.Hour, s.AccountBudgetWindow)
	t.Setenv(envCoordinator, "redis://from-env:6379/1")
	assert.Equal(t, "redis://from-env:6379/1", parse().Coordinator)
	assert.Equal(t, "redis://from-flag:6379/2", parse("--coordinator", "redis://from-flag:6379/2").Coordinator)
	assert.Equal(t, defaultAccountBudgetWindow, defaultSettings().AccountBudgetWindow)
}

func TestExitCodesOfTheCoordinator(t *testing.T) {
	ctx := t.Context()
	assert.Equal(t, exitTempFail, exitCode(ctx, errors.Join(errors.New("page 7"), coord.ErrUnavailable)))
	assert.Equal(t, exitBudget, exitCode(ctx, &coord.ExhaustedError{Limit: 10, Window: time.Hour, Need: 20}))
	var b bytes.Buffer
	printError(&b, "export", settings{AccountBudget: 15000, AccountBudgetWindow: 24 * time.Hour}, nil, &coord.ExhaustedError{Limit: 15000}, exitBudget)
	assert.Contains(t, b.String(), "stopped by the account budget (--account-budget 15000 per 24h0m0s")
	b.Reset()
	printError(&b, "export", settings{}, nil, coord.ErrUnavailable, exitTempFail)
	assert.Contains(t, b.String(), "exit 75")

	// Redis lost the account budget: exit 75, what was spent, what to do.
	lost := fmt.Errorf("page 4: %w", &coord.BudgetLostError{Addr: "redis://r:6379/0", Limit: 30000, Window: 24 * time.Hour})
	assert.Equal(t, exitTempFail, exitCode(ctx, lost))
	for _, tc := range []struct {
		rep   *exporter.Report
		spent string
	}{
		{&exporter.Report{Credits: 3000}, "this run spent 3000 credits"},
		{nil, "the summary above says what this run spent"},
	} {
		b.Reset()
		printError(&b, "export", settings{AccountBudget: 30000, AccountBudgetWindow: 24 * time.Hour}, tc.rep, lost, exitTempFail)
		for _, want := range []string{"lost the account budget (--account-budget 30000 per 24h0m0s)", "restarted without persistence", tc.spent,
			"counts the window from 0", "--account-budget lowered", "appendonly yes", "exit 75"} {
			assert.Contains(t, b.String(), want)
		}
	}
	require.ErrorIs(t, &coord.ExhaustedError{}, pager.ErrBudgetExhausted)
}

func TestAccountRunNamesWhatIsExportedWhere(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	base := settings{Method: "new-backlinks", Query: "example.com", Out: stringList{"x.csv"}}
	same := base
	same.Out = stringList{filepath.Join(dir, "x.csv")}
	require.Equal(t, base.accountRun(), same.accountRun(), "a relative output is its absolute path")
	for _, tc := range []struct {
		name   string
		change func(s *settings)
	}{
		{"another query", func(s *settings) { s.Query = "example.org" }},
		{"another output", func(s *settings) { s.Out = stringList{"y.csv"} }},
		{"another method", func(s *settings) { s.Method = "ref-domains" }},
		{"a state dir", func(s *settings) { s.StateDir = "s3://lake/state" }},
		{"a queries file", func(s *settings) { s.Query, s.QueriesFile = "", "q.txt" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			other := base
			other.Out = append(stringList{}, base.Out...)
			tc.change(&other)
			require.NotEqual(t, base.accountRun(), other.accountRun())
		})
	}
}

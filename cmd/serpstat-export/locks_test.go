package main_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/serpstat-export/serpstat-export/serpstat/backlinks"
	"github.com/serpstat-export/serpstat-export/serpstat/serpstattest"
)

// gate holds the fake's answer to page 2 of the first run until release:
// the first run is mid-export, its temporary file and lock in place, for
// as long as the test needs, whatever the machine's speed.
type gate struct {
	once             sync.Once
	reached, release chan struct{}
}

func newGate() *gate { return &gate{reached: make(chan struct{}), release: make(chan struct{})} }

func (g *gate) fault(fi serpstattest.FaultInfo) serpstattest.Fault {
	if fi.Method == backlinks.NewBacklinks.API && fi.Params.Page == 2 && fi.Params.Query == "first.example" {
		g.once.Do(func() { close(g.reached) })
		<-g.release
	}
	return serpstattest.Fault{}
}

func TestASecondRunOnTheSameOutputIsRefusedAndHarmsNothing(t *testing.T) {
	const rows = 2500
	for _, tc := range []struct {
		name   string
		second func(dir string) []string // the second run's query and flags
	}{
		{"the same export", func(string) []string { return []string{"--query", "first.example"} }},
		{"another query", func(string) []string { return []string{"--query", "second.example"} }},
		{"another query and state dir", func(dir string) []string {
			return []string{"--query", "second.example", "--state-dir", filepath.Join(dir, "other-state")}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := newGate()
			srv := serpstattest.NewServer(serpstattest.Options{Rows: rows, Fault: g.fault})
			defer srv.Close()
			dir := t.TempDir()
			out := filepath.Join(dir, "r.csv")
			first := exec.Command(binary, "export", "--endpoint", srv.URL, "--query", "first.example", "--rps", "1000", "--workers", "1", "--out", out)
			first.Env = append(os.Environ(), "SERPSTAT_TOKEN="+serpstattest.DefaultToken)
			var firstErr bytes.Buffer
			first.Stderr = &firstErr
			require.NoError(t, first.Start())
			done := make(chan error, 1)
			go func() { done <- first.Wait() }()
			select {
			case <-g.reached:
			case err := <-done:
				close(g.release)
				t.Fatalf("the first run ended before page 2: %v\n%s", err, firstErr.String())
			}
			temps, _ := filepath.Glob(filepath.Join(dir, ".r.csv.tmp-*"))
			require.Len(t, temps, 1, "the first run is writing its temporary file")
			requestsBefore := srv.Stats().Requests

			args := append([]string{"export", "--endpoint", srv.URL, "--rps", "1000", "--out", out}, tc.second(dir)...)
			res := runCLI(t, serpstattest.DefaultToken, args...)
			assert.Equal(t, 2, res.code, res.stderr)
			assert.Contains(t, res.stderr, "another run is writing it")
			assert.Equal(t, requestsBefore, srv.Stats().Requests, "the refused run sent nothing")
			still, _ := filepath.Glob(filepath.Join(dir, ".r.csv.tmp-*"))
			assert.Equal(t, temps, still, "the first run's temporary file is untouched")

			close(g.release)
			require.NoError(t, <-done, firstErr.String())
			got := readCSV(t, out)
			requireRows(t, asCSV(apiRows(srv, "first.example", rows)), got, "the first run's output")
			assert.EqualValues(t, rows, srv.Stats().CreditsBilled, "billed = rows")
			assertNoLeftovers(t, dir, append([]string{"r.csv"}, extraEntries(dir)...)...)
		})
	}
}

// extraEntries lists what a test case may leave in dir besides outputs:
// another state dir (empty or gone).
func extraEntries(dir string) []string {
	if _, err := os.Stat(filepath.Join(dir, "other-state")); err == nil {
		return []string{"other-state"}
	}
	return nil
}

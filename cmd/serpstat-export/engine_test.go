package main_test

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/serpstat-export/serpstat-export/serpstat/serpstattest"
)

// Tests of the engine's promises under attack (issue 12): damaged
// checkpoints, budgets across resumes, exact --max-rows, live data.

// storedPages lists the page numbers a spool holds.
func storedPages(t *testing.T, spool string) []int {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(spool, "page-*.json"))
	require.NoError(t, err)
	var out []int
	for _, n := range names {
		var p int
		_, err := fmt.Sscanf(filepath.Base(n), "page-%06d.json", &p)
		require.NoError(t, err)
		out = append(out, p)
	}
	sort.Ints(out)
	return out
}

// killAfter starts the binary with args and kills it (SIGKILL) once the
// fake has billed at least pages answers.
func killAfter(t *testing.T, srv *serpstattest.Server, pages int, args ...string) {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Env = append(os.Environ(), "SERPSTAT_TOKEN="+serpstattest.DefaultToken)
	require.NoError(t, cmd.Start())
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	for {
		select {
		case err := <-done:
			t.Fatalf("the run ended before the kill: %v", err)
		case <-time.After(2 * time.Millisecond):
		}
		if srv.Stats().ByOutcome[serpstattest.OutcomeOK] >= pages {
			break
		}
	}
	require.NoError(t, cmd.Process.Kill())
	<-done
}

func TestDamagedCheckpointPagesAreBoughtAgainAlone(t *testing.T) {
	clean, _ := cleanRun(t, "damage.example", 12000)
	srv := serpstattest.NewServer(serpstattest.Options{Rows: 12000, Latency: 30 * time.Millisecond})
	defer srv.Close()
	dir := t.TempDir()
	args := exportArgs(srv, "damage.example", append([]string{"--workers", "1"}, outArgs(dir)...)...)
	killAfter(t, srv, 7, args...)

	spool := filepath.Join(dir, ".b.csv.spool")
	stored := storedPages(t, spool)
	require.Subset(t, stored, []int{1, 2, 3, 4, 5, 6})
	page := func(n int) string { return filepath.Join(spool, fmt.Sprintf("page-%06d.json", n)) }
	// Page 3 cut short; page 4 overwritten with page 5's content.
	data, err := os.ReadFile(page(3))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(page(3), data[:len(data)/2], 0o644))
	data, err = os.ReadFile(page(5))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(page(4), data, 0o644))

	before := len(srv.Log())
	summary := filepath.Join(t.TempDir(), "summary.json")
	res := runCLI(t, serpstattest.DefaultToken, append(args, "--summary-json", summary)...)
	require.Equal(t, 0, res.code, res.stderr)
	requireSameOutputs(t, clean, readOutputs(t, dir))
	require.Contains(t, res.stderr, "damaged")

	// The resume bought the pages not stored, and pages 3 and 4 again:
	// nothing else.
	want := map[int]bool{3: true, 4: true}
	for n := 1; n <= 12; n++ {
		if !contains(stored, n) {
			want[n] = true
		}
	}
	got := map[int]bool{}
	for _, e := range srv.Log()[before:] {
		if e.Method == "SerpstatBacklinksProcedure.getNewBacklinks" {
			require.False(t, got[e.Params.Page], "page %d bought twice by the resume", e.Params.Page)
			got[e.Params.Page] = true
		}
	}
	require.Equal(t, want, got)
	var sum struct {
		DamagedPages int `json:"damaged_pages"`
		ExitCode     int `json:"exit_code"`
	}
	raw, err := os.ReadFile(summary)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(raw, &sum))
	require.Equal(t, 2, sum.DamagedPages)
}

func contains(s []int, v int) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

package main_test

import (
	"bytes"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/serpstat-export/serpstat-export/serpstat/serpstattest"
)

// The fault-injection suite: the real binary against the fake, with
// gateway errors, resets, truncated bodies, over-rate storms, kill -9 and
// Ctrl-C. Each output must come out byte-identical to a clean run's.

var formats = []string{"b.csv", "b.ndjson", "b.parquet"}

// cleanRun exports query from a fault-free fake into dir and returns the
// bytes of each format and what it cost.
func cleanRun(t *testing.T, query string, rows int, extra ...string) (map[string][]byte, int64) {
	t.Helper()
	srv := serpstattest.NewServer(serpstattest.Options{Rows: rows})
	defer srv.Close()
	dir := t.TempDir()
	res := runCLI(t, serpstattest.DefaultToken, exportArgs(srv, query, append(extra, outArgs(dir)...)...)...)
	require.Equal(t, 0, res.code, res.stderr)
	return readOutputs(t, dir), srv.Stats().CreditsBilled
}

func outArgs(dir string) []string {
	var args []string
	for _, f := range formats {
		args = append(args, "--out", filepath.Join(dir, f))
	}
	return args
}

func readOutputs(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	for _, f := range formats {
		data, err := os.ReadFile(filepath.Join(dir, f))
		require.NoError(t, err)
		out[f] = data
	}
	return out
}

func requireSameOutputs(t *testing.T, want, got map[string][]byte) {
	t.Helper()
	for _, f := range formats {
		require.True(t, bytes.Equal(want[f], got[f]), "%s differs from the clean run's (%d vs %d bytes)", f, len(got[f]), len(want[f]))
	}
}

func TestFaultsLeaveTheOutputIdenticalAndPagesPaidOnce(t *testing.T) {
	clean, cleanCost := cleanRun(t, "faults.example", 25000)
	srv := serpstattest.NewServer(serpstattest.Options{Rows: 25000, Faults: serpstattest.FaultRates{
		Seed: 7, Status502: 0.10, Reset: 0.05, Truncate: 0.05,
	}})
	defer srv.Close()
	dir := t.TempDir()
	res := runCLI(t, serpstattest.DefaultToken, exportArgs(srv, "faults.example", append([]string{"--retries", "20"}, outArgs(dir)...)...)...)
	require.Equal(t, 0, res.code, res.stderr)
	requireSameOutputs(t, clean, readOutputs(t, dir))
	assertNoLeftovers(t, dir, formats...)

	// Every page was billed once, plus once for each answer cut short (it
	// was produced, so billed, but could not be used).
	truncated := map[int]int{}
	faults := 0
	for _, e := range srv.Log() {
		switch e.Outcome {
		case serpstattest.OutcomeFaultTruncate:
			truncated[e.Params.Page]++
			faults++
		case "fault-502", serpstattest.OutcomeFaultReset:
			faults++
		}
	}
	require.Greater(t, faults, 3, "the faults were injected")
	for k, n := range srv.Stats().PagesBilled {
		assert.Equal(t, 1+truncated[k.Page], n, "page %d", k.Page)
	}
	var extra int64
	for p, n := range truncated {
		extra += int64(n) * int64(min(1000, 25000-(p-1)*1000))
	}
	assert.Equal(t, cleanCost+extra, srv.Stats().CreditsBilled)
	assert.Contains(t, res.stderr, "retries:")
}

func TestKillNineAndResume(t *testing.T) {
	// 30 pages; the API takes 20 ms an answer, so a run lasts long enough
	// to be killed at random moments.
	clean, cleanCost := cleanRun(t, "kill.example", 30000)
	srv := serpstattest.NewServer(serpstattest.Options{Rows: 30000, Latency: 20 * time.Millisecond})
	defer srv.Close()
	dir := t.TempDir()
	args := exportArgs(srv, "kill.example", outArgs(dir)...)
	rng := rand.New(rand.NewPCG(42, 1))
	kills := 0
	for ; kills < 10; kills++ {
		cmd := exec.Command(binary, args...)
		cmd.Env = append(os.Environ(), "SERPSTAT_TOKEN="+serpstattest.DefaultToken)
		require.NoError(t, cmd.Start())
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case <-time.After(time.Duration(rng.IntN(150)) * time.Millisecond):
			require.NoError(t, cmd.Process.Kill()) // SIGKILL: no cleanup at all
			<-done
		case err := <-done:
			require.NoError(t, err, "a run that was not killed finished")
		}
		if _, err := os.Stat(filepath.Join(dir, formats[0])); err == nil {
			break // it finished before the kill
		}
		for _, f := range formats {
			_, err := os.Stat(filepath.Join(dir, f))
			require.True(t, os.IsNotExist(err), "no file under the final name after a kill")
		}
	}
	res := runCLI(t, serpstattest.DefaultToken, args...)
	require.Equal(t, 0, res.code, res.stderr)
	requireSameOutputs(t, clean, readOutputs(t, dir))
	assertNoLeftovers(t, dir, formats...)
	// A page is paid again only when a kill came while it was in flight:
	// at most --workers (4) pages a kill.
	billed := srv.Stats().CreditsBilled
	t.Logf("%d kills; billed %d credits, a clean run %d", kills, billed, cleanCost)
	assert.LessOrEqual(t, billed, cleanCost+int64(kills*4*1000))
}

func TestCtrlCFinishesInFlightAndResumes(t *testing.T) {
	clean, cleanCost := cleanRun(t, "ctrlc.example", 20000)
	srv := serpstattest.NewServer(serpstattest.Options{Rows: 20000, Latency: 50 * time.Millisecond})
	defer srv.Close()
	dir := t.TempDir()
	args := exportArgs(srv, "ctrlc.example", outArgs(dir)...)
	cmd := exec.Command(binary, args...)
	cmd.Env = append(os.Environ(), "SERPSTAT_TOKEN="+serpstattest.DefaultToken)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	require.NoError(t, cmd.Start())
	// Interrupt once a few pages were answered.
	for srv.Stats().Requests < 4 {
		time.Sleep(5 * time.Millisecond)
	}
	require.NoError(t, cmd.Process.Signal(syscall.SIGINT))
	err := cmd.Wait()
	var ee *exec.ExitError
	require.ErrorAs(t, err, &ee, stderr.String())
	require.Equal(t, 130, ee.ExitCode(), stderr.String())
	assert.Contains(t, stderr.String(), "run the same command again to resume")
	for _, f := range formats {
		_, err := os.Stat(filepath.Join(dir, f))
		require.True(t, os.IsNotExist(err), "no file at the final path after Ctrl-C")
	}
	st := srv.Stats()
	require.Less(t, st.Requests, 20, "it stopped sending")
	for _, e := range srv.Log() {
		assert.NotEqual(t, serpstattest.OutcomeCanceled, e.Outcome, "requests in flight were finished, not cut")
	}

	res := runCLI(t, serpstattest.DefaultToken, args...)
	require.Equal(t, 0, res.code, res.stderr)
	requireSameOutputs(t, clean, readOutputs(t, dir))
	assert.Equal(t, cleanCost, srv.Stats().CreditsBilled, "no page paid twice")
	assertNoLeftovers(t, dir, formats...)
}

func TestOverRateStormSlowsDown(t *testing.T) {
	if testing.Short() {
		t.Skip("takes a few seconds")
	}
	// The plan allows 20 requests/s; the client is told 60.
	clean, _ := cleanRun(t, "storm.example", 10000, "--size", "100")
	srv := serpstattest.NewServer(serpstattest.Options{Rows: 10000, RPS: 20})
	defer srv.Close()
	dir := t.TempDir()
	res := runCLI(t, serpstattest.DefaultToken, "export", "--endpoint", srv.URL, "--query", "storm.example",
		"--size", "100", "--rps", "60", "--workers", "8", "--out", filepath.Join(dir, "b.csv"),
		"--out", filepath.Join(dir, "b.ndjson"), "--out", filepath.Join(dir, "b.parquet"))
	require.Equal(t, 0, res.code, res.stderr)
	requireSameOutputs(t, clean, readOutputs(t, dir))
	log := srv.Log()
	var limited []int
	for i, e := range log {
		if e.Outcome == serpstattest.OutcomeRateLimited {
			limited = append(limited, i)
		}
	}
	require.NotEmpty(t, limited, "the storm happened")
	t.Logf("%d over-rate answers of %d requests; the last %v after the first request, %d requests after it", len(limited), len(log), log[limited[len(limited)-1]].Time.Sub(log[0].Time), len(log)-1-limited[len(limited)-1])
	// The client slows down: the refusals are a burst at the start, then
	// the run goes on under the plan's rate with none (15 requests in a
	// row without one).
	assert.GreaterOrEqual(t, len(log)-1-limited[len(limited)-1], 15, "over-rate answers stopped")
	for k, n := range srv.Stats().PagesBilled {
		assert.Equal(t, 1, n, "page %+v billed once", k)
	}
}

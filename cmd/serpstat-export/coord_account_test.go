package main_test

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/serpstat-export/serpstat-export/coord"
	"github.com/serpstat-export/serpstat-export/serpstat/serpstattest"
)

// accountSpent is what the account budget of token counts in the current
// window (24h) on the Redis at url.
func accountSpent(t *testing.T, url, token string) int64 {
	t.Helper()
	ctx := context.Background()
	c, err := coord.Open(ctx, url, token, coord.Options{})
	require.NoError(t, err)
	defer c.Close()
	n, err := c.Account(1, 24*time.Hour).Spent(ctx)
	require.NoError(t, err)
	return n
}

func TestAccountBudgetCountsTheRequestsOfAKilledJob(t *testing.T) {
	url := redisURL(t)
	token := uniqueToken(t)
	srv := serpstattest.NewServer(serpstattest.Options{Token: token, Rows: 20000, Latency: time.Second})
	defer srv.Close()
	dir := t.TempDir()
	job := func(q string) []string {
		return []string{"export", "--endpoint", srv.URL, "--query", q, "--rps", "50", "--workers", "4",
			"--out", q + ".csv", "--progress", "never", "--coordinator", url, "--account-budget", "10000"}
	}
	// Job A: page 1, then 4 pages in flight, killed.
	a := startCLI(t, token, dir, nil, job("a.example")...)
	waitFor(t, "page 1 and 4 pages in flight", func() bool {
		st := srv.Stats()
		return st.Requests >= 5 && st.InFlight >= 4
	})
	require.NoError(t, a.cmd.Process.Signal(syscall.SIGKILL))
	a.wait(t)
	billedA := srv.Stats().CreditsBilled

	// Its resume charges the holds A left at once, and spends what is
	// left; then job B finds nothing left.
	res := runCLIIn(t, token, dir, job("a.example")...)
	require.Equal(t, 3, res.code, res.stderr)
	assert.Contains(t, res.stderr, "an earlier attempt of this run had in flight")
	assert.Contains(t, res.stderr, "stopped by the account budget")
	res = runCLIIn(t, token, dir, job("b.example")...)
	require.Equal(t, 3, res.code, res.stderr)
	assert.Contains(t, res.stderr, "stopped by the account budget")

	billed, counted := srv.Stats().CreditsBilled, accountSpent(t, url, token)
	t.Logf("A was billed %d before kill -9; the fake billed %d in all, the account counts %d", billedA, billed, counted)
	assert.LessOrEqual(t, billed, int64(10000), "the cap held")
	assert.GreaterOrEqual(t, counted, billed, "the account counts every credit billed")
	assert.LessOrEqual(t, counted, int64(10000))
}

func TestAccountBudgetLostInARedisRestartStopsBothJobs(t *testing.T) {
	r := startRedis(t)
	token := uniqueToken(t)
	srv := serpstattest.NewServer(serpstattest.Options{Token: token, Rows: 20000, Latency: 2 * time.Second})
	defer srv.Close()
	dir := t.TempDir()
	var procs []*proc
	for _, q := range []string{"x1.example", "x2.example"} {
		procs = append(procs, startCLI(t, token, dir, nil, "export", "--endpoint", srv.URL, "--query", q, "--rps", "50",
			"--workers", "2", "--out", q+".csv", "--progress", "never", "--coordinator", r.url(), "--account-budget", "30000"))
	}
	// Each job's page 1 and 2 pages in flight: Redis restarts (no
	// persistence) while they wait for their answers (2 s: the restart
	// takes a fraction of it, so no job finds Redis down).
	waitFor(t, "both jobs' pages in flight", func() bool {
		st := srv.Stats()
		return st.Requests >= 6 && st.InFlight >= 4
	})
	r.stop()
	r.start()
	atRestart := srv.Stats().Requests
	for _, p := range procs {
		res := p.wait(t)
		require.Equal(t, 75, res.code, res.stderr)
		assert.Contains(t, res.stderr, "lost the account budget")
		assert.Contains(t, res.stderr, "restarted without persistence")
		assert.Contains(t, res.stderr, "appendonly yes")
	}
	st := srv.Stats()
	t.Logf("%d requests when Redis restarted, %d in all; %d credits billed", atRestart, st.Requests, st.CreditsBilled)
	assert.Equal(t, atRestart, st.Requests, "nothing sent after the restart")
	assert.LessOrEqual(t, st.CreditsBilled, int64(30000))
	for _, q := range []string{"x1.example", "x2.example"} {
		spooled, err := filepath.Glob(filepath.Join(dir, "."+q+".csv.spool", "*page-*.json"))
		require.NoError(t, err)
		assert.NotEmpty(t, spooled, "the pages paid for are kept")
	}
}

func TestAccountBudgetCountsWhatAnAttemptWithoutTheCoordinatorSpent(t *testing.T) {
	url := redisURL(t)
	token := uniqueToken(t)
	srv := serpstattest.NewServer(serpstattest.Options{Token: token, Rows: 20000, Latency: 200 * time.Millisecond})
	defer srv.Close()
	dir := t.TempDir()
	args := []string{"export", "--endpoint", srv.URL, "--query", "c.example", "--rps", "50", "--workers", "2",
		"--out", "c.csv", "--progress", "never"}
	// The first attempt runs alone, interrupted after a few pages.
	first := startCLI(t, token, dir, nil, args...)
	waitFor(t, "3 pages", func() bool { return srv.Stats().Requests >= 3 })
	require.NoError(t, first.cmd.Process.Signal(os.Interrupt))
	res := first.wait(t)
	require.Equal(t, 130, res.code, res.stderr)
	earlier := srv.Stats().CreditsBilled
	require.GreaterOrEqual(t, earlier, int64(3000))
	// Its resume shares an account budget: what its checkpoint says was
	// spent counts, 2,000 are left.
	shared := func(budget int64) result {
		return runCLIIn(t, token, dir, append(args, "--coordinator", url, "--account-budget", strconv.FormatInt(budget, 10))...)
	}
	res = shared(earlier + 2000)
	require.Equal(t, 3, res.code, res.stderr)
	assert.Contains(t, res.stderr, "stopped by the account budget")
	assert.Equal(t, earlier+2000, srv.Stats().CreditsBilled)
	assert.Equal(t, earlier+2000, accountSpent(t, url, token))
	// Once counted, never again: another resume finds nothing left, and
	// with a higher cap it goes on from there.
	res = shared(earlier + 2000)
	require.Equal(t, 3, res.code, res.stderr)
	assert.Equal(t, earlier+2000, srv.Stats().CreditsBilled)
	res = shared(earlier + 4000)
	require.Equal(t, 3, res.code, res.stderr)
	assert.Equal(t, earlier+4000, srv.Stats().CreditsBilled)
	assert.Equal(t, earlier+4000, accountSpent(t, url, token))
}

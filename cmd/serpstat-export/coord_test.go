package main_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/serpstat-export/serpstat-export/serpstat/serpstattest"
)

// Many jobs, one account: processes of the binary sharing a real
// redis-server. .ci/run starts one and sets SERPSTAT_TEST_REDIS_ADDR;
// tests that stop Redis mid-run start their own redis-server.

// redisURL is the shared redis-server's URL; the test is skipped without.
func redisURL(t *testing.T) string {
	t.Helper()
	addr := os.Getenv("SERPSTAT_TEST_REDIS_ADDR")
	if addr == "" {
		t.Skip("set SERPSTAT_TEST_REDIS_ADDR=HOST:PORT of a redis-server to run the coordinator tests; .ci/run starts one")
	}
	return "redis://" + addr + "/0"
}

// redisServer is a redis-server of a test's own, to stop and start again.
type redisServer struct {
	t    *testing.T
	port int
	dir  string
	cmd  *exec.Cmd
}

// startRedis starts a redis-server on a free loopback port. Outside CI
// (no SERPSTAT_TEST_REDIS_ADDR) the test is skipped when none is installed.
func startRedis(t *testing.T) *redisServer {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		if os.Getenv("SERPSTAT_TEST_REDIS_ADDR") != "" {
			t.Fatal("redis-server is not installed, but SERPSTAT_TEST_REDIS_ADDR says the coordinator tests must run")
		}
		t.Skip("redis-server is not installed (apt-get install redis-server)")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := ln.Addr().(*net.TCPAddr).Port
	require.NoError(t, ln.Close())
	r := &redisServer{t: t, port: port, dir: t.TempDir()}
	r.start()
	t.Cleanup(r.stop)
	return r
}

func (r *redisServer) url() string { return fmt.Sprintf("redis://127.0.0.1:%d/0", r.port) }

func (r *redisServer) start() {
	t := r.t
	path, err := exec.LookPath("redis-server")
	require.NoError(t, err)
	r.cmd = exec.Command(path, "--port", strconv.Itoa(r.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", r.dir)
	require.NoError(t, r.cmd.Start())
	for range 200 {
		c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", r.port))
		if err == nil {
			c.Close()
			return
		}
		time.Sleep(25 * time.Millisecond)
	}
	t.Fatal("redis-server did not start")
}

func (r *redisServer) stop() {
	if r.cmd == nil {
		return
	}
	_ = r.cmd.Process.Signal(syscall.SIGTERM)
	_ = r.cmd.Wait()
	r.cmd = nil
}

// proc is the binary running in the background.
type proc struct {
	cmd       *exec.Cmd
	out, errb bytes.Buffer
	done      chan struct{}
	res       result
}

// startCLI starts the binary in dir with the token and extra environment.
func startCLI(t *testing.T, token, dir string, env []string, args ...string) *proc {
	t.Helper()
	p := &proc{cmd: exec.Command(binary, args...), done: make(chan struct{})}
	p.cmd.Dir = dir
	p.cmd.Env = append(append(os.Environ(), "SERPSTAT_TOKEN="+token), env...)
	p.cmd.Stdout, p.cmd.Stderr = &p.out, &p.errb
	require.NoError(t, p.cmd.Start())
	go func() {
		err := p.cmd.Wait()
		p.res.code = 0
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			p.res.code = ee.ExitCode()
		}
		p.res.stdout, p.res.stderr = p.out.String(), p.errb.String()
		close(p.done)
	}()
	t.Cleanup(func() {
		_ = p.cmd.Process.Kill()
		<-p.done
	})
	return p
}

// wait waits for the process to end; the limit only guards against a hang.
func (p *proc) wait(t *testing.T) result {
	t.Helper()
	select {
	case <-p.done:
		return p.res
	case <-time.After(3 * time.Minute):
		_ = p.cmd.Process.Kill()
		<-p.done
		t.Fatalf("the export hung: %s", p.res.stderr)
	}
	return result{}
}

// waitFor polls cond (the fake's counters) until it holds; the limit only
// guards against a hang.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for range 6000 {
		if cond() {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}

// uniqueToken keeps each test's keys apart on a shared Redis: the account
// budget of a token lasts its window.
func uniqueToken(t *testing.T) string {
	return fmt.Sprintf("tok-%s-%d", strings.ReplaceAll(t.Name(), "/", "-"), time.Now().UnixNano())
}

// rateOf is the requests per second the fake received after the first
// two (each process's page 1), and the share refused as over-rate.
func rateOf(srv *serpstattest.Server) (rps, refused float64, n int) {
	log := srv.Log()
	over := 0
	for _, e := range log {
		if e.Outcome == serpstattest.OutcomeRateLimited {
			over++
		}
	}
	span := log[len(log)-1].Time.Sub(log[1].Time).Seconds()
	return float64(len(log)-2) / span, float64(over) / float64(len(log)), len(log)
}

func TestTwoProcessesShareTheAccountsRate(t *testing.T) {
	if testing.Short() {
		t.Skip("takes about 12 seconds")
	}
	url := redisURL(t)
	run := func(coordinated bool) (rps, refused float64, n int) {
		token := uniqueToken(t)
		srv := serpstattest.NewServer(serpstattest.Options{Token: token, Rows: 2500, RPS: 10})
		defer srv.Close()
		dir := t.TempDir()
		var procs []*proc
		for _, q := range []string{"one.example", "two.example"} {
			args := []string{"export", "--endpoint", srv.URL, "--query", q, "--rps", "10", "--size", "100",
				"--out", q + ".csv", "--progress", "never"}
			if coordinated {
				args = append(args, "--coordinator", url)
			}
			procs = append(procs, startCLI(t, token, dir, nil, args...))
		}
		for _, p := range procs {
			res := p.wait(t)
			require.Equal(t, 0, res.code, res.stderr)
		}
		if coordinated {
			for _, q := range []string{"one.example", "two.example"} {
				requireRows(t, asCSV(apiRows(srv, q, 2500)), readCSV(t, filepath.Join(dir, q+".csv")), q)
			}
		}
		return rateOf(srv)
	}
	rps, refused, n := run(true)
	t.Logf("coordinated: %.2f requests/s together after page 1, %.1f%% of %d refused as over-rate", rps, 100*refused, n)
	// How close to the plan they get is measured by
	// BenchmarkE2ESaturationCoordinated, not asserted here (a loaded
	// machine slows them down). What load cannot cause: two processes
	// pacing at --rps 10 each, coordinated, never ask for more than the
	// account's 10 a second together (alone, they ask for twice that).
	assert.LessOrEqual(t, rps, 10.5, "two coordinated processes together keep to the account's rate")

	// The control: without the coordinator each paces itself alone.
	rps, refused, n = run(false)
	t.Logf("alone: %.2f requests/s together after page 1, %.1f%% of %d refused as over-rate", rps, 100*refused, n)
	assert.True(t, rps < 9 || refused > 0.02, "without a coordinator the account is either under-used or over-asked")
}

func TestAccountBudgetHoldsForThreeProcesses(t *testing.T) {
	url := redisURL(t)
	token := uniqueToken(t)
	srv := serpstattest.NewServer(serpstattest.Options{Token: token, Rows: 10000})
	defer srv.Close()
	dir := t.TempDir()
	var procs []*proc
	for _, q := range []string{"a.example", "b.example", "c.example"} {
		procs = append(procs, startCLI(t, token, dir, nil, "export", "--endpoint", srv.URL, "--query", q, "--rps", "30",
			"--workers", "3", "--out", q+".csv", "--progress", "never", "--coordinator", url, "--account-budget", "15000"))
	}
	stopped := 0
	for _, p := range procs {
		res := p.wait(t)
		switch res.code {
		case 0:
		case 3:
			stopped++
			assert.Contains(t, res.stderr, "stopped by the account budget")
			assert.Contains(t, res.stderr, "--account-budget 15000")
		default:
			t.Fatalf("exit %d: %s", res.code, res.stderr)
		}
	}
	billed := srv.Stats().CreditsBilled
	t.Logf("%d of 3 stopped by the account budget; the fake billed %d credits", stopped, billed)
	assert.LessOrEqual(t, billed, int64(15000))
	assert.GreaterOrEqual(t, billed, int64(14000), "the budget was used, not left idle")
	assert.GreaterOrEqual(t, stopped, 2)
}

func TestCoordinatorLocksTheSameExportToTheSameDestination(t *testing.T) {
	url := redisURL(t)
	token := uniqueToken(t)
	srv := serpstattest.NewServer(serpstattest.Options{Token: token, Rows: 3000})
	defer srv.Close()
	dir := t.TempDir()
	args := []string{"export", "--endpoint", srv.URL, "--query", "lock.example", "--rps", "2", "--size", "100",
		"--out", filepath.Join(dir, "l.csv"), "--progress", "never", "--coordinator", url}
	first := startCLI(t, token, dir, nil, args...)
	waitFor(t, "the first run's first request", func() bool { return srv.Stats().Requests >= 1 })
	// Another working directory, the same absolute destination.
	second := runCLIIn(t, token, t.TempDir(), args...)
	require.Equal(t, 2, second.code, second.stderr)
	assert.Contains(t, second.stderr, "another run")
	// A different destination is not locked.
	other := runCLIIn(t, token, dir, append(args[:len(args)-6:len(args)-6], "--out", filepath.Join(dir, "m.csv"), "--progress", "never", "--coordinator", url, "--max-rows", "100")...)
	require.Equal(t, 0, other.code, other.stderr)
	_ = first.cmd.Process.Signal(os.Interrupt)
	first.wait(t)
}

// runCLIIn runs the binary in dir.
func runCLIIn(t *testing.T, token, dir string, args ...string) result {
	t.Helper()
	return startCLI(t, token, dir, nil, args...).wait(t)
}

func TestRedisGoneMidRunStopsKeepsThePagesAndTheRerunCompletes(t *testing.T) {
	r := startRedis(t)
	token := uniqueToken(t)
	srv := serpstattest.NewServer(serpstattest.Options{Token: token, Rows: 6000})
	defer srv.Close()
	dir := t.TempDir()
	args := []string{"export", "--endpoint", srv.URL, "--query", "gone.example", "--rps", "10", "--size", "100",
		"--workers", "2", "--out", "g.csv", "--progress", "never", "--coordinator", r.url()}
	p := startCLI(t, token, dir, nil, args...)
	waitFor(t, "15 requests", func() bool { return srv.Stats().Requests >= 15 })
	r.stop()
	atStop := srv.Stats().Requests
	res := p.wait(t)
	require.Equal(t, 75, res.code, res.stderr)
	assert.Contains(t, res.stderr, "the coordinator (Redis) is unreachable")
	assert.Contains(t, res.stderr, "run the same command again")
	st := srv.Stats()
	// Requests past their turn when Redis stopped may still go: one a
	// worker. Nothing after.
	assert.LessOrEqual(t, st.Requests, atStop+2, "stopped sending")
	require.Less(t, st.Requests, 60)
	spooled, err := filepath.Glob(filepath.Join(dir, ".g.csv.spool", "*page-*.json"))
	require.NoError(t, err)
	assert.Equal(t, len(st.PagesBilled), len(spooled), "every page paid for is in the checkpoint")
	_, err = os.Stat(filepath.Join(dir, "g.csv"))
	require.True(t, os.IsNotExist(err), "no output committed")

	r.start()
	res = runCLIIn(t, token, dir, args...)
	require.Equal(t, 0, res.code, res.stderr)
	requireRows(t, asCSV(apiRows(srv, "gone.example", 6000)), readCSV(t, filepath.Join(dir, "g.csv")), "rows")
	for k, n := range srv.Stats().PagesBilled {
		assert.Equal(t, 1, n, "page %+v billed once", k)
	}
	assert.Contains(t, res.stderr, "resumed:")
}

func TestCoordinatorBadInputExits2AndSendsNothing(t *testing.T) {
	srv := serpstattest.NewServer(serpstattest.Options{Rows: 100})
	defer srv.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	closed := ln.Addr().String()
	require.NoError(t, ln.Close())
	dir := t.TempDir()
	out := filepath.Join(dir, "x.csv")
	for _, tc := range []struct {
		name string
		env  []string
		args []string
		want string
	}{
		{"unreachable", nil, []string{"--coordinator", "redis://:hunter2pw@" + closed + "/0"}, "the coordinator (Redis) is unreachable at redis://:xxxxx@" + closed},
		{"unreachable from the environment", []string{"SERPSTAT_COORDINATOR=redis://" + closed + "/0", "SERPSTAT_COORDINATOR_PASSWORD=hunter2pw"}, nil, "unreachable at redis://" + closed},
		{"not a Redis URL", nil, []string{"--coordinator", "http://" + closed}, "not a Redis URL"},
		{"account budget without a coordinator", nil, []string{"--account-budget", "100"}, "--account-budget is shared by every job through Redis: it needs --coordinator"},
		{"negative account budget", nil, []string{"--account-budget", "-1", "--coordinator", "redis://" + closed + "/0"}, "--account-budget must be 0"},
		{"state on object storage without a coordinator", nil, []string{"--state-dir", "s3://bucket/state"}, "--state-dir s3://bucket/state is on object storage"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"export", "--endpoint", srv.URL, "--query", "bad.example", "--out", out}, tc.args...)
			res := startCLI(t, serpstattest.DefaultToken, dir, tc.env, args...).wait(t)
			require.Equal(t, 2, res.code, res.stderr)
			assert.Contains(t, res.stderr, tc.want)
			assert.NotContains(t, res.stderr, "hunter2pw")
			assert.Zero(t, srv.Stats().Requests, "nothing sent")
		})
	}
}

var _ = context.Background

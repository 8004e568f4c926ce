package coord

import (
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/stretchr/testify/require"

	"github.com/serpstat-export/serpstat-export/pager"
)

// fakeRedis is an in-process Redis on a clock that moves only when told.
type fakeRedis struct {
	*miniredis.Miniredis
	now time.Time
}

// ctx is the tests' context where they need no other.
var ctx = context.Background()

func (m *fakeRedis) Now() time.Time { return m.now }

func (m *fakeRedis) SetTime(t time.Time) {
	m.now = t
	m.Miniredis.SetTime(t)
}

func newRedis(t *testing.T) *fakeRedis {
	t.Helper()
	m := &fakeRedis{Miniredis: miniredis.RunT(t)}
	m.SetTime(time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC))
	return m
}

func open(t *testing.T, m *fakeRedis, token string) *Coordinator {
	t.Helper()
	c, err := Open(context.Background(), "redis://"+m.Addr()+"/0", token, Options{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// sleeps records what a Limiter would sleep, instead of sleeping.
type sleeps []time.Duration

func (s *sleeps) sleep(_ context.Context, d time.Duration) error {
	*s = append(*s, d)
	return nil
}

func TestAccountCapHoldsWithRequestsInFlightEverywhere(t *testing.T) {
	m := newRedis(t)
	a, b := open(t, m, "tok"), open(t, m, "tok")
	now := func() time.Time { return m.Now() }
	aa, ab := a.Account(2500, 24*time.Hour), b.Account(2500, 24*time.Hour)
	aa.Now, ab.Now = now, now
	r1, err := aa.Reserve(ctx, 1000)
	require.NoError(t, err)
	r2, err := ab.Reserve(ctx, 1000)
	require.NoError(t, err)
	_, err = aa.Reserve(ctx, 1000)
	require.ErrorIs(t, err, pager.ErrAccountBudget)
	require.ErrorIs(t, err, pager.ErrBudgetExhausted)
	var ee *ExhaustedError
	require.ErrorAs(t, err, &ee)
	require.Equal(t, int64(2000), ee.Reserved)
	r1.Settle(ctx, 400)
	r1.Settle(ctx, 1000) // only the first counts
	r3, err := ab.Reserve(ctx, 1000)
	require.NoError(t, err)
	spent, err := aa.Spent(context.Background())
	require.NoError(t, err)
	require.Equal(t, int64(400), spent)
	r2.Settle(ctx, 1000)
	r3.Settle(ctx, 1000)
	_, err = aa.Reserve(ctx, 101)
	require.ErrorIs(t, err, pager.ErrAccountBudget)
	r4, err := aa.Reserve(ctx, 100)
	require.NoError(t, err)
	r4.Settle(ctx, 100)
	spent, err = ab.Spent(context.Background())
	require.NoError(t, err)
	require.Equal(t, int64(2500), spent)

	// The next window starts afresh.
	m.SetTime(m.Now().Add(24 * time.Hour))
	_, err = aa.Reserve(ctx, 2500)
	require.NoError(t, err)
}

func TestAccountReservationOfADeadProcessIsChargedWhenItExpires(t *testing.T) {
	m := newRedis(t)
	a, b := open(t, m, "tok"), open(t, m, "tok")
	now := func() time.Time { return m.Now() }
	aa, ab := a.Account(1000, time.Hour), b.Account(1000, time.Hour)
	aa.Now, ab.Now = now, now
	_, err := aa.Reserve(ctx, 1000) // a dies with it in flight
	require.NoError(t, err)
	_, err = ab.Reserve(ctx, 1)
	require.ErrorIs(t, err, pager.ErrAccountBudget)
	// A live process refreshes its reservations: still held.
	m.SetTime(m.Now().Add(DefaultTTL - time.Second))
	require.NoError(t, a.refreshOnce(context.Background()))
	m.SetTime(m.Now().Add(DefaultTTL - time.Second))
	_, err = ab.Reserve(ctx, 1)
	require.ErrorIs(t, err, pager.ErrAccountBudget)
	// Then nothing refreshes it: after the TTL it is charged in full (the
	// API may have billed it), not dropped.
	m.SetTime(m.Now().Add(DefaultTTL + time.Second))
	_, err = ab.Reserve(ctx, 1)
	var ee *ExhaustedError
	require.ErrorAs(t, err, &ee)
	require.Equal(t, int64(1000), ee.Spent)
	require.Equal(t, int64(0), ee.Reserved)
}

func TestLockRefusesAnotherProcessUntilReleasedOrExpired(t *testing.T) {
	m := newRedis(t)
	ctx := context.Background()
	a, b := open(t, m, "tok"), open(t, m, "tok")
	require.NoError(t, a.Lock(ctx, "export x to y"))
	require.NoError(t, a.Lock(ctx, "export x to y"), "a lock is re-entrant for its holder")
	err := b.Lock(ctx, "export x to y")
	require.ErrorIs(t, err, ErrLocked)
	require.ErrorContains(t, err, a.ID())
	var le *LockedError
	require.ErrorAs(t, err, &le)
	require.Equal(t, a.ID(), le.Holder)
	require.Regexp(t, `^.+:[0-9]+$`, le.Run(), "host:pid, for messages")
	require.Equal(t, a.ID()[:len(le.Run())], le.Run(), "the holder without its random part")
	require.NoError(t, b.Lock(ctx, "export x to z"))
	// Another account does not share locks.
	require.NoError(t, open(t, m, "other").Lock(ctx, "export x to y"))
	require.NoError(t, a.Close())
	require.NoError(t, b.Lock(ctx, "export x to y"))

	// A process that dies: its lock expires after the TTL.
	c := open(t, m, "tok")
	require.NoError(t, c.Lock(ctx, "dies"))
	require.ErrorIs(t, b.Lock(ctx, "dies"), ErrLocked)
	m.FastForward(DefaultTTL + time.Second)
	require.NoError(t, b.Lock(ctx, "dies"))
}

func TestRedisGoneIsUnavailable(t *testing.T) {
	m := newRedis(t)
	c := open(t, m, "tok")
	l := c.Limiter(10)
	acct := c.Account(100, time.Hour)
	m.Close()
	ctx := context.Background()
	require.ErrorIs(t, l.Wait(ctx), ErrUnavailable)
	_, err := acct.Reserve(ctx, 1)
	require.ErrorIs(t, err, ErrUnavailable)
	require.NotErrorIs(t, err, pager.ErrBudgetExhausted)
	require.ErrorIs(t, c.Lock(ctx, "x"), ErrUnavailable)
}

func TestOpenUnreachableNamesTheURLWithoutItsPassword(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	_, err = Open(context.Background(), "redis://:hunter2secret@"+addr+"/0", "tok", Options{Timeout: 500 * time.Millisecond})
	require.ErrorIs(t, err, ErrUnavailable)
	require.ErrorContains(t, err, addr)
	require.NotContains(t, err.Error(), "hunter2secret")
}

func TestPasswordFromURLOrOptions(t *testing.T) {
	m := newRedis(t)
	m.RequireAuth("s3cret")
	ctx := context.Background()
	_, err := Open(ctx, "redis://"+m.Addr()+"/0", "tok", Options{})
	require.Error(t, err)
	require.NotContains(t, err.Error(), "s3cret")
	c, err := Open(ctx, "redis://"+m.Addr()+"/0", "tok", Options{Password: "s3cret"})
	require.NoError(t, err)
	require.NoError(t, c.Close())
	c, err = Open(ctx, "redis://:s3cret@"+m.Addr()+"/0", "tok", Options{Password: "wrong"})
	require.NoError(t, err)
	require.NotContains(t, c.Addr(), "s3cret")
	require.NoError(t, c.Close())
}

func TestCheckAndRedact(t *testing.T) {
	for _, tc := range []struct {
		url, err string
	}{
		{"redis://127.0.0.1:6379/0", ""},
		{"rediss://user:pw@redis.internal:6380/2", ""},
		{"http://127.0.0.1:6379", "not a Redis URL"},
		{"127.0.0.1:6379", "not a Redis URL"},
		{"redis://127.0.0.1:6379/notadb", "notadb"},
	} {
		t.Run(tc.url, func(t *testing.T) {
			err := Check(tc.url)
			if tc.err == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorContains(t, err, tc.err)
		})
	}
	require.Equal(t, "rediss://user:xxxxx@h:1/0", Redact("rediss://user:pw@h:1/0"))
	require.Equal(t, "redis://h:1/0", Redact("redis://h:1/0"))
	require.NotContains(t, Redact("redis://:p%zz@h/0"), "p%zz")
}

var _ = errors.New

func TestLockOfADeadProcessOfThisHostIsTakenOver(t *testing.T) {
	m := newRedis(t)
	ctx := context.Background()
	a, b := open(t, m, "tok"), open(t, m, "tok")
	require.NoError(t, a.Lock(ctx, "x"))
	key := a.Namespace() + "lock:" + hashName("x")
	host, _ := os.Hostname()
	// A holder on this host whose pid runs (ours) keeps it; one whose
	// process is gone does not; one on another host waits for the TTL.
	m.Set(key, host+":"+strconv.Itoa(os.Getpid())+":abc")
	require.ErrorIs(t, b.Lock(ctx, "x"), ErrLocked)
	m.Set(key, "another-host:1:abc")
	require.ErrorIs(t, b.Lock(ctx, "x"), ErrLocked)
	dead := exec.Command("true")
	require.NoError(t, dead.Run())
	m.Set(key, host+":"+strconv.Itoa(dead.Process.Pid)+":abc")
	require.NoError(t, b.Lock(ctx, "x"))
	got, err := m.Get(key)
	require.NoError(t, err)
	require.Equal(t, b.ID(), got)
}

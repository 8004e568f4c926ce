package coord

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/serpstat-export/serpstat-export/pager"
)

// TestScriptsOnARealRedis runs the Lua scripts on a real redis-server
// (its Lua and number formatting are not miniredis's). .ci/run starts one
// and sets SERPSTAT_TEST_REDIS_ADDR.
func TestScriptsOnARealRedis(t *testing.T) {
	addr := os.Getenv("SERPSTAT_TEST_REDIS_ADDR")
	if addr == "" {
		t.Skip("set SERPSTAT_TEST_REDIS_ADDR=HOST:PORT of a redis-server to run; .ci/run starts one")
	}
	ctx := context.Background()
	token := fmt.Sprintf("real-%d", time.Now().UnixNano())
	a, err := Open(ctx, "redis://"+addr+"/0", token, Options{})
	require.NoError(t, err)
	defer a.Close()
	b, err := Open(ctx, "redis://"+addr+"/0", token, Options{})
	require.NoError(t, err)
	defer b.Close()

	// Real sleeps, recorded: the server's clock moves by itself.
	var got sleeps
	sleep := func(ctx context.Context, d time.Duration) error {
		_ = got.sleep(ctx, d)
		time.Sleep(d)
		return nil
	}
	la, lb := a.Limiter(4), b.Limiter(4)
	la.Sleep, lb.Sleep = sleep, sleep
	require.NoError(t, la.Wait(ctx))
	require.NoError(t, lb.Wait(ctx))
	require.NoError(t, la.Wait(ctx))
	// Booked back to back: an interval of 3.88 a second (4 less the
	// headroom) apart, less the time the calls took.
	require.GreaterOrEqual(t, len(got), 2)
	require.LessOrEqual(t, got[0], time.Second*100/388+time.Millisecond)
	la.RateLimited()
	require.InDelta(t, 3.88*0.98, la.Limit(), 1e-3)
	require.NoError(t, lb.Wait(ctx))
	require.InDelta(t, 3.88*0.98, lb.Limit(), 1e-3)
	n, err := lb.SlowDowns(ctx)
	require.NoError(t, err)
	require.Equal(t, 1, n)

	aa, ab := a.Account(1500, time.Hour), b.Account(1500, time.Hour)
	r1, err := aa.Reserve(ctx, 1000)
	require.NoError(t, err)
	_, err = ab.Reserve(ctx, 1000)
	require.ErrorIs(t, err, pager.ErrAccountBudget)
	require.NoError(t, a.refreshOnce(ctx))
	r1.Settle(ctx, 200)
	r2, err := ab.Reserve(ctx, 1000)
	require.NoError(t, err)
	r2.Settle(ctx, 1000)
	spent, err := aa.Spent(ctx)
	require.NoError(t, err)
	require.Equal(t, int64(1200), spent)

	// A killed run's holds: charged at once by its resume (Start with the
	// same run), a late settle corrects the charge; the epoch lost stops
	// the budget.
	ra := a.Account(100000, time.Hour)
	_, err = ra.Start(ctx, "run x")
	require.NoError(t, err)
	_, err = ra.Reserve(ctx, 1000)
	require.NoError(t, err)
	late, err := ra.Reserve(ctx, 1000)
	require.NoError(t, err)
	rb := b.Account(100000, time.Hour)
	charged, err := rb.Start(ctx, "run x")
	require.NoError(t, err)
	require.Equal(t, int64(2000), charged)
	spent, err = rb.Spent(ctx)
	require.NoError(t, err)
	require.Equal(t, int64(3200), spent)
	late.Settle(ctx, 300)
	rb.Carry(1000) // the journal says less than the account counted: no charge
	r3, err := rb.Reserve(ctx, 10)
	require.NoError(t, err)
	r3.Settle(ctx, 10)
	spent, err = rb.Spent(ctx)
	require.NoError(t, err)
	require.Equal(t, int64(2510), spent)

	// A hold nobody settles is charged in full when it expires (its
	// expiry moved to the past, rather than waited for).
	dead, err := rb.Reserve(ctx, 700)
	require.NoError(t, err)
	d := dead.(*Reservation)
	b.mu.Lock()
	delete(b.held[d.k.zset], d.member)
	b.mu.Unlock()
	require.NoError(t, b.rdb.ZAdd(ctx, d.k.zset, redis.Z{Score: 0, Member: d.member}).Err())
	r4, err := rb.Reserve(ctx, 1)
	require.NoError(t, err)
	spent, err = rb.Spent(ctx)
	require.NoError(t, err)
	require.Equal(t, int64(3210), spent)
	r4.Settle(ctx, 1)

	require.NoError(t, a.rdb.Del(ctx, a.ns+"budget:epoch").Err())
	_, err = aa.Reserve(ctx, 1)
	var lost *BudgetLostError
	require.ErrorAs(t, err, &lost)
	require.ErrorIs(t, err, ErrUnavailable)

	require.NoError(t, a.Lock(ctx, "x"))
	require.ErrorIs(t, b.Lock(ctx, "x"), ErrLocked)
	require.NoError(t, a.refreshOnce(ctx))
}

// BenchmarkAccountReserveSettle is one request's round trips to the
// account budget on a real redis-server, with 100 holds of other
// processes in flight: a reservation, then its settle.
func BenchmarkAccountReserveSettle(b *testing.B) {
	addr := os.Getenv("SERPSTAT_TEST_REDIS_ADDR")
	if addr == "" {
		b.Skip("set SERPSTAT_TEST_REDIS_ADDR=HOST:PORT of a redis-server to run")
	}
	ctx := context.Background()
	token := fmt.Sprintf("bench-%d", time.Now().UnixNano())
	c, err := Open(ctx, "redis://"+addr+"/0", token, Options{})
	require.NoError(b, err)
	defer c.Close()
	a := c.Account(1<<50, time.Hour)
	for range 100 {
		_, err := a.Reserve(ctx, 1000)
		require.NoError(b, err)
	}
	b.ResetTimer()
	for range b.N {
		r, err := a.Reserve(ctx, 1000)
		if err != nil {
			b.Fatal(err)
		}
		r.Settle(ctx, 1000)
	}
}

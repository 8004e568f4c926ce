package coord

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

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

	require.NoError(t, a.Lock(ctx, "x"))
	require.ErrorIs(t, b.Lock(ctx, "x"), ErrLocked)
	require.NoError(t, a.refreshOnce(ctx))
}

package coord

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/serpstat-export/serpstat-export/pager"
)

// accounts returns an account of limit credits per hour on m's clock for
// each coordinator.
func accounts(m *fakeRedis, limit int64, cs ...*Coordinator) []*Account {
	var out []*Account
	for _, c := range cs {
		a := c.Account(limit, time.Hour)
		a.Now = m.Now
		out = append(out, a)
	}
	return out
}

func spentOf(t *testing.T, a *Account) int64 {
	t.Helper()
	n, err := a.Spent(context.Background())
	require.NoError(t, err)
	return n
}

func TestAccountLateSettleCorrectsTheChargeOfItsExpiry(t *testing.T) {
	for _, tc := range []struct {
		name           string
		reserved, paid int64
		want           int64
	}{
		{"billed less than reserved", 1000, 300, 300},
		{"billed all", 1000, 1000, 1000},
		{"billed more (the data grew)", 1000, 1200, 1200},
		{"billed nothing", 1000, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := newRedis(t)
			a, b := open(t, m, "tok"), open(t, m, "tok")
			acc := accounts(m, 5000, a, b)
			r, err := acc[0].Reserve(ctx, tc.reserved)
			require.NoError(t, err)
			// a's settle cannot reach Redis in time (SIGSTOP): nothing
			// refreshes the hold, b's next reservation charges it in full.
			a.mu.Lock()
			a.held = map[string]map[string]bool{}
			a.mu.Unlock()
			m.SetTime(m.Now().Add(DefaultTTL + time.Second))
			r2, err := acc[1].Reserve(ctx, 1)
			require.NoError(t, err)
			require.Equal(t, tc.reserved, spentOf(t, acc[1]))
			// Then the settle lands: the charge is corrected, not added to.
			r.Settle(ctx, tc.paid)
			require.Equal(t, tc.want, spentOf(t, acc[1]))
			r.Settle(ctx, tc.paid)
			r2.Settle(ctx, 1)
			require.Equal(t, tc.want+1, spentOf(t, acc[1]))
		})
	}
}

func TestAccountRedisThatLostTheBudgetStopsEveryProcess(t *testing.T) {
	for _, tc := range []struct {
		name string
		lose func(m *fakeRedis)
		left int64 // the count a process started after the loss finds
	}{
		{"restarted empty", func(m *fakeRedis) { m.FlushAll() }, 0},
		{"epoch deleted", func(m *fakeRedis) {
			for _, k := range m.Keys() {
				if len(k) > 6 && k[len(k)-6:] == ":epoch" {
					m.Del(k)
				}
			}
		}, 1000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := newRedis(t)
			a, b := open(t, m, "tok"), open(t, m, "tok")
			acc := accounts(m, 3000, a, b)
			_, err := acc[0].Start(ctx, "")
			require.NoError(t, err)
			r, err := acc[0].Reserve(ctx, 1000)
			require.NoError(t, err)
			r.Settle(ctx, 1000)
			_, err = acc[1].Reserve(ctx, 1000)
			require.NoError(t, err)

			tc.lose(m)
			for _, x := range acc {
				_, err = x.Reserve(ctx, 1)
				var lost *BudgetLostError
				require.ErrorAs(t, err, &lost)
				require.ErrorIs(t, err, ErrUnavailable)
				require.NotErrorIs(t, err, pager.ErrBudgetExhausted)
				require.ErrorContains(t, err, "lost the account budget")
				require.ErrorContains(t, err, "restarted without persistence")
			}
			// A settle does not write against the new count either.
			r3, err := accounts(m, 3000, open(t, m, "tok"))[0].Reserve(ctx, 10)
			require.NoError(t, err, "a process started after the loss starts a new count")
			r3.Settle(ctx, 10)
			r.Settle(ctx, 1000)
			require.Equal(t, tc.left+10, spentOf(t, acc[0]))
		})
	}
}

func TestAccountResumeChargesTheEarlierAttemptsHoldsAtOnce(t *testing.T) {
	m := newRedis(t)
	killed, other := open(t, m, "tok"), open(t, m, "tok")
	acc := accounts(m, 10000, killed, other)
	_, err := acc[0].Start(ctx, "export example.com to out.csv")
	require.NoError(t, err)
	r, err := acc[0].Reserve(ctx, 1000)
	require.NoError(t, err)
	r.Settle(ctx, 1000)
	for range 3 {
		_, err = acc[0].Reserve(ctx, 1000) // in flight when killed
		require.NoError(t, err)
	}
	r, err = acc[1].Reserve(ctx, 500) // another run's: not touched
	require.NoError(t, err)

	resumed := accounts(m, 10000, open(t, m, "tok"))[0]
	charged, err := resumed.Start(ctx, "export example.com to out.csv")
	require.NoError(t, err)
	require.Equal(t, int64(3000), charged)
	require.Equal(t, int64(4000), spentOf(t, resumed))
	// Its journal says 4,000 were committed: the account counted them
	// all, nothing is charged twice.
	resumed.Carry(4000)
	r2, err := resumed.Reserve(ctx, 1000)
	require.NoError(t, err)
	r2.Settle(ctx, 1000)
	r.Settle(ctx, 500)
	require.Equal(t, int64(5500), spentOf(t, resumed))
	// The killed attempt's refresh finds no hold to keep.
	require.NoError(t, killed.refreshOnce(ctx))
	m.SetTime(m.Now().Add(DefaultTTL + time.Second))
	_, err = resumed.Reserve(ctx, 4500)
	require.NoError(t, err)
	require.Equal(t, int64(5500), spentOf(t, resumed))
}

func TestAccountResumeChargesWhatItsJournalSaysTheAccountMissed(t *testing.T) {
	const run = "export example.com to out.csv"
	for _, tc := range []struct {
		name    string
		counted int64 // what the account charged for the run's earlier attempts
		carried []int64
		want    int64 // charged by the resume
	}{
		{"the account counted it all", 3000, []int64{3000}, 0},
		{"earlier attempts without a coordinator", 0, []int64{2000, 500}, 2500},
		{"half counted", 1000, []int64{2000, 500}, 1500},
		{"counted more (finished queries)", 3000, []int64{500}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := newRedis(t)
			if tc.counted > 0 {
				first := accounts(m, 100000, open(t, m, "tok"))[0]
				_, err := first.Start(ctx, run)
				require.NoError(t, err)
				r, err := first.Reserve(ctx, tc.counted)
				require.NoError(t, err)
				r.Settle(ctx, tc.counted)
			}
			for attempt := range 2 {
				a := accounts(m, 100000, open(t, m, "tok"))[0]
				_, err := a.Start(ctx, run)
				require.NoError(t, err)
				before := spentOf(t, a)
				for _, n := range tc.carried {
					a.Carry(n)
				}
				r, err := a.Reserve(ctx, 100)
				require.NoError(t, err)
				r.Settle(ctx, 0)
				if attempt == 0 {
					require.Equal(t, tc.want, spentOf(t, a)-before)
				} else {
					// A second resume with the same journal charges
					// nothing more.
					require.Equal(t, before, spentOf(t, a))
				}
			}
		})
	}
}

func TestAccountCarryDoesNotCountWithoutARun(t *testing.T) {
	m := newRedis(t)
	a := accounts(m, 1000, open(t, m, "tok"))[0]
	a.Carry(900)
	r, err := a.Reserve(ctx, 1000)
	require.NoError(t, err)
	r.Settle(ctx, 1000)
	require.Equal(t, int64(1000), spentOf(t, a))
}

func TestAccountResumeInTheNextWindowChargesTheHoldsWhereTheyWere(t *testing.T) {
	const run = "export example.com to out.csv"
	m := newRedis(t)
	m.SetTime(time.Date(2026, 12, 1, 12, 59, 50, 0, time.UTC))
	killed := accounts(m, 10000, open(t, m, "tok"))[0]
	_, err := killed.Start(ctx, run)
	require.NoError(t, err)
	r, err := killed.Reserve(ctx, 1000)
	require.NoError(t, err)
	r.Settle(ctx, 1000)
	_, err = killed.Reserve(ctx, 1000) // in flight when killed
	require.NoError(t, err)

	m.SetTime(m.Now().Add(20 * time.Second)) // the next hour's window
	resumed := accounts(m, 10000, open(t, m, "tok"))[0]
	charged, err := resumed.Start(ctx, run)
	require.NoError(t, err)
	require.Equal(t, int64(1000), charged)
	// Its journal says 2,000 committed: all counted, in the first window.
	resumed.Carry(2000)
	r, err = resumed.Reserve(ctx, 10)
	require.NoError(t, err)
	r.Settle(ctx, 10)
	require.Equal(t, int64(10), spentOf(t, resumed))
	m.SetTime(m.Now().Add(-20 * time.Second))
	require.Equal(t, int64(2000), spentOf(t, killed))
}

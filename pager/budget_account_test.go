package pager_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/serpstat-export/serpstat-export/pager"
)

// carryingAccount is an account told what earlier attempts spent.
type carryingAccount struct {
	account
	carried []int64
}

func (a *carryingAccount) Carry(n int64) { a.carried = append(a.carried, n) }

func TestCarryTellsTheSharedAccountWhatEarlierAttemptsSpent(t *testing.T) {
	acct := &carryingAccount{account: account{limit: 1000}}
	b := pager.NewBudget(500)
	b.ShareAccount(acct)
	g := b.Guard(0, func(context.Context, int64) error { return nil })
	g.Carry(300)
	g.Carry(0) // nothing spent: not told
	b.Guard(0, nil).Carry(50)
	require.Equal(t, []int64{300, 50}, acct.carried)
	require.Equal(t, int64(350), b.Spent(), "the run's budget counts them too")
	// An account that is not an AccountCarrier is not told.
	plain := pager.NewBudget(0)
	plain.ShareAccount(&account{limit: 1000})
	plain.Guard(0, nil).Carry(10)
	require.Equal(t, int64(10), plain.Spent())
}

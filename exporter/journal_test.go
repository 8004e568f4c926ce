package exporter_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/serpstat-export/serpstat-export/dest"
	"github.com/serpstat-export/serpstat-export/exporter"
	"github.com/serpstat-export/serpstat-export/pager"
	"github.com/serpstat-export/serpstat-export/serpstat"
)

// spoolWithPages makes a spool in dir holding two pages billed 1000 and
// 300 credits and a record of spent credits.
func spoolWithPages(t *testing.T, dir string, spent int64) {
	t.Helper()
	ctx := context.Background()
	sp, st := openSpool(t, dir, key{"j.example", 1000})
	require.NoError(t, sp.Save(ctx, "", &pager.Page{N: 1, Step: pager.Step{Page: 1, Size: 1000}, Rows: fakeRows("j.example", 3), Billed: 1000, Summary: serpstat.SummaryInfo{Total: 1300}}))
	require.NoError(t, sp.Save(ctx, "", &pager.Page{N: 2, Step: pager.Step{Page: 2, Size: 1000}, Rows: fakeRows("j.example", 3), Billed: 300, Summary: serpstat.SummaryInfo{Total: 1300}}))
	require.NoError(t, sp.SaveSpent(ctx, spent, 2))
	require.NoError(t, st.Close())
}

// TestDamagedJournalIsRefusedAndRepairedWithoutForgettingTheSpend: a
// credits.json that does not decode, or was deleted while pages are kept,
// is an error naming it; RepairSpool rebuilds it no lower than the pages
// prove (or than the damaged file still says) and keeps the damaged copy.
func TestDamagedJournalIsRefusedAndRepairedWithoutForgettingTheSpend(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name    string
		credits *string // nil: deleted
		spent   int64   // after the repair
	}{
		{"cut short", ptr(`{"spent":5000,"attem`), 5000},
		{"cut inside the number", ptr(`{"spent":50`), 1300},
		{"not JSON", ptr("\x00\x00garbage"), 1300},
		{"deleted", nil, 1300},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "j.spool")
			spoolWithPages(t, dir, 5000)
			cf := filepath.Join(dir, "credits.json")
			if tc.credits == nil {
				require.NoError(t, os.Remove(cf))
			} else {
				require.NoError(t, os.WriteFile(cf, []byte(*tc.credits), 0o644))
			}
			st, err := dest.OpenDir(dir)
			require.NoError(t, err)
			defer st.Close()
			sp, err := exporter.OpenSpool(ctx, st, key{"j.example", 1000})
			if err == nil {
				err = sp.CheckSpent(ctx)
			}
			var dj *exporter.DamagedJournalError
			require.True(t, errors.As(err, &dj), "%v", err)
			assert.Equal(t, "credits.json", dj.File)
			assert.ErrorIs(t, err, exporter.ErrSpentUnreadable)

			rep, err := exporter.RepairSpool(ctx, st, key{"j.example", 1000})
			require.NoError(t, err)
			require.NotNil(t, rep)
			assert.Equal(t, []string{"credits.json"}, rep.Files)
			assert.EqualValues(t, 1300, rep.Proven)
			assert.Equal(t, tc.spent, rep.Spent)
			if tc.credits != nil {
				kept, err := os.ReadFile(cf + ".damaged")
				require.NoError(t, err)
				assert.Equal(t, *tc.credits, string(kept))
			}
			sp, err = exporter.OpenSpool(ctx, st, key{"j.example", 1000})
			require.NoError(t, err)
			require.NoError(t, sp.CheckSpent(ctx))
			spent, _, err := sp.LoadSpent(ctx)
			require.NoError(t, err)
			assert.Equal(t, tc.spent, spent)
			assert.Len(t, sp.Stored(""), 2, "the pages are kept")

			again, err := exporter.RepairSpool(ctx, st, key{"j.example", 1000})
			require.NoError(t, err)
			assert.Nil(t, again, "a whole journal is left alone")
		})
	}
}

func TestDamagedStateIsRefusedAndRepaired(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "j.spool")
	spoolWithPages(t, dir, 1300)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "state.json"), []byte(`{"version":3,"ke`), 0o644))
	st, err := dest.OpenDir(dir)
	require.NoError(t, err)
	defer st.Close()
	_, err = exporter.OpenSpool(ctx, st, key{"j.example", 1000})
	var dj *exporter.DamagedJournalError
	require.True(t, errors.As(err, &dj), "%v", err)
	assert.Equal(t, "state.json", dj.File)
	assert.NotErrorIs(t, err, exporter.ErrSpoolMismatch, "not another export's: damaged")

	rep, err := exporter.RepairSpool(ctx, st, key{"j.example", 1000})
	require.NoError(t, err)
	assert.Equal(t, []string{"state.json"}, rep.Files)
	sp, err := exporter.OpenSpool(ctx, st, key{"j.example", 1000})
	require.NoError(t, err)
	spent, _, err := sp.LoadSpent(ctx)
	require.NoError(t, err)
	assert.EqualValues(t, 1300, spent, "the record of spend is kept")
	pg, err := sp.Load(ctx, "", pager.Step{Page: 1, Size: 1000})
	require.NoError(t, err)
	assert.NotNil(t, pg, "this export's pages are trusted again")
}

func ptr(s string) *string { return &s }

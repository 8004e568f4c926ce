package exporter_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/serpstat-export/serpstat-export/exporter"
	"github.com/serpstat-export/serpstat-export/serpstat/serpstattest"
)

// TestTotalNullPagesOnUntilAShortPage: the API answers "total": null;
// every row is exported, and billed no more than the rows plus, when the
// rows fill their last page, one empty page.
func TestTotalNullPagesOnUntilAShortPage(t *testing.T) {
	for _, tt := range []struct {
		rows       int
		maxCredits int64
	}{
		{2345, 2345},
		{3000, 3001},
		{700, 700},
	} {
		srv := serpstattest.NewServer(serpstattest.Options{Rows: tt.rows, TotalNull: true})
		c := &collect{}
		rep, err := (&exporter.Exporter{Pager: newPager(srv, "null-total.example", 1000), Sinks: []exporter.Sink{c}, Workers: 4}).Run(context.Background())
		require.NoError(t, err)
		assert.Equal(t, fakeRows("null-total.example", tt.rows), c.rows)
		assert.True(t, rep.TotalUnknown)
		assert.True(t, rep.Complete)
		assert.Equal(t, tt.rows, rep.Plan.Total, "the total found")
		assert.LessOrEqual(t, srv.Stats().CreditsBilled, tt.maxCredits)
		assert.Equal(t, srv.Stats().CreditsBilled, rep.Credits)
		srv.Close()
	}
}

func TestTotalNullBudgetAndResume(t *testing.T) {
	srv := serpstattest.NewServer(serpstattest.Options{Rows: 2345, TotalNull: true})
	defer srv.Close()
	dir := filepath.Join(t.TempDir(), "n.spool")
	run := func(limit int64) (*exporter.Report, *collect, error) {
		sp, st := openSpool(t, dir, key{"null-resume.example", 1000})
		defer st.Close()
		c := &collect{}
		rep, err := (&exporter.Exporter{Pager: newPager(srv, "null-resume.example", 1000), Budget: budget(limit), Sinks: []exporter.Sink{c}, Checkpoint: sp}).Run(context.Background())
		return rep, c, err
	}
	// A full page is reserved for every page: 2,500 credits pay for two.
	_, _, err := run(2500)
	require.Error(t, err)
	assert.EqualValues(t, 2000, srv.Stats().CreditsBilled)
	rep, c, err := run(0)
	require.NoError(t, err)
	assert.Equal(t, fakeRows("null-resume.example", 2345), c.rows)
	assert.Equal(t, 2, rep.Resumed)
	assert.EqualValues(t, 2345, srv.Stats().CreditsBilled, "nothing paid twice")
}

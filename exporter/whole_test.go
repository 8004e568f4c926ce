package exporter_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/serpstat-export/serpstat-export/exporter"
	"github.com/serpstat-export/serpstat-export/pager"
	"github.com/serpstat-export/serpstat-export/serpstat"
	"github.com/serpstat-export/serpstat-export/serpstat/backlinks"
	"github.com/serpstat-export/serpstat-export/serpstat/serpstattest"
)

// wholePager is the pager of query of m, a method that is not paged.
func wholePager(srv *serpstattest.Server, m *serpstat.Method, query string) *pager.Pager {
	p := serpstat.Params{Query: query}
	if m.SearchTypes != nil {
		p.SearchType = serpstat.SearchDomainWithSubdomains
	}
	if m.Intersect > 0 {
		p.Intersect = []string{"b.example", "c.example"}
	}
	return pager.New(pager.Config{Fetcher: &serpstat.Client{Endpoint: srv.URL, Token: serpstattest.DefaultToken}, Method: m, Params: p, Sleep: noSleep})
}

// TestExportNotPagedMethods: each method that is not paged is exported
// as its one answer: every row the fake has for the query, in order,
// billed its price, whatever summary_info says beside the rows (null,
// a total of 0 or null, extra counts).
func TestExportNotPagedMethods(t *testing.T) {
	for _, m := range backlinks.NotPaged {
		for _, opts := range []serpstattest.Options{{}, {NumbersAsStrings: true, TotalNull: true, UnknownKeyEvery: 2}} {
			t.Run(m.Name, func(t *testing.T) {
				srv := serpstattest.NewServer(opts)
				defer srv.Close()
				p := wholePager(srv, m, "whole.example")
				c := &collect{}
				rep, err := (&exporter.Exporter{Pager: p, Sinks: []exporter.Sink{c}}).Run(context.Background())
				require.NoError(t, err)
				want := srv.Expected(m, "whole.example", p.Params())
				require.NotEmpty(t, want)
				assert.Equal(t, want, c.rows)
				price := m.Price(p.Params())
				assert.Equal(t, price, srv.Stats().CreditsBilled)
				assert.Equal(t, price, rep.Credits)
				assert.Equal(t, price, rep.CreditsEstimated)
				assert.Equal(t, 1, srv.Stats().Requests)
				assert.True(t, rep.Complete)
				assert.True(t, rep.NotPaged)
				assert.Equal(t, exporter.StopDone, rep.StopReason)
				assert.Equal(t, 1, rep.Pages)
				assert.EqualValues(t, len(want), rep.Rows)
				assert.Equal(t, len(want), rep.Plan.Total)
				assert.Zero(t, rep.CreditsLeft)
				assert.Equal(t, int64(0), rep.Duplicates)
			})
		}
	}
}

// TestExportNotPagedBudgetAndResume: a budget below the price sends
// nothing and stops as a budget stop; an answer bought and kept in the
// checkpoint is not bought again by the next run, even when the first
// could not write it; an answer without data is billed 1 and writes
// nothing.
func TestExportNotPagedBudgetAndResume(t *testing.T) {
	ctx := context.Background()
	srv := serpstattest.NewServer(serpstattest.Options{})
	defer srv.Close()
	p := wholePager(srv, backlinks.SummaryV2, "resume.example")

	rep, err := (&exporter.Exporter{Pager: p, Budget: pager.NewBudget(4), Sinks: []exporter.Sink{&collect{}}}).Run(ctx)
	require.ErrorIs(t, err, pager.ErrBudgetExhausted)
	assert.Zero(t, srv.Stats().Requests, "nothing sent")
	assert.Equal(t, exporter.StopBudget, rep.StopReason)
	assert.EqualValues(t, 5, rep.CreditsEstimated)
	assert.EqualValues(t, 5, rep.CreditsLeft)

	dir := filepath.Join(t.TempDir(), "w.spool")
	sp, st := openSpool(t, dir, key{"resume.example", 0})
	rep, err = (&exporter.Exporter{Pager: p, Sinks: []exporter.Sink{&failAfter{}}, Checkpoint: sp}).Run(ctx)
	require.Error(t, err)
	assert.EqualValues(t, 5, rep.Credits)
	require.NoError(t, st.Close())

	sp, _ = openSpool(t, dir, key{"resume.example", 0})
	c := &collect{}
	rep, err = (&exporter.Exporter{Pager: p, Budget: pager.NewBudget(5), Sinks: []exporter.Sink{c}, Checkpoint: sp}).Run(ctx)
	require.NoError(t, err)
	assert.Zero(t, rep.Credits, "the answer came from the checkpoint")
	assert.EqualValues(t, 5, rep.CreditsInAll)
	assert.Equal(t, 1, rep.Resumed)
	assert.Equal(t, srv.Expected(backlinks.SummaryV2, "resume.example", p.Params()), c.rows)
	assert.EqualValues(t, 5, srv.Stats().CreditsBilled, "bought once")

	empty := serpstattest.NewServer(serpstattest.Options{Rows: -1})
	defer empty.Close()
	c = &collect{}
	rep, err = (&exporter.Exporter{Pager: wholePager(empty, backlinks.DistributionTLD, "none.example"), Sinks: []exporter.Sink{c}}).Run(ctx)
	require.NoError(t, err)
	assert.Empty(t, c.rows)
	assert.EqualValues(t, 1, rep.Credits)
	assert.EqualValues(t, 1, empty.Stats().CreditsBilled)
}

// TestExportNotPagedUnexpectedAnswerIsKept: an answer of a shape this
// version cannot read was billed; it is kept in the checkpoint and the
// next run reads it again from there, without paying.
func TestExportNotPagedUnexpectedAnswerIsKept(t *testing.T) {
	ctx := context.Background()
	srv := serpstattest.NewServer(serpstattest.Options{Fault: func(serpstattest.FaultInfo) serpstattest.Fault {
		return serpstattest.Fault{Kind: serpstattest.FaultUnexpected}
	}})
	defer srv.Close()
	p := wholePager(srv, backlinks.DistributionSDR, "odd.example")
	dir := filepath.Join(t.TempDir(), "u.spool")
	sp, st := openSpool(t, dir, key{"odd.example", 0})
	rep, err := (&exporter.Exporter{Pager: p, Sinks: []exporter.Sink{&collect{}}, Checkpoint: sp}).Run(ctx)
	var up *pager.UnexpectedPage
	require.ErrorAs(t, err, &up)
	assert.EqualValues(t, 1, rep.Credits)
	require.NoError(t, st.Close())

	sp, _ = openSpool(t, dir, key{"odd.example", 0})
	_, err = (&exporter.Exporter{Pager: p, Sinks: []exporter.Sink{&collect{}}, Checkpoint: sp}).Run(ctx)
	require.Error(t, err)
	assert.Equal(t, 1, srv.Stats().Requests, "read again from the spool, not asked again")
}

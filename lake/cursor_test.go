package lake

import (
	"context"
	"path/filepath"
	"regexp"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/serpstat-export/serpstat-export/dest"
	"github.com/serpstat-export/serpstat-export/pager"
	"github.com/serpstat-export/serpstat-export/serpstat"
	"github.com/serpstat-export/serpstat-export/serpstat/backlinks"
	"github.com/serpstat-export/serpstat-export/serpstat/serpstattest"
)

// TestSinceWritesTheCursorInItsFieldsFormat: the incremental condition
// of every method with a cursor is gte the newest day in the format its
// cursor's filter field documents.
func TestSinceWritesTheCursorInItsFieldsFormat(t *testing.T) {
	q := &QueryState{Newest: "2025-04-01"}
	want := map[string]string{
		"new-backlinks": "01.04.2025", "threats": "2025-04-01", "threats-links": "2025-04-01",
		"out-threats": "2025-04-01", "out-threats-links": "2025-04-01",
	}
	got := map[string]string{}
	for _, m := range backlinks.Methods {
		if m.Cursor == nil {
			continue
		}
		c, err := q.Since(m)
		require.NoError(t, err)
		assert.Equal(t, m.Cursor.Filter, c.Field)
		assert.Equal(t, "gte", c.CompareType)
		require.Len(t, c.Value, 1)
		got[m.Name] = c.Value[0].(string)
	}
	assert.Equal(t, want, got)
	_, err := (&QueryState{Newest: "1.4.2025"}).Since(backlinks.Threats)
	require.NoError(t, err, "a state's date is read in any input format")
	_, err = (&QueryState{Newest: "2025-02-30"}).Since(backlinks.Threats)
	require.Error(t, err)
}

// TestIncrementalThreatsSendItsCursorAsYYYYMMDD: the second run of an
// incremental getThreats load asks lastupdate gte the newest day written
// YYYY-MM-DD, which a fake that refuses any other format reads: no
// request refused, and only the new rows and the boundary day are paid.
func TestIncrementalThreatsSendItsCursorAsYYYYMMDD(t *testing.T) {
	m := backlinks.Threats
	query := serpstattest.GrowingPrefix + "threats.example"
	var rows atomic.Int64
	rows.Store(1500)
	srv := serpstattest.NewServer(serpstattest.Options{RowsFor: func(string) int { return int(rows.Load()) }})
	defer srv.Close()
	dir := t.TempDir()
	stateFile := filepath.Join(dir, "incremental.json")
	run := func(id string) *Result {
		r := newRun(t, srv, Settings{RunID: id, Queries: []string{query}, Out: []string{filepath.Join(dir, "{run}", "{query}.ndjson")}, Incremental: stateFile}, 0)
		r.Descriptor = m
		r.Pager = pager.New(pager.Config{
			Method:  m,
			Fetcher: &serpstat.Client{Endpoint: srv.URL, Token: serpstattest.DefaultToken},
			Params:  serpstat.Params{Query: "example.com", SearchType: serpstat.SearchDomain, Size: 1000},
			Sleep:   func(context.Context, time.Duration) error { return nil },
		})
		res, err := r.Export(context.Background())
		require.NoError(t, err)
		return res
	}
	first := run("r1")
	require.EqualValues(t, 1500, first.queries[0].written())
	st, err := LoadState(context.Background(), stateFile, dest.S3Options{}, m)
	require.NoError(t, err)
	newest := st.Queries[query].Newest
	require.Regexp(t, `^\d{4}-\d{2}-\d{2}$`, newest)

	rows.Store(1500 + 250)
	before := len(srv.Log())
	second := run("r2")
	assert.EqualValues(t, 250, second.queries[0].written(), "the new rows")
	iso := regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)
	asked := false
	for _, e := range srv.Log()[before:] {
		for _, g := range e.Params.ComplexFilter {
			for _, c := range g {
				if c.Field != "lastupdate" {
					continue
				}
				assert.Regexp(t, iso, c.Value[0], "every lastupdate value YYYY-MM-DD")
				asked = asked || c.CompareType == "gte" && c.Value[0] == newest
			}
		}
	}
	assert.True(t, asked, "the second run asks lastupdate gte %s", newest)
	assert.Zero(t, srv.Stats().ByOutcome[serpstattest.OutcomeInvalid], "no request refused")
}

package exporter_test

import (
	"bytes"
	"context"
	"errors"
	"os"
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

// TestUnexpectedAnswerIsKeptNotRetried: a well-formed answer of a shape
// the decoder cannot read is billed once, never retried, stops the run
// with an error naming the method, field and value, and is kept in the
// spool; the next run reads it from there before asking the API.
func TestUnexpectedAnswerIsKeptNotRetried(t *testing.T) {
	const query, rows = "shape.example", 2500
	srv := serpstattest.NewServer(serpstattest.Options{Rows: rows, Fault: func(fi serpstattest.FaultInfo) serpstattest.Fault {
		if fi.Params.Page == 2 {
			return serpstattest.Fault{Kind: serpstattest.FaultUnexpected}
		}
		return serpstattest.Fault{}
	}})
	defer srv.Close()
	dir := filepath.Join(t.TempDir(), "u.spool")
	run := func() (*exporter.Report, *collect, error) {
		sp, st := openSpool(t, dir, key{query, 1000})
		defer st.Close()
		c := &collect{}
		rep, err := (&exporter.Exporter{Pager: newPager(srv, query, 1000), Sinks: []exporter.Sink{c}, Checkpoint: sp, Workers: 1}).Run(context.Background())
		return rep, c, err
	}
	_, _, err := run()
	require.Error(t, err)
	assert.Equal(t, serpstat.ClassUnexpected, serpstat.Classify(err))
	var up *pager.UnexpectedPage
	require.True(t, errors.As(err, &up))
	for _, want := range []string{backlinks.NewBacklinks.API, "links_ext", `"abc"`, "page 2"} {
		assert.Contains(t, err.Error(), want)
	}
	st := srv.Stats()
	assert.Equal(t, 1, st.ByOutcome[serpstattest.OutcomeFaultShape], "never retried")
	// Pages 1 and 2; page 3 only if it was sent before the writer saw
	// page 2's error (nothing is bought after that).
	assert.GreaterOrEqual(t, st.CreditsBilled, int64(2000))
	assert.LessOrEqual(t, st.CreditsBilled, int64(rows), "each page billed once")

	raws, _ := filepath.Glob(filepath.Join(dir, "rawpage-*.json"))
	require.Len(t, raws, 1, "the answer is kept")

	// The same version reads it again from the spool, fails the same way,
	// and pays nothing.
	_, _, err = run()
	require.Error(t, err)
	assert.Equal(t, serpstat.ClassUnexpected, serpstat.Classify(err))
	assert.Equal(t, 1, srv.Stats().ByOutcome[serpstattest.OutcomeFaultShape], "not asked again")
	assert.LessOrEqual(t, srv.Stats().CreditsBilled, int64(rows))

	// A version that reads it (here: the answer mended in place) turns it
	// into the page without paying again.
	data, err := os.ReadFile(raws[0])
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(raws[0], bytes.Replace(data, []byte(`"links_ext":"abc"`), []byte(`"links_ext":0`), 1), 0o644))
	rep, c, err := run()
	require.NoError(t, err)
	assert.True(t, rep.Complete)
	assert.Len(t, c.rows, rows)
	assert.EqualValues(t, rows, srv.Stats().CreditsBilled, "nothing paid twice")
	assert.Equal(t, 1, srv.Stats().ByOutcome[serpstattest.OutcomeFaultShape])
}

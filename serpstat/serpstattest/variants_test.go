package serpstattest_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/serpstat-export/serpstat-export/serpstat"
	"github.com/serpstat-export/serpstat-export/serpstat/backlinks"
	"github.com/serpstat-export/serpstat-export/serpstat/serpstattest"
)

// rawCall returns the raw body of a getNewBacklinks answer.
func rawCall(t *testing.T, s *serpstattest.Server, params any) []byte {
	t.Helper()
	body, err := json.Marshal(serpstat.Request{ID: "1", Method: backlinks.NewBacklinks.API, Params: params})
	require.NoError(t, err)
	status, b := post(t, s.URL, serpstattest.DefaultToken, string(body))
	require.Equal(t, http.StatusOK, status, string(b))
	return b
}

func TestAnswerVariants(t *testing.T) {
	const query = "variants.example"
	t.Run("numbers as strings", func(t *testing.T) {
		s := newServer(t, serpstattest.Options{Rows: 30, NumbersAsStrings: true})
		raw := rawCall(t, s, page(query, 1, 10))
		assert.Contains(t, string(raw), `"total":"30"`)
		assert.Contains(t, string(raw), `"links_ext":"`)
		assert.Contains(t, string(raw), `"domain_rank":"`)
		p, err := backlinks.NewBacklinks.DecodeAnswer(raw)
		require.NoError(t, err)
		assert.Equal(t, s.Expected(backlinks.NewBacklinks, query, page(query, 1, 10))[:10], p.Data)
		assert.EqualValues(t, 30, p.Summary.Total)
	})
	t.Run("total null", func(t *testing.T) {
		s := newServer(t, serpstattest.Options{Rows: 30, TotalNull: true})
		raw := rawCall(t, s, page(query, 1, 10))
		assert.Contains(t, string(raw), `"total":null`)
		p, err := backlinks.NewBacklinks.DecodeAnswer(raw)
		require.NoError(t, err)
		assert.EqualValues(t, serpstat.TotalUnknown, p.Summary.Total)
	})
	t.Run("empty result 404", func(t *testing.T) {
		s := newServer(t, serpstattest.Options{Rows: -1, EmptyResult404: true})
		a := call(t, s, page(query, 1, 10))
		require.NotNil(t, a.Error)
		assert.Equal(t, 404, a.Error.Code)
		assert.Equal(t, "Empty result!", a.Error.Message)
		assert.Equal(t, serpstat.ClassNoData, a.Error.Class())
		assert.EqualValues(t, 1, s.Stats().CreditsBilled)
	})
	t.Run("nulls", func(t *testing.T) {
		s := newServer(t, serpstattest.Options{Rows: 30, NullEvery: 3})
		p, err := backlinks.NewBacklinks.DecodeAnswer(rawCall(t, s, page(query, 1, 10)))
		require.NoError(t, err)
		linkText, domainRank := backlinks.NewBacklinks.ColumnIndex("link_text"), backlinks.NewBacklinks.ColumnIndex("domain_rank")
		for i, r := range p.Data {
			null := i%3 == 2
			assert.Equal(t, null, r.Values[linkText].Null, i)
			assert.Equal(t, null, r.Values[domainRank].Null, i)
			assert.False(t, r.Values[0].Null)
		}
	})
	t.Run("same day share", func(t *testing.T) {
		s := newServer(t, serpstattest.Options{Rows: 20000, SameDayShare: 0.35})
		p := page(query, 1, 1)
		p.ComplexFilter = serpstat.Filter{{
			{Field: "add", CompareType: "gte", Value: []any{"15.06.2024"}},
			{Field: "add", CompareType: "lte", Value: []any{"15.06.2024"}},
		}}
		a := call(t, s, p)
		require.Nil(t, a.Error)
		// 7,000 on the day by the share, and a few of the others.
		assert.InDelta(t, 7000+13000/731, int(a.Result.Summary.Total), 20)
	})
	t.Run("unexpected shape", func(t *testing.T) {
		s := newServer(t, serpstattest.Options{Rows: 30, Fault: func(serpstattest.FaultInfo) serpstattest.Fault {
			return serpstattest.Fault{Kind: serpstattest.FaultUnexpected}
		}})
		raw := rawCall(t, s, page(query, 1, 10))
		assert.True(t, strings.Contains(string(raw), `"links_ext":"abc"`), string(raw))
		assert.True(t, json.Valid(raw))
		_, err := backlinks.NewBacklinks.DecodeAnswer(raw)
		assert.Equal(t, serpstat.ClassUnexpected, serpstat.Classify(err))
		assert.EqualValues(t, 10, s.Stats().CreditsBilled)
	})
}

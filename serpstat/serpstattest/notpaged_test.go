package serpstattest_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/serpstat-export/serpstat-export/serpstat"
	"github.com/serpstat-export/serpstat-export/serpstat/backlinks"
	"github.com/serpstat-export/serpstat-export/serpstat/serpstattest"
)

// notPagedParams are the params a client sends m for query.
func notPagedParams(m *serpstat.Method, query string) serpstat.Params {
	p := serpstat.Params{Query: query}
	if m.SearchTypes != nil {
		p.SearchType = serpstat.SearchDomainWithSubdomains
	}
	if m.Intersect > 0 {
		p.Intersect = []string{"b.example", "c.example"}
	}
	return p
}

// TestNotPagedMethodsAnswerWhatExpectedSays: each method that is not
// paged answers, in every documented variant, what Expected says, in
// the spec's shape, billed as its descriptor says, and the data of a
// query are its own.
func TestNotPagedMethodsAnswerWhatExpectedSays(t *testing.T) {
	wantRows := map[string]func(q string) int{
		"summary-v2": func(string) int { return 1 }, "summary": func(string) int { return 1 },
		"top-anchors": func(string) int { return 10 }, "intersect-summary": func(string) int { return 7 },
		"distribution-sdr": func(string) int { return 11 }, "distribution-tld": serpstattest.TLDRows,
		"changes-history": serpstattest.HistoryDays,
	}
	variants := []struct {
		name string
		opts serpstattest.Options
	}{
		{"plain", serpstattest.Options{}},
		{"numbers as strings", serpstattest.Options{NumbersAsStrings: true}},
		{"nulls and unknown keys", serpstattest.Options{NullEvery: 2, UnknownKeyEvery: 3}},
	}
	for _, v := range variants {
		for _, m := range backlinks.NotPaged {
			t.Run(v.name+"/"+m.Name, func(t *testing.T) {
				s := newServer(t, v.opts)
				var billed int64
				for _, q := range []string{"a.example", "bb.example.org", "ccc.example"} {
					p := notPagedParams(m, q)
					raw, page := fetch(t, s, m, p)
					want := s.Expected(m, q, p)
					require.Len(t, want, wantRows[m.Name](q), q)
					require.Equal(t, want, page.Data, "%.600s", raw)
					billed += m.Billed(len(want))
					require.Equal(t, billed, s.Stats().CreditsBilled, "billed as the descriptor says")
					require.Positive(t, int64(page.Summary.LeftLines))
					if m.NotPaged.Object {
						assert.Contains(t, string(raw), `"data":{`, "one object, as the spec")
					} else {
						assert.Contains(t, string(raw), `"data":[`, "a list, as the spec")
					}
					require.Equal(t, 1, s.Stats().PagesBilled[serpstattest.PageKey{Query: q, Method: m.Name, Intersect: strings.Join(p.Intersect, ",")}])
				}
				if m == backlinks.DistributionTLD {
					raw, _ := fetch(t, s, m, notPagedParams(m, "a.example"))
					assert.Contains(t, string(raw), `},"summary_info":{`, "beside result, as the spec's schema")
				}
			})
		}
	}
	s := newServer(t, serpstattest.Options{})
	a := s.Expected(backlinks.SummaryV2, "a.example", notPagedParams(backlinks.SummaryV2, "a.example"))
	b := s.Expected(backlinks.SummaryV2, "b.example", notPagedParams(backlinks.SummaryV2, "b.example"))
	require.NotEqual(t, a, b, "each domain its own counts")
	_, sp := fetch(t, s, backlinks.SummaryV2, notPagedParams(backlinks.SummaryV2, "a.example"))
	assert.False(t, sp.Data[0].Values[0].Null)
	raw := rawMethodCall(t, s, backlinks.SummaryV2.API, json.RawMessage(`{"query":"a.example"}`))
	assert.Contains(t, string(raw), `"sersptat_domain_rank":`, "the spec's own key")
	assert.Less(t, 0, serpstattest.TLDRows("a.example"))
	assert.LessOrEqual(t, serpstattest.TLDRows("a.example"), 25)
}

// TestNotPagedBillingAndRefusals: an answer without data is billed 1 (as
// data [] or {}, or the error an option asks for); an error, a refused
// param included, is not billed; intersect-summary bills a row each.
func TestNotPagedBillingAndRefusals(t *testing.T) {
	tests := []struct {
		name    string
		opts    serpstattest.Options
		m       *serpstat.Method
		params  string
		billed  int64
		errCode int
		rows    int
	}{
		{"summary-v2 5 credits", serpstattest.Options{}, backlinks.SummaryV2, `{"query":"a.com","searchType":"domain"}`, 5, 0, 1},
		{"no data: an empty object, 1 credit", serpstattest.Options{Rows: -1}, backlinks.SummaryV2, `{"query":"a.com"}`, 1, 0, 0},
		{"no data: an empty list, 1 credit", serpstattest.Options{Rows: -1}, backlinks.DistributionTLD, `{"query":"a.com"}`, 1, 0, 0},
		{"no data as the 404 error, 1 credit", serpstattest.Options{Rows: -1, EmptyResult404: true}, backlinks.ChangesHistory, `{"query":"a.com"}`, 1, 404, 0},
		{"a row each", serpstattest.Options{}, backlinks.IntersectSummary, `{"query":"a.com","intersect":["b.com"]}`, 3, 0, 3},
		{"a few rows", serpstattest.Options{RowsFor: func(string) int { return 4 }}, backlinks.TopAnchors, `{"query":"a.com"}`, 1, 0, 4},
		{"lang", serpstattest.Options{}, backlinks.DistributionTLD, `{"query":"a.com","lang":"de"}`, 1, 0, -1},
		{"a bad lang", serpstattest.Options{}, backlinks.DistributionTLD, `{"query":"a.com","lang":"fr"}`, 0, serpstattest.CodeSchema, 0},
		{"size", serpstattest.Options{}, backlinks.DistributionTLD, `{"query":"a.com","size":1000}`, 0, serpstattest.CodeSchema, 0},
		{"page", serpstattest.Options{}, backlinks.SummaryV2, `{"query":"a.com","page":1}`, 0, serpstattest.CodeSchema, 0},
		{"sort", serpstattest.Options{}, backlinks.TopAnchors, `{"query":"a.com","sort":"anchor"}`, 0, serpstattest.CodeSchema, 0},
		{"complexFilter", serpstattest.Options{}, backlinks.ChangesHistory, `{"query":"a.com","complexFilter":[]}`, 0, serpstattest.CodeSchema, 0},
		{"a search type not documented", serpstattest.Options{}, backlinks.SummaryV2, `{"query":"a.com","searchType":"url"}`, 0, serpstattest.CodeSchema, 0},
		{"intersect without domains", serpstattest.Options{}, backlinks.IntersectSummary, `{"query":"a.com"}`, 0, serpstattest.CodeSchema, 0},
		{"searchType for intersect-summary", serpstattest.Options{}, backlinks.IntersectSummary, `{"query":"a.com","intersect":["b.com"],"searchType":"domain"}`, 0, serpstattest.CodeSchema, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newServer(t, tt.opts)
			raw := rawMethodCall(t, s, tt.m.API, json.RawMessage(tt.params))
			assert.Equal(t, tt.billed, s.Stats().CreditsBilled, "%s", raw)
			page, err := tt.m.DecodeAnswer(raw)
			if tt.errCode != 0 && tt.errCode != 404 {
				var ae *serpstat.Error
				require.ErrorAs(t, err, &ae)
				assert.Equal(t, tt.errCode, ae.Code)
				return
			}
			require.NoError(t, err)
			if tt.rows >= 0 {
				assert.Len(t, page.Data, tt.rows)
			}
			assert.Equal(t, tt.errCode == 404, page.NoData)
		})
	}
	// An answer of a shape no client reads is billed, like any answer.
	s := newServer(t, serpstattest.Options{Fault: func(serpstattest.FaultInfo) serpstattest.Fault {
		return serpstattest.Fault{Kind: serpstattest.FaultUnexpected}
	}})
	raw := rawMethodCall(t, s, backlinks.SummaryV2.API, json.RawMessage(`{"query":"a.com"}`))
	_, err := backlinks.SummaryV2.DecodeAnswer(raw)
	var ue *serpstat.UnexpectedError
	require.ErrorAs(t, err, &ue)
	assert.EqualValues(t, 5, s.Stats().CreditsBilled)
}

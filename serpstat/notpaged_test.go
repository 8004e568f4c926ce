package serpstat_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/serpstat-export/serpstat-export/serpstat"
	"github.com/serpstat-export/serpstat-export/serpstat/backlinks"
)

// TestNotPagedSpecExamples reads the spec's own example answer of each
// method that is not paged with its descriptor: an object is one row, a
// list its rows, every key a column (nothing in extra), summary_info
// where the spec puts it (getDistributionTLD's beside result), and a
// total of 0 or null beside rows is no matter.
func TestNotPagedSpecExamples(t *testing.T) {
	tests := []struct {
		m         *serpstat.Method
		rows      int
		leftLines int64
		col       string
		first     serpstat.Value // the column's value in the first row
	}{
		{backlinks.Summary, 1, 971486, "domain_rank", serpstat.Value{Int: 60}},
		{backlinks.SummaryV2, 1, 971496, "serpstat_domain_rank", serpstat.Value{Int: 60}},
		{backlinks.TopAnchors, 10, 9999887, "backlinks_count", serpstat.Value{Int: 7914025436}},
		{backlinks.IntersectSummary, 7, 972954, "domains", serpstat.Value{Str: "gepur.com"}},
		{backlinks.DistributionSDR, 11, 972965, "sdr_range", serpstat.Value{Str: "0"}},
		{backlinks.DistributionTLD, 10, 972961, "percentage", serpstat.Value{Float: 59.58}},
		{backlinks.ChangesHistory, 5, 972966, "date", serpstat.Value{Str: "2025-01-06"}},
	}
	for _, tt := range tests {
		t.Run(tt.m.Name, func(t *testing.T) {
			api := tt.m.API[len("SerpstatBacklinksProcedure."):]
			raw, err := os.ReadFile(filepath.Join("testdata", "spec", api+"-example.json"))
			require.NoError(t, err)
			page, err := tt.m.DecodeAnswer(raw)
			require.NoError(t, err)
			require.Len(t, page.Data, tt.rows)
			assert.Empty(t, page.UnknownKeys, "every key of the spec's example is a column")
			assert.EqualValues(t, tt.leftLines, page.Summary.LeftLines)
			c := tt.m.ColumnIndex(tt.col)
			require.GreaterOrEqual(t, c, 0)
			assert.Equal(t, tt.first, page.Data[0].Values[c])
			for _, r := range page.Data {
				for i, v := range r.Values {
					assert.False(t, v.Null, "%s is in the example", tt.m.Columns[i].Name)
				}
			}
		})
	}
}

// TestNotPagedAnswerShapes: the variants an answer of a method that is
// not paged may take, and what each reads as.
func TestNotPagedAnswerShapes(t *testing.T) {
	tests := []struct {
		name    string
		m       *serpstat.Method
		body    string
		rows    int
		check   func(t *testing.T, p *serpstat.Page)
		unknown []string
	}{
		{"the spec's misspelled key", backlinks.SummaryV2, `{"id":"1","result":{"data":{"sersptat_domain_rank":61,"backlinks":"12"}}}`, 1,
			func(t *testing.T, p *serpstat.Page) {
				assert.EqualValues(t, 61, p.Data[0].Values[0].Int)
				assert.EqualValues(t, 12, p.Data[0].Values[backlinks.SummaryV2.ColumnIndex("backlinks")].Int)
				assert.True(t, p.Data[0].Values[backlinks.SummaryV2.ColumnIndex("external_links")].Null, "a key not answered is null")
			}, nil},
		{"the right spelling too", backlinks.SummaryV2, `{"id":"1","result":{"data":{"serpstat_domain_rank":62}}}`, 1,
			func(t *testing.T, p *serpstat.Page) { assert.EqualValues(t, 62, p.Data[0].Values[0].Int) }, nil},
		{"an unknown key goes to extra", backlinks.SummaryV2, `{"id":"1","result":{"data":{"serpstat_domain_rank":1,"brand_new":[1]}}}`, 1,
			func(t *testing.T, p *serpstat.Page) { assert.JSONEq(t, `{"brand_new":[1]}`, string(p.Data[0].Extra)) }, []string{"brand_new"}},
		{"an empty object is no row", backlinks.SummaryV2, `{"id":"1","result":{"data":{},"summary_info":{"left_lines":5}}}`, 0, nil, nil},
		{"null data is no row", backlinks.Summary, `{"id":"1","result":{"data":null,"summary_info":null}}`, 0, nil, nil},
		{"an object where the spec has a list", backlinks.DistributionSDR, `{"id":"1","result":{"data":{"sdr_range":"0","domains":3}}}`, 1, nil, nil},
		{"a list where the spec has an object", backlinks.Summary, `{"id":"1","result":{"data":[{"domainRank":1},{"domainRank":2}]}}`, 2, nil, nil},
		{"summary_info beside result, with its counts", backlinks.DistributionTLD,
			`{"id":"1","summary_info":{"sort":"percentage","order":"desc","tld_count":1,"domains_count":9,"biggest_tld_percentage":100,"left_lines":77},"result":{"data":[{"tld":".com","country_name":"","country_code":"","percentage":"100","domains":9}]}}`, 1,
			func(t *testing.T, p *serpstat.Page) {
				assert.EqualValues(t, 77, p.Summary.LeftLines)
				assert.Equal(t, 100.0, p.Data[0].Values[3].Float, "a number as a string")
			}, nil},
		{"result's summary_info wins over one beside it", backlinks.ChangesHistory,
			`{"id":"1","result":{"data":[],"summary_info":{"left_lines":3,"total":null}},"summary_info":{"left_lines":4}}`, 0,
			func(t *testing.T, p *serpstat.Page) { assert.EqualValues(t, 3, p.Summary.LeftLines) }, nil},
		{"total 0 beside rows", backlinks.IntersectSummary,
			`{"id":"1","result":{"data":[{"referring_domains_count":5,"domains":"a.com"}],"summary_info":{"page":1,"count":1,"total":0,"sort":"","order":""}}}`, 1, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := tt.m.DecodeAnswer([]byte(tt.body))
			require.NoError(t, err)
			require.Len(t, p.Data, tt.rows)
			assert.Equal(t, tt.unknown, p.UnknownKeys)
			if tt.check != nil {
				tt.check(t, p)
			}
		})
	}
	// A paged method still refuses an object.
	_, err := backlinks.RefDomains.DecodeAnswer([]byte(`{"id":"1","result":{"data":{"domain_from":"a"}}}`))
	var ue *serpstat.UnexpectedError
	require.ErrorAs(t, err, &ue)
	// A bad value in an object names it.
	_, err = backlinks.SummaryV2.DecodeAnswer([]byte(`{"id":"1","result":{"data":{"backlinks":"abc"}}}`))
	require.ErrorAs(t, err, &ue)
	assert.Equal(t, "result.data.backlinks", ue.Field)
}

// TestNotPagedBillingAndPrice: each method's price as its spec's
// "Credits" note says, what an answer is billed and what is reserved.
func TestNotPagedBillingAndPrice(t *testing.T) {
	one := serpstat.Params{Query: "a.com", Intersect: []string{"b.com"}}
	two := serpstat.Params{Query: "a.com", Intersect: []string{"b.com", "c.com"}}
	tests := []struct {
		m                 *serpstat.Method
		price             int64 // with two intersect domains
		billed0, billed7  int64
		rows              int
		rowsKnown         bool
		priceWithOneOther int64
	}{
		{backlinks.SummaryV2, 5, 1, 5, 1, true, 5},
		{backlinks.Summary, 5, 1, 5, 1, true, 5},
		{backlinks.TopAnchors, 1, 1, 1, 0, false, 1},
		{backlinks.IntersectSummary, 7, 1, 7, 7, true, 3},
		{backlinks.DistributionSDR, 1, 1, 1, 0, false, 1},
		{backlinks.DistributionTLD, 1, 1, 1, 0, false, 1},
		{backlinks.ChangesHistory, 1, 1, 1, 0, false, 1},
		{backlinks.RefDomains, 1000, 1, 7, 0, false, 1000}, // paged: a page of Size rows
	}
	for _, tt := range tests {
		t.Run(tt.m.Name, func(t *testing.T) {
			p := two
			if tt.m.Paged() {
				p = serpstat.Params{Query: "a.com", Size: 1000}
			}
			assert.Equal(t, tt.price, tt.m.Price(p))
			assert.Equal(t, tt.billed0, tt.m.Billed(0), "an answer without data")
			assert.Equal(t, tt.billed7, tt.m.Billed(7))
			rows, known := tt.m.Rows(p)
			assert.Equal(t, tt.rows, rows)
			assert.Equal(t, tt.rowsKnown, known)
			if !tt.m.Paged() {
				assert.Equal(t, tt.priceWithOneOther, tt.m.Price(one))
			}
		})
	}
}

// TestNotPagedParams: a method that is not paged is sent its query,
// searchType and intersect only; a paging param is refused by name.
func TestNotPagedParams(t *testing.T) {
	body, err := backlinks.SummaryV2.MarshalParams(serpstat.Params{Query: "a.com", SearchType: "domain"})
	require.NoError(t, err)
	assert.JSONEq(t, `{"query":"a.com","searchType":"domain"}`, string(body))
	body, err = backlinks.IntersectSummary.MarshalParams(serpstat.Params{Query: "a.com", Intersect: []string{"b.com"}})
	require.NoError(t, err)
	assert.JSONEq(t, `{"query":"a.com","intersect":["b.com"]}`, string(body))

	for _, tt := range []struct {
		field string
		p     serpstat.Params
	}{
		{"sort", serpstat.Params{Sort: "x"}},
		{"order", serpstat.Params{Order: "asc"}},
		{"page", serpstat.Params{Page: 2}},
		{"size", serpstat.Params{Size: 1000}},
		{"link-per-domain", serpstat.Params{LinkPerDomain: new(0)}}, // 0 is sent, so refused too
		{"filter", serpstat.Params{ComplexFilter: serpstat.Filter{{{Field: "x", CompareType: "eq", Value: []any{"1"}}}}}},
	} {
		t.Run(tt.field, func(t *testing.T) {
			tt.p.Query, tt.p.SearchType = "a.com", "domain"
			_, err := backlinks.DistributionTLD.MarshalParams(tt.p)
			var pe *serpstat.ParamError
			require.ErrorAs(t, err, &pe)
			assert.Equal(t, tt.field, pe.Field)
			assert.Contains(t, pe.Msg, "not paged")
			require.ErrorAs(t, backlinks.DistributionTLD.Validate(tt.p), &pe)
			assert.Equal(t, tt.field, pe.Field)
		})
	}
	require.NoError(t, backlinks.ChangesHistory.Validate(serpstat.Params{Query: "a.com", SearchType: "domain_with_subdomains"}))
	var pe *serpstat.ParamError
	require.ErrorAs(t, backlinks.IntersectSummary.Validate(serpstat.Params{Query: "a.com"}), &pe)
	assert.Equal(t, "intersect", pe.Field)

	// The descriptor's JSON names the new fields.
	js, err := json.Marshal(backlinks.SummaryV2)
	require.NoError(t, err)
	assert.Contains(t, string(js), `"not_paged":{"object":true}`)
	assert.Contains(t, string(js), `"billing":{"per_request":5}`)
}

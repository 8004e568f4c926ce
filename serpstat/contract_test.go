package serpstat_test

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/serpstat-export/serpstat-export/serpstat"
	"github.com/serpstat-export/serpstat-export/serpstat/backlinks"
)

// The answers of testdata/spec are Serpstat's own examples from
// backlinks-methods.md (the spec's example row, and the same row with the
// types its schema gives), and sibling methods' summary_info with a null or
// missing total. Both decoders must read every one.
func TestSpecExampleAnswers(t *testing.T) {
	str := func(v string) serpstat.Value { return serpstat.Value{Str: v} }
	num := func(v int64) serpstat.Value { return serpstat.Value{Int: v} }
	example := serpstat.Row{Values: []serpstat.Value{
		str("https://www.topicalauthority.digital/"), str("https://serpstat.com/blog/how-a-web-entity-can-grow-traf…"),
		str("follow"), str("href"), num(92), str("Read Core Updates for SEO"),
		str("2023-07-02"), str("2024-11-23 21:32:02"), num(25),
	}}
	tests := []struct {
		file  string
		rows  []serpstat.Row
		total serpstat.Int
		order string
	}{
		{"getNewBacklinks-example.json", []serpstat.Row{example}, 62, "DESC"},
		{"getNewBacklinks-schema-types.json", []serpstat.Row{example}, 62, "desc"},
		{"getOutlinks-example-nulls.json", []serpstat.Row{{Values: []serpstat.Value{
			str("https://serpstat.com/blog/author/379380-379380/"), str("https://microsoftedge.microsoft.com/addons/detail/serpst…"),
			str("follow"), str("href"), num(13), str("Install for Microsoft Edge"),
			str("2022-09-16"), str("2025-02-04 21:37:16"), {Null: true},
		}}}, 99241, "DESC"},
		{"getSummary-total-null.json", nil, serpstat.TotalUnknown, ""},
		{"getSummaryV2-no-total.json", nil, serpstat.TotalUnknown, ""},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			raw, err := os.ReadFile(filepath.Join("testdata", "spec", tt.file))
			require.NoError(t, err)
			page, err := backlinks.NewBacklinks.DecodeAnswer(raw)
			require.NoError(t, err)
			for i := range page.Data {
				page.Data[i].Extra = nil // getOutlinks' date_del: not a column of new-backlinks
			}
			if len(tt.rows) == 0 {
				assert.Empty(t, page.Data)
			} else {
				assert.Equal(t, tt.rows, page.Data)
			}
			assert.Equal(t, tt.total, page.Summary.Total)
			assert.Equal(t, tt.order, page.Summary.Order)
		})
	}
}

// TestDocumentedErrorCodes feeds the exact error answers api-notes.md and
// the spec document, and checks each lands in its class.
func TestDocumentedErrorCodes(t *testing.T) {
	tests := []struct {
		body  string
		class serpstat.Class
	}{
		{`{"id":"1","error":{"code":404,"message":"Empty result!"}}`, serpstat.ClassNoData},
		{`{"id":"1","error":{"code":32015,"message":"No data found for requested domain"}}`, serpstat.ClassNoData},
		{`{"id":"1","error":{"code":32017,"message":"Data not found"}}`, serpstat.ClassNoData},
		{`{"id":"1","error":{"code":32000,"message":"You are sending more requests per second then available for your Serpstat plan"}}`, serpstat.ClassRateLimited},
		{`{"id":"1","error":{"code":429,"message":"Query frequency exceeded"}}`, serpstat.ClassRateLimited},
		{`{"id":"1","error":{"code":-32000,"message":"Task not found"}}`, serpstat.ClassUnknown},
		{`{"id":"1","error":{"code":-32429,"message":"Error"}}`, serpstat.ClassUnknown},
		{`{"id":"1","error":{"code":32012,"message":"Credits exceeded"}}`, serpstat.ClassCredits},
		{`{"id":"1","error":{"code":402,"message":"Plan credit exceeded!"}}`, serpstat.ClassCredits},
		{`{"id":"1","error":{"code":403,"message":"Not enough credits for this query"}}`, serpstat.ClassCredits},
		{`{"id":"1","error":{"code":400,"message":"Missing token!"}}`, serpstat.ClassAuth},
		{`{"id":"1","error":{"code":403,"message":"Invalid token!"}}`, serpstat.ClassAuth},
		{`{"id":"1","error":{"code":403,"message":"API not allowed for your plan!"}}`, serpstat.ClassAuth},
		{`{"id":"1","error":{"code":400,"message":"Json schema validation error"}}`, serpstat.ClassInvalid},
		{`{"id":"1","error":{"code":32117,"message":"Not allowed field: foo"}}`, serpstat.ClassInvalid},
		{`{"id":"1","error":{"code":32117,"message":"Not allowed method between for field link_type"}}`, serpstat.ClassInvalid},
		{`{"id":"1","error":{"code":32117,"message":"Not allowed values for between method"}}`, serpstat.ClassInvalid},
		{`{"id":"1","error":{"code":32117,"message":"Field value is required"}}`, serpstat.ClassInvalid},
		{`{"id":"1","error":{"code":32117,"message":"Invalid crawl date"}}`, serpstat.ClassInvalid},
		{`{"id":"1","error":{"code":-32603,"message":"Undefined server error"}}`, serpstat.ClassTransient},
		{`{"id":"1","error":{"code":402,"message":"To get more than 60000 results use export report methods"}}`, serpstat.ClassWall},
	}
	for _, tt := range tests {
		t.Run(tt.body, func(t *testing.T) {
			var resp serpstat.Response
			require.NoError(t, json.Unmarshal([]byte(tt.body), &resp))
			require.NotNil(t, resp.Error)
			assert.Equal(t, tt.class, serpstat.Classify(resp.Error))
			page, err := backlinks.NewBacklinks.DecodeAnswer([]byte(tt.body))
			if tt.class == serpstat.ClassNoData {
				require.NoError(t, err)
				assert.True(t, page.NoData)
				assert.Empty(t, page.Data)
				return
			}
			assert.Equal(t, tt.class, serpstat.Classify(err))
		})
	}
}

// TestUnexpectedAnswer: a well-formed answer of a surprising shape is its
// own class, names the field and the value, and keeps the raw answer; a
// body cut short is transient.
func TestUnexpectedAnswer(t *testing.T) {
	tests := []struct {
		body, field, value string
	}{
		{`{"id":"1","result":{"data":[{"url_from":"a","links_ext":"abc"}],"summary_info":{"total":1}}}`, "result.data[0].links_ext", `"abc"`},
		{`{"id":"1","result":{"data":[{"url_from":"a"},{"domain_rank":{"v":1}}]}}`, "result.data[1].domain_rank", `{"v":1}`},
		{`{"id":"1","result":{"data":{"a":1}}}`, "result.data", `{"a":1}`},
		{`{"id":"1","result":{"data":[],"summary_info":{"total":"many"}}}`, "result.summary_info.total", `"many"`},
		{`{"id":"1","result":null}`, "result", "null"},
		{`{"id":"1","result":{"data":[null]}}`, "result.data[0]", "null"},
	}
	for _, tt := range tests {
		t.Run(tt.body, func(t *testing.T) {
			_, err := backlinks.NewBacklinks.DecodeAnswer([]byte(tt.body))
			require.Error(t, err)
			assert.Equal(t, serpstat.ClassUnexpected, serpstat.Classify(err))
			var ue *serpstat.UnexpectedError
			require.True(t, errors.As(err, &ue))
			assert.Equal(t, tt.field, ue.Field)
			assert.Equal(t, tt.value, ue.Value)
			assert.Equal(t, []byte(tt.body), ue.Raw)
			assert.Contains(t, err.Error(), backlinks.NewBacklinks.API)
			assert.Contains(t, err.Error(), tt.field)
		})
	}
	_, err := backlinks.NewBacklinks.DecodeAnswer([]byte(`{"id":"1","result":{"data":[{"url_from":"a","links_ext":`))
	assert.Equal(t, serpstat.ClassTransient, serpstat.Classify(err))
}

// TestNullFields: null in any field is a null Value.
func TestNullFields(t *testing.T) {
	body := `{"result":{"data":[{"url_from":null,"url_to":"u","nofollow":null,"link_type":null,"links_ext":null,"link_text":null,"first_seen":null,"last_visited":null,"domain_rank":null}],"summary_info":{"total":1}}}`
	page, err := backlinks.NewBacklinks.DecodeAnswer([]byte(body))
	require.NoError(t, err)
	require.Len(t, page.Data, 1)
	r := page.Data[0]
	for i, c := range backlinks.NewBacklinks.Columns {
		if c.Name == "url_to" {
			assert.Equal(t, serpstat.Value{Str: "u"}, r.Values[i])
		} else {
			assert.Equal(t, serpstat.Value{Null: true}, r.Values[i], c.Name)
		}
	}
	checkAnswer(t, backlinks.NewBacklinks, []byte(body))
}

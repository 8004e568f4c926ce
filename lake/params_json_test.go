package lake

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/serpstat-export/serpstat-export/serpstat"
	"github.com/serpstat-export/serpstat-export/serpstat/backlinks"
)

// TestPersistedParamsKeepTheirJSON: the params a spool key, a run
// record's key and a finished query persist are written as earlier
// versions wrote them (the spool's lock name and the run record's file
// name are hashes of these bytes), and what those versions wrote reads
// back to the same params.
func TestPersistedParamsKeepTheirJSON(t *testing.T) {
	p := serpstat.Params{Query: "example.com", SearchType: serpstat.SearchDomain, Sort: "add", Order: "asc",
		Page: 1, Size: 1000, LinkPerDomain: new(1),
		ComplexFilter: serpstat.Filter{{{Field: "add", CompareType: "gte", Value: []any{"1.1.2024"}}}}}
	const params = `{"query":"example.com","searchType":"domain","sort":"add","order":"asc","page":1,"size":1000,` +
		`"linkPerDomain":1,"complexFilter":[[{"field":"add","compareType":"gte","value":["1.1.2024"]}]]}`

	key, err := json.Marshal(SpoolKey{Method: backlinks.NewBacklinks.API, Params: p, MaxRows: 5})
	require.NoError(t, err)
	assert.Equal(t, `{"method":"SerpstatBacklinksProcedure.getNewBacklinks","params":`+params+`,"max_rows":5}`, string(key))

	rk, err := json.Marshal(runKey{Method: backlinks.NewBacklinks.API, Params: p, Out: []string{"out"}, Date: "2024-01-02"})
	require.NoError(t, err)
	assert.Equal(t, `{"method":"SerpstatBacklinksProcedure.getNewBacklinks","params":`+params+`,"out":["out"],"date":"2024-01-02"}`, string(rk))

	fq, err := json.Marshal(RecordedQuery{Status: StatusDone, Params: p, Rows: 3, Run: "r1", Runs: []string{"r1"}})
	require.NoError(t, err)
	assert.Equal(t, `{"status":"done","params":`+params+`,"rows":3,"credits_billed_in_all":0,"run":"r1","runs":["r1"],"updated":"0001-01-01T00:00:00Z"}`, string(fq))

	var back RecordedQuery
	require.NoError(t, json.Unmarshal(fq, &back))
	assert.Equal(t, p, back.Params)
}

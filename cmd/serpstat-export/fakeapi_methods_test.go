package main_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/serpstat-export/serpstat-export/serpstat"
	"github.com/serpstat-export/serpstat-export/serpstat/backlinks"
	"github.com/serpstat-export/serpstat-export/serpstat/serpstattest"
)

// TestFakeAPIServesEveryMethod drives the built fake-api: every paged
// method answers with its own keys, --unknown-key-every adds the
// undocumented key, and the rows are those serpstattest.Expected names.
func TestFakeAPIServesEveryMethod(t *testing.T) {
	res := runCLI(t, "", "fake-api", "-h")
	require.Equal(t, 0, res.code)
	assert.Contains(t, res.stdout, "--unknown-key-every N")

	endpoint := startFakeAPI(t, "--rows", "12", "--unknown-key-every", "4", "--numbers-as-strings")
	// The same data, in-process, for the rows the binary must answer.
	fake := serpstattest.New(serpstattest.Options{Rows: 12, UnknownKeyEvery: 4, NumbersAsStrings: true})
	for _, m := range backlinks.Methods {
		t.Run(m.Name, func(t *testing.T) {
			p := serpstat.Params{Query: "every.example", Page: 1, Size: 100}
			if m.SearchTypes != nil {
				p.SearchType = serpstat.SearchDomain
			}
			if m.Intersect > 0 {
				p.Intersect = []string{"a.example", "b.example"}
			}
			params, err := m.MarshalParams(p)
			require.NoError(t, err)
			body, err := json.Marshal(map[string]any{"id": 1, "method": m.API, "params": params})
			require.NoError(t, err)
			req, err := http.NewRequest(http.MethodPost, endpoint, strings.NewReader(string(body)))
			require.NoError(t, err)
			req.Header.Set("token", serpstattest.DefaultToken)
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			raw, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			require.NoError(t, err)
			assert.Equal(t, 3, strings.Count(string(raw), `"`+serpstattest.UnknownKey+`":`), "%.300s", raw)
			page, err := m.DecodeAnswer(raw)
			require.NoError(t, err, "%.300s", raw)
			assert.Equal(t, []string{serpstattest.UnknownKey}, page.UnknownKeys)
			assert.Equal(t, fake.Expected(m, p.Query, p), page.Data)
		})
	}

	res = runCLI(t, "", "fake-api", "--unknown-key-every", "-1")
	assert.Equal(t, 2, res.code)
	assert.Contains(t, res.stderr, "--unknown-key-every")
}

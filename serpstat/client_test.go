package serpstat_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/serpstat-export/serpstat-export/serpstat"
	"github.com/serpstat-export/serpstat-export/serpstat/backlinks"
)

const secret = "s3cr3t-t0ken/+="

// answer returns a server that answers every request with body and status,
// and records the last request's token header, query and body.
func answer(t *testing.T, status int, body string) (*httptest.Server, *http.Request, *[]byte) {
	t.Helper()
	var last http.Request
	var lastBody []byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		last = *r.Clone(context.Background())
		lastBody, _ = io.ReadAll(r.Body)
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv, &last, &lastBody
}

func TestFetchDecodesQuirks(t *testing.T) {
	body := `{"id":7,"result":{"data":[
	 {"url_from":"https://a.example/","url_to":"https://b.example/x","nofollow":"nofollow,ugc","link_type":"href","links_ext":92,"link_text":"a \"q\"","first_seen":"2023-07-02","last_visited":"2024-11-23 21:32:02","domain_rank":"25"},
	 {"url_from":"https://c.example/","url_to":"https://b.example/","nofollow":"follow","link_type":"redirect","links_ext":"1","link_text":"","first_seen":"2022-07-25","last_visited":"2025-01-30 20:22:03","domain_rank":18},
	 {"url_from":"https://d.example/","url_to":"https://b.example/","nofollow":"follow","link_type":"href","links_ext":null,"link_text":"x","first_seen":"2022-07-25","last_visited":"2025-01-30 20:22:03","domain_rank":""}
	],"summary_info":{"left_lines":972844,"page":1,"count":3,"total":62,"sort":"url_from","order":"DESC"}}}`
	srv, last, lastBody := answer(t, 200, body)
	c := &serpstat.Client{Endpoint: srv.URL, Token: secret}
	page, err := c.Fetch(context.Background(), backlinks.NewBacklinks, serpstat.Params{Query: "b.example", SearchType: "domain", Page: 1, Size: 3})
	require.NoError(t, err)
	require.Len(t, page.Data, 3)
	linksExt, linkText, domainRank := 4, 5, 8 // columns of new-backlinks
	assert.Equal(t, serpstat.Value{Int: 25}, page.Data[0].Values[domainRank])
	assert.Equal(t, serpstat.Value{Int: 1}, page.Data[1].Values[linksExt])
	assert.Equal(t, serpstat.Value{Null: true}, page.Data[2].Values[linksExt], "null is null, not 0")
	assert.Equal(t, serpstat.Value{}, page.Data[2].Values[domainRank], `"" reads as 0`)
	assert.Equal(t, serpstat.Value{Str: `a "q"`}, page.Data[0].Values[linkText])
	assert.Equal(t, serpstat.Int(62), page.Summary.Total)
	assert.Equal(t, serpstat.Int(972844), page.Summary.LeftLines)

	// The token travels in the header, never in the URL.
	assert.Equal(t, secret, last.Header.Get("token"))
	assert.NotContains(t, last.URL.RawQuery, "token")
	var req map[string]any
	require.NoError(t, json.Unmarshal(*lastBody, &req))
	assert.Equal(t, backlinks.NewBacklinks.API, req["method"])
	assert.NotContains(t, req, "jsonrpc")
	params := req["params"].(map[string]any)
	assert.Equal(t, "b.example", params["query"])
	assert.NotContains(t, params, "complexFilter", "an empty filter is not sent")
}

func TestTokenInQuery(t *testing.T) {
	srv, last, _ := answer(t, 200, `{"id":"1","result":{"data":[],"summary_info":{"total":0}}}`)
	c := &serpstat.Client{Endpoint: srv.URL + "/v4", Token: secret, TokenInQuery: true}
	_, err := c.Fetch(context.Background(), backlinks.NewBacklinks, serpstat.Params{Query: "b.example", SearchType: "domain"})
	require.NoError(t, err)
	assert.Equal(t, secret, last.URL.Query().Get("token"))
	assert.Empty(t, last.Header.Get("token"))
}

func TestErrorsAreClassified(t *testing.T) {
	tests := []struct {
		name   string
		status int
		body   string
		class  serpstat.Class
	}{
		{"rate 32000", 200, `{"id":"1","error":{"code":32000,"message":"You are sending more requests per second then available for your Serpstat plan"}}`, serpstat.ClassRateLimited},
		{"-32429 is not documented", 200, `{"id":"1","error":{"code":-32429,"message":"slow"}}`, serpstat.ClassUnknown},
		{"-32000 is not documented as rate", 200, `{"id":"1","error":{"code":-32000,"message":"Task not found"}}`, serpstat.ClassUnknown},
		{"-32000 saying rate", 200, `{"id":"1","error":{"code":-32000,"message":"Too many requests per second"}}`, serpstat.ClassRateLimited},
		{"rate message", 200, `{"id":"1","error":{"code":1,"message":"Too many requests"}}`, serpstat.ClassRateLimited},
		{"missing token", 200, `{"id":"1","error":{"code":400,"message":"Missing token!"}}`, serpstat.ClassAuth},
		{"invalid token", 200, `{"id":"1","error":{"code":403,"message":"Invalid token!"}}`, serpstat.ClassAuth},
		{"plan", 200, `{"id":"1","error":{"code":403,"message":"API not allowed for your plan!"}}`, serpstat.ClassAuth},
		{"plan credits", 200, `{"id":"1","error":{"code":402,"message":"Plan credit exceeded!"}}`, serpstat.ClassCredits},
		{"not enough", 200, `{"id":"1","error":{"code":403,"message":"Not enough credits for this query"}}`, serpstat.ClassCredits},
		{"32012", 200, `{"id":"1","error":{"code":32012,"message":"Credits exceeded"}}`, serpstat.ClassCredits},
		{"schema", 200, `{"id":"1","error":{"code":400,"message":"Json schema validation error"}}`, serpstat.ClassInvalid},
		{"bad field", 200, `{"id":"1","error":{"code":32117,"message":"Not allowed field: foo"}}`, serpstat.ClassInvalid},
		{"bad date", 200, `{"id":"1","error":{"code":32117,"message":"Invalid crawl date"}}`, serpstat.ClassInvalid},
		{"server", 200, `{"id":"1","error":{"code":-32603,"message":"Undefined server error"}}`, serpstat.ClassTransient},
		{"500", 200, `{"id":"1","error":{"code":500,"message":"boom"}}`, serpstat.ClassTransient},
		{"wall", 200, `{"id":"1","error":{"code":402,"message":"To get more than 60000 results use export report methods"}}`, serpstat.ClassWall},
		{"http 502", 502, `<html>bad gateway</html>`, serpstat.ClassTransient},
		{"http 503", 503, ``, serpstat.ClassTransient},
		{"http 429", 429, ``, serpstat.ClassRateLimited},
		{"not json", 200, `<html>oops</html>`, serpstat.ClassTransient},
		{"truncated", 200, `{"id":"1","result":{"data":[{"url_from":"ht`, serpstat.ClassTransient},
		{"neither result nor error", 200, `{"id":"1"}`, serpstat.ClassUnexpected},
		{"unexpected links_ext", 200, `{"id":"1","result":{"data":[{"links_ext":"abc"}],"summary_info":{"total":1}}}`, serpstat.ClassUnexpected},
		{"data an object", 200, `{"id":"1","result":{"data":{"a":1}}}`, serpstat.ClassUnexpected},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, _, _ := answer(t, tt.status, tt.body)
			c := &serpstat.Client{Endpoint: srv.URL, Token: secret}
			_, err := c.Fetch(context.Background(), backlinks.NewBacklinks, serpstat.Params{Query: "b.example", SearchType: "domain"})
			require.Error(t, err)
			assert.Equal(t, tt.class, serpstat.Classify(err), "%v", err)
			assert.NotContains(t, err.Error(), secret)
		})
	}
}

// TestNon200WithAnAPIError: a non-200 answer that still carries the API's
// error object means what the error says.
func TestNon200WithAnAPIError(t *testing.T) {
	srv, _, _ := answer(t, 404, `{"id":"1","error":{"code":404,"message":"Empty result!"}}`)
	c := &serpstat.Client{Endpoint: srv.URL, Token: secret}
	page, err := c.Fetch(context.Background(), backlinks.NewBacklinks, serpstat.Params{Query: "b.example", SearchType: "domain", Page: 1})
	require.NoError(t, err)
	assert.True(t, page.NoData)

	srv, _, _ = answer(t, 400, `{"id":"1","error":{"code":32117,"message":"Not allowed values for between method"}}`)
	c = &serpstat.Client{Endpoint: srv.URL, Token: secret}
	_, err = c.Fetch(context.Background(), backlinks.NewBacklinks, serpstat.Params{Query: "b.example", SearchType: "domain"})
	assert.Equal(t, serpstat.ClassInvalid, serpstat.Classify(err))

	srv, _, _ = answer(t, 404, `<html>not found</html>`)
	c = &serpstat.Client{Endpoint: srv.URL, Token: secret}
	_, err = c.Fetch(context.Background(), backlinks.NewBacklinks, serpstat.Params{Query: "b.example", SearchType: "domain"})
	var he *serpstat.HTTPError
	assert.ErrorAs(t, err, &he)
}

func TestNoDataIsAnEmptyPage(t *testing.T) {
	for _, code := range []int{32015, 32017} {
		srv, _, _ := answer(t, 200, `{"id":"1","error":{"code":`+itoa(code)+`,"message":"Data not found"}}`)
		c := &serpstat.Client{Endpoint: srv.URL, Token: secret}
		page, err := c.Fetch(context.Background(), backlinks.NewBacklinks, serpstat.Params{Query: "b.example", SearchType: "domain", Page: 1})
		require.NoError(t, err)
		assert.True(t, page.NoData)
		assert.Empty(t, page.Data)
	}
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

func TestTransportErrorsHideTheToken(t *testing.T) {
	// A closed port: the *url.Error names the URL, which holds the token in
	// query form.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	c := &serpstat.Client{Endpoint: "http://" + addr + "/v4", Token: secret, TokenInQuery: true}
	_, err = c.Fetch(context.Background(), backlinks.NewBacklinks, serpstat.Params{Query: "b.example", SearchType: "domain"})
	require.Error(t, err)
	assert.Equal(t, serpstat.ClassTransient, serpstat.Classify(err))
	for _, tok := range []string{secret, "s3cr3t-t0ken%2F%2B%3D"} {
		assert.NotContains(t, err.Error(), tok)
	}
	assert.Contains(t, err.Error(), "REDACTED")

	// An error message that echoes the token is redacted too.
	srv, _, _ := answer(t, 200, `{"id":"1","error":{"code":403,"message":"Invalid token! `+secret+`"}}`)
	c = &serpstat.Client{Endpoint: srv.URL, Token: secret}
	_, err = c.Fetch(context.Background(), backlinks.NewBacklinks, serpstat.Params{Query: "b.example", SearchType: "domain"})
	require.Error(t, err)
	assert.NotContains(t, err.Error(), secret)
}

func TestCanceledContext(t *testing.T) {
	srv, _, _ := answer(t, 200, `{}`)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	c := &serpstat.Client{Endpoint: srv.URL, Token: secret}
	_, err := c.Fetch(ctx, backlinks.NewBacklinks, serpstat.Params{Query: "b.example", SearchType: "domain"})
	require.Error(t, err)
	assert.True(t, errors.Is(err, context.Canceled))
	assert.Equal(t, serpstat.ClassCanceled, serpstat.Classify(err))
}

func TestBodyCap(t *testing.T) {
	srv, _, _ := answer(t, 200, `{"id":"1","result":{"data":[],"summary_info":{"total":0}},"pad":"`+strings.Repeat("x", 5000)+`"}`)
	c := &serpstat.Client{Endpoint: srv.URL, Token: secret, MaxBodyBytes: 1000}
	_, err := c.Fetch(context.Background(), backlinks.NewBacklinks, serpstat.Params{Query: "b.example", SearchType: "domain"})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "larger than 1000 bytes")
}

func TestStats(t *testing.T) {
	srv, _, _ := answer(t, 200, `{"id":"1","result":{"data":{"max_lines":1000,"used_lines":10,"left_lines":990,"user_info":{}},"summary_info":{"left_lines":990}}}`)
	c := &serpstat.Client{Endpoint: srv.URL, Token: secret}
	st, err := c.Stats(context.Background())
	require.NoError(t, err)
	assert.Equal(t, serpstat.Int(990), st.LeftLines)
	assert.Equal(t, serpstat.Int(1000), st.MaxLines)
}

func TestInvalidUTF8IsRepairedAndCounted(t *testing.T) {
	body := "{\"id\":\"1\",\"result\":{\"data\":[{\"url_from\":\"https://a.example/\xff\",\"url_to\":\"https://b.example/\",\"nofollow\":\"follow\",\"link_type\":\"href\",\"links_ext\":1,\"link_text\":\"caf\xc3 \xe9t\xc3\xa9\",\"first_seen\":\"2023-07-02\",\"last_visited\":\"2024-11-23 21:32:02\",\"domain_rank\":5}],\"summary_info\":{\"total\":1}}}"
	srv, _, _ := answer(t, 200, body)
	c := &serpstat.Client{Endpoint: srv.URL, Token: secret}
	page, err := c.Fetch(context.Background(), backlinks.NewBacklinks, serpstat.Params{Query: "b.example", SearchType: "domain"})
	require.NoError(t, err)
	assert.Equal(t, 3, page.Repaired)
	assert.Equal(t, "https://a.example/\uFFFD", page.Data[0].Values[0].Str)
	assert.Equal(t, "caf\uFFFD \uFFFDté", page.Data[0].Values[5].Str)
}

package serpstat_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/serpstat-export/serpstat-export/serpstat"
	"github.com/serpstat-export/serpstat-export/serpstat/backlinks"
	"github.com/serpstat-export/serpstat-export/serpstat/serpstattest"
)

// page1000 is the body of a 1,000-row getNewBacklinks answer as the fake
// produces it (its awkward text included), asked once and reused.
var page1000 = sync.OnceValue(func() []byte {
	f := serpstattest.New(serpstattest.Options{Rows: 60_000})
	req := httptest.NewRequest(http.MethodPost, "/v4", strings.NewReader(
		`{"id":"1","method":"`+backlinks.NewBacklinks.API+`","params":{"query":"example.com","searchType":"domain","size":1000,"page":7}}`))
	req.Header.Set("token", serpstattest.DefaultToken)
	rec := httptest.NewRecorder()
	f.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"count":1000`) {
		panic("serpstat: bad canned page: " + rec.Body.String()[:min(300, rec.Body.Len())])
	}
	return rec.Body.Bytes()
})

// reportRows reports rows/s and the answer's bytes per row.
func reportRows(b *testing.B, body []byte) {
	b.ReportMetric(float64(1000*b.N)/b.Elapsed().Seconds(), "rows/s")
	b.ReportMetric(float64(len(body))/1000, "body-B/row")
}

// BenchmarkDecodePage1000 decodes a 1,000-row getNewBacklinks answer the
// way Client.Fetch does: Method.DecodeAnswer, the one decoder.
func BenchmarkDecodePage1000(b *testing.B) {
	body := page1000()
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		page, err := backlinks.NewBacklinks.DecodeAnswer(body)
		if err != nil {
			b.Fatal(err)
		}
		if len(page.Data) != 1000 {
			b.Fatalf("decoded %d rows, want 1000", len(page.Data))
		}
	}
	reportRows(b, body)
}

// BenchmarkClientNewBacklinks1000 runs Client.Fetch of getNewBacklinks
// against an httptest server that answers the canned 1,000-row page:
// request encoding, loopback HTTP, reading and decoding.
func BenchmarkClientNewBacklinks1000(b *testing.B) {
	body := page1000()
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	}))
	defer ts.Close()
	c := &serpstat.Client{Endpoint: ts.URL + "/v4", Token: serpstattest.DefaultToken, HTTPClient: ts.Client()}
	p := serpstat.Params{Query: "example.com", SearchType: serpstat.SearchDomain, Page: 7, Size: 1000}
	ctx := context.Background()
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		page, err := c.Fetch(ctx, backlinks.NewBacklinks, p)
		if err != nil {
			b.Fatal(err)
		}
		if len(page.Data) != 1000 {
			b.Fatalf("decoded %d rows, want 1000", len(page.Data))
		}
	}
	reportRows(b, body)
}

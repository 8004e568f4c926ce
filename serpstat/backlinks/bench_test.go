package backlinks_test

import (
	"bytes"
	"io"
	"net/http"
	"testing"

	"github.com/serpstat-export/serpstat-export/serpstat/backlinks"
	"github.com/serpstat-export/serpstat-export/serpstat/serpstattest"
)

// BenchmarkDecodeAnswer decodes a 1,000-row answer of every method, as the
// fake answers it (awkward text, the spec's wire keys), with the one
// generic decoder.
func BenchmarkDecodeAnswer(b *testing.B) {
	srv := serpstattest.NewServer(serpstattest.Options{Rows: 5000})
	defer srv.Close()
	for _, m := range backlinks.Methods {
		params := `"query":"a.example.com","page":1,"size":1000`
		if m.SearchTypes != nil {
			params += `,"searchType":"domain"`
		}
		if m.Intersect > 0 {
			params += `,"intersect":["b.example.com","c.example.com"]`
		}
		body := `{"id":"1","method":"` + m.API + `","params":{` + params + `}}`
		req, err := http.NewRequest(http.MethodPost, srv.URL+"?token="+serpstattest.DefaultToken, bytes.NewBufferString(body))
		if err != nil {
			b.Fatal(err)
		}
		resp, err := srv.Client().Do(req)
		if err != nil {
			b.Fatal(err)
		}
		raw, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			b.Fatal(err)
		}
		b.Run(m.Name, func(b *testing.B) {
			b.SetBytes(int64(len(raw)))
			b.ReportAllocs()
			for b.Loop() {
				page, err := m.DecodeAnswer(raw)
				if err != nil || len(page.Data) != 1000 {
					b.Fatalf("%v: %.200s", err, raw)
				}
			}
			b.ReportMetric(float64(1000*b.N)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}

package serpstattest_test

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/serpstat-export/serpstat-export/serpstat"
	"github.com/serpstat-export/serpstat-export/serpstat/backlinks"
	"github.com/serpstat-export/serpstat-export/serpstat/serpstattest"
)

func BenchmarkRow(b *testing.B) {
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		_ = serpstattest.Row("example.com", i)
	}
}

// benchPage answers one request to f per iteration, with params as JSON.
func benchPage(b *testing.B, f *serpstattest.Fake, params func(i int) string, rows int) {
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		req := httptest.NewRequest(http.MethodPost, "/v4",
			strings.NewReader(`{"id":"1","method":"SerpstatBacklinksProcedure.getNewBacklinks","params":`+params(i)+`}`))
		req.Header.Set("token", serpstattest.DefaultToken)
		rec := httptest.NewRecorder()
		f.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"count":`+strconv.Itoa(rows)) {
			b.Fatalf("bad answer: %.300s", rec.Body.String())
		}
	}
	b.ReportMetric(float64(rows*b.N)/b.Elapsed().Seconds(), "rows/s")
}

func BenchmarkPage1000(b *testing.B) {
	f := serpstattest.New(serpstattest.Options{Rows: 600_000})
	benchPage(b, f, func(i int) string {
		return `{"query":"example.com","searchType":"domain","size":1000,"page":` + strconv.Itoa(i%60+1) + `}`
	}, 1000)
}

// BenchmarkFilterScan250k scans a 250,000-row data set per iteration (a
// new filter each time, so the match cache never helps).
func BenchmarkFilterScan250k(b *testing.B) {
	f := serpstattest.New(serpstattest.Options{Rows: 250_000})
	benchPage(b, f, func(i int) string {
		return `{"query":"example.com","searchType":"domain","size":1,"complexFilter":[[{"field":"links_external","compareType":"gte","value":[` + strconv.Itoa(-i-1) + `]}]]}`
	}, 1)
}

// BenchmarkMethodPage1000 answers 1000-row pages of every method.
func BenchmarkMethodPage1000(b *testing.B) {
	for _, m := range backlinks.Methods {
		b.Run(m.Name, func(b *testing.B) {
			f := serpstattest.New(serpstattest.Options{Rows: 600_000})
			p := serpstat.Params{Query: "example.com", Size: 1000}
			if m.SearchTypes != nil {
				p.SearchType = serpstat.SearchDomain
			}
			if m.Intersect > 0 {
				p.Intersect = []string{"a.com", "b.com"}
			}
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				p.Page = i%60 + 1
				params, err := m.MarshalParams(p)
				if err != nil {
					b.Fatal(err)
				}
				req := httptest.NewRequest(http.MethodPost, "/v4",
					strings.NewReader(`{"id":"1","method":"`+m.API+`","params":`+string(params)+`}`))
				req.Header.Set("token", serpstattest.DefaultToken)
				rec := httptest.NewRecorder()
				f.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"count":1000`) {
					b.Fatalf("bad answer: %.300s", rec.Body.String())
				}
			}
			b.ReportMetric(float64(1000*b.N)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}

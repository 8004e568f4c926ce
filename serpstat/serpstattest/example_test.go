package serpstattest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"strings"

	"github.com/serpstat-export/serpstat-export/serpstat"
	"github.com/serpstat-export/serpstat-export/serpstat/backlinks"
	"github.com/serpstat-export/serpstat-export/serpstat/serpstattest"
)

func ExampleNewServer() {
	s := serpstattest.NewServer(serpstattest.Options{Rows: 250, Balance: 1000})
	defer s.Close()

	body := `{"id":1,"method":"SerpstatBacklinksProcedure.getNewBacklinks",
		"params":{"query":"example.com","searchType":"domain","page":3,"size":100}}`
	req, _ := http.NewRequest(http.MethodPost, s.URL, strings.NewReader(body))
	req.Header.Set("token", serpstattest.DefaultToken)
	resp, err := s.Client().Do(req)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	var answer struct {
		ID     string `json:"id"`
		Result struct {
			Data    []serpstattest.Backlink `json:"data"`
			Summary serpstat.SummaryInfo    `json:"summary_info"`
		} `json:"result"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&answer); err != nil {
		fmt.Println(err)
		return
	}
	sum := answer.Result.Summary
	fmt.Printf("id %q: %d rows of %d, %d credits left\n", answer.ID, len(answer.Result.Data), sum.Total, sum.LeftLines)
	fmt.Println("same as Row:", answer.Result.Data[0] == serpstattest.Row("example.com", 200))
	fmt.Println("billed:", s.Stats().CreditsBilled)
	// Output:
	// id "1": 50 rows of 250, 950 credits left
	// same as Row: true
	// billed: 50
}

func ExampleOptions_fault() {
	// Answer the second request with a gateway's 502.
	s := serpstattest.NewServer(serpstattest.Options{
		Fault: func(fi serpstattest.FaultInfo) serpstattest.Fault {
			if fi.Seq == 2 {
				return serpstattest.Fault{Kind: serpstattest.FaultHTTPStatus, Status: http.StatusBadGateway}
			}
			return serpstattest.Fault{}
		},
	})
	defer s.Close()

	for range 3 {
		req, _ := http.NewRequest(http.MethodPost, s.URL+"?token="+serpstattest.DefaultToken,
			strings.NewReader(`{"id":"1","method":"SerpstatLimitsProcedure.getStats","params":{}}`))
		resp, err := s.Client().Do(req)
		if err != nil {
			fmt.Println(err)
			return
		}
		resp.Body.Close()
		fmt.Println(resp.Status)
	}
	fmt.Println(s.Stats().ByOutcome)
	// Output:
	// 200 OK
	// 502 Bad Gateway
	// 200 OK
	// map[fault-502:1 ok:2]
}

func ExampleFake_Expected() {
	s := serpstattest.NewServer(serpstattest.Options{Rows: 30, UnknownKeyEvery: 10})
	defer s.Close()

	m := backlinks.Threats
	c := &serpstat.Client{Endpoint: s.URL, Token: serpstattest.DefaultToken, HTTPClient: s.Client()}
	p := serpstat.Params{Query: "example.com", SearchType: serpstat.SearchDomain, Page: 1, Size: 20,
		ComplexFilter: serpstat.Filter{{{Field: "links_count", CompareType: "gte", Value: []any{1000}}}}}
	page, err := c.Fetch(context.Background(), m, p)
	if err != nil {
		fmt.Println(err)
		return
	}
	want := s.Expected(m, p.Query, p)
	fmt.Printf("%d of %d rows match; page 1 holds the first %d: %v\n",
		page.Summary.Total, s.RowsFor(p.Query), len(page.Data), reflect.DeepEqual(page.Data, want[:len(page.Data)]))
	fmt.Println("columns:", strings.Join(m.OutputColumns(), ","))
	fmt.Println("unknown keys:", page.UnknownKeys)
	fmt.Println("billed:", s.Stats().CreditsBilled)
	// Output:
	// 17 of 30 rows match; page 1 holds the first 17: true
	// columns: domain,domain_link,links_count,platform_type,threat_type,lastupdate,extra
	// unknown keys: [new_field]
	// billed: 17
}

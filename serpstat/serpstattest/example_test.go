package serpstattest_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/serpstat-export/serpstat-export/serpstat"
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
			Data    []serpstat.Backlink  `json:"data"`
			Summary serpstat.SummaryInfo `json:"summary_info"`
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

package main

import (
	"strings"

	"github.com/serpstat-export/serpstat-export/serpstat/serpstattest"
)

// refuseQueries is fake-api --refuse-query: every request for one of
// domains (case aside) is answered error 32117, on every try, as the API
// refuses a query it will not serve; the others are answered as usual.
func refuseQueries(domains []string) func(serpstattest.FaultInfo) serpstattest.Fault {
	refused := map[string]bool{}
	for _, d := range domains {
		if d = strings.ToLower(strings.TrimSpace(d)); d != "" {
			refused[d] = true
		}
	}
	return func(fi serpstattest.FaultInfo) serpstattest.Fault {
		if fi.Params.Query == "" || !refused[strings.ToLower(fi.Params.Query)] {
			return serpstattest.Fault{}
		}
		return serpstattest.Fault{Kind: serpstattest.FaultAPIError, Code: serpstattest.CodeFilter, Message: "Invalid value for field query"}
	}
}

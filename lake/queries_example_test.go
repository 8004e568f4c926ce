package lake_test

import (
	"fmt"

	"github.com/serpstat-export/serpstat-export/lake"
)

func ExamplePlanQueries() {
	plan, err := lake.PlanQueries("domain_with_subdomains", []lake.QueryInput{
		{Query: "Example.COM", From: "domains.txt:1"},
		{Query: "пример.рф.", From: "domains.txt:2"},
		{Query: "example.com", From: "domains.txt:3"},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(plan.Queries)
	for _, d := range plan.Duplicates {
		fmt.Printf("%s (%s) is %s (%s)\n", d.Query, d.From, d.Of, d.OfFrom)
	}
	// Output:
	// [example.com xn--e1afmkfd.xn--p1ai]
	// example.com (domains.txt:3) is example.com (domains.txt:1)
}

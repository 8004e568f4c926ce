package lake

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/serpstat-export/serpstat-export/serpstat"
)

func inputs(from string, qs ...string) []QueryInput {
	in := make([]QueryInput, len(qs))
	for i, q := range qs {
		in[i] = QueryInput{Query: q, From: from}
	}
	return in
}

func TestPlanQueriesNormalisesAndDropsDuplicates(t *testing.T) {
	for _, tc := range []struct {
		name       string
		searchType string
		in         []string
		want       []string
		dropped    []string
	}{
		{"case", serpstat.SearchDomainWithSubdomains, []string{"A.COM", "a.com", "b.com"}, []string{"a.com", "b.com"}, []string{"a.com"}},
		{"trailing dot", serpstat.SearchDomain, []string{"a.com.", "a.com"}, []string{"a.com"}, []string{"a.com"}},
		{"IDN and its punycode", serpstat.SearchDomainWithSubdomains, []string{"Пример.РФ", "xn--e1afmkfd.xn--p1ai"}, []string{"xn--e1afmkfd.xn--p1ai"}, []string{"xn--e1afmkfd.xn--p1ai"}},
		{"the same twice", "", []string{"a.com", "a.com", "a.com"}, []string{"a.com"}, []string{"a.com", "a.com"}},
		{"url hosts", serpstat.SearchURL, []string{"https://A.com/Page", "https://a.com./Page", "https://a.com/page"}, []string{"https://a.com/Page", "https://a.com/page"}, []string{"https://a.com./Page"}},
		{"part_url hosts", serpstat.SearchPartURL, []string{"A.com/Blog/", "a.com/Blog/", "/blog/"}, []string{"a.com/Blog/", "/blog/"}, []string{"a.com/Blog/"}},
		{"order kept", "", []string{"c.com", "B.com", "a.com", "b.com"}, []string{"c.com", "b.com", "a.com"}, []string{"b.com"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			plan, err := PlanQueries(tc.searchType, inputs("--query", tc.in...))
			require.NoError(t, err)
			require.Equal(t, tc.want, plan.Queries)
			var dropped []string
			for _, d := range plan.Duplicates {
				dropped = append(dropped, d.Query)
				require.Contains(t, plan.Queries, d.Of)
			}
			require.Equal(t, tc.dropped, dropped)
		})
	}
}

func TestPlanQueriesNamesEveryBadLine(t *testing.T) {
	in := []QueryInput{
		{"good.example", "domains.txt:1"},
		{"exa mple.com", "domains.txt:2"},
		{"also.example", "domains.txt:3"},
		{"https://x.example/page", "domains.txt:40"},
		{"xn--a.com", "domains.txt:41"},
		{"http://y.example/", "--query"},
	}
	plan, err := PlanQueries(serpstat.SearchDomainWithSubdomains, in)
	var ue *UsageError
	require.True(t, errors.As(err, &ue), "%v", err)
	lines := strings.Split(ue.Msg, "\n")
	require.Len(t, lines, 5, ue.Msg)
	require.Equal(t, "4 of 6 queries are not valid:", lines[0])
	require.Equal(t, `  domains.txt:2: "exa mple.com": must be a bare domain name like example.com, without scheme or path`, lines[1])
	require.Equal(t, `  domains.txt:40: "https://x.example/page": must be a bare domain name like example.com, without scheme or path (write x.example)`, lines[2])
	require.True(t, strings.HasPrefix(lines[3], `  domains.txt:41: "xn--a.com": is not a valid internationalised domain name (`), lines[3])
	require.True(t, strings.HasSuffix(lines[3], `): write it in punycode (xn--...) or fix the name`), lines[3])
	require.Equal(t, `  --query: "http://y.example/": must be a bare domain name like example.com, without scheme or path (try --query y.example)`, lines[4])
	require.Equal(t, []string{"good.example", "also.example"}, plan.Queries, "the good ones, to check the outputs with")
}

func TestPlanQueriesOneBadQueryIsOneLine(t *testing.T) {
	_, err := PlanQueries("", inputs("--query", "a b"))
	require.EqualError(t, err, `--query: "a b": must be a bare domain name like example.com, without scheme or path`)
}

func TestJoinUsage(t *testing.T) {
	require.NoError(t, JoinUsage(nil, nil))
	one := usagef("one")
	require.Same(t, one, JoinUsage(nil, one))
	require.EqualError(t, JoinUsage(one, &serpstat.ParamError{Field: "size", Msg: "must be 1..1000"}), "one\nsize must be 1..1000")
	other := errors.New("disk on fire")
	require.Same(t, other, JoinUsage(one, other), "an error that is not the user's comes alone")
}

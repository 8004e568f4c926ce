package serpstat_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/serpstat-export/serpstat-export/serpstat"
	"github.com/serpstat-export/serpstat-export/serpstat/backlinks"
)

// tld is a method with an enumerated param and an integer one, as
// getDistributionTLD's lang is and as a future param may be.
var tld = &serpstat.Method{
	Name: "distribution-tld", API: "SerpstatBacklinksProcedure.getDistributionTLD",
	SearchTypes: []string{serpstat.SearchDomain},
	Params: []serpstat.Param{
		{Name: "lang", Kind: serpstat.KindString, Values: []string{"en", "ru", "uk", "de", "se"}, Doc: "language of country_name"},
		{Name: "limit", Kind: serpstat.KindInt},
	},
}

// TestValidateExtraParams: a method's own params are checked against its
// descriptor; the error names the param, and says what the method takes.
func TestValidateExtraParams(t *testing.T) {
	tests := []struct {
		name  string
		m     *serpstat.Method
		extra map[string]string
		err   string // "" means valid
	}{
		{"none", backlinks.Anchors, nil, ""},
		{"anchor and count", backlinks.Anchors, map[string]string{"anchor": "seo tools", "count": "2"}, ""},
		{"count 1", backlinks.Anchors, map[string]string{"count": "1"}, ""},
		{"count 0", backlinks.Anchors, map[string]string{"count": "0"}, `param count must be a whole number of 1 or more, e.g. --param count=2 for anchors; got "0"`},
		{"count negative", backlinks.Anchors, map[string]string{"count": "-2"}, `param count must be a whole number of 1 or more`},
		{"count a word", backlinks.Anchors, map[string]string{"count": "two"}, `param count must be a whole number of 1 or more`},
		{"count with a sign", backlinks.Anchors, map[string]string{"count": "+2"}, `param count must be a whole number of 1 or more`},
		{"count a fraction", backlinks.Anchors, map[string]string{"count": "1.5"}, `param count must be a whole number of 1 or more`},
		{"empty anchor", backlinks.Anchors, map[string]string{"anchor": ""}, `param anchor must not be empty`},
		{"unknown name", backlinks.Anchors, map[string]string{"nope": "1"}, "param nope is not taken by anchors: it takes anchor (Anchor text), count (Number of words in anchor)"},
		{"name in another case", backlinks.Anchors, map[string]string{"Count": "1"}, "param Count is not taken by anchors (did you mean count?): it takes anchor"},
		{"a method without params", backlinks.RefDomains, map[string]string{"count": "2"}, "param count is not taken by ref-domains, which takes no extra params: remove --param count"},
		{"a common param", backlinks.Anchors, map[string]string{"sort": "total"}, "param sort is not an extra param: set it with --sort"},
		{"page", backlinks.Anchors, map[string]string{"page": "2"}, "param page is not an extra param: it is set by the tool"},
		{"linkPerDomain", backlinks.NewBacklinks, map[string]string{"linkPerDomain": "0"}, "param linkPerDomain is not an extra param: set it with --link-per-domain"},
		{"enumerated", tld, map[string]string{"lang": "de"}, ""},
		{"not enumerated", tld, map[string]string{"lang": "fr"}, `param lang must be one of en, ru, uk, de, se for distribution-tld; got "fr"`},
		{"unknown, values listed", tld, map[string]string{"language": "en"}, "param language is not taken by distribution-tld: it takes lang (en|ru|uk|de|se), limit"},
		{"integer", tld, map[string]string{"limit": "-5"}, ""},
		{"not an integer", tld, map[string]string{"limit": "5x"}, `param limit must be a whole number, e.g. --param limit=2 for distribution-tld; got "5x"`},
		{"first bad by name", backlinks.Anchors, map[string]string{"count": "0", "anchor": ""}, "param anchor must not be empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := serpstat.Params{Query: "example.com", SearchType: serpstat.SearchDomain, Extra: tt.extra}
			err := tt.m.Validate(p)
			if tt.err == "" {
				require.NoError(t, err)
				return
			}
			var pe *serpstat.ParamError
			require.ErrorAs(t, err, &pe, "%v", err)
			assert.Contains(t, err.Error(), tt.err)
			_, merr := tt.m.MarshalParams(p)
			assert.Error(t, merr, "MarshalParams refuses what Validate refuses")
		})
	}
}

// TestMarshalExtraParams: the method's own params are sent in the order
// it documents them, each as its JSON type (getAnchors' count a string),
// and nothing when there are none.
func TestMarshalExtraParams(t *testing.T) {
	tests := []struct {
		name string
		m    *serpstat.Method
		p    serpstat.Params
		want string
	}{
		{"anchors", backlinks.Anchors,
			serpstat.Params{Query: "serpstat.com", SearchType: "domain_with_subdomains", Sort: "anchor", Order: "desc", Page: 1, Size: 2,
				Extra: map[string]string{"count": "1", "anchor": "serpstat"}},
			`{"query":"serpstat.com","searchType":"domain_with_subdomains","anchor":"serpstat","count":"1","sort":"anchor","order":"desc","page":1,"size":2}`},
		{"count alone", backlinks.Anchors,
			serpstat.Params{Query: "a.com", SearchType: "domain", Extra: map[string]string{"count": "2"}},
			`{"query":"a.com","searchType":"domain","count":"2"}`},
		{"none", backlinks.Anchors,
			serpstat.Params{Query: "a.com", SearchType: "domain", Extra: map[string]string{}},
			`{"query":"a.com","searchType":"domain"}`},
		{"enumerated and integer", tld,
			serpstat.Params{Query: "a.com", SearchType: "domain", Extra: map[string]string{"limit": "10", "lang": "uk"}},
			`{"query":"a.com","searchType":"domain","lang":"uk","limit":10}`},
		{"distribution-tld's lang", backlinks.DistributionTLD,
			serpstat.Params{Query: "facebook.com", SearchType: "domain_with_subdomains", Extra: map[string]string{"lang": "en"}},
			`{"query":"facebook.com","searchType":"domain_with_subdomains","lang":"en"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.NoError(t, tt.m.Validate(tt.p))
			got, err := tt.m.MarshalParams(tt.p)
			require.NoError(t, err)
			assert.Equal(t, tt.want, string(got))
		})
	}
}

// TestLinkPerDomain: 0 is sent as 0 (one link per page), unset is not
// sent, a negative number and a method that does not take it are
// refused.
func TestLinkPerDomain(t *testing.T) {
	tests := []struct {
		name string
		m    *serpstat.Method
		lpd  *int
		want string // the params sent; "" when refused
		err  string
	}{
		{"unset", backlinks.NewBacklinks, nil, `{"query":"a.com","searchType":"domain"}`, ""},
		{"zero", backlinks.NewBacklinks, new(0), `{"query":"a.com","searchType":"domain","linkPerDomain":0}`, ""},
		{"three", backlinks.Threats, new(3), `{"query":"a.com","searchType":"domain","linkPerDomain":3}`, ""},
		{"negative", backlinks.NewBacklinks, new(-1), "", "link-per-domain must be 0 (one link per page) or more; leave it unset to send none; got -1"},
		{"zero, not taken", backlinks.RefDomains, new(0), "", "link-per-domain is not taken by ref-domains: leave it unset; got 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := serpstat.Params{Query: "a.com", SearchType: "domain", LinkPerDomain: tt.lpd}
			err := tt.m.Validate(p)
			if tt.err != "" {
				require.EqualError(t, err, tt.err)
				return
			}
			require.NoError(t, err)
			got, err := tt.m.MarshalParams(p)
			require.NoError(t, err)
			assert.Equal(t, tt.want, string(got))
		})
	}
}

// TestParamsJSONNamesTheExport: the params' JSON, which names an export
// (its checkpoint and run record), tells linkPerDomain 0 from unset and
// holds the method's own params, and reads back to the same params.
func TestParamsJSONNamesTheExport(t *testing.T) {
	tests := []struct {
		name string
		p    serpstat.Params
		want string
	}{
		{"plain", serpstat.Params{Query: "a.com", Size: 1000}, `{"query":"a.com","page":0,"size":1000}`},
		{"link per domain 0", serpstat.Params{Query: "a.com", Size: 1000, LinkPerDomain: new(0)}, `{"query":"a.com","page":0,"size":1000,"linkPerDomain":0}`},
		{"extra", serpstat.Params{Query: "a.com", Size: 1000, Extra: map[string]string{"count": "2", "anchor": "seo"}},
			`{"query":"a.com","page":0,"size":1000,"extra":{"anchor":"seo","count":"2"}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := json.Marshal(tt.p)
			require.NoError(t, err)
			assert.Equal(t, tt.want, string(b))
			var back serpstat.Params
			require.NoError(t, json.Unmarshal(b, &back))
			assert.Equal(t, tt.p, back)
		})
	}
}

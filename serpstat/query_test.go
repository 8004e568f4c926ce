package serpstat_test

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/serpstat-export/serpstat-export/serpstat"
)

func TestNormalizeQuery(t *testing.T) {
	const (
		dws  = serpstat.SearchDomainWithSubdomains
		dom  = serpstat.SearchDomain
		url  = serpstat.SearchURL
		part = serpstat.SearchPartURL
	)
	for _, tc := range []struct {
		name, searchType, in, want string
	}{
		{"lower case", dws, "Example.COM", "example.com"},
		{"trailing dot", dws, "example.com.", "example.com"},
		{"spaces", dws, "  example.com \t", "example.com"},
		{"search type domain", dom, "A.COM", "a.com"},
		{"no search type", "", "A.Com.", "a.com"},
		{"IDN to punycode", dws, "пример.рф", "xn--e1afmkfd.xn--p1ai"},
		{"IDN upper case and trailing dot", dws, "ПРИМЕР.РФ.", "xn--e1afmkfd.xn--p1ai"},
		{"punycode kept", dws, "XN--E1AFMKFD.xn--P1AI", "xn--e1afmkfd.xn--p1ai"},
		{"german IDN", dws, "Bücher.de", "xn--bcher-kva.de"},
		{"underscore kept", dws, "my_host.example.com", "my_host.example.com"},
		{"url: host only", url, "HTTPS://Example.COM./Page?Q=1#Frag", "https://example.com/Page?Q=1#Frag"},
		{"url: IDN host", url, "https://пример.рф/Путь", "https://xn--e1afmkfd.xn--p1ai/Путь"},
		{"url: port kept", url, "http://Example.com:8080/A", "http://example.com:8080/A"},
		{"url: no path", url, "https://EXAMPLE.com", "https://example.com"},
		{"url: IP host", url, "http://127.0.0.1:80/X", "http://127.0.0.1:80/X"},
		{"part_url: leading domain", part, "Example.COM/Blog/", "example.com/Blog/"},
		{"part_url: IDN", part, "Пример.рф/блог", "xn--e1afmkfd.xn--p1ai/блог"},
		{"part_url: with scheme", part, "https://Example.com/Blog", "https://example.com/Blog"},
		{"part_url: no domain", part, "/Blog/Post", "/Blog/Post"},
		{"part_url: a word", part, "Blog", "Blog"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := serpstat.NormalizeQuery(tc.searchType, tc.in)
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
			again, err := serpstat.NormalizeQuery(tc.searchType, got)
			require.NoError(t, err)
			require.Equal(t, got, again, "normalising is idempotent")
		})
	}
}

func TestNormalizeQueryRefuses(t *testing.T) {
	for _, tc := range []struct {
		name, searchType, in, want string
	}{
		{"space inside", serpstat.SearchDomainWithSubdomains, "exa mple.com", "must be a bare domain name"},
		{"scheme", serpstat.SearchDomainWithSubdomains, "https://example.com/x", "(try --query example.com)"},
		{"no dot", serpstat.SearchDomainWithSubdomains, "localhost", "must be a bare domain name"},
		{"empty", serpstat.SearchDomainWithSubdomains, "  ", "is required"},
		{"bad IDN", serpstat.SearchDomainWithSubdomains, "xn--a.com", "is not a valid internationalised domain name"},
		{"url without scheme", serpstat.SearchURL, "example.com/page", "must be an absolute http or https URL"},
		{"part_url with a space", serpstat.SearchPartURL, "example.com/a b", "without spaces"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := serpstat.NormalizeQuery(tc.searchType, tc.in)
			var pe *serpstat.ParamError
			require.True(t, errors.As(err, &pe), "%v", err)
			require.Contains(t, err.Error(), tc.want)
		})
	}
}

package serpstat

import (
	"net"
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.org/x/net/idna"
)

// idnaProfile turns an internationalised domain name into its ASCII
// (punycode) form the way a lookup does (UTS #46 mapping: lower case,
// width, NFC), without STD3's ban on '_', which domain names in the wild
// hold and ValidateQuery takes.
var idnaProfile = idna.New(idna.MapForLookup(), idna.StrictDomainName(false), idna.BidiRule(), idna.Transitional(false))

// NormalizeQuery checks q for searchType (ValidateQueryFor) and returns
// the form the API is asked for, so that two spellings of one domain are
// one query: for domain and domain_with_subdomains the domain in lower
// case, without a trailing dot, an internationalised name in punycode
// (Пример.РФ. is xn--e1afmkfd.xn--p1ai); for url and part_url only the
// host is normalised so (a part_url without a scheme: its leading
// domain, when it has one), the path and query kept as written, since
// paths are case-sensitive. Surrounding spaces are trimmed. The error is
// a *ParamError naming the value and what to write instead.
func NormalizeQuery(searchType, q string) (string, error) {
	q = strings.TrimSpace(q)
	if err := ValidateQueryFor(searchType, q); err != nil {
		return "", err
	}
	switch searchType {
	case SearchURL:
		return normalizeURLHost(q), nil
	case SearchPartURL:
		if strings.Contains(q, "://") {
			return normalizeURLHost(q), nil
		}
		end := strings.IndexAny(q, "/?#")
		if end < 0 {
			end = len(q)
		}
		if h := q[:end]; reDomain.MatchString(h) {
			if d, err := normalizeDomain(h); err == nil {
				return d + q[end:], nil
			}
		}
		return q, nil
	}
	d, err := normalizeDomain(q)
	if err != nil {
		return "", &ParamError{Field: "query", Value: strconv.Quote(q), Msg: "is not a valid internationalised domain name (" + err.Error() + "): write it in punycode (xn--...) or fix the name"}
	}
	return d, nil
}

// normalizeDomain is domain name d in lower case, without a trailing
// dot, in punycode.
func normalizeDomain(d string) (string, error) {
	d = strings.TrimSuffix(d, ".")
	if !isASCII(d) {
		a, err := idnaProfile.ToASCII(d)
		if err != nil {
			return "", err
		}
		d = a
	}
	d = strings.ToLower(d)
	for _, label := range strings.Split(d, ".") {
		// A name written in punycode must decode.
		if strings.HasPrefix(label, "xn--") {
			if _, err := idnaProfile.ToUnicode(label); err != nil {
				return "", err
			}
		}
	}
	return d, nil
}

// normalizeURLHost is absolute URL u with its host normalised
// (normalizeDomain; an IP address or a host that is not a domain name
// only in lower case), everything else as written.
func normalizeURLHost(u string) string {
	i := strings.Index(u, "://")
	if i < 0 {
		return u
	}
	start := i + 3
	end := strings.IndexAny(u[start:], "/?#")
	if end < 0 {
		end = len(u)
	} else {
		end += start
	}
	auth := u[start:end]
	user := ""
	if at := strings.LastIndexByte(auth, '@'); at >= 0 {
		user, auth = auth[:at+1], auth[at+1:]
	}
	host, port := auth, ""
	if h, p, err := net.SplitHostPort(auth); err == nil && !strings.HasPrefix(auth, "[") {
		host, port = h, ":"+p
	}
	if d, err := normalizeDomain(host); err == nil && reDomain.MatchString(d) {
		host = d
	} else {
		host = strings.ToLower(host)
	}
	return strings.ToLower(u[:i]) + "://" + user + host + port + u[end:]
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

package dest

import (
	"fmt"
	"net/url"
	"os"
	"strings"
)

// Place is the name of the object target (s3://, gs://, azblob://) that
// is the same for every spelling of it and differs between objects: the
// scheme and the bucket in lower case, the key without a leading slash,
// and what tells stores apart: for s3:// the endpoint that serves it
// (the URL's endpoint=, else opts.Endpoint, else AWS_ENDPOINT_URL_S3 or
// AWS_ENDPOINT_URL; none for AWS itself), scheme and host in lower case,
// its default port and a trailing slash dropped; for azblob:// the
// storage account and domain (storage_account= and domain=, else
// AZURE_STORAGE_ACCOUNT and AZURE_STORAGE_DOMAIN). Region, path style and
// credentials name no other object and are left out, as is a password.
// It names locks: two runs writing one object take the same lock however
// each spells it. An endpoint set only in an AWS profile's config file is
// not seen.
//
// A local target (a path, file://) has no place: ok is false.
func Place(target string, opts S3Options) (place string, ok bool, err error) {
	t, err := parseTarget(target)
	if err != nil || t.path != "" {
		return "", false, err
	}
	return placeOf(t, t.key, opts), true, nil
}

// PlaceDir is Place for a directory URL (s3://bucket/prefix, as
// --state-dir takes): "s3://bucket/prefix/" with the store's name, a
// trailing slash or none making no difference.
func PlaceDir(dir string, opts S3Options) (string, error) {
	t, prefix, err := dirTarget(dir)
	if err != nil {
		return "", err
	}
	return placeOf(t, prefix, opts), nil
}

func placeOf(t target, key string, opts S3Options) string {
	p := t.scheme + "://" + strings.ToLower(t.bucket) + "/" + key
	switch t.scheme {
	case SchemeS3:
		e := t.query.Get("endpoint")
		for _, alt := range []string{opts.Endpoint, os.Getenv("AWS_ENDPOINT_URL_S3"), os.Getenv("AWS_ENDPOINT_URL")} {
			if e == "" {
				e = alt
			}
		}
		if e != "" {
			p += " endpoint=" + normalEndpoint(e)
		}
	case SchemeAzure:
		account, domain := t.query.Get("storage_account"), t.query.Get("domain")
		if account == "" {
			account = os.Getenv("AZURE_STORAGE_ACCOUNT")
		}
		if domain == "" {
			domain = os.Getenv("AZURE_STORAGE_DOMAIN")
		}
		p += fmt.Sprintf(" account=%s domain=%s", strings.ToLower(account), strings.ToLower(domain))
	}
	return p
}

// normalEndpoint is endpoint as one spelling: https:// when it names no
// scheme (as openS3 takes it), scheme and host in lower case, no default
// port, no credentials, no trailing slash.
func normalEndpoint(e string) string {
	if !strings.Contains(e, "://") {
		e = "https://" + e
	}
	u, err := url.Parse(e)
	if err != nil {
		return strings.ToLower(redact(e))
	}
	u.User = nil
	u.Scheme = strings.ToLower(u.Scheme)
	u.Host = strings.ToLower(u.Host)
	if port := u.Port(); u.Scheme == "https" && port == "443" || u.Scheme == "http" && port == "80" {
		u.Host = strings.TrimSuffix(u.Host, ":"+port)
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath, u.RawQuery, u.Fragment = "", "", ""
	return u.String()
}

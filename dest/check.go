package dest

import (
	"fmt"
	"strings"
)

// Check checks target (a path or URL as for Open) without any I/O: its
// scheme, that it names a file or an object (a bucket and a key), no ".."
// element, and a bucket or container name made of what such names hold
// (letters, digits, '.', '-', and '_' on gs://; a letter or digit first
// and last; at most 63 characters, 222 on gs://). Open, Probe and
// WriteAll refuse what it refuses; it lets a run name every bad output at
// once before anything is sent. The error names the target without
// credentials.
func Check(target string) error {
	t, err := parseTarget(target)
	if err != nil {
		return err
	}
	if t.path != "" {
		return nil
	}
	return checkBucket(t.scheme, t.bucket, t.name)
}

// checkBucket checks the syntax of bucket name b of scheme.
func checkBucket(scheme, b, name string) error {
	what, max, extra := "bucket", 63, ".-"
	switch scheme {
	case SchemeGCS:
		max, extra = 222, ".-_"
	case SchemeAzure:
		what, extra = "container", "-"
	}
	alnum := func(r rune) bool { return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' }
	bad := ""
	for _, r := range b {
		if !alnum(r) && !strings.ContainsRune(extra, r) {
			bad = string(r)
			break
		}
	}
	switch {
	case bad != "":
		return fmt.Errorf("output %q: %s name %q holds %q: a %s name holds letters, digits and %s only", name, what, b, bad, what, quoteRunes(extra))
	case len(b) > max:
		return fmt.Errorf("output %q: %s name %q is longer than %d characters", name, what, b, max)
	case !alnum(rune(b[0])) || !alnum(rune(b[len(b)-1])):
		return fmt.Errorf("output %q: %s name %q must start and end with a letter or a digit", name, what, b)
	}
	return nil
}

func quoteRunes(s string) string {
	var q []string
	for _, r := range s {
		q = append(q, fmt.Sprintf("%q", r))
	}
	return strings.Join(q, ", ")
}

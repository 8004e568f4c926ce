package metrics

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/prometheus/client_golang/prometheus/push"
	"github.com/prometheus/common/expfmt"
)

// Job is the Pushgateway job the figures are pushed under.
const Job = "serpstat_export"

// Gateway is a Prometheus Pushgateway that runs push their figures to,
// under job Job and the grouping label instance=Instance (the path
// /metrics/job/serpstat_export/instance/INSTANCE). It is safe for
// concurrent use once set.
type Gateway struct {
	// URL is the Pushgateway's base URL ("http://pushgateway:9091"),
	// without /metrics; credentials in it (https://user:pass@host) are
	// sent as basic auth and never appear in errors.
	URL string
	// Instance is the instance label: one group of metrics per instance
	// (a stable name for the scheduled job; not the pod's name).
	Instance string
	// Client sends the push; nil: http.DefaultClient. Its timeout, or
	// ctx, bounds the push.
	Client *http.Client
}

// Push sends the run's figures. A run that succeeded replaces the
// instance's group (PUT); one that did not replaces only the metrics it
// pushes (POST), which keeps the LastSuccess metric of the last run that
// succeeded. The figures are sent in the text format.
func (g *Gateway) Push(ctx context.Context, r *Run) error {
	base, user, err := SplitCredentials(g.URL)
	if err != nil {
		return err
	}
	client := g.Client
	if client == nil {
		client = http.DefaultClient
	}
	p := push.New(base, Job).
		Grouping("instance", g.Instance).
		Gatherer(r.registry()).
		Client(client).
		Format(expfmt.NewFormat(expfmt.TypeTextPlain))
	if user != nil {
		pass, _ := user.Password()
		p = p.BasicAuth(user.Username(), pass)
	}
	if r.LastSuccess.IsZero() {
		err = p.AddContext(ctx)
	} else {
		err = p.PushContext(ctx)
	}
	if err != nil {
		return fmt.Errorf("push to %s: %w", base, err)
	}
	return nil
}

// SplitCredentials checks a Pushgateway URL (http or https, with a host)
// and splits its user info off: base is the URL without it, user nil when
// it has none.
func SplitCredentials(raw string) (base string, user *url.Userinfo, err error) {
	u, err := url.Parse(raw)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // without the URL, which may hold a password
		}
		return "", nil, fmt.Errorf("not a URL: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return "", nil, fmt.Errorf("want an http:// or https:// URL with a host, such as http://pushgateway:9091")
	}
	if strings.TrimSuffix(u.Path, "/") != "" && strings.Contains(u.Path, "/metrics/job/") {
		return "", nil, fmt.Errorf("want the Pushgateway's base URL, without /metrics/job/...: the job (%s) and instance are added", Job)
	}
	user, u.User = u.User, nil
	return u.String(), user, nil
}

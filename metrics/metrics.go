// Package metrics renders the figures of a run in the Prometheus text
// exposition format: to a file, replaced atomically, for the node_exporter
// textfile collector (WriteFile), and to a Prometheus Pushgateway
// (Gateway.Push). It knows nothing of how the figures were made: the
// command fills in a Run from its summary.
package metrics

import (
	"fmt"
	"io"
	"sort"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
)

// The metrics' names. Each is a gauge holding the figure of the last run
// (not a counter summed over runs), with a method label; Queries has a
// status label too.
const (
	Rows        = "serpstat_export_rows"
	Credits     = "serpstat_export_credits"
	Requests    = "serpstat_export_requests"
	Retries     = "serpstat_export_retries"
	Duration    = "serpstat_export_duration_seconds"
	ExitCode    = "serpstat_export_exit_code"
	LastSuccess = "serpstat_export_last_success_timestamp_seconds"
	Queries     = "serpstat_export_queries"
)

// Run is the figures of one run. The zero value is a run that did
// nothing and did not succeed.
type Run struct {
	// Method is the method label, the method exported ("new-backlinks").
	Method   string
	Rows     int64 // rows written to the outputs
	Credits  int64 // credits the API billed this run
	Requests int64 // requests sent, retries included
	Retries  int64 // requests sent again after a failure
	// Duration is how long the run took.
	Duration time.Duration
	ExitCode int
	// LastSuccess is when the run ended, if it ended with exit 0; the
	// zero time for a run that did not succeed, which leaves the metric
	// out (WriteFile and Gateway.Push then keep an earlier run's).
	LastSuccess time.Time
	// Queries counts the run's queries by status (the summary's values:
	// "done", "failed", ...).
	Queries map[string]int
}

// help is each metric's HELP text.
var help = map[string]string{
	Rows:        "Rows the last run wrote to its outputs.",
	Credits:     "Credits the API billed the last run.",
	Requests:    "Requests the last run sent to the API, retries included.",
	Retries:     "Requests the last run sent again after a failure.",
	Duration:    "How long the last run took, in seconds.",
	ExitCode:    "The exit code of the last run (0: every promise held).",
	LastSuccess: "When the last run that exited 0 ended, in seconds since the Unix epoch.",
	Queries:     "The last run's queries, by status.",
}

// Gather returns the run's metric families, sorted by name.
func (r *Run) Gather() ([]*dto.MetricFamily, error) {
	return r.registry().Gather()
}

// registry is a registry holding the run's figures.
func (r *Run) registry() *prometheus.Registry {
	reg := prometheus.NewPedanticRegistry()
	gauge := func(name string, v float64) {
		g := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: name, Help: help[name]}, []string{"method"})
		g.WithLabelValues(r.Method).Set(v)
		reg.MustRegister(g)
	}
	gauge(Rows, float64(r.Rows))
	gauge(Credits, float64(r.Credits))
	gauge(Requests, float64(r.Requests))
	gauge(Retries, float64(r.Retries))
	gauge(Duration, r.Duration.Seconds())
	gauge(ExitCode, float64(r.ExitCode))
	if !r.LastSuccess.IsZero() {
		gauge(LastSuccess, float64(r.LastSuccess.UnixNano())/1e9)
	}
	q := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: Queries, Help: help[Queries]}, []string{"method", "status"})
	for status, n := range r.Queries {
		q.WithLabelValues(r.Method, status).Set(float64(n))
	}
	reg.MustRegister(q)
	return reg
}

// WriteText writes the run's figures to w in the Prometheus text format.
func (r *Run) WriteText(w io.Writer) error {
	mfs, err := r.Gather()
	if err != nil {
		return err
	}
	return encode(w, mfs)
}

// encode writes families in the text format, sorted by name.
func encode(w io.Writer, mfs []*dto.MetricFamily) error {
	sort.Slice(mfs, func(i, j int) bool { return mfs[i].GetName() < mfs[j].GetName() })
	enc := expfmt.NewEncoder(w, expfmt.NewFormat(expfmt.TypeTextPlain))
	for _, mf := range mfs {
		if err := enc.Encode(mf); err != nil {
			return fmt.Errorf("metric %s: %w", mf.GetName(), err)
		}
	}
	return nil
}

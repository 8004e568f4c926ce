package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/serpstat-export/serpstat-export/dest"
	"github.com/serpstat-export/serpstat-export/lake"
	"github.com/serpstat-export/serpstat-export/metrics"
)

// metricsPushTimeout bounds a push to the Pushgateway: a gateway that
// hangs delays the end of the run by this at most.
const metricsPushTimeout = 5 * time.Second

// metricsFlags declares the metrics flags on fs, bound to f (see
// exportFlags).
func metricsFlags(fs *flag.FlagSet, f *settings) {
	fs.StringVar(&f.MetricsFile, "metrics-file", "", "at the end of the run, write its figures in the Prometheus text format to `path` (atomically; for the node_exporter textfile collector: a *.prom file in its directory)")
	fs.StringVar(&f.MetricsPush, "metrics-push", "", "at the end of the run, push its figures to the Prometheus Pushgateway at `URL` (http://HOST:9091), job serpstat_export")
	fs.StringVar(&f.MetricsInstance, "metrics-instance", "", "the instance label of --metrics-push, a `name`: one group of metrics per instance (default: the hostname; set a stable name in Kubernetes)")
	fs.BoolVar(&f.MetricsStrict, "metrics-strict", false, "exit 1 instead of 0 when --metrics-file or --metrics-push fails (by default a warning)")
}

// metricsWriter writes a run's figures to --metrics-file and
// --metrics-push. A nil *metricsWriter writes nothing.
type metricsWriter struct {
	file     string
	gateway  *metrics.Gateway
	strict   bool
	fallback string // the method label when the summary has none
}

// newMetricsWriter checks the metrics settings (a usage error: exit 2,
// before anything is sent); nil when none is set, or when loadErr says
// the settings could not be read.
func newMetricsWriter(s settings, loadErr error) (*metricsWriter, error) {
	if loadErr != nil || s.MetricsFile == "" && s.MetricsPush == "" {
		return nil, nil
	}
	w := &metricsWriter{file: s.MetricsFile, strict: s.MetricsStrict, fallback: s.Method}
	if w.file != "" {
		if err := checkMetricsFile(w.file); err != nil {
			return nil, err
		}
	}
	if s.MetricsPush != "" {
		if _, _, err := metrics.SplitCredentials(s.MetricsPush); err != nil {
			return nil, usagef("--metrics-push: %v", err)
		}
		instance := s.MetricsInstance
		if instance == "" {
			h, err := os.Hostname()
			if err != nil || h == "" {
				return nil, usagef("--metrics-instance: the hostname could not be read (%v); set --metrics-instance NAME", err)
			}
			instance = h
		}
		w.gateway = &metrics.Gateway{URL: s.MetricsPush, Instance: instance, Client: &http.Client{Timeout: metricsPushTimeout}}
	}
	return w, nil
}

// checkMetricsFile refuses a --metrics-file the end of the run could not
// write: a URL, stdout, a directory, or one in a directory that does not
// exist.
func checkMetricsFile(path string) error {
	if path == "-" || dest.IsURL(path) {
		return usagef("--metrics-file %s: want a local file path (the textfile collector reads a directory of *.prom files)", path)
	}
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		return usagef("--metrics-file %s is a directory: name a file in it, e.g. %s", path, filepath.Join(path, "serpstat_export.prom"))
	}
	dir := filepath.Dir(path)
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return usagef("--metrics-file %s: its directory %s does not exist; create it or name another", path, dir)
	}
	return nil
}

// metricsOf is the run's figures, from the summary the command prints
// (one source of truth); end is when the run ended: the last success's
// time when the run exited 0.
func metricsOf(sum *lake.Summary, method string, end time.Time) *metrics.Run {
	r := &metrics.Run{
		Method: sum.Method, Rows: sum.RowsCommitted, Credits: sum.CreditsBilled, Requests: sum.Requests, Retries: sum.Retries,
		Duration: time.Duration(sum.ElapsedSeconds * float64(time.Second)), ExitCode: sum.ExitCode,
		Queries: map[string]int{},
	}
	if r.Method == "" {
		r.Method = method
	}
	if sum.ExitCode == exitOK {
		r.LastSuccess = end
	}
	switch {
	case len(sum.Queries) > 0:
		for _, q := range sum.Queries {
			r.Queries[q.Status]++
		}
	case sum.Query != "":
		r.Queries[sum.Status]++
	}
	return r
}

// write writes the summary's figures to the file and pushes them, on
// every end of a run: a failure is a warning, and is returned only with
// --metrics-strict. ctx may be canceled (an interrupted run): the push
// gets metricsPushTimeout all the same.
func (w *metricsWriter) write(ctx context.Context, u *ui, sum *lake.Summary) error {
	if w == nil {
		return nil
	}
	r := metricsOf(sum, w.fallback, time.Now())
	var errs []error
	if w.file != "" {
		if err := metrics.WriteFile(w.file, r); err != nil {
			u.log.Warn("could not write --metrics-file", "path", w.file, "error", err)
			errs = append(errs, fmt.Errorf("--metrics-file %s: %w", w.file, err))
		}
	}
	if w.gateway != nil {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), metricsPushTimeout)
		defer cancel()
		if err := w.gateway.Push(ctx, r); err != nil {
			u.log.Warn("could not push the metrics (--metrics-push)", "instance", w.gateway.Instance, "error", err)
			errs = append(errs, fmt.Errorf("--metrics-push: %w", err))
		}
	}
	if !w.strict || len(errs) == 0 {
		return nil
	}
	return fmt.Errorf("the run's metrics were not all delivered (--metrics-strict): %w", errors.Join(errs...))
}

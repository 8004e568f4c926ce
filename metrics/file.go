package metrics

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// WriteFile replaces the file at path with the run's figures in the
// Prometheus text format, atomically, as the node_exporter textfile
// collector wants: a temporary file in the same directory (named so the
// collector, which reads *.prom, skips it), synced, made readable by all
// (0644: the collector runs as another user) and renamed over path.
//
// A run that did not succeed (LastSuccess zero) keeps the
// LastSuccess metric of the file it replaces, if it has one, so that
// "time() - serpstat_export_last_success_timestamp_seconds" keeps its
// meaning across failed runs, as a Pushgateway keeps it (see
// Gateway.Push); a file that cannot be read or parsed is replaced
// without it.
func WriteFile(path string, r *Run) error {
	mfs, err := r.Gather()
	if err != nil {
		return err
	}
	if r.LastSuccess.IsZero() {
		if earlier := lastSuccessIn(path); earlier != nil {
			mfs = append(mfs, earlier)
		}
	}
	var buf bytes.Buffer
	if err := encode(&buf, mfs); err != nil {
		return err
	}
	return writeAtomic(path, buf.Bytes())
}

// lastSuccessIn is the LastSuccess family of the metrics file at path, or
// nil.
func lastSuccessIn(path string) *dto.MetricFamily {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(bytes.NewReader(data))
	if err != nil {
		return nil
	}
	mf := fams[LastSuccess]
	if mf == nil || mf.GetType() != dto.MetricType_GAUGE || len(mf.GetMetric()) == 0 {
		return nil
	}
	return mf
}

// writeAtomic writes data to path through a temporary file in its
// directory and a rename.
func writeAtomic(path string, data []byte) (err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".tmp*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			_ = f.Close()
			_ = os.Remove(tmp)
		}
	}()
	if _, err = f.Write(data); err != nil {
		return err
	}
	if err = f.Chmod(0o644); err != nil && !errors.Is(err, fs.ErrPermission) {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	if err = os.Rename(tmp, path); err != nil {
		return fmt.Errorf("rename %s: %w", tmp, err)
	}
	return nil
}

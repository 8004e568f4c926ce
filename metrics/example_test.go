package metrics_test

import (
	"os"
	"time"

	"github.com/serpstat-export/serpstat-export/metrics"
)

func ExampleRun_WriteText() {
	r := &metrics.Run{
		Method: "new-backlinks", Rows: 1500, Credits: 1500, Requests: 2,
		Duration: 3 * time.Second, Queries: map[string]int{"done": 1},
		LastSuccess: time.Unix(1796515200, 0),
	}
	_ = r.WriteText(os.Stdout)
	// Output:
	// # HELP serpstat_export_credits Credits the API billed the last run.
	// # TYPE serpstat_export_credits gauge
	// serpstat_export_credits{method="new-backlinks"} 1500
	// # HELP serpstat_export_duration_seconds How long the last run took, in seconds.
	// # TYPE serpstat_export_duration_seconds gauge
	// serpstat_export_duration_seconds{method="new-backlinks"} 3
	// # HELP serpstat_export_exit_code The exit code of the last run (0: every promise held).
	// # TYPE serpstat_export_exit_code gauge
	// serpstat_export_exit_code{method="new-backlinks"} 0
	// # HELP serpstat_export_last_success_timestamp_seconds When the last run that exited 0 ended, in seconds since the Unix epoch.
	// # TYPE serpstat_export_last_success_timestamp_seconds gauge
	// serpstat_export_last_success_timestamp_seconds{method="new-backlinks"} 1.7965152e+09
	// # HELP serpstat_export_queries The last run's queries, by status.
	// # TYPE serpstat_export_queries gauge
	// serpstat_export_queries{method="new-backlinks",status="done"} 1
	// # HELP serpstat_export_requests Requests the last run sent to the API, retries included.
	// # TYPE serpstat_export_requests gauge
	// serpstat_export_requests{method="new-backlinks"} 2
	// # HELP serpstat_export_retries Requests the last run sent again after a failure.
	// # TYPE serpstat_export_retries gauge
	// serpstat_export_retries{method="new-backlinks"} 0
	// # HELP serpstat_export_rows Rows the last run wrote to its outputs.
	// # TYPE serpstat_export_rows gauge
	// serpstat_export_rows{method="new-backlinks"} 1500
}

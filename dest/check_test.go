package dest

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestCheck(t *testing.T) {
	for _, tc := range []struct {
		target, err string
	}{
		{"out/links.csv", ""},
		{"file:///tmp/links.csv", ""},
		{"s3://lake/dt=2026-01-01/a.parquet", ""},
		{"s3://b/x.csv", ""},
		{"gs://my_bucket/x.csv", ""},
		{"azblob://container/x.csv", ""},
		{"s3://lake/x.csv?region=eu-west-1&endpoint=http://127.0.0.1:9000", ""},
		{"ftp://host/x.csv", `unsupported scheme "ftp"`},
		{"s3:///x.csv", "no bucket"},
		{"s3://lake/", "no object name"},
		{"s3://lake", "no object name"},
		{"out/../x.csv", `".." path element`},
		{"s3://my_bucket/x.csv", `bucket name "my_bucket" holds "_"`},
		{"azblob://my.container/x.csv", `container name "my.container" holds "."`},
		{"s3://-lake/x.csv", "must start and end with a letter or a digit"},
		{"s3://" + string(make([]byte, 0)) + "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/x", "longer than 63"},
		{"file://host/x.csv", "names no host"},
		{"-", "standard output"},
	} {
		t.Run(tc.target, func(t *testing.T) {
			err := Check(tc.target)
			if tc.err == "" {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			require.Contains(t, err.Error(), tc.err)
		})
	}
}

package dest

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestPlaceIsOneNameForEverySpellingOfAnObject(t *testing.T) {
	t.Setenv("AWS_ENDPOINT_URL", "")
	t.Setenv("AWS_ENDPOINT_URL_S3", "")
	t.Setenv("AZURE_STORAGE_ACCOUNT", "acct")
	t.Setenv("AZURE_STORAGE_DOMAIN", "")
	minio := S3Options{Endpoint: "http://127.0.0.1:9000", PathStyle: true}
	for _, tc := range []struct {
		name   string
		a, b   string
		oa, ob S3Options
		same   bool
	}{
		{"as given", "s3://lake/t5/out.csv", "s3://lake/t5/out.csv", S3Options{}, S3Options{}, true},
		{"scheme and bucket case", "S3://Lake/t5/out.csv", "s3://lake/t5/out.csv", S3Options{}, S3Options{}, true},
		{"a doubled slash is another key in S3", "s3://lake//t5/out.csv", "s3://lake/t5/out.csv", S3Options{}, S3Options{}, false},
		{"a percent-escape", "s3://lake/t%35/out.csv", "s3://lake/t5/out.csv", S3Options{}, S3Options{}, true},
		{"a password", "s3://user:secret@lake/t5/out.csv", "s3://lake/t5/out.csv", S3Options{}, S3Options{}, true},
		{"region and path style", "s3://lake/t5/out.csv?region=eu-west-1&use_path_style=true", "s3://lake/t5/out.csv", S3Options{Region: "us-east-1"}, S3Options{}, true},
		{"the endpoint by option or by URL", "s3://lake/t5/out.csv", "s3://lake/t5/out.csv?endpoint=http://127.0.0.1:9000/", minio, S3Options{}, true},
		{"the endpoint's case, scheme and default port", "s3://lake/x.csv", "s3://lake/x.csv", S3Options{Endpoint: "MinIO.internal"}, S3Options{Endpoint: "https://minio.internal:443"}, true},
		{"the URL's endpoint wins over the option", "s3://lake/x.csv?endpoint=http://a:9000", "s3://lake/x.csv", S3Options{Endpoint: "http://b:9000"}, S3Options{Endpoint: "http://a:9000"}, true},
		{"another key", "s3://lake/t5/out.csv", "s3://lake/t5/out2.csv", S3Options{}, S3Options{}, false},
		{"another bucket", "s3://lake/t5/out.csv", "s3://pond/t5/out.csv", S3Options{}, S3Options{}, false},
		{"another scheme", "s3://lake/t5/out.csv", "gs://lake/t5/out.csv", S3Options{}, S3Options{}, false},
		{"another endpoint", "s3://lake/t5/out.csv", "s3://lake/t5/out.csv", minio, S3Options{}, false},
		{"another endpoint's port", "s3://lake/x.csv", "s3://lake/x.csv", S3Options{Endpoint: "http://a:9000"}, S3Options{Endpoint: "http://a:9001"}, false},
		{"a key's case", "s3://lake/T5/out.csv", "s3://lake/t5/out.csv", S3Options{}, S3Options{}, false},
		{"the azure account from the environment or the URL", "azblob://c/x.csv", "azblob://c/x.csv?storage_account=ACCT", S3Options{}, S3Options{}, true},
		{"another azure account", "azblob://c/x.csv", "azblob://c/x.csv?storage_account=other", S3Options{}, S3Options{}, false},
		{"a part template", "s3://lake/p/part-{part}.csv", "s3://lake/p/part-{part}.csv", S3Options{}, S3Options{}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pa, ok, err := Place(tc.a, tc.oa)
			require.NoError(t, err)
			require.True(t, ok)
			pb, _, err := Place(tc.b, tc.ob)
			require.NoError(t, err)
			if tc.same {
				require.Equal(t, pa, pb)
			} else {
				require.NotEqual(t, pa, pb)
			}
			require.NotContains(t, pa, "secret")
		})
	}
}

func TestPlaceOfTheEnvironmentsEndpoint(t *testing.T) {
	t.Setenv("AWS_ENDPOINT_URL", "http://env:9000")
	t.Setenv("AWS_ENDPOINT_URL_S3", "")
	a, _, err := Place("s3://lake/x.csv", S3Options{})
	require.NoError(t, err)
	b, _, err := Place("s3://lake/x.csv", S3Options{Endpoint: "http://env:9000"})
	require.NoError(t, err)
	require.Equal(t, a, b)
	require.Equal(t, "s3://lake/x.csv endpoint=http://env:9000", a)
}

func TestPlaceOfALocalTargetIsNone(t *testing.T) {
	for _, target := range []string{"out.csv", "/tmp/out.csv", "file:///tmp/out.csv"} {
		_, ok, err := Place(target, S3Options{})
		require.NoError(t, err, target)
		require.False(t, ok, target)
	}
}

func TestPlaceDirIgnoresATrailingSlash(t *testing.T) {
	t.Setenv("AWS_ENDPOINT_URL", "")
	t.Setenv("AWS_ENDPOINT_URL_S3", "")
	a, err := PlaceDir("s3://Lake/state/nightly", S3Options{})
	require.NoError(t, err)
	b, err := PlaceDir("s3://lake/state/nightly/", S3Options{})
	require.NoError(t, err)
	require.Equal(t, "s3://lake/state/nightly/", a)
	require.Equal(t, a, b)
	c, err := PlaceDir("s3://lake/state/nightly2", S3Options{})
	require.NoError(t, err)
	require.NotEqual(t, a, c)
	root, err := PlaceDir("s3://lake", S3Options{})
	require.NoError(t, err)
	require.Equal(t, "s3://lake/", root)
}

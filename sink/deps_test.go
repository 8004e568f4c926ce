package sink_test

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// The format writers link no cloud SDK: where the bytes go is package
// dest's business.
func TestLinksNoCloudSDK(t *testing.T) {
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go is not on PATH")
	}
	out, err := exec.Command(gobin, "list", "-deps", ".").CombinedOutput()
	require.NoError(t, err, "%s", out)
	for _, dep := range strings.Fields(string(out)) {
		for _, sdk := range []string{"aws", "gocloud.dev", "cloud.google.com", "azure"} {
			require.NotContains(t, dep, sdk, "package sink depends on %s", dep)
		}
	}
}

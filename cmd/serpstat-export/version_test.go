package main

import (
	"bytes"
	"encoding/json"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestVersionWithoutLdflags: built without the Makefile's -ldflags (go
// build, go install, this test binary), version still fills every field:
// the Go toolchain's record where it has one, "dev" and "unknown" where
// nothing is known. TestVersion drives the binary built with them.
func TestVersionWithoutLdflags(t *testing.T) {
	require.Equal(t, "dev", version, "this test binary is built without -ldflags")
	var stdout, stderr bytes.Buffer
	require.Equal(t, exitOK, runVersion([]string{"--json"}, &stdout, &stderr), stderr.String())
	var v map[string]string
	require.NoError(t, json.Unmarshal(stdout.Bytes(), &v))
	for _, k := range []string{"version", "commit", "go_version", "build_date", "platform"} {
		assert.NotEmpty(t, v[k], k)
	}
	assert.Equal(t, runtime.Version(), v["go_version"])
	assert.Equal(t, runtime.GOOS+"/"+runtime.GOARCH, v["platform"])
	assert.Equal(t, currentBuild(), buildInfo{Version: v["version"], Commit: v["commit"], GoVersion: v["go_version"],
		BuildDate: v["build_date"], Platform: v["platform"]})

	stdout.Reset()
	require.Equal(t, exitOK, runVersion(nil, &stdout, &stderr), stderr.String())
	for _, w := range []string{"serpstat-export " + v["version"] + "\n", "commit:     " + v["commit"] + "\n", "go:         go1.",
		"build date: " + v["build_date"] + "\n"} {
		assert.Contains(t, stdout.String(), w)
	}
	assert.True(t, strings.HasPrefix(v["go_version"], "go1."))
}

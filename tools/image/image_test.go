package main

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// file is one file of an image's file system, flattened.
type file struct {
	hdr  tar.Header
	data []byte
}

// readTarball reads the image of a tarball as docker load would find it
// (its manifest.json), and its flattened file system.
func readTarball(t *testing.T, path string) (v1.Image, *v1.ConfigFile, map[string]file) {
	t.Helper()
	m, err := tarball.LoadManifest(func() (io.ReadCloser, error) { return os.Open(path) })
	require.NoError(t, err, "manifest.json, as docker load reads it")
	require.Len(t, m, 1, "one image")
	require.Len(t, m[0].RepoTags, 1, "tagged, so docker load names it")
	img, err := tarball.ImageFromPath(path, nil)
	require.NoError(t, err)
	cf, err := img.ConfigFile()
	require.NoError(t, err)
	layers, err := img.Layers()
	require.NoError(t, err)
	require.Len(t, layers, 1, "one layer on scratch")
	rc := mutate.Extract(img)
	defer rc.Close()
	files := map[string]file{}
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		require.NoError(t, err)
		data, err := io.ReadAll(tr)
		require.NoError(t, err)
		files["/"+strings.TrimSuffix(h.Name, "/")] = file{hdr: *h, data: data}
	}
	return img, cf, files
}

// checkImage checks what every image must hold: a non-root user with an
// entry in /etc/passwd, the binary as entrypoint, CA certificates, the
// labels, nothing else on scratch.
func checkImage(t *testing.T, cf *v1.ConfigFile, files map[string]file, version, arch string) {
	t.Helper()
	assert.Equal(t, "linux", cf.OS)
	assert.Equal(t, arch, cf.Architecture)
	c := cf.Config
	assert.Equal(t, []string{Entrypoint}, c.Entrypoint)
	assert.Empty(t, c.Cmd, "the arguments are the container's")

	require.NotEmpty(t, c.User, "a user is set: the default is root")
	uid, gid, ok := strings.Cut(c.User, ":")
	require.True(t, ok, "user and group, numeric: %q", c.User)
	u, err := strconv.Atoi(uid)
	require.NoError(t, err, "a numeric user: Kubernetes' runAsNonRoot checks only numbers")
	assert.NotZero(t, u, "not root")
	g, err := strconv.Atoi(gid)
	require.NoError(t, err)
	assert.NotZero(t, g)
	pw := string(files["/etc/passwd"].data)
	assert.Contains(t, pw, ":x:"+uid+":"+gid+":", "the user has a passwd entry")
	assert.Contains(t, string(files["/etc/group"].data), ":x:"+gid+":")

	bin, ok := files[Entrypoint]
	require.True(t, ok, "the binary at the entrypoint")
	assert.Equal(t, int64(0o755), bin.hdr.Mode&0o777)
	require.NoError(t, checkELF(bin.data, arch))

	ca := files[CAPath]
	assert.Greater(t, bytes.Count(ca.data, []byte("-----BEGIN CERTIFICATE-----")), 0, "CA certificates at %s", CAPath)
	assert.Contains(t, c.Env, "SSL_CERT_FILE="+CAPath)

	home := files[Home]
	assert.Equal(t, byte(tar.TypeDir), home.hdr.Typeflag)
	assert.Equal(t, u, home.hdr.Uid, "the working directory is the user's")
	assert.Equal(t, Home, c.WorkingDir)
	assert.Equal(t, int64(0o1777), files["/tmp"].hdr.Mode&0o7777, "a /tmp anyone can write, sticky")

	var names []string
	for n := range files {
		names = append(names, n)
	}
	assert.ElementsMatch(t, []string{"/etc", "/etc/group", "/etc/passwd", "/etc/ssl", "/etc/ssl/certs", CAPath,
		"/home", Home, Entrypoint, "/tmp"}, names, "scratch: nothing but these")

	l := c.Labels
	assert.Equal(t, "serpstat-export", l["org.opencontainers.image.title"])
	assert.Equal(t, version, l["org.opencontainers.image.version"])
	assert.Equal(t, Source, l["org.opencontainers.image.source"])
	created, err := time.Parse(time.RFC3339, l["org.opencontainers.image.created"])
	require.NoError(t, err)
	assert.True(t, created.Equal(cf.Created.Time), "label created %s, config %s", created, cf.Created.Time)
}

// thisBinary is a Linux binary of this machine's arch: the test binary.
func thisBinary(t *testing.T) string {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("needs a Linux binary: this test binary is " + runtime.GOOS)
	}
	exe, err := os.Executable()
	require.NoError(t, err)
	return exe
}

func testCA(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "ca.crt")
	require.NoError(t, os.WriteFile(p, []byte("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"), 0o644))
	return p
}

// TestBuildWritesAnImageDockerLoadReads: WriteFile's tarball holds one
// image, tagged, with the config and files checkImage asks, and the
// same inputs give the same bytes.
func TestBuildWritesAnImageDockerLoadReads(t *testing.T) {
	s := Spec{Binary: thisBinary(t), Arch: runtime.GOARCH, CA: testCA(t), Version: "v1.2.3-4-gabc+dirty",
		Revision: "0123abcd", Created: time.Date(2026, 12, 5, 21, 0, 0, 0, time.UTC)}
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.tar"), filepath.Join(dir, "b.tar")
	require.NoError(t, WriteFile(a, s))
	require.NoError(t, WriteFile(b, s))
	ab, err := os.ReadFile(a)
	require.NoError(t, err)
	bb, err := os.ReadFile(b)
	require.NoError(t, err)
	assert.True(t, bytes.Equal(ab, bb), "reproducible: the same inputs, the same tarball")

	m, err := tarball.LoadManifest(func() (io.ReadCloser, error) { return os.Open(a) })
	require.NoError(t, err)
	assert.Equal(t, []string{"serpstat-export:v1.2.3-4-gabc-dirty"}, m[0].RepoTags, "a tag docker takes")
	_, cf, files := readTarball(t, a)
	checkImage(t, cf, files, s.Version, runtime.GOARCH)
	assert.Equal(t, "0123abcd", cf.Config.Labels["org.opencontainers.image.revision"])
	assert.True(t, files[Entrypoint].hdr.ModTime.Equal(s.Created), "file times are the build date")
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Len(t, entries, 2, "no temporary file left")
}

// TestBuildRefusesWhatWouldFailOnlyWhenRun: a binary that is not Linux
// ELF for the arch, an arch we do not build, a CA bundle missing or
// without a certificate.
func TestBuildRefusesWhatWouldFailOnlyWhenRun(t *testing.T) {
	exe := thisBinary(t)
	other := map[string]string{"amd64": "arm64", "arm64": "amd64"}[runtime.GOARCH]
	script := filepath.Join(t.TempDir(), "script")
	require.NoError(t, os.WriteFile(script, []byte("#!/bin/sh\necho hi\n"), 0o755))
	empty := filepath.Join(t.TempDir(), "empty.crt")
	require.NoError(t, os.WriteFile(empty, nil, 0o644))
	ca := testCA(t)
	tests := []struct {
		name string
		s    Spec
		want string
	}{
		{"a script", Spec{Binary: script, Arch: runtime.GOARCH, CA: ca}, "not a Linux (ELF) executable"},
		{"another arch", Spec{Binary: exe, Arch: other, CA: ca}, "GOARCH=" + other},
		{"an arch we do not build", Spec{Binary: exe, Arch: "386", CA: ca}, `arch "386"`},
		{"no binary", Spec{Binary: filepath.Join(t.TempDir(), "none"), Arch: runtime.GOARCH, CA: ca}, "binary:"},
		{"no CA bundle", Spec{Binary: exe, Arch: runtime.GOARCH, CA: filepath.Join(t.TempDir(), "none")}, "-ca PATH"},
		{"an empty CA bundle", Spec{Binary: exe, Arch: runtime.GOARCH, CA: empty}, "no PEM certificate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if other == "" && tt.name == "another arch" {
				t.Skip("no other arch for " + runtime.GOARCH)
			}
			out := filepath.Join(t.TempDir(), "image.tar")
			err := WriteFile(out, tt.s)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
			assert.NoFileExists(t, out)
		})
	}
}

// TestImageTarball checks the tarball `make image` wrote
// (SERPSTAT_IMAGE_TAR; `make test-image` sets it and fails when this
// test skips): its config, its files, and the binary it holds, run with
// `version`, prints the version it was built with
// (SERPSTAT_IMAGE_VERSION).
func TestImageTarball(t *testing.T) {
	path := os.Getenv("SERPSTAT_IMAGE_TAR")
	if path == "" {
		t.Skip("SERPSTAT_IMAGE_TAR is not set: make image test-image sets it")
	}
	version := os.Getenv("SERPSTAT_IMAGE_VERSION")
	require.NotEmpty(t, version, "SERPSTAT_IMAGE_VERSION: the version make image built")
	_, cf, files := readTarball(t, path)
	checkImage(t, cf, files, version, cf.Architecture)
	if cf.Architecture != runtime.GOARCH || runtime.GOOS != "linux" {
		t.Logf("the binary is linux/%s; this machine (%s/%s) cannot run it: checked, not run", cf.Architecture, runtime.GOOS, runtime.GOARCH)
		return
	}
	bin := filepath.Join(t.TempDir(), "serpstat-export")
	require.NoError(t, os.WriteFile(bin, files[Entrypoint].data, 0o755))
	// As the container runs it: its entrypoint, its env, nothing of ours.
	cmd := exec.Command(bin, "version", "--json")
	cmd.Env = cf.Config.Env
	cmd.Dir = t.TempDir()
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
	var v map[string]any
	require.NoError(t, json.Unmarshal(out, &v), "%s", out)
	assert.Equal(t, version, v["version"], "%s", out)
	assert.Equal(t, cf.Config.Labels["org.opencontainers.image.revision"], v["commit"], "%s", out)
	t.Logf("the image's binary: %s", bytes.TrimSpace(out))
	cmd = exec.Command(bin, "version")
	cmd.Env = cf.Config.Env
	out, err = cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
	assert.Contains(t, string(out), version)
}

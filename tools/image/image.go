package main

import (
	"archive/tar"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// Where things are in the image, and its defaults.
const (
	// Entrypoint is the binary's path in the image.
	Entrypoint = "/serpstat-export"
	// CAPath is where the CA bundle goes: the first place Go's crypto/x509
	// looks on Linux, and SSL_CERT_FILE.
	CAPath = "/etc/ssl/certs/ca-certificates.crt"
	// DefaultCA is the build machine's bundle (Debian's and Ubuntu's
	// ca-certificates; Alpine's too).
	DefaultCA = "/etc/ssl/certs/ca-certificates.crt"
	// User is the image's user and group: nonroot, as distroless names
	// 65532.
	User = "65532:65532"
	// Home is nonroot's home and the working directory.
	Home = "/home/nonroot"
	// DefaultRepository is the name the tarball tags the image with.
	DefaultRepository = "serpstat-export"
	// Source is label org.opencontainers.image.source.
	Source = "https://github.com/serpstat-export/serpstat-export"
)

// passwd and group hold root and nonroot only: a user name for
// 65532, which some tools look up, and nothing to log in with.
const (
	passwd = "root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:" + Home + ":/sbin/nologin\n"
	group  = "root:x:0:\nnonroot:x:65532:\n"
)

// Spec is what an image is made of.
type Spec struct {
	Binary     string    // path of the linux binary
	Arch       string    // its GOARCH: amd64, arm64
	CA         string    // path of the CA bundle (PEM)
	Version    string    // label and tag; "" means dev
	Revision   string    // the git commit, label only; may be ""
	Created    time.Time // the config's created and every file's time
	Repository string    // the tag's repository; "" means DefaultRepository
}

// tag is the image's tag: the version, with the characters a tag does
// not take replaced ("v1.2.3-4-gabc+dirty" → "v1.2.3-4-gabc-dirty").
func (s Spec) tag() string {
	v := s.Version
	if v == "" {
		v = "dev"
	}
	t := []byte(v)
	for i, c := range t {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-'
		if !ok || i == 0 && (c == '.' || c == '-') {
			t[i] = '-'
		}
	}
	if len(t) > 128 {
		t = t[:128]
	}
	return string(t)
}

// Labels are the image's labels (OCI annotations' names).
func (s Spec) Labels() map[string]string {
	l := map[string]string{
		"org.opencontainers.image.title":       "serpstat-export",
		"org.opencontainers.image.description": "Exports Serpstat API data to CSV, NDJSON and Parquet, locally or to object storage",
		"org.opencontainers.image.version":     s.version(),
		"org.opencontainers.image.created":     s.Created.UTC().Format(time.RFC3339),
		"org.opencontainers.image.source":      Source,
	}
	if s.Revision != "" {
		l["org.opencontainers.image.revision"] = s.Revision
	}
	return l
}

func (s Spec) version() string {
	if s.Version == "" {
		return "dev"
	}
	return s.Version
}

// Build makes the image of s.
func Build(s Spec) (v1.Image, error) {
	switch s.Arch {
	case "amd64", "arm64":
	default:
		return nil, fmt.Errorf("arch %q: want amd64 or arm64", s.Arch)
	}
	bin, err := os.ReadFile(s.Binary)
	if err != nil {
		return nil, fmt.Errorf("binary: %w", err)
	}
	if err := checkELF(bin, s.Arch); err != nil {
		return nil, fmt.Errorf("binary %s: %w", s.Binary, err)
	}
	ca, err := os.ReadFile(s.CA)
	if err != nil {
		return nil, fmt.Errorf("CA bundle: %w (install ca-certificates, or give -ca PATH)", err)
	}
	if !bytes.Contains(ca, []byte("-----BEGIN CERTIFICATE-----")) {
		return nil, fmt.Errorf("CA bundle %s: no PEM certificate in it", s.CA)
	}
	layer, err := fsLayer(s.Created, bin, ca)
	if err != nil {
		return nil, err
	}
	img, err := mutate.Append(empty.Image, mutate.Addendum{
		Layer: layer,
		History: v1.History{
			Created:   v1.Time{Time: s.Created},
			CreatedBy: "serpstat-export tools/image: the binary, CA certificates, passwd",
			Comment:   "built without a container daemon (go-containerregistry)",
		},
	})
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", s.Arch
	cf.Created = v1.Time{Time: s.Created}
	cf.Author = ""
	cf.Config = v1.Config{
		Entrypoint: []string{Entrypoint},
		User:       User,
		WorkingDir: Home,
		Env: []string{
			"PATH=/",
			"HOME=" + Home,
			"SSL_CERT_FILE=" + CAPath,
		},
		Labels: s.Labels(),
	}
	return mutate.ConfigFile(img, cf)
}

// fsLayer is the image's one layer: a tar of its files, every time
// modified.
func fsLayer(modified time.Time, bin, ca []byte) (v1.Layer, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	dir := func(name string, mode int64, uid int) error {
		return tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: name + "/", Mode: mode,
			Uid: uid, Gid: uid, ModTime: modified, Format: tar.FormatPAX})
	}
	file := func(name string, mode int64, data []byte) error {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: mode,
			Size: int64(len(data)), ModTime: modified, Format: tar.FormatPAX}); err != nil {
			return err
		}
		_, err := tw.Write(data)
		return err
	}
	steps := []func() error{
		func() error { return dir("etc", 0o755, 0) },
		func() error { return file("etc/group", 0o644, []byte(group)) },
		func() error { return file("etc/passwd", 0o644, []byte(passwd)) },
		func() error { return dir("etc/ssl", 0o755, 0) },
		func() error { return dir("etc/ssl/certs", 0o755, 0) },
		func() error { return file(strings.TrimPrefix(CAPath, "/"), 0o644, ca) },
		func() error { return dir("home", 0o755, 0) },
		func() error { return dir(strings.TrimPrefix(Home, "/"), 0o700, 65532) },
		func() error { return file(strings.TrimPrefix(Entrypoint, "/"), 0o755, bin) },
		func() error { return dir("tmp", 0o1777, 0) },
		tw.Close,
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return nil, fmt.Errorf("layer: %w", err)
		}
	}
	data := buf.Bytes()
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(data)), nil
	})
}

// checkELF refuses a binary that is not a Linux executable for arch: a
// darwin binary, or amd64 in an arm64 image, would fail only when run.
func checkELF(b []byte, arch string) error {
	if len(b) < 20 || !bytes.HasPrefix(b, []byte("\x7fELF")) {
		return errors.New("not a Linux (ELF) executable: build it with GOOS=linux")
	}
	machine := uint16(b[18]) | uint16(b[19])<<8 // little-endian e_machine
	want := map[string]uint16{"amd64": 62, "arm64": 183}[arch]
	if machine != want {
		return fmt.Errorf("built for ELF machine %d, not %s (%d): build it with GOARCH=%s", machine, arch, want, arch)
	}
	return nil
}

// WriteFile writes the image of s to path as a tarball tagged
// REPOSITORY:TAG (one tag: with two, the order of manifest.json's
// RepoTags would vary from run to run), atomically: a temporary file in
// the same directory, renamed.
func WriteFile(path string, s Spec) error {
	img, err := Build(s)
	if err != nil {
		return err
	}
	repo := s.Repository
	if repo == "" {
		repo = DefaultRepository
	}
	tag, err := name.NewTag(repo + ":" + s.tag())
	if err != nil {
		return fmt.Errorf("tag %s:%s: %w", repo, s.tag(), err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".image-*.tar")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if err := tarball.Write(tag, img, f); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Chmod(f.Name(), 0o644); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}

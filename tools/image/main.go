// Command image writes the container image of serpstat-export as a
// tarball, without a container daemon: `make image` runs it. It uses
// github.com/google/go-containerregistry, kept in this module (its own
// go.mod, like sink/parquetcheck) so that the main module does not link
// it.
//
// The image is one layer on an empty base (scratch):
//
//	/serpstat-export                     the binary, mode 0755: the entrypoint
//	/etc/ssl/certs/ca-certificates.crt   the build machine's CA bundle (-ca)
//	/etc/passwd, /etc/group              root and nonroot (65532), nothing else
//	/home/nonroot                        the working directory, owned by nonroot
//	/tmp                                 mode 1777, for the spools of --out -
//
// Its config runs the binary as User 65532:65532 (no root), HOME
// /home/nonroot, SSL_CERT_FILE the bundle, with the
// org.opencontainers.image labels (title, version, revision, created,
// source). Every file's time is the build date, so the same binary, bundle
// and flags give the same image, byte for byte.
//
// The tarball is the format `docker save` writes (manifest.json, the
// config and the gzipped layer): `docker load`, `podman load` and
// go-containerregistry's tarball reader (crane push IMAGE.tar REF) read
// it.
//
// Usage:
//
//	go run . -binary ../../out/image/linux-amd64/serpstat-export -arch amd64 \
//	    -version v1.2.3 -revision abc123 -created 2026-12-05T21:00:00Z \
//	    -o ../../out/serpstat-export-image.tar
package main

import (
	"flag"
	"fmt"
	"os"
	"time"
)

func main() {
	var s Spec
	var created, out string
	flag.StringVar(&s.Binary, "binary", "", "the serpstat-export binary to put in the image (built for linux and -arch)")
	flag.StringVar(&s.Arch, "arch", "amd64", "the binary's GOARCH: amd64 or arm64")
	flag.StringVar(&s.CA, "ca", DefaultCA, "the CA certificates bundle (PEM) to put at "+CAPath)
	flag.StringVar(&s.Version, "version", "dev", "the version: label org.opencontainers.image.version and the tag")
	flag.StringVar(&s.Revision, "revision", "", "the git commit: label org.opencontainers.image.revision")
	flag.StringVar(&created, "created", "", "the build date, RFC 3339 (default: now): the config's created and every file's time")
	flag.StringVar(&s.Repository, "repository", DefaultRepository, "the image's name: the tarball tags it REPOSITORY:VERSION")
	flag.StringVar(&out, "o", "serpstat-export-image.tar", "the tarball to write")
	flag.Parse()
	if s.Binary == "" || flag.NArg() > 0 {
		fmt.Fprintln(os.Stderr, "image: -binary PATH is required, and no arguments; see -h")
		os.Exit(2)
	}
	s.Created = time.Now().UTC()
	if created != "" {
		t, err := time.Parse(time.RFC3339, created)
		if err != nil {
			fmt.Fprintf(os.Stderr, "image: -created: %v (want RFC 3339, e.g. 2026-12-05T21:00:00Z)\n", err)
			os.Exit(2)
		}
		s.Created = t.UTC()
	}
	if err := WriteFile(out, s); err != nil {
		fmt.Fprintf(os.Stderr, "image: %v\n", err)
		os.Exit(1)
	}
	fi, err := os.Stat(out)
	if err != nil {
		fmt.Fprintf(os.Stderr, "image: %v\n", err)
		os.Exit(1)
	}
	fmt.Printf("%s: %s:%s (linux/%s), %.1f MB\n", out, s.Repository, s.tag(), s.Arch, float64(fi.Size())/1e6)
}

package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
)

const versionHelp = `Usage: serpstat-export version [--json]

Prints the version, the commit it was built from, the Go version and the
build date.

Flags:
`

// buildInfo is what `version` prints; its JSON form is a contract.
type buildInfo struct {
	Version   string `json:"version"`
	Commit    string `json:"commit"`
	GoVersion string `json:"go_version"`
	BuildDate string `json:"build_date"`
	Platform  string `json:"platform"`
}

// currentBuild is the -ldflags values, completed from what the Go
// toolchain recorded (the module version, vcs.revision, vcs.time).
func currentBuild() buildInfo {
	b := buildInfo{Version: version, Commit: commit, GoVersion: runtime.Version(), BuildDate: buildDate,
		Platform: runtime.GOOS + "/" + runtime.GOARCH}
	if info, ok := debug.ReadBuildInfo(); ok {
		if b.Version == "dev" && info.Main.Version != "" && info.Main.Version != "(devel)" {
			b.Version = info.Main.Version
		}
		modified := false
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision":
				if b.Commit == "" {
					b.Commit = s.Value
				}
			case "vcs.time":
				if b.BuildDate == "" {
					b.BuildDate = s.Value
				}
			case "vcs.modified":
				modified = s.Value == "true"
			}
		}
		if modified && b.Commit != "" && b.Commit == revisionOf(info) {
			b.Commit += "-dirty"
		}
	}
	if b.Commit == "" {
		b.Commit = "unknown"
	}
	if b.BuildDate == "" {
		b.BuildDate = "unknown"
	}
	return b
}

func revisionOf(info *debug.BuildInfo) string {
	for _, s := range info.Settings {
		if s.Key == "vcs.revision" {
			return s.Value
		}
	}
	return ""
}

func runVersion(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("version", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "print one JSON object, for scripts")
	if code, done := parseArgs(fs, args, versionHelp, stdout, stderr); done {
		return code
	}
	b := currentBuild()
	if *asJSON {
		if err := json.NewEncoder(stdout).Encode(b); err != nil {
			return exitFailure
		}
		return exitOK
	}
	fmt.Fprintf(stdout, "serpstat-export %s\n  commit:     %s\n  go:         %s (%s)\n  build date: %s\n", b.Version, b.Commit, b.GoVersion, b.Platform, b.BuildDate)
	return exitOK
}

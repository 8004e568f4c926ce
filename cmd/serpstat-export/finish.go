package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"regexp"

	"github.com/serpstat-export/serpstat-export/dest"
	"github.com/serpstat-export/serpstat-export/exporter"
	"github.com/serpstat-export/serpstat-export/lake"
)

// statusOf is the summary's status of an exit code.
var statusOf = map[int]string{
	exitOK: "done", exitFailure: "failed", exitUsage: "usage", exitBudget: "stopped",
	exitRefused: "refused", exitCanceled: "interrupted", exitBrokenPipe: "interrupted",
}

var reGoType = regexp.MustCompile(`json: cannot unmarshal (\w+) into Go (?:struct field \S+ of type|value of type) \S+`)

// plainMessage keeps Go's type names (from encoding/json) out of what a
// person reads.
func plainMessage(s string) string {
	return reGoType.ReplaceAllString(s, "found a JSON $1 where it does not belong")
}

// finish shows the end of a run: the report and the error with what to do
// next, as text, or as one JSON log line; and writes --summary-json.
func (u *ui) finish(s settings, sum *lake.Summary, res *lake.Result, err error) {
	var report, msg bytes.Buffer
	sum.WriteText(&report)
	printError(&msg, sum.Command, s, res.Report(), err, sum.ExitCode)
	plain := plainMessage(msg.String())
	msg.Reset()
	msg.WriteString(plain)
	sum.Error = plainMessage(sum.Error)
	switch {
	case sum.Spool != "" && (errors.Is(err, exporter.ErrRowsInDoubt) || errors.Is(err, exporter.ErrUnproven)):
		fmt.Fprintf(&msg, "  every page paid for is kept in %s: the same command run again pays only for what is still unproven, and proves it or stops without buying it again (--restart starts over)\n", sum.Spool)
	case sum.Spool != "":
		fmt.Fprintf(&msg, "  every page paid for is kept in %s: run the same command again to resume without paying for them again (--restart starts over)\n", sum.Spool)
	}
	switch {
	case u.json:
		level := slog.LevelInfo
		if err != nil {
			level = slog.LevelError
		}
		if sum.ExitCode == exitCanceled || sum.ExitCode == exitBrokenPipe {
			level = slog.LevelWarn // an operator's or a reader's stop, not a failure
		}
		u.log.Log(context.Background(), level, "summary", "summary", sum, "message", msg.String())
	case u.quiet:
		_, _ = u.stderr.Write(msg.Bytes())
	default:
		_, _ = u.stderr.Write(report.Bytes())
		_, _ = u.stderr.Write(msg.Bytes())
	}
	if s.SummaryJSON != "" {
		data, jerr := json.MarshalIndent(sum, "", "  ")
		if jerr == nil {
			jerr = dest.WriteAll(context.Background(), s.SummaryJSON, append(data, '\n'), s.s3())
		}
		if jerr != nil {
			u.log.Error("could not write --summary-json", "path", s.SummaryJSON, "error", jerr)
		}
	}
}

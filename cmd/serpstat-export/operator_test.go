package main_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/serpstat-export/serpstat-export/serpstat/serpstattest"
)

// shellQuote quotes s for sh.
func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

func TestProgressBarOnATerminalOnly(t *testing.T) {
	if _, err := exec.LookPath("script"); err != nil {
		t.Skip("needs script(1) from util-linux for a pseudo-terminal")
	}
	srv := serpstattest.NewServer(serpstattest.Options{Rows: 20000, Latency: 40 * time.Millisecond})
	defer srv.Close()
	dir := t.TempDir()
	args := exportArgs(srv, "tty.example", "--workers", "2", "--out", filepath.Join(dir, "a.csv"))
	var cmdline []string
	for _, a := range append([]string{binary}, args...) {
		cmdline = append(cmdline, shellQuote(a))
	}
	// In a pseudo-terminal: a live bar, redrawn with control sequences.
	cmd := exec.Command("script", "-qefc", "stty cols 150 rows 40; "+strings.Join(cmdline, " "), "/dev/null")
	cmd.Env = append(os.Environ(), "SERPSTAT_TOKEN="+serpstattest.DefaultToken, "TERM=xterm")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
	assert.Contains(t, string(out), "rows ")
	assert.Contains(t, string(out), "credits")
	assert.Contains(t, string(out), "20000 / 20000")
	assert.True(t, bytes.ContainsAny(out, "\x1b\r"), "the bar is redrawn in place")

	// Piped: no control characters at all.
	res := runCLI(t, serpstattest.DefaultToken, exportArgs(srv, "tty.example", "--workers", "2", "--progress-interval", "100ms", "--out", filepath.Join(dir, "b.csv"))...)
	require.Equal(t, 0, res.code, res.stderr)
	assert.False(t, strings.ContainsAny(res.stderr, "\x1b\r"), "no control characters when piped")
	assert.Contains(t, res.stderr, "msg=progress", "a log line every --progress-interval instead")
}

func TestJSONLogsAreOneObjectPerLine(t *testing.T) {
	srv := serpstattest.NewServer(serpstattest.Options{Rows: 3000})
	defer srv.Close()
	dir := t.TempDir()
	sumPath := filepath.Join(dir, "summary.json")
	for _, tc := range []struct {
		name string
		args []string
		code int
	}{
		{"done", []string{"--out", filepath.Join(dir, "a.ndjson"), "--summary-json", sumPath, "--progress-interval", "10ms"}, 0},
		{"budget stop", []string{"--out", filepath.Join(dir, "b.ndjson"), "--budget", "10"}, 3},
		{"bad input", []string{"--out", filepath.Join(dir, "c.ndjson"), "--size", "5000"}, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := runCLI(t, serpstattest.DefaultToken, exportArgs(srv, "json.example", append(tc.args, "--log-format", "json")...)...)
			require.Equal(t, tc.code, res.code, res.stderr)
			lines := 0
			runs := map[string]bool{}
			sc := bufio.NewScanner(strings.NewReader(res.stderr))
			for sc.Scan() {
				var obj map[string]any
				require.NoError(t, json.Unmarshal(sc.Bytes(), &obj), "line %q", sc.Text())
				runs[obj["run"].(string)] = true
				lines++
			}
			assert.Greater(t, lines, 0)
			assert.Len(t, runs, 1, "every line carries the one run id")
			assert.Contains(t, res.stderr, `"msg":"summary"`)
		})
	}
	var sum map[string]any
	data, err := os.ReadFile(sumPath)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(data, &sum))
	assert.Equal(t, "done", sum["status"])
	assert.EqualValues(t, 0, sum["exit_code"])
	assert.EqualValues(t, 3000, sum["rows"])
	assert.EqualValues(t, 3000, sum["credits_billed"])
	assert.Len(t, sum["outputs"], 1)
}

func TestQuietPrintsOnlyErrors(t *testing.T) {
	srv := serpstattest.NewServer(serpstattest.Options{Rows: 3000})
	defer srv.Close()
	dir := t.TempDir()
	res := runCLI(t, serpstattest.DefaultToken, exportArgs(srv, "quiet.example", "-q", "--out", filepath.Join(dir, "a.csv"))...)
	require.Equal(t, 0, res.code, res.stderr)
	assert.Empty(t, res.stderr)
	res = runCLI(t, serpstattest.DefaultToken, exportArgs(srv, "quiet.example", "-q", "--budget", "5", "--out", filepath.Join(dir, "b.csv"))...)
	require.Equal(t, 3, res.code)
	assert.Contains(t, res.stderr, "stopped by the budget")
}

// TestTokenNeverLeaks runs every error path with a recognisable token and
// greps every stream and every file the runs left for it.
func TestTokenNeverLeaks(t *testing.T) {
	const token = "SECRET-tok-7f3a9c-do-not-print"
	srv := serpstattest.NewServer(serpstattest.Options{Rows: 2500, Token: token, Fault: func(fi serpstattest.FaultInfo) serpstattest.Fault {
		if fi.Seq%4 == 2 {
			return serpstattest.Fault{Kind: serpstattest.FaultHTTPStatus, Status: 502}
		}
		return serpstattest.Fault{}
	}})
	defer srv.Close()
	slow := serpstattest.NewServer(serpstattest.Options{Rows: 2500, Token: token, Latency: 300 * time.Millisecond})
	defer slow.Close()
	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "token")
	require.NoError(t, os.WriteFile(tokenFile, []byte(token+"\n"), 0o644))
	out := func(name string) []string {
		return []string{"--out", filepath.Join(dir, name+".csv"), "--out", filepath.Join(dir, name+".parquet"), "--summary-json", filepath.Join(dir, name+".summary.json")}
	}
	var streams []string
	for _, tc := range []struct {
		name, token string
		args        []string
	}{
		{"bad token", "wrong-" + token, exportArgs(srv, "leak.example", out("bad")...)},
		{"bad token in query", "wrong-" + token, exportArgs(srv, "leak.example", append(out("badq"), "--token-in-query")...)},
		{"502s", token, exportArgs(srv, "leak.example", append(out("faults"), "--token-in-query", "--log-level", "debug")...)},
		{"timeouts", token, exportArgs(slow, "leak.example", append(out("timeout"), "--timeout", "50ms", "--retries", "2", "--token-in-query", "--log-level", "debug")...)},
		{"budget stop", token, exportArgs(srv, "leak.example", append(out("budget"), "--budget", "1500", "--token-in-query")...)},
		{"json logs", token, exportArgs(srv, "leak.example", append(out("json"), "--log-format", "json", "--token-in-query", "--log-level", "debug")...)},
		{"token file", "", exportArgs(srv, "leak.example", append(out("file"), "--token-file", tokenFile, "--log-level", "debug")...)},
		{"token flag", "", exportArgs(srv, "leak.example", append(out("flag"), "--token", token, "--token-in-query")...)},
		{"estimate", token, []string{"estimate", "--endpoint", srv.URL, "--rps", "1000", "--query", "leak.example", "--token-in-query", "--json"}},
	} {
		res := runCLI(t, tc.token, tc.args...)
		t.Logf("%s: exit %d", tc.name, res.code)
		streams = append(streams, res.stdout, res.stderr)
		switch tc.name {
		case "token file":
			assert.Contains(t, res.stderr, "can be read by other users")
		case "token flag":
			assert.Contains(t, res.stderr, "process list")
		}
	}
	for i, s := range streams {
		assert.NotContains(t, s, token, "stream %d", i)
		assert.NotContains(t, s, "SECRET-tok", "stream %d", i)
	}
	files := 0
	require.NoError(t, filepath.Walk(dir, func(path string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() || path == tokenFile {
			return err
		}
		data, err := os.ReadFile(path)
		require.NoError(t, err)
		files++
		assert.False(t, bytes.Contains(data, []byte("SECRET-tok")), "the token is in %s", path)
		return nil
	}))
	assert.Greater(t, files, 5, "the runs left outputs, summaries and spools to check")
}

func TestPlainHTTPToAnotherHostIsRefused(t *testing.T) {
	dir := t.TempDir()
	res := runCLI(t, serpstattest.DefaultToken, "export", "--endpoint", "http://api.example.org/v4", "--query", "example.com", "--out", filepath.Join(dir, "a.csv"))
	require.Equal(t, 2, res.code, res.stderr)
	assert.Contains(t, res.stderr, "clear text")
	assert.Contains(t, res.stderr, "--insecure")
}

func TestCompletionAndHelp(t *testing.T) {
	res := runCLI(t, "", "completion", "bash")
	require.Equal(t, 0, res.code, res.stderr)
	for _, f := range []string{"--query", "--out", "--budget", "--max-rows", "--csv-raw", "--log-format", "export", "estimate"} {
		assert.Contains(t, res.stdout, f)
	}
	if bash, err := exec.LookPath("bash"); err == nil {
		check := exec.Command(bash, "-n")
		check.Stdin = strings.NewReader(res.stdout)
		out, err := check.CombinedOutput()
		require.NoError(t, err, "bash -n: %s", out)
	}
	res = runCLI(t, "", "completion", "zsh")
	require.Equal(t, 0, res.code, res.stderr)
	assert.Contains(t, res.stdout, "#compdef serpstat-export")
	assert.Contains(t, res.stdout, "'--query[")
	res = runCLI(t, "", "completion", "fish")
	require.Equal(t, 2, res.code)

	res = runCLI(t, "", "--help")
	require.Equal(t, 0, res.code)
	for _, ex := range []string{"--out backlinks.parquet", "competitor.csv", "--summary-json", "estimate --query"} {
		assert.Contains(t, res.stdout, ex)
	}
	res = runCLI(t, "", "export", "-h")
	require.Equal(t, 0, res.code)
	assert.Contains(t, res.stdout, "Examples:", "help goes to stdout")
	res = runCLI(t, "", "version")
	require.Equal(t, 0, res.code)
	assert.Contains(t, res.stdout, "serpstat-export ")
}

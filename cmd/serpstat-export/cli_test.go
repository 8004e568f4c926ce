package main_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/serpstat-export/serpstat-export/serpstat/serpstattest"
)

// runCLIEnv runs the binary with args and env added to the environment.
func runCLIEnv(t *testing.T, env []string, args ...string) result {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Env = append(os.Environ(), env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else {
		require.NoError(t, err)
	}
	return result{code: code, stdout: out.String(), stderr: errb.String()}
}

// goTypeName matches what a Go type name looks like in a message.
var goTypeName = regexp.MustCompile(`main\.\w|interface \{\}|map\[|\[\]\w|json\.RawMessage|Go value`)

func TestMistypedFlagIsOneLineWithASuggestion(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"export", "--budjet", "5"}, "unknown flag --budjet (did you mean --budget?)"},
		{[]string{"export", "-max_rows", "5"}, "did you mean --max-rows?"},
		{[]string{"estimate", "--qeury", "a.example"}, "serpstat-export estimate: unknown flag --qeury (did you mean --query?)"},
		{[]string{"fake-api", "--rowz", "5"}, "did you mean --rows?"},
		{[]string{"export", "--rps", "fast"}, `--rps: invalid value "fast": want a number`},
		{[]string{"export", "--out"}, "--out needs a value"},
		{[]string{"exprot"}, `unknown command "exprot" (did you mean export?)`},
	} {
		res := runCLI(t, "", tc.args...)
		require.Equal(t, 2, res.code, "%v: %s", tc.args, res.stderr)
		assert.Equal(t, 1, strings.Count(res.stderr, "\n"), "%v: one line, not the whole help: %q", tc.args, res.stderr)
		assert.Contains(t, res.stderr, tc.want, tc.args)
		assert.Empty(t, res.stdout)
	}
}

func TestMistypedConfigKeyNamesItsLine(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "nightly.yaml")
	require.NoError(t, os.WriteFile(cfg, []byte("query: a.example\nout: x.csv\n\nbudjet: 5\n"), 0o600))
	for _, cmd := range []string{"export", "estimate"} {
		res := runCLI(t, serpstattest.DefaultToken, cmd, "--config", cfg)
		require.Equal(t, 2, res.code, res.stderr)
		first, _, _ := strings.Cut(res.stderr, "\n")
		assert.Equal(t, "serpstat-export "+cmd+": --config "+cfg+": line 4: unknown key budjet (did you mean budget?)", first)
	}
	// out: as one string is a list of one.
	srv := serpstattest.NewServer(serpstattest.Options{Rows: 1200})
	defer srv.Close()
	out := filepath.Join(dir, "x.csv")
	require.NoError(t, os.WriteFile(cfg, []byte("query: a.example\nout: "+out+"\nrps: 1000\n"), 0o600))
	res := runCLI(t, serpstattest.DefaultToken, "export", "--config", cfg, "--endpoint", srv.URL)
	require.Equal(t, 0, res.code, res.stderr)
	assert.Len(t, readCSV(t, out), 1200)
}

func TestNoGoTypeNamesInMessages(t *testing.T) {
	dir := t.TempDir()
	bad := []string{
		"out: {a: b}\n",
		"query: [a.example, [b]]\n",
		"filter: yes\n",
		"filter: [[{field: url_from, compareType: contains, value: [x]}], {a: b}]\n",
		"size: [1]\n",
		"rps: {x: 1}\n",
		"- a\n- b\n",
	}
	for i, c := range bad {
		cfg := filepath.Join(dir, "c"+string(rune('a'+i))+".yaml")
		require.NoError(t, os.WriteFile(cfg, []byte(c+"out: [x.csv]\n"[:0]), 0o600))
		res := runCLI(t, serpstattest.DefaultToken, "export", "--config", cfg, "--endpoint", "http://127.0.0.1:1/v4")
		assert.Equal(t, 2, res.code, "%q: %s", c, res.stderr)
		assert.NotRegexp(t, goTypeName, res.stderr, c)
	}
	for _, args := range [][]string{
		{"export", "--query", "a.example", "--out", "x.csv", "--filter", `{"a":1}`},
		{"export", "--query", "a.example", "--out", "x.csv", "--filter", `[[{"field":1}]]`},
		{"estimate", "--query", "a.example", "--filter", `[1]`},
	} {
		res := runCLI(t, serpstattest.DefaultToken, append(args, "--endpoint", "http://127.0.0.1:1/v4")...)
		assert.Equal(t, 2, res.code, "%v: %s", args, res.stderr)
		assert.NotRegexp(t, goTypeName, res.stderr, args)
		assert.Contains(t, res.stderr, "serpstat-export "+args[0]+":", "the message names the command run")
	}
}

func TestHelpGoesToStdoutWithTwoDashes(t *testing.T) {
	for _, args := range [][]string{{"help", "export"}, {"export", "--help"}, {"export", "-h"}, {"help", "estimate"},
		{"help", "fake-api"}, {"fake-api", "-h"}, {"help", "version"}, {"help", "completion"}, {"help"}, {"--help"}} {
		res := runCLI(t, "", args...)
		require.Equal(t, 0, res.code, "%v: %s", args, res.stderr)
		assert.Empty(t, res.stderr, args)
		assert.Contains(t, res.stdout, "Usage", args)
		assert.NotRegexp(t, `(?m)^\s+-[a-z][a-z-]+`, res.stdout, "%v: long flags have two dashes", args)
	}
	res := runCLI(t, "", "help", "export")
	assert.True(t, strings.HasPrefix(res.stdout, "Usage: serpstat-export export"), "help export is export's help")
	assert.Contains(t, res.stdout, "  --budget N")
	assert.Contains(t, res.stdout, "  --csv-bom")
	assert.Contains(t, res.stdout, "SERPSTAT_")
}

// TestVersion: the binary, built as the Makefile builds it (TestMain sets
// the -ldflags values), prints them, as text and as JSON. What it prints
// without them is TestVersionWithoutLdflags's, in-process.
func TestVersion(t *testing.T) {
	res := runCLI(t, "", "version")
	require.Equal(t, 0, res.code, res.stderr)
	for _, w := range []string{"serpstat-export " + testBuild.version + "\n", "commit:     " + testBuild.commit + "\n", "go:         go1.",
		"build date: " + testBuild.date + "\n"} {
		assert.Contains(t, res.stdout, w)
	}
	res = runCLI(t, "", "version", "--json")
	require.Equal(t, 0, res.code, res.stderr)
	var v map[string]string
	require.NoError(t, json.Unmarshal([]byte(res.stdout), &v))
	assert.Equal(t, testBuild.version, v["version"])
	assert.Equal(t, testBuild.commit, v["commit"])
	assert.Equal(t, testBuild.date, v["build_date"])
	assert.True(t, strings.HasPrefix(v["go_version"], "go1."))
	assert.NotEmpty(t, v["platform"])
}

func TestEverySettingFromTheEnvironment(t *testing.T) {
	srv := serpstattest.NewServer(serpstattest.Options{Rows: 5000})
	defer srv.Close()
	dir := t.TempDir()
	out := filepath.Join(dir, "a.csv")
	env := []string{"SERPSTAT_TOKEN=" + serpstattest.DefaultToken, "SERPSTAT_ENDPOINT=" + srv.URL, "SERPSTAT_QUERY=env.example",
		"SERPSTAT_OUT=" + out, "SERPSTAT_RPS=1000", "SERPSTAT_MAX_ROWS=1500", "SERPSTAT_SIZE=500"}
	res := runCLIEnv(t, env, "export")
	require.Equal(t, 0, res.code, res.stderr)
	assert.Len(t, readCSV(t, out), 1500, "SERPSTAT_MAX_ROWS")

	// Flags beat the environment, which beats the config.
	cfg := filepath.Join(dir, "c.yaml")
	require.NoError(t, os.WriteFile(cfg, []byte("max_rows: 100\nsize: 100\n"), 0o600))
	res = runCLIEnv(t, append(env, "SERPSTAT_CONFIG="+cfg), "export", "--max-rows", "700")
	require.Equal(t, 0, res.code, res.stderr)
	assert.Len(t, readCSV(t, out), 700, "--max-rows over SERPSTAT_MAX_ROWS over max_rows")
	res = runCLIEnv(t, append(env, "SERPSTAT_MAX_ROWS="), "export", "--config", cfg)
	require.Equal(t, 0, res.code, res.stderr)
	assert.Len(t, readCSV(t, out), 100, "the config when the environment does not say")

	// $SERPSTAT_TOKEN beats the config's token_file (as in aws and rclone).
	tf := filepath.Join(dir, "stale-token")
	require.NoError(t, os.WriteFile(tf, []byte("stale-token\n"), 0o600))
	require.NoError(t, os.WriteFile(cfg, []byte("token_file: "+tf+"\n"), 0o600))
	res = runCLIEnv(t, env, "export", "--config", cfg)
	require.Equal(t, 0, res.code, res.stderr)

	// A bad value names the variable; a mistyped name is warned about.
	res = runCLIEnv(t, append(env, "SERPSTAT_RPS=fast"), "export")
	require.Equal(t, 2, res.code, res.stderr)
	assert.Contains(t, res.stderr, `SERPSTAT_RPS: invalid value "fast": want a number`)
	res = runCLIEnv(t, append(env, "SERPSTAT_MAX_ROW=5"), "export")
	require.Equal(t, 0, res.code, res.stderr)
	assert.Contains(t, res.stderr, "SERPSTAT_MAX_ROW is not a setting")
	assert.Contains(t, res.stderr, "did you mean SERPSTAT_MAX_ROWS?")
	res = runCLIEnv(t, append(env, "SERPSTAT_TEST_S3_BUCKET=x"), "export")
	require.Equal(t, 0, res.code, res.stderr)
	assert.NotContains(t, res.stderr, "SERPSTAT_TEST_S3_BUCKET", "another tool's variable is not a typo")
}

func TestProgressLinesWhereABarCannotBeDrawn(t *testing.T) {
	srv := serpstattest.NewServer(serpstattest.Options{Rows: 6000, Latency: 100 * time.Millisecond})
	defer srv.Close()
	dir := t.TempDir()

	// Piped, --progress always: log lines, never a bar cut mid-word.
	res := runCLI(t, serpstattest.DefaultToken, exportArgs(srv, "pipe.example", "--workers", "1", "--progress", "always",
		"--progress-interval", "100ms", "--out", filepath.Join(dir, "a.csv"))...)
	require.Equal(t, 0, res.code, res.stderr)
	assert.False(t, strings.ContainsAny(res.stderr, "\x1b\r"), "no control characters when piped")
	assert.Contains(t, res.stderr, "msg=progress")
	for _, line := range strings.Split(strings.TrimSpace(res.stderr), "\n") {
		if strings.Contains(line, "msg=progress") {
			assert.Regexp(t, `pages=\d+ rows=\d+ of=\d+ credits=\d+`, line)
		}
	}

	if _, err := exec.LookPath("script"); err != nil {
		t.Skip("needs script(1) from util-linux for a pseudo-terminal")
	}
	// A terminal of 0 columns (CI runners, script): log lines at
	// --progress-interval instead of a bar nobody sees.
	args := exportArgs(srv, "cols0.example", "--workers", "1", "--progress-interval", "100ms", "--out", filepath.Join(dir, "b.csv"))
	var cmdline []string
	for _, a := range append([]string{binary}, args...) {
		cmdline = append(cmdline, shellQuote(a))
	}
	cmd := exec.Command("script", "-qefc", "stty cols 0 rows 0; "+strings.Join(cmdline, " "), "/dev/null")
	cmd.Env = append(os.Environ(), "SERPSTAT_TOKEN="+serpstattest.DefaultToken, "TERM=xterm")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
	assert.GreaterOrEqual(t, strings.Count(string(out), "msg=progress"), 1, "%s", out)
	assert.NotContains(t, string(out), "\x1b[", "no bar drawn")
}

func TestCSVForSpreadsheets(t *testing.T) {
	srv := serpstattest.NewServer(serpstattest.Options{Rows: 3000})
	defer srv.Close()
	dir := t.TempDir()
	guarded, raw := filepath.Join(dir, "excel.csv"), filepath.Join(dir, "raw.csv")
	sumPath := filepath.Join(dir, "summary.json")
	res := runCLI(t, serpstattest.DefaultToken, exportArgs(srv, "пример.рф", "--out", guarded, "--csv-bom", "--summary-json", sumPath)...)
	require.Equal(t, 0, res.code, res.stderr)
	res2 := runCLI(t, serpstattest.DefaultToken, exportArgs(srv, "пример.рф", "--out", raw, "--csv-raw")...)
	require.Equal(t, 0, res2.code, res2.stderr)

	g, err := os.ReadFile(guarded)
	require.NoError(t, err)
	require.True(t, bytes.HasPrefix(g, []byte("\xef\xbb\xbf")), "--csv-bom starts the file with a UTF-8 byte order mark")
	r, err := os.ReadFile(raw)
	require.NoError(t, err)
	assert.False(t, bytes.HasPrefix(r, []byte("\xef\xbb\xbf")), "no mark by default")
	gr, rr := parseRFC4180(t, g[3:]), parseRFC4180(t, r)
	require.Equal(t, len(rr), len(gr))
	changed := int64(0)
	for i := range gr {
		for j := range gr[i] {
			if gr[i][j] != rr[i][j] {
				require.Equal(t, "'"+rr[i][j], gr[i][j])
				changed++
			}
		}
	}
	require.Positive(t, changed, "the fake's anchors hold formula-like text")
	sum := readSummary(t, sumPath)
	assert.Equal(t, changed, sum.CellsGuarded, "the summary counts the cells the formula guard changed")
	require.Len(t, sum.Outputs, 1)
	assert.Contains(t, res.stderr, fmt.Sprintf("%d cells starting with = + - @ got a leading '", changed))
	assert.NotContains(t, res2.stderr, "leading '")
}

// startFakeAPI runs `fake-api` with args and returns its endpoint URL.
func startFakeAPI(t *testing.T, args ...string) string {
	t.Helper()
	cmd := exec.Command(binary, append([]string{"fake-api", "--addr", "127.0.0.1:0"}, args...)...)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		_ = cmd.Wait()
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	require.NoError(t, err)
	return strings.TrimSpace(line)
}

func TestFakeAPIGrowsAQuery(t *testing.T) {
	res := runCLI(t, "", "fake-api", "-h")
	require.Equal(t, 0, res.code)
	for _, w := range []string{"--grow N", "--grow-every", "POST", "/grow?query=growing.example.com&rows=500"} {
		assert.Contains(t, res.stdout, w)
	}

	endpoint := startFakeAPI(t, "--rows", "1500")
	root := strings.TrimSuffix(endpoint, "/v4")
	dir := t.TempDir()
	q := serpstattest.GrowingPrefix + "example.com"
	state := filepath.Join(dir, "state.json")
	export := func(name string) int {
		out := filepath.Join(dir, name+".csv")
		res := runCLI(t, serpstattest.DefaultToken, "export", "--endpoint", endpoint, "--rps", "1000", "--query", q,
			"--incremental", state, "--out", out)
		require.Equal(t, 0, res.code, res.stderr)
		return len(readCSV(t, out))
	}
	require.Equal(t, 1500, export("first"))

	resp, err := http.Post(root+"/grow?query="+q+"&rows=321", "", nil)
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", body)
	assert.Contains(t, string(body), `"`+q+`":321`)
	assert.Equal(t, 321, export("second"), "the 321 new rows, newer than every earlier one")

	resp, err = http.Post(root+"/grow?rows=lots", "", nil)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode)

	// --grow: every query grows on its own, every --grow-every.
	endpoint = startFakeAPI(t, "--rows", "100", "--grow", "50", "--grow-every", "20ms")
	root = strings.TrimSuffix(endpoint, "/v4")
	var grown struct {
		Every int `json:"added_to_every_query"`
	}
	deadline := time.Now().Add(time.Minute) // a bound on a broken fake, not a timing assertion
	for grown.Every < 100 {
		require.True(t, time.Now().Before(deadline), "--grow never grew the data")
		time.Sleep(10 * time.Millisecond)
		resp, err := http.Get(root + "/grow")
		require.NoError(t, err)
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&grown))
		resp.Body.Close()
	}
	assert.Zero(t, grown.Every%50)
}

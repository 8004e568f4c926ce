package main

import (
	"encoding/json"
	"flag"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestExampleConfigDocumentsEveryDefault(t *testing.T) {
	s, err := loadSettings("../../config.example.yaml")
	require.NoError(t, err)
	d := defaultSettings()
	assert.Equal(t, stringList{"example.com"}, s.Queries)
	assert.Equal(t, stringList{"backlinks.parquet", "backlinks.csv"}, s.Out)
	s.Queries, s.Out = d.Queries, d.Out
	s.given = nil // which keys the file set, all of them
	assert.Equal(t, d, s, "every other value in config.example.yaml is the default")

	data, err := os.ReadFile("../../config.example.yaml")
	require.NoError(t, err)
	// The flag of each field, from its binding: --param sets params.
	fs := flag.NewFlagSet("export", flag.ContinueOnError)
	b := exportFlags(fs)
	flagOf := map[int]string{}
	fs.VisitAll(func(fl *flag.Flag) {
		if i := b.field(fl); i >= 0 && len(fl.Name) > 1 {
			flagOf[i] = fl.Name
		}
	})
	typ := reflect.TypeOf(settings{})
	for i := range typ.NumField() {
		key := yamlKey(typ.Field(i))
		if key == "" || !typ.Field(i).IsExported() {
			continue
		}
		documented := regexp.MustCompile(`(?m)^(# )?` + key + `:`).Match(data)
		assert.True(t, documented, "config.example.yaml documents %s", key)
		name, ok := flagOf[i]
		if !ok {
			name = strings.ReplaceAll(key, "_", "-")
		}
		assert.True(t, strings.Contains(string(data), "--"+name), "config.example.yaml names the flag of %s", key)
	}
}

// TestEverySettingHasThreeNames: every export flag is bound to a settings
// field with a YAML key, config.example.yaml documents it, and its
// environment name is SERPSTAT_ + the flag in upper case.
func TestEverySettingHasThreeNames(t *testing.T) {
	data, err := os.ReadFile("../../config.example.yaml")
	require.NoError(t, err)
	fs := flag.NewFlagSet("export", flag.ContinueOnError)
	b := exportFlags(fs)
	// Flags without a config key, and why.
	noKey := map[string]string{
		"config": "it names the config file itself ($SERPSTAT_CONFIG works)",
		"token":  "a secret never belongs in a config file: token_file or $SERPSTAT_TOKEN",
	}
	typ := reflect.TypeOf(settings{})
	fs.VisitAll(func(fl *flag.Flag) {
		i := b.field(fl)
		if _, ok := noKey[fl.Name]; ok {
			return
		}
		require.GreaterOrEqual(t, i, 0, "--%s is bound to a settings field", fl.Name)
		key := yamlKey(typ.Field(i))
		require.NotEmpty(t, key, "--%s has a YAML key", fl.Name)
		assert.Regexp(t, `(?m)^(# )?`+key+`:`, string(data), "config.example.yaml documents %s (--%s)", key, fl.Name)
		if len(fl.Name) > 1 {
			assert.Contains(t, string(data), "--"+fl.Name, "config.example.yaml names --%s", fl.Name)
			assert.Equal(t, "SERPSTAT_"+strings.ToUpper(strings.ReplaceAll(fl.Name, "-", "_")), envName(fl.Name))
		}
	})
	assert.Equal(t, "SERPSTAT_MAX_ROWS", envName("max-rows"))
}

func parseFlags(t *testing.T, cfg string, env map[string]string, args ...string) settings {
	t.Helper()
	fs := flag.NewFlagSet("export", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	b := exportFlags(fs)
	if cfg != "" {
		p := filepath.Join(t.TempDir(), "c.yaml")
		require.NoError(t, os.WriteFile(p, []byte(cfg), 0o600))
		args = append([]string{"--config", p}, args...)
	}
	require.NoError(t, fs.Parse(args))
	s, err := b.settings(func(k string) string { return env[k] })
	require.NoError(t, err)
	return s
}

func TestPrecedenceFlagsOverEnvOverConfigOverDefaults(t *testing.T) {
	s := parseFlags(t, "query: example.com\nsize: 200\nrps: 10\nout: [a.csv]\nfilter:\n  - - {field: url_from, compareType: contains, value: [blog]}\n", nil, "--rps", "3")
	assert.Equal(t, 200, s.Size, "config over default")
	assert.InDelta(t, 3, s.RPS, 1e-9, "flag over config")
	assert.Equal(t, stringList{"a.csv"}, s.Out)
	assert.Equal(t, 0, s.Workers, "default kept (automatic)")
	assert.JSONEq(t, `[[{"field":"url_from","compareType":"contains","value":["blog"]}]]`, string(s.Filter))
	p, err := s.params()
	require.NoError(t, err)
	require.Len(t, p.ComplexFilter, 1)

	s = parseFlags(t, "out: [a.csv]\n", nil, "--out", "b.parquet", "--out", "c.ndjson")
	assert.Equal(t, stringList{"b.parquet", "c.ndjson"}, s.Out, "--out replaces the config's list")

	s = parseFlags(t, "filter_file: f.json\n", nil, "--filter", `[[{"additional_filters":"last_week"}]]`)
	assert.Empty(t, s.FilterFile, "--filter replaces the config's filter_file")

	s = parseFlags(t, "out: x.csv\nqueries: b.example\n", nil)
	assert.Equal(t, stringList{"x.csv"}, s.Out, "one value instead of a list")
	assert.Equal(t, stringList{"b.example"}, s.Queries)

	env := map[string]string{"SERPSTAT_MAX_ROWS": "500", "SERPSTAT_RPS": "7", "SERPSTAT_SIZE": "300", "SERPSTAT_QUERY": "a.example, b.example"}
	s = parseFlags(t, "size: 200\nrps: 10\nquery: c.example\n", env, "--rps", "3")
	assert.Equal(t, 500, s.MaxRows, "environment over default")
	assert.Equal(t, 300, s.Size, "environment over config")
	assert.InDelta(t, 3, s.RPS, 1e-9, "flag over environment")
	assert.Equal(t, stringList{"a.example", "b.example"}, s.Queries, "a list from the environment, replacing the config's")

	// SERPSTAT_TOKEN beats the config's token_file; --token-file beats it.
	env = map[string]string{"SERPSTAT_TOKEN": "env-token"}
	s = parseFlags(t, "token_file: /nonexistent/token\n", env)
	tok, err := s.token()
	require.NoError(t, err)
	assert.Equal(t, "env-token", tok)
	assert.False(t, s.tokenOnCommandLine)
	tf := filepath.Join(t.TempDir(), "tok")
	require.NoError(t, os.WriteFile(tf, []byte("file-token\n"), 0o600))
	s = parseFlags(t, "", env, "--token-file", tf)
	tok, err = s.token()
	require.NoError(t, err)
	assert.Equal(t, "file-token", tok)

	s = parseFlags(t, "", map[string]string{"SERPSTAT_CONFIG": writeTemp(t, "size: 42\n")})
	assert.Equal(t, 42, s.Size, "$SERPSTAT_CONFIG names the config file")
}

func writeTemp(t *testing.T, data string) string {
	p := filepath.Join(t.TempDir(), "c.yaml")
	require.NoError(t, os.WriteFile(p, []byte(data), 0o600))
	return p
}

func TestConfigErrorsNameTheLineAndTheKey(t *testing.T) {
	for _, tc := range []struct {
		yaml string
		want []string
	}{
		{"query: a.example\nsise: 10\n", []string{"line 2: unknown key sise (did you mean size?)"}},
		{"query: a.example\nbudjet: 10\n", []string{"line 2: unknown key budjet (did you mean budget?)"}},
		{"rps: 1\n\nsize: lots\n", []string{"line 3: size: want a whole number, got \"lots\""}},
		{"timeout: soon\n", []string{"line 1: timeout: want a duration"}},
		{"out:\n  a: b\n", []string{"line 2: out: want a text or a list of texts, got keys and values"}},
		{"token: abc\n", []string{"unknown key token", "token_file"}},
	} {
		_, err := loadSettings(writeTemp(t, tc.yaml))
		var ue *usageError
		require.ErrorAs(t, err, &ue, tc.yaml)
		for _, w := range tc.want {
			assert.Contains(t, err.Error(), w)
		}
		assert.NotRegexp(t, `main\.|interface \{\}|map\[|\[\]`, err.Error(), "no Go type names")
	}
}

func TestSuggest(t *testing.T) {
	names := []string{"budget", "max-rows", "query", "queries-file", "out", "rps"}
	assert.Equal(t, "budget", suggest("budjet", names))
	assert.Equal(t, "max-rows", suggest("maxrows", names))
	assert.Equal(t, "max-rows", suggest("max_rows", names))
	assert.Equal(t, "query", suggest("qeury", names))
	assert.Equal(t, "", suggest("zzzzzz", names))
}

// TestConfigFilterDatesAreSentInTheMethodsFormat: a YAML filter's dates,
// in any input format, are the method's before anything else sees the
// params (the export's identity included); aliases become the schema's.
func TestConfigFilterDatesAreSentInTheMethodsFormat(t *testing.T) {
	for _, tt := range []struct {
		method, yaml, want string
	}{
		{"new-backlinks", "{field: add, compareType: gte, value: [\"1.4.2025\"]}", `[[{"field":"add","compareType":"gte","value":["01.04.2025"]}]]`},
		{"new-backlinks", "{field: check, compareType: lte, value: [\"2025-04-01\"]}", `[[{"field":"check","compareType":"lte","value":["01.04.2025"]}]]`},
		{"threats", "{field: lastupdate, compareType: gte, value: [\"01.04.2025\"]}", `[[{"field":"lastupdate","compareType":"gte","value":["2025-04-01"]}]]`},
		{"out-threats-links", "{field: platform_type, compareType: contains, value: [\"1\"]}", `[[{"field":"platform_type","compareType":"contains","value":["1"]}]]`},
		{"anchors", "{field: noFollow, compareType: gte, value: [1]}", `[[{"field":"nofollow","compareType":"gte","value":[1]}]]`},
	} {
		s := parseFlags(t, "query: example.com\nmethod: "+tt.method+"\nfilter:\n  - - "+tt.yaml+"\n", nil)
		p, err := s.params()
		require.NoError(t, err, tt.yaml)
		got, err := json.Marshal(p.ComplexFilter)
		require.NoError(t, err)
		assert.JSONEq(t, tt.want, string(got), tt.yaml)
	}
}

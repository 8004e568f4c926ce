package main

import (
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
	"go.yaml.in/yaml/v3"
)

func TestExampleConfigDocumentsEveryDefault(t *testing.T) {
	s, err := loadSettings("../../config.example.yaml")
	require.NoError(t, err)
	d := defaultSettings()
	assert.Equal(t, []string{"example.com"}, s.Queries)
	assert.Equal(t, []string{"backlinks.parquet", "backlinks.csv"}, s.Out)
	s.Queries, s.Out = d.Queries, d.Out
	s.Filter = yaml.Node{}
	assert.Equal(t, d, s, "every other value in config.example.yaml is the default")

	data, err := os.ReadFile("../../config.example.yaml")
	require.NoError(t, err)
	typ := reflect.TypeOf(settings{})
	for i := range typ.NumField() {
		key := typ.Field(i).Tag.Get("yaml")
		if key == "" || key == "-" {
			continue
		}
		documented := regexp.MustCompile(`(?m)^(# )?` + key + `:`).Match(data)
		assert.True(t, documented, "config.example.yaml documents %s", key)
		assert.True(t, strings.Contains(string(data), "--"+strings.ReplaceAll(key, "_", "-")), "config.example.yaml names the flag of %s", key)
	}
}

func parseFlags(t *testing.T, cfg string, args ...string) settings {
	t.Helper()
	fs := flag.NewFlagSet("export", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	path, apply := exportFlags(fs)
	if cfg != "" {
		p := filepath.Join(t.TempDir(), "c.yaml")
		require.NoError(t, os.WriteFile(p, []byte(cfg), 0o600))
		args = append([]string{"--config", p}, args...)
	}
	require.NoError(t, fs.Parse(args))
	s, err := loadSettings(*path)
	require.NoError(t, err)
	apply(&s)
	return s
}

func TestPrecedenceFlagsOverConfigOverDefaults(t *testing.T) {
	s := parseFlags(t, "query: example.com\nsize: 200\nrps: 10\nout: [a.csv]\nfilter:\n  - - {field: url_from, compareType: contains, value: [blog]}\n", "--rps", "3")
	assert.Equal(t, 200, s.Size, "config over default")
	assert.InDelta(t, 3, s.RPS, 1e-9, "flag over config")
	assert.Equal(t, []string{"a.csv"}, s.Out)
	assert.Equal(t, 0, s.Workers, "default kept (automatic)")
	assert.JSONEq(t, `[[{"field":"url_from","compareType":"contains","value":["blog"]}]]`, s.filterJSON)
	p, err := s.params()
	require.NoError(t, err)
	require.Len(t, p.ComplexFilter, 1)

	s = parseFlags(t, "out: [a.csv]\n", "--out", "b.parquet", "--out", "c.ndjson")
	assert.Equal(t, []string{"b.parquet", "c.ndjson"}, s.Out, "--out replaces the config's list")

	s = parseFlags(t, "filter_file: f.json\n", "--filter", `[[{"additional_filters":"last_week"}]]`)
	assert.Empty(t, s.FilterFile, "--filter replaces the config's filter_file")
}

func TestUnknownConfigKeyIsRefused(t *testing.T) {
	p := filepath.Join(t.TempDir(), "c.yaml")
	require.NoError(t, os.WriteFile(p, []byte("sise: 10\n"), 0o600))
	_, err := loadSettings(p)
	var ue *usageError
	require.ErrorAs(t, err, &ue)
	assert.Contains(t, err.Error(), "sise")
}

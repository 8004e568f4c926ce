package main

import (
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/serpstat-export/serpstat-export/serpstat"
)

// TestParamSettings: a method's own params come from --param NAME=VALUE
// (repeatable), $SERPSTAT_PARAM (comma-separated pairs, or one a line)
// and the config's params: map, each layer replacing the one below as a
// whole, and reach the request params.
func TestParamSettings(t *testing.T) {
	tests := []struct {
		name string
		cfg  string
		env  map[string]string
		args []string
		want map[string]string
	}{
		{"none", "", nil, nil, nil},
		{"flags", "", nil, []string{"--param", "count=2", "--param", "anchor=seo tools"}, map[string]string{"count": "2", "anchor": "seo tools"}},
		{"a value with = and spaces", "", nil, []string{"--param", " anchor=a = b "}, map[string]string{"anchor": "a = b "}},
		{"a later flag wins", "", nil, []string{"--param", "count=2", "--param", "count=3"}, map[string]string{"count": "3"}},
		{"config map", "params:\n  anchor: seo\n  count: 2\n", nil, nil, map[string]string{"anchor": "seo", "count": "2"}},
		{"config null", "params:\n", nil, nil, nil},
		{"environment, commas", "", map[string]string{"SERPSTAT_PARAM": "anchor=seo, count=2"}, nil, map[string]string{"anchor": "seo", "count": "2"}},
		{"environment, lines", "", map[string]string{"SERPSTAT_PARAM": "anchor=tools, tips\ncount=3\n"}, nil, map[string]string{"anchor": "tools, tips", "count": "3"}},
		{"environment over config", "params: {anchor: seo, count: 2}\n", map[string]string{"SERPSTAT_PARAM": "count=4"}, nil, map[string]string{"count": "4"}},
		{"flags over environment and config", "params: {anchor: seo}\n", map[string]string{"SERPSTAT_PARAM": "count=4"}, []string{"--param", "count=1"}, map[string]string{"count": "1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := parseFlags(t, tt.cfg, tt.env, append([]string{"--method", "anchors", "--query", "example.com"}, tt.args...)...)
			assert.Equal(t, paramMap(tt.want), s.Params)
			p, err := s.params()
			require.NoError(t, err)
			assert.Equal(t, tt.want, p.Extra)
		})
	}
}

// TestParamSettingsRefused: a pair without a name, a config value that is
// no map, an undocumented name and a bad value are refused, naming the
// setting and what it takes.
func TestParamSettingsRefused(t *testing.T) {
	fs := flag.NewFlagSet("export", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	exportFlags(fs)
	err := fs.Parse([]string{"--param", "count"})
	require.Error(t, err)
	assert.Equal(t, `--param: invalid value "count": want NAME=VALUE, e.g. --param count=2 (in a config file, a map: params: {count: 2})`, flagError(fs, err))

	fs = flag.NewFlagSet("export", flag.ContinueOnError)
	b := exportFlags(fs)
	require.NoError(t, fs.Parse(nil))
	_, err = b.settings(func(k string) string { return map[string]string{"SERPSTAT_PARAM": "count=2,=3"}[k] })
	require.Error(t, err)
	assert.Contains(t, err.Error(), `SERPSTAT_PARAM: invalid value "=3": want NAME=VALUE`)

	cfg := filepath.Join(t.TempDir(), "c.yaml")
	require.NoError(t, os.WriteFile(cfg, []byte("params: [count=2]\n"), 0o600))
	_, err = loadSettings(cfg)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "line 1: params: want NAME=VALUE")

	for _, tt := range []struct {
		method string
		args   []string
		msg    string
	}{
		{"anchors", []string{"--param", "nope=1"}, "param nope is not taken by anchors: it takes anchor (Anchor text), count (Number of words in anchor)"},
		{"anchors", []string{"--param", "count=two"}, `param count must be a whole number of 1 or more, e.g. --param count=2 for anchors; got "two"`},
		{"new-backlinks", []string{"--param", "count=2"}, "param count is not taken by new-backlinks, which takes no extra params: remove --param count"},
		{"anchors", []string{"--param", "size=10"}, "param size is not an extra param: set it with --size"},
	} {
		s := parseFlags(t, "", nil, append([]string{"--method", tt.method, "--query", "example.com"}, tt.args...)...)
		_, err := s.params()
		var pe *serpstat.ParamError
		require.True(t, errors.As(err, &pe), "%v", err)
		assert.Equal(t, tt.msg, err.Error())
	}
}

// TestLinkPerDomainSettings: --link-per-domain, $SERPSTAT_LINK_PER_DOMAIN
// and link_per_domain set it, 0 included, which is sent; unset (or null
// in the config) sends none; a negative number is refused.
func TestLinkPerDomainSettings(t *testing.T) {
	tests := []struct {
		name string
		cfg  string
		env  map[string]string
		args []string
		want *int
	}{
		{"unset", "", nil, nil, nil},
		{"flag 0", "", nil, []string{"--link-per-domain", "0"}, new(0)},
		{"flag 2", "", nil, []string{"--link-per-domain", "2"}, new(2)},
		{"config 0", "link_per_domain: 0\n", nil, nil, new(0)},
		{"config null", "link_per_domain:\n", nil, nil, nil},
		{"environment 0", "", map[string]string{"SERPSTAT_LINK_PER_DOMAIN": "0"}, nil, new(0)},
		{"flag over config", "link_per_domain: 5\n", nil, []string{"--link-per-domain", "0"}, new(0)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := parseFlags(t, tt.cfg, tt.env, append([]string{"--query", "example.com"}, tt.args...)...)
			p, err := s.params()
			require.NoError(t, err)
			assert.Equal(t, tt.want, p.LinkPerDomain)
		})
	}

	s := parseFlags(t, "", nil, "--query", "example.com", "--link-per-domain", "-1")
	_, err := s.params()
	require.EqualError(t, err, "link-per-domain must be 0 (one link per page) or more; leave it unset to send none; got -1")

	s = parseFlags(t, "", nil, "--query", "example.com", "--method", "ref-domains", "--link-per-domain", "0")
	_, err = s.params()
	require.EqualError(t, err, "link-per-domain is not taken by ref-domains: leave it unset; got 0")

	cfg := filepath.Join(t.TempDir(), "c.yaml")
	require.NoError(t, os.WriteFile(cfg, []byte("link_per_domain: one\n"), 0o600))
	_, err = loadSettings(cfg)
	require.Error(t, err)
	assert.Contains(t, err.Error(), `line 1: link_per_domain: want a whole number, got "one"`)

	fs := flag.NewFlagSet("export", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	exportFlags(fs)
	err = fs.Parse([]string{"--link-per-domain", "x"})
	require.Error(t, err)
	assert.Equal(t, `--link-per-domain: invalid value "x": want a whole number`, flagError(fs, err))
}

package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// envPrefix starts the environment name of every setting: SERPSTAT_ and
// the flag name in upper case, - as _ (--max-rows is SERPSTAT_MAX_ROWS).
const envPrefix = "SERPSTAT_"

// envName is the environment variable of a flag.
func envName(flagName string) string {
	return envPrefix + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// yamlKey is the config key of a settings field ("" for none).
func yamlKey(f reflect.StructField) string {
	k, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
	if k == "-" {
		return ""
	}
	return k
}

// exclusive are settings that replace each other: the one given at a
// higher layer wins and clears the other.
var exclusive = map[string]string{
	"filter": "filter-file", "filter-file": "filter",
	"token": "token-file", "token-file": "token",
}

// flagSettings is the export flags bound to a settings value; settings
// layers them over the environment, the config file and the defaults.
type flagSettings struct {
	fs     *flag.FlagSet
	f      *settings // what the flags set; the defaults elsewhere
	config *string
}

// field is the index of the settings field a flag is bound to, found by
// the address the flag writes to; -1 for a flag bound to none (--config).
func (b *flagSettings) field(fl *flag.Flag) int {
	ptr := reflect.ValueOf(fl.Value)
	if ptr.Kind() != reflect.Pointer {
		return -1
	}
	v := reflect.ValueOf(b.f).Elem()
	for i := range v.NumField() {
		if v.Field(i).Addr().Pointer() == ptr.Pointer() {
			return i
		}
	}
	return -1
}

// settings are the defaults, then the config file (--config or
// $SERPSTAT_CONFIG), then the environment, then the flags given. fs must
// be parsed. getenv is os.Getenv outside tests.
func (b *flagSettings) settings(getenv func(string) string) (settings, error) {
	given := map[string]bool{}
	b.fs.Visit(func(fl *flag.Flag) { given[fl.Name] = true })
	path := *b.config
	if !given["config"] {
		path = getenv(envName("config"))
	}
	s, err := loadSettings(path)
	if err != nil {
		return s, err
	}
	sv := reflect.ValueOf(&s).Elem()
	fv := reflect.ValueOf(b.f).Elem()
	layerName := "the environment"
	layer := func(fl *flag.Flag) {
		i := b.field(fl)
		if i < 0 {
			return
		}
		sv.Field(i).Set(fv.Field(i))
		s.setGiven(fl.Name, layerName)
		if other := b.fs.Lookup(exclusive[fl.Name]); other != nil {
			if j := b.field(other); j >= 0 {
				sv.Field(j).SetZero()
			}
		}
		if fl.Name == "query" {
			s.Query = "" // the config's query is replaced too
		}
	}
	// The environment: a flag's value as if given, but below the flags.
	var envErr error
	b.fs.VisitAll(func(fl *flag.Flag) {
		if envErr != nil || given[fl.Name] || len(fl.Name) < 2 || fl.Name == "config" {
			return
		}
		name := envName(fl.Name)
		val := getenv(name)
		if val == "" {
			return
		}
		vals := []string{val}
		switch fl.Value.(type) {
		case *stringList:
			vals = strings.Split(val, ",") // SERPSTAT_QUERY=a.com,b.com
		case *paramMap:
			vals = splitParams(val) // SERPSTAT_PARAM=anchor=seo,count=2
		}
		for _, v := range vals {
			if err := fl.Value.Set(strings.TrimSpace(v)); err != nil {
				envErr = usagef("%s: invalid value %q: want %s (it sets --%s)", name, v, kindOfFlag(fl), fl.Name)
				return
			}
		}
		layer(fl)
	})
	if envErr != nil {
		return s, envErr
	}
	layerName = "a flag"
	b.fs.Visit(func(fl *flag.Flag) {
		layer(fl)
		if fl.Name == "token" {
			s.tokenOnCommandLine = true
		}
	})
	return s, nil
}

// unknownEnv lists the SERPSTAT_ variables that name no setting but are
// close to one, with a suggestion, to be warned about (a typo is
// otherwise ignored).
func unknownEnv(fs *flag.FlagSet, environ []string) []string {
	known := map[string]bool{}
	var names []string
	fs.VisitAll(func(fl *flag.Flag) {
		known[envName(fl.Name)] = true
		names = append(names, envName(fl.Name))
	})
	var out []string
	for _, kv := range environ {
		k, _, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(k, envPrefix) || known[k] {
			continue
		}
		// Only a likely typo: other tools may have SERPSTAT_ variables
		// of their own (the tests' SERPSTAT_TEST_S3_ENDPOINT).
		if sug := suggest(k, names); sug != "" {
			out = append(out, k+" is not a setting of serpstat-export and is ignored (did you mean "+sug+"?)")
		}
	}
	sort.Strings(out)
	return out
}

// stringList is a setting holding several values: a repeatable flag, and
// in YAML one value or a list of them.
type stringList []string

func (m *stringList) String() string {
	if m == nil {
		return ""
	}
	return strings.Join(*m, ",")
}
func (m *stringList) Set(v string) error { *m = append(*m, v); return nil }

// UnmarshalYAML takes `out: x.csv` as well as `out: [x.csv, y.parquet]`.
func (m *stringList) UnmarshalYAML(n *yaml.Node) error {
	switch n.Kind {
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			*m = nil
			return nil
		}
		*m = stringList{n.Value}
		return nil
	case yaml.SequenceNode:
		out := make(stringList, 0, len(n.Content))
		for _, c := range n.Content {
			if c.Kind != yaml.ScalarNode {
				return &configValueError{line: c.Line, want: "a text or a list of texts"}
			}
			out = append(out, c.Value)
		}
		*m = out
		return nil
	}
	return &configValueError{line: n.Line, want: "a text or a list of texts"}
}

// jsonFilter is the complexFilter as JSON: --filter's text, or the
// config's filter (YAML) turned into JSON.
type jsonFilter string

func (j *jsonFilter) String() string {
	if j == nil {
		return ""
	}
	return string(*j)
}
func (j *jsonFilter) Set(v string) error { *j = jsonFilter(v); return nil }

func (j *jsonFilter) UnmarshalYAML(n *yaml.Node) error {
	var v any
	if err := n.Decode(&v); err != nil {
		return &configValueError{line: n.Line, want: "a list of lists of conditions (see config.example.yaml)"}
	}
	if v == nil {
		*j = ""
		return nil
	}
	js, err := json.Marshal(v)
	if err != nil {
		return &configValueError{line: n.Line, want: "a list of lists of conditions (see config.example.yaml)"}
	}
	*j = jsonFilter(js)
	return nil
}

// configValueError is a config value of the wrong kind.
type configValueError struct {
	line int
	want string
}

func (e *configValueError) Error() string { return "want " + e.want }

// kindOf says in words what a settings field holds.
func kindOf(t reflect.Type) string {
	switch t {
	case reflect.TypeOf(time.Duration(0)):
		return "a duration such as 30s, 5m or 1h"
	case reflect.TypeOf(stringList(nil)):
		return "a text or a list of texts"
	case reflect.TypeOf(jsonFilter("")):
		return "a list of lists of conditions (see config.example.yaml)"
	case reflect.TypeOf(optionalInt{}):
		return "a whole number"
	case reflect.TypeOf(paramMap(nil)):
		return "NAME=VALUE, e.g. --param count=2 (in a config file, a map: params: {count: 2})"
	}
	switch t.Kind() {
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int64:
		return "a whole number"
	case reflect.Float64:
		return "a number"
	}
	return "a text"
}

// kindOfFlag says in words what a flag takes.
func kindOfFlag(fl *flag.Flag) string {
	g, ok := fl.Value.(flag.Getter)
	if !ok {
		return "a text"
	}
	return kindOf(reflect.TypeOf(g.Get()))
}

// loadSettings reads the config file at path (if any) over the defaults.
// Errors name the file, the line and the key, and suggest the key meant.
func loadSettings(path string) (settings, error) {
	s := defaultSettings()
	if path == "" {
		return s, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return s, usagef("--config: %v", err)
	}
	var doc yaml.Node
	if err := yaml.NewDecoder(bytes.NewReader(data)).Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return s, nil
		}
		return s, usagef("--config %s: %s", path, strings.TrimPrefix(err.Error(), "yaml: "))
	}
	root := &doc
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = root.Content[0]
	}
	if root.Kind == yaml.ScalarNode && root.Tag == "!!null" {
		return s, nil
	}
	if root.Kind != yaml.MappingNode {
		return s, usagef("--config %s: line %d: want keys such as query: and out: (see config.example.yaml)", path, root.Line)
	}
	sv := reflect.ValueOf(&s).Elem()
	fields := map[string]int{}
	var keys []string
	for i := range sv.NumField() {
		if k := yamlKey(sv.Type().Field(i)); k != "" && sv.Type().Field(i).IsExported() {
			fields[k] = i
			keys = append(keys, k)
		}
	}
	for i := 0; i+1 < len(root.Content); i += 2 {
		kn, vn := root.Content[i], root.Content[i+1]
		idx, ok := fields[kn.Value]
		if !ok {
			msg := fmt.Sprintf("--config %s: line %d: unknown key %s", path, kn.Line, kn.Value)
			if sug := suggest(kn.Value, keys); sug != "" {
				msg += " (did you mean " + sug + "?)"
			} else {
				msg += " (see config.example.yaml for the keys)"
			}
			if kn.Value == "token" {
				msg += "; the token never goes in a config file: use token_file or $SERPSTAT_TOKEN"
			}
			return s, usagef("%s", msg)
		}
		f := sv.Field(idx)
		s.setGiven(strings.ReplaceAll(kn.Value, "_", "-"), "the config")
		if err := vn.Decode(f.Addr().Interface()); err != nil {
			line := vn.Line
			var ce *configValueError
			if errors.As(err, &ce) && ce.line > 0 {
				line = ce.line
			}
			return s, usagef("--config %s: line %d: %s: want %s, got %s", path, line, kn.Value, kindOf(f.Type()), describeNode(vn))
		}
	}
	if s.Query != "" {
		s.Queries = append(stringList{s.Query}, s.Queries...)
		s.Query = ""
	}
	return s, nil
}

// describeNode says what a YAML value is, briefly.
func describeNode(n *yaml.Node) string {
	switch n.Kind {
	case yaml.SequenceNode:
		return "a list"
	case yaml.MappingNode:
		return "keys and values"
	}
	v := n.Value
	if len(v) > 40 {
		v = v[:40] + "…"
	}
	return fmt.Sprintf("%q", v)
}

// parseArgs parses a command's flags: -h prints help on stdout (flags
// spelt with two dashes); a bad flag is one line on stderr, with a
// suggestion. done means the command is over, with code.
func parseArgs(fs *flag.FlagSet, args []string, help string, stdout, stderr io.Writer) (code int, done bool) {
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	err := fs.Parse(args)
	switch {
	case err == nil:
		return 0, false
	case errors.Is(err, flag.ErrHelp):
		fmt.Fprint(stdout, help)
		printDefaults(stdout, fs)
		return exitOK, true
	}
	fmt.Fprintf(stderr, "serpstat-export %s: %s\n", fs.Name(), flagError(fs, err))
	return exitUsage, true
}

var (
	reUndefined = regexp.MustCompile(`^flag provided but not defined: -+(.*)$`)
	reInvalid   = regexp.MustCompile(`^invalid (?:boolean )?value "(.*)" for (?:flag )?-+([^:]*): `)
	reNeedsArg  = regexp.MustCompile(`^flag needs an argument: -+(.*)$`)
	reDash      = regexp.MustCompile(`(^|[\s(])-([a-z])`)
)

// flagError turns the flag package's error into one line that spells
// flags as the README does and says what to do.
func flagError(fs *flag.FlagSet, err error) string {
	msg := err.Error()
	help := fmt.Sprintf("; run 'serpstat-export %s --help' for the flags", fs.Name())
	if m := reUndefined.FindStringSubmatch(msg); m != nil {
		var names []string
		fs.VisitAll(func(fl *flag.Flag) { names = append(names, fl.Name) })
		if sug := suggest(m[1], names); sug != "" {
			return fmt.Sprintf("unknown flag --%s (did you mean --%s?)", m[1], sug)
		}
		return fmt.Sprintf("unknown flag --%s%s", m[1], help)
	}
	if m := reInvalid.FindStringSubmatch(msg); m != nil {
		want := "another value"
		if fl := fs.Lookup(m[2]); fl != nil {
			want = kindOfFlag(fl)
		}
		return fmt.Sprintf("--%s: invalid value %q: want %s", m[2], m[1], want)
	}
	if m := reNeedsArg.FindStringSubmatch(msg); m != nil {
		return fmt.Sprintf("--%s needs a value, e.g. --%s VALUE", m[1], m[1])
	}
	return reDash.ReplaceAllString(msg, "$1--$2") + help
}

// printDefaults lists fs's flags as flag.PrintDefaults does, with two
// dashes.
func printDefaults(w io.Writer, fs *flag.FlagSet) {
	fs.VisitAll(func(fl *flag.Flag) {
		name, usage := flag.UnquoteUsage(fl)
		line := "  --" + fl.Name
		if len(fl.Name) == 1 {
			line = "  -" + fl.Name
		}
		if name != "" {
			line += " " + name
		}
		line += "\n    \t" + strings.ReplaceAll(usage, "\n", "\n    \t")
		switch fl.DefValue {
		case "", "0", "false", "0s", "[]":
		default:
			if _, isString := fl.Value.(flag.Getter); isString && reflect.TypeOf(fl.Value.(flag.Getter).Get()).Kind() == reflect.String {
				line += fmt.Sprintf(" (default %q)", fl.DefValue)
			} else {
				line += fmt.Sprintf(" (default %v)", fl.DefValue)
			}
		}
		fmt.Fprintln(w, line)
	})
}

// parseSettings parses the flags of export and estimate over the
// environment, the config and the defaults, and builds the ui. A settings
// error is returned for the command to report; done means the command is
// over (-h, a flag error) with code.
func parseSettings(fs *flag.FlagSet, args []string, help string, stdout, stderr io.Writer) (s settings, u *ui, err error, code int, done bool) {
	b := exportFlags(fs)
	if code, done := parseArgs(fs, args, help, stdout, stderr); done {
		return s, nil, nil, code, true
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "serpstat-export %s: unexpected argument %q (flags go before it? use --query DOMAIN)\n", fs.Name(), fs.Arg(0))
		return s, nil, nil, exitUsage, true
	}
	s, err = b.settings(os.Getenv)
	u, uerr := newUI(stderr, s)
	if err == nil {
		err = uerr
	}
	if err == nil {
		for _, w := range unknownEnv(fs, os.Environ()) {
			u.log.Warn(w)
		}
	}
	return s, u, err, 0, false
}

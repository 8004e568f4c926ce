package main

import (
	"maps"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// optionalInt is an integer setting whose absence is not 0: a flag, an
// environment variable or a config key sets it, 0 included; unset, the
// param is not sent (--link-per-domain).
type optionalInt struct {
	n   int
	set bool
}

func (o *optionalInt) String() string {
	if o == nil || !o.set {
		return ""
	}
	return strconv.Itoa(o.n)
}

// Set implements flag.Value: a whole number.
func (o *optionalInt) Set(v string) error {
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil {
		return err
	}
	*o = optionalInt{n: n, set: true}
	return nil
}

// Get implements flag.Getter, for messages that say what the flag takes.
func (o *optionalInt) Get() any { return o.n }

// UnmarshalYAML takes a whole number; null (or no value) leaves it unset.
func (o *optionalInt) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		*o = optionalInt{}
		return nil
	}
	var v int
	if n.Kind != yaml.ScalarNode || n.Decode(&v) != nil {
		return &configValueError{line: n.Line, want: "a whole number"}
	}
	*o = optionalInt{n: v, set: true}
	return nil
}

// ptr is the value to send, nil when unset.
func (o optionalInt) ptr() *int {
	if !o.set {
		return nil
	}
	return new(o.n)
}

// paramMap is a method's own params by wire name (serpstat.Params.Extra):
// --param NAME=VALUE, repeatable; in YAML a map, params: {count: 2}; in
// $SERPSTAT_PARAM NAME=VALUE pairs (splitParams). A later --param of a
// name replaces an earlier one.
type paramMap map[string]string

// String is the params as NAME=VALUE pairs by name, comma-separated.
func (m *paramMap) String() string {
	if m == nil {
		return ""
	}
	pairs := make([]string, 0, len(*m))
	for _, k := range slices.Sorted(maps.Keys(*m)) {
		pairs = append(pairs, k+"="+(*m)[k])
	}
	return strings.Join(pairs, ",")
}

// Set implements flag.Value: one NAME=VALUE pair (the value may be empty
// or hold = signs; the name may not).
func (m *paramMap) Set(v string) error {
	name, val, ok := strings.Cut(v, "=")
	name = strings.TrimSpace(name)
	if !ok || name == "" {
		return &configValueError{want: "NAME=VALUE"}
	}
	if *m == nil {
		*m = paramMap{}
	}
	(*m)[name] = val
	return nil
}

// Get implements flag.Getter, for messages that say what the flag takes.
func (m *paramMap) Get() any { return *m }

// UnmarshalYAML takes a map of names to values (text or numbers); null
// is none.
func (m *paramMap) UnmarshalYAML(n *yaml.Node) error {
	want := "a map of param names to values, e.g. params: {count: 2}"
	switch {
	case n.Kind == yaml.ScalarNode && n.Tag == "!!null":
		*m = nil
		return nil
	case n.Kind != yaml.MappingNode:
		return &configValueError{line: n.Line, want: want}
	}
	out := make(paramMap, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode || v.Kind != yaml.ScalarNode || v.Tag == "!!null" || strings.TrimSpace(k.Value) == "" {
			return &configValueError{line: v.Line, want: want}
		}
		out[strings.TrimSpace(k.Value)] = v.Value
	}
	*m = out
	return nil
}

// splitParams splits $SERPSTAT_PARAM into NAME=VALUE pairs: one a line
// when it holds a line break (so that a value may hold a comma), else
// comma-separated (SERPSTAT_PARAM=anchor=seo,count=2). Blank pairs are
// skipped; each is trimmed of spaces.
func splitParams(env string) []string {
	sep := ","
	if strings.Contains(env, "\n") {
		sep = "\n"
	}
	var out []string
	for _, p := range strings.Split(env, sep) {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

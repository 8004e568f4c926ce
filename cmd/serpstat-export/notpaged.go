package main

import (
	"reflect"
	"strings"

	"github.com/serpstat-export/serpstat-export/serpstat"
)

// setGiven records that layer ("the config", "the environment" or "a
// flag") set the setting of flag name.
func (s *settings) setGiven(name, layer string) {
	if s.given == nil {
		s.given = map[string]string{}
	}
	s.given[name] = layer
}

// pagedOnly are the settings that only a paged method takes, by flag
// name: its pages, their order and filter, the wall and slicing,
// --max-rows and incremental loads.
var pagedOnly = []string{"sort", "order", "filter", "filter-file", "size", "wall", "no-slice", "max-rows", "incremental", "link-per-domain"}

// checkNotPaged refuses, for a method that is not paged, a setting that
// only a paged method takes when someone set it, naming it and where it
// was set: exit 2, nothing sent. A default nobody set is fine, and so is
// a config key that restates its default (config.example.yaml writes
// every default out); a flag or a variable is taken as meant.
func (s *settings) checkNotPaged() error {
	m, err := s.method()
	if err != nil || m.Paged() {
		return nil // a bad --method is reported where it is resolved
	}
	d := defaultSettings()
	sv, dv := reflect.ValueOf(s).Elem(), reflect.ValueOf(&d).Elem()
	var set []string
	for _, name := range pagedOnly {
		layer := s.given[name]
		if layer == "" {
			continue
		}
		if layer == "the config" {
			if f, ok := sv.Type().FieldByNameFunc(func(n string) bool {
				sf, _ := sv.Type().FieldByName(n)
				return yamlKey(sf) == strings.ReplaceAll(name, "-", "_")
			}); ok && reflect.DeepEqual(sv.FieldByIndex(f.Index).Interface(), dv.FieldByIndex(f.Index).Interface()) {
				continue
			}
		}
		set = append(set, "--"+name+" (set by "+layer+")")
	}
	if len(set) == 0 {
		return nil
	}
	what := "it"
	if len(set) > 1 {
		what = "them"
	}
	return &serpstat.ParamError{Field: strings.Join(set, ", "), Msg: "is not taken by " + m.Name + ", which is not paged: one answer per query, no pages to size, sort, filter, slice or follow; remove " + what}
}
